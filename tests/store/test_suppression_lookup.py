"""`suppressions.lookup`, the check every send and every report of suppression goes through: an address
matches its own entry or its exact domain's, per account, in one primary-key query per batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from fluenzr_server.services import suppressions
from fluenzr_server.services.common import now
from fluenzr_server.store.database import Database
from tests.conftest import Tenant


async def test_lookup_matches_addresses_and_exact_domains_per_account_in_one_query(
    database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine, theirs = tenant.account_id, other_tenant.account_id
    async with database.write() as conn:
        for account, key, reason in [
            (mine, "ada@a.example", "bounced"),
            (mine, "@b.example", "manual"),
            (mine, "bob@b.example", "unsubscribed"),
            (theirs, "@c.example", "manual"),
        ]:
            await suppressions.suppress(conn, account_id=account, email=key, reason=reason, now=now())  # type: ignore[arg-type]

    emails = [
        "ADA@a.example",
        "eve@a.example",
        "bob@b.example",
        "cy@b.example",
        "dan@sub.b.example",
        "x@c.example",
    ]
    emails += [f"filler{i}@d.example" for i in range(400)]
    statements: list[str] = []
    async with database.read() as conn:

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(conn.sync_connection, "before_cursor_execute", count)
        found = await suppressions.lookup(conn, account_ids=[mine, theirs], emails=emails)
        event.remove(conn.sync_connection, "before_cursor_execute", count)

    assert len(statements) == 1  # the whole batch, both accounts, addresses and domains
    reasons = {email: getattr(found.get(mine, email), "reason", None) for email in emails[:6]}
    assert reasons == {
        "ADA@a.example": "bounced",
        "eve@a.example": None,
        "bob@b.example": "unsubscribed",  # the address's own entry wins over its domain's
        "cy@b.example": "manual",
        "dan@sub.b.example": None,  # subdomains are not included
        "x@c.example": None,  # another account's domain
    }
    assert found.get(theirs, "x@c.example") is not None and found.get(theirs, "cy@b.example") is None


async def test_lookup_query_searches_the_primary_key(database: Database) -> None:
    query = suppressions.lookup_query(["org_a", "org_b"], ["ada@a.example", "@a.example"])
    async with database.read(offload=True) as conn:
        if conn.dialect.name != "sqlite":
            # PostgreSQL plans by table size; the test tables are tiny, so only check the index exists.
            names = await conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes"
                " WHERE tablename = 'suppressions' AND indexname = 'pk_suppressions'"
            )
            assert "(account_id, email)" in names.scalar_one()
            return
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "SEARCH suppressions USING INDEX" in plan and "(account_id=? AND email=?)" in plan, plan
