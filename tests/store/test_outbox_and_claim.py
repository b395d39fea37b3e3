"""The outbox (`events.emit`), the shared claim query (`engine.claim`) and the schema, on both databases."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, select

from fluenzr_server.engine.claim import claim_due, release_many
from fluenzr_server.services import events
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.engine import sync_url
from tests.conftest import Tenant

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
work = Table(
    f"claim_test_{secrets.token_hex(3)}",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("lease_owner", String(64)),
)


def test_migrations_create_exactly_the_declared_schema(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    engine.dispose()
    assert diff == []


async def test_emit_writes_in_the_callers_transaction(database: Database, tenant: Tenant) -> None:
    async with database.write() as conn:
        kept = await events.emit(
            conn, account_id=tenant.account_id, type="contact.created", data={"id": "c1"}
        )

    class RolledBack(Exception):
        pass

    async def emit_then_fail() -> None:
        async with database.write() as conn:
            await events.emit(conn, account_id=tenant.account_id, type="contact.created", data={"id": "c2"})
            raise RolledBack

    with pytest.raises(RolledBack):
        await emit_then_fail()

    async with database.read() as conn:
        rows = (await conn.execute(select(t.events).where(t.events.c.account_id == tenant.account_id))).all()
    assert [(r.id, r.type, r.data) for r in rows] == [(kept, "contact.created", {"id": "c1"})]
    wire = events.payload(rows[0])
    assert wire["id"].startswith("evt_") and wire["createdAt"].endswith("Z") and wire["data"] == {"id": "c1"}


@pytest.fixture
async def work_table(database: Database) -> Database:
    async with database.write() as conn:
        await conn.run_sync(lambda sync: work.metadata.drop_all(sync))
        await conn.run_sync(lambda sync: work.metadata.create_all(sync))
    return database


async def _insert(database: Database, count: int, due: datetime = T0) -> None:
    async with database.write() as conn:
        await conn.execute(
            work.insert(), [{"id": f"w{i:03d}", "due_at": due + timedelta(seconds=i)} for i in range(count)]
        )


async def test_claims_due_rows_oldest_first_and_skips_leased_ones(work_table: Database) -> None:
    await _insert(work_table, 5)
    now = T0 + timedelta(seconds=3)  # w000..w003 are due
    async with work_table.write() as conn:
        first = await claim_due(conn, work, now=now, limit=2, lease=timedelta(seconds=30), owner="a")
    async with work_table.write() as conn:
        second = await claim_due(conn, work, now=now, limit=10, lease=timedelta(seconds=30), owner="b")
    assert [r.id for r in first] == ["w000", "w001"]
    assert [r.id for r in second] == ["w002", "w003"]
    assert {r.lease_owner for r in second} == {"b"}


async def test_an_expired_lease_is_due_again_and_release_checks_the_owner(work_table: Database) -> None:
    await _insert(work_table, 1)
    lease = timedelta(seconds=30)
    async with work_table.write() as conn:
        (row,) = await claim_due(conn, work, now=T0, limit=1, lease=lease, owner="dead-worker")
    async with work_table.write() as conn:
        assert (
            await claim_due(conn, work, now=T0 + timedelta(seconds=29), limit=1, lease=lease, owner="b") == []
        )
        (again,) = await claim_due(
            conn, work, now=T0 + timedelta(seconds=31), limit=1, lease=lease, owner="b"
        )
    assert again.id == row.id
    async with work_table.write() as conn:
        assert await release_many(conn, work, {row.id: {}}, owner="dead-worker") == set()
        assert await release_many(conn, work, {row.id: {"due_at": T0 + timedelta(hours=1)}}, owner="b") == {
            row.id
        }
    async with work_table.write() as conn:
        assert (
            await claim_due(conn, work, now=T0 + timedelta(minutes=5), limit=1, lease=lease, owner="c") == []
        )


async def test_concurrent_claimers_never_take_the_same_row(work_table: Database) -> None:
    await _insert(work_table, 60)
    now = T0 + timedelta(hours=1)

    async def claimer(owner: str) -> list[str]:
        taken: list[str] = []
        while True:
            async with work_table.write() as conn:
                rows = await claim_due(conn, work, now=now, limit=3, lease=timedelta(minutes=5), owner=owner)
            if not rows:
                return taken
            taken += [r.id for r in rows]
            await asyncio.sleep(0)

    results = await asyncio.gather(*(claimer(f"worker-{i}") for i in range(4)))
    everything = [row_id for taken in results for row_id in taken]
    assert sorted(everything) == [f"w{i:03d}" for i in range(60)]  # all taken, none twice


async def test_emit_many_writes_every_event_in_the_callers_transaction(
    database: Database, tenant: Tenant
) -> None:
    items = [(tenant.account_id, "email.sent", {"step": step}) for step in range(3)]
    async with database.write() as conn:
        ids = await events.emit_many(conn, items)
    async with database.read() as conn:
        query = select(t.events).where(t.events.c.account_id == tenant.account_id, t.events.c.id.in_(ids))
        rows = {row.id: row for row in (await conn.execute(query)).all()}
    assert [(rows[i].type, rows[i].data) for i in ids] == [("email.sent", {"step": n}) for n in range(3)]
    async with database.write() as conn:
        assert await events.emit_many(conn, []) == []


async def test_release_many_writes_only_the_rows_whose_lease_is_still_held(work_table: Database) -> None:
    await _insert(work_table, 3)
    lease = timedelta(seconds=30)
    async with work_table.write() as conn:
        rows = await claim_due(conn, work, now=T0 + timedelta(seconds=5), limit=3, lease=lease, owner="a")
    later = T0 + timedelta(minutes=1)
    async with work_table.write() as conn:  # a's lease ran out; b took w001
        (taken,) = await claim_due(
            conn, work, now=later, limit=1, lease=lease, owner="b", where=work.c.id == "w001"
        )
    values = {row.id: {"due_at": T0 + timedelta(hours=i)} for i, row in enumerate(rows)}
    async with work_table.write() as conn:
        kept = await release_many(conn, work, values, owner="a")
    assert kept == {"w000", "w002"} and taken.id == "w001"
    async with work_table.read() as conn:
        found = {r.id: r for r in (await conn.execute(select(work))).all()}
    assert found["w001"].lease_owner == "b"
    assert (found["w002"].lease_owner, found["w002"].lease_until) == (None, None)
    assert found["w002"].due_at.replace(tzinfo=UTC) == T0 + timedelta(hours=2)


async def test_emit_many_fans_out_to_subscribed_active_endpoints_only(
    database: Database, tenant: Tenant
) -> None:
    def endpoint(hook_id: str, subscribed: list[str], active: bool = True) -> dict[str, object]:
        return {
            "id": hook_id,
            "account_id": tenant.account_id,
            "url": "https://hooks.example.com/in",
            "events": subscribed,
            "active": active,
            "secret": "sealed",
            "created_at": T0,
        }

    suffix = secrets.token_hex(4)
    sent_hook, all_hook, off_hook = f"whk_s{suffix}", f"whk_a{suffix}", f"whk_o{suffix}"
    async with database.write() as conn:
        await conn.execute(
            t.webhooks.insert(),
            [
                endpoint(sent_hook, ["email.sent"]),
                endpoint(all_hook, ["email.sent", "email.bounced"]),
                endpoint(off_hook, ["email.sent"], active=False),
            ],
        )
        ids = await events.emit_many(
            conn,
            [
                (tenant.account_id, "email.sent", {"step": 0}),
                (tenant.account_id, "email.bounced", {"step": 1}),
            ],
        )
    async with database.read() as conn:
        query = select(t.webhook_deliveries).where(t.webhook_deliveries.c.event_id.in_(ids))
        deliveries = {(row.event_id, row.webhook_id) for row in (await conn.execute(query)).all()}
    assert deliveries == {(ids[0], sent_hook), (ids[0], all_hook), (ids[1], all_hook)}
