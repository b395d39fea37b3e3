"""A `@one_hop` service's whole write is one worker-thread hop on SQLite (store/one_hop.py): its statements
run in place in that thread, a lock wait never blocks the event loop, failures roll back, and a service that
awaits anything but its connection is refused. On PostgreSQL the service runs as it is."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from fluenzr_server.errors import Conflict
from fluenzr_server.services import accounts, contacts
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.migrate import upgrade
from fluenzr_server.store.one_hop import in_hop, one_hop
from tests.utils.thread_hops import count_thread_hops


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'hop.db'}"
    upgrade(url)
    db = Database(url)
    yield db
    await db.dispose()


def _count(engine: Any) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


async def _contacts(db: Database, account_id: str) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(t.contacts).where(t.contacts.c.account_id == account_id)
        return int((await conn.execute(query)).scalar_one())


async def test_a_write_is_one_hop_with_every_statement_in_that_thread(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Hop", plan="pro")
    hops = count_thread_hops(monkeypatch)
    threads: list[int] = []
    assert sqlite_db.hop_write_engine is not None
    event.listen(
        sqlite_db.hop_write_engine.sync_engine,
        "before_cursor_execute",
        lambda *_args: threads.append(threading.get_ident()),
    )
    threaded = _count(sqlite_db.write_engine.sync_engine)  # aiosqlite: one thread round trip per statement
    create_contact = one_hop(contacts.create_contact.__wrapped__)  # type: ignore[attr-defined]
    created = await create_contact(sqlite_db, account_id=account_id, body={"email": "a@example.com"})
    assert len(hops) == 1
    assert threaded == []
    # BEGIN IMMEDIATE, the insert, the list version, the event, the webhooks it fans out to: one thread.
    assert len(threads) >= 4 and len(set(threads)) == 1 and threads[0] != threading.get_ident()
    assert created["email"] == "a@example.com"
    assert await _contacts(sqlite_db, account_id) == 1


async def test_a_failed_write_rolls_back_and_its_error_reaches_the_caller(sqlite_db: Database) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Hop", plan="pro")
    first = await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "b@example.com"})
    async with sqlite_db.read() as conn:
        events_before = (await conn.execute(select(func.count()).select_from(t.events))).scalar_one()
    with pytest.raises(Conflict) as conflict:
        await contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "B@example.com"})
    assert conflict.value.details["existingId"] == first["id"]
    async with sqlite_db.read() as conn:
        events_after = (await conn.execute(select(func.count()).select_from(t.events))).scalar_one()
    assert (await _contacts(sqlite_db, account_id), events_after) == (1, events_before)


async def test_waiting_for_another_process_write_lock_does_not_block_the_event_loop(
    sqlite_db: Database,
) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Hop", plan="pro")
    other = sqlite3.connect(sqlite_db.url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's one write lock
    try:
        write = asyncio.create_task(
            contacts.create_contact(sqlite_db, account_id=account_id, body={"email": "c@example.com"})
        )
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.5:  # the loop keeps turning while the hop waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 20
        assert not write.done()
        async with sqlite_db.read() as conn:  # and readers are served meanwhile
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        other.execute("COMMIT")
        other.close()
    assert (await write)["email"] == "c@example.com"


async def test_a_service_that_awaits_anything_else_is_refused(sqlite_db: Database) -> None:
    @one_hop
    async def sleepy(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other than its database connection"):
        await sleepy(sqlite_db)
    async with sqlite_db.read() as conn:  # nothing was left holding the write lock
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    async with sqlite_db.write() as conn:
        await conn.execute(text("SELECT 1"))


async def test_hops_do_not_nest_and_postgresql_runs_the_service_as_it_is(database: Database) -> None:
    seen: list[bool] = []

    @one_hop
    async def inner(db: Database) -> None:
        seen.append(in_hop())

    @one_hop
    async def outer(db: Database) -> None:
        seen.append(in_hop())
        await inner(db)

    await outer(database)
    assert seen == ([True, True] if database.dialect == "sqlite" else [False, False])
