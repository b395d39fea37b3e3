"""`store.listed.one_of`: the rows `IN (…)` finds, from one bound parameter, by the column's index."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from fluenzr_server.ids import new_id
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.listed import one_of
from tests.conftest import Tenant


async def test_one_of_finds_what_in_finds(database: Database, tenant: Tenant) -> None:
    emails = [f"listed-{new_id('x').lower()}@example.com" for _ in range(5)]
    odd = ["quote'\"@example.com", "back\\slash@example.com", "ñandú😀@example.com", "%_@example.com"]
    stamp = datetime.now(UTC)
    rows = [
        {
            "id": new_id("ctc"),
            "account_id": tenant.account_id,
            "email": email,
            "custom_fields": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        for email in emails + odd
    ]
    async with database.write() as conn:
        await conn.execute(t.contacts.insert(), rows)
    asked = [emails[0], emails[3], "absent@example.com", *odd, emails[0].upper()]
    mine = t.contacts.c.account_id == tenant.account_id
    async with database.read() as conn:
        listed = select(t.contacts.c.email).where(mine, one_of(conn.dialect, t.contacts.c.email, asked))
        expanded = select(t.contacts.c.email).where(mine, t.contacts.c.email.in_(asked))
        found = sorted((await conn.execute(listed)).scalars())
        assert found == sorted((await conn.execute(expanded)).scalars())
        assert found == sorted([emails[0], emails[3], *odd])
        none = select(t.contacts.c.email).where(mine, one_of(conn.dialect, t.contacts.c.email, []))
        assert (await conn.execute(none)).all() == []


async def test_one_of_searches_the_index(database: Database, tenant: Tenant) -> None:
    query = select(t.contacts.c.id).where(
        t.contacts.c.account_id == tenant.account_id,
        one_of(database.engine.dialect, t.contacts.c.email, ["a@example.com", "b@example.com"]),
    )
    async with database.read() as conn:
        compiled = query.compile(dialect=conn.dialect)
        if conn.dialect.name == "sqlite":
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = " ".join(
                str(row[-1]) for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
            )
            # The unique (account_id, email) index, searched once per listed value.
            assert "SEARCH contacts USING INDEX sqlite_autoindex_contacts" in plan, plan
            assert "(account_id=? AND email=?)" in plan, plan
            return
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask for an index
        plan = " ".join(
            str(row[0]) for row in await conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        )
        assert "Index" in plan and "ANY" in plan, plan
