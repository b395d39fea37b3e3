"""A `@small_write` service runs on the event loop when SQLite's write lock is free at once, and through
`@one_hop`'s thread when another process holds it (store/one_hop.py): never run twice, never half-written,
the loop never blocked; on PostgreSQL the service runs as it is."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from fluenzr_server.errors import Conflict, NotFound
from fluenzr_server.services import accounts, contacts
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.migrate import upgrade
from fluenzr_server.store.one_hop import in_hop, small_write
from tests.utils.sqlite_lock import write_lock_held_by_another_process
from tests.utils.thread_hops import count_thread_hops


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(url)
    db = Database(url)
    yield db
    await db.dispose()


def _contact_row(contact_id: str, account_id: str, email: str) -> Any:
    stamp = now()
    row = {"id": contact_id, "account_id": account_id, "email": email, "custom_fields": {}}
    return t.contacts.insert().values({**row, "created_at": stamp, "updated_at": stamp})


async def _count(db: Database, table: Any, account_id: str) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(table).where(table.c.account_id == account_id)
        return int((await conn.execute(query)).scalar_one())


async def test_a_small_write_runs_on_the_event_loop_without_a_thread_hop(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Loop", plan="pro")
    hops = count_thread_hops(monkeypatch)
    threads: list[int] = []
    assert sqlite_db.loop_write_engine is not None
    event.listen(
        sqlite_db.loop_write_engine.sync_engine,
        "before_cursor_execute",
        lambda *_args: threads.append(threading.get_ident()),
    )
    created = await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "a@example.com"})
    assert hops == []
    # the insert, the list version, the event, the webhooks it fans out to: all on the loop's thread
    assert len(threads) >= 4 and set(threads) == {threading.get_ident()}
    assert created["email"] == "a@example.com"
    assert await _count(sqlite_db, t.contacts, account_id) == 1
    assert await _count(sqlite_db, t.events, account_id) == 1
    assert not in_hop()  # the hop's context did not leak into the caller's


async def test_another_process_holding_the_write_lock_sends_the_write_through_the_thread_once(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Busy", plan="pro")
    hops = count_thread_hops(monkeypatch)
    runs: list[int] = []
    original = sqlite_db.one_hop

    async def counting_one_hop(work: Any, **kwargs: Any) -> Any:
        async def counted() -> Any:
            runs.append(1)
            return await work()

        return await original(counted, **kwargs)

    monkeypatch.setattr(sqlite_db, "one_hop", counting_one_hop)
    with write_lock_held_by_another_process(sqlite_db.url):
        write = asyncio.create_task(
            contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "b@example.com"})
        )
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.5:  # the loop keeps turning while the fallback waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 20
        assert not write.done()
        async with sqlite_db.read() as conn:  # and readers are served meanwhile
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    created = await write
    assert created["email"] == "b@example.com"
    assert len(hops) == 1  # the threaded path took it
    assert runs == [1]  # the service ran once: the on-loop attempt stopped before running it
    assert await _count(sqlite_db, t.contacts, account_id) == 1
    assert await _count(sqlite_db, t.events, account_id) == 1
    # the lock is free again: the next write runs on the loop
    await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "c@example.com"})
    assert len(hops) == 1


async def test_a_failure_after_statements_leaves_nothing_behind_and_frees_the_lock(
    sqlite_db: Database,
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Fail", plan="pro")
    first = await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "d@example.com"})

    @small_write
    async def half_then_fail(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(_contact_row("ctc_half", account_id, "half@example.com"))
            await contacts.bump_contacts_version(conn, account_id)
            raise NotFound("ctc_half")

    with pytest.raises(NotFound):
        await half_then_fail(sqlite_db)
    with pytest.raises(Conflict) as conflict:  # IntegrityError inside its savepoint, then a read on the loop
        await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "D@example.com"})
    assert conflict.value.details["existingId"] == first["id"]
    assert await _count(sqlite_db, t.contacts, account_id) == 1
    assert await _count(sqlite_db, t.events, account_id) == 1
    # no transaction was left open: another connection takes the write lock at once
    with write_lock_held_by_another_process(sqlite_db.url):
        pass


async def test_completed_write_blocks_are_kept_when_the_service_raises_later(sqlite_db: Database) -> None:
    """As through the thread, where each `write()` block commits when it ends."""
    account_id = await accounts.create_account(sqlite_db, name="Blocks", plan="pro")

    @small_write
    async def two_blocks(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(_contact_row("ctc_kept", account_id, "k@example.com"))
        async with db.read() as conn:  # sees the block before it
            assert (await conn.execute(select(t.contacts.c.id))).scalars().all() == ["ctc_kept"]
        async with db.write() as conn:
            await conn.execute(_contact_row("ctc_gone", account_id, "g@example.com"))
            raise NotFound("ctc_gone")

    with pytest.raises(NotFound):
        await two_blocks(sqlite_db)
    async with sqlite_db.read() as conn:
        assert (await conn.execute(select(t.contacts.c.id))).scalars().all() == ["ctc_kept"]


async def test_a_small_write_that_awaits_anything_else_is_refused_and_rolled_back(
    sqlite_db: Database,
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Sleepy", plan="pro")

    @small_write
    async def sleepy(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(_contact_row("ctc_sleepy", account_id, "s@example.com"))
            await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than its database connection"):
        await sleepy(sqlite_db)
    assert await _count(sqlite_db, t.contacts, account_id) == 0
    with write_lock_held_by_another_process(sqlite_db.url):
        pass


async def test_a_threaded_writer_of_this_process_is_not_raced(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While this process's threaded write holds its turn, small writes queue behind it (no BUSY), then
    run on the loop: a queue does not send every later write through the thread."""
    account_id = await accounts.create_account(sqlite_db, name="Turns", plan="pro")
    hops = count_thread_hops(monkeypatch)
    emails = [f"t{i}@example.com" for i in range(20)]
    created = await asyncio.gather(
        accounts.create_account(sqlite_db, name="Threaded", plan="pro"),  # aiosqlite: holds the turn
        *(contacts.create_contact(sqlite_db, account_id=account_id, body={"email": e}) for e in emails),
    )
    assert hops == []  # they met the turn taken, waited for it, and ran on the loop
    assert sorted(c["email"] for c in created[1:]) == sorted(emails)
    assert await _count(sqlite_db, t.contacts, account_id) == 20
    assert await _count(sqlite_db, t.events, account_id) == 20


async def test_postgresql_runs_a_small_write_as_it_is(database: Database) -> None:
    seen: list[bool] = []

    @small_write
    async def service(db: Database) -> None:
        seen.append(in_hop())

    await service(database)
    assert seen == ([True] if database.dialect == "sqlite" else [False])
