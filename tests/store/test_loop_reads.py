"""SQLite reads on the event loop (store/loop_sqlite.py): same results, no thread hop, no writer stalls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text

from fluenzr_server.services import accounts
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.loop_sqlite import LoopConnection
from fluenzr_server.store.migrate import upgrade


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    upgrade(url)
    db = Database(url)
    yield db
    await db.dispose()


async def test_reads_run_in_the_callers_thread_and_offloaded_reads_do_not(sqlite_db: Database) -> None:
    def thread_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    assert sqlite_db.loop_engine is not None
    event.listen(sqlite_db.loop_engine.sync_engine, "connect", thread_function)
    event.listen(sqlite_db.engine.sync_engine, "connect", thread_function)
    here = threading.get_ident()
    async with sqlite_db.read() as conn:
        assert isinstance(conn, LoopConnection)
        assert (await conn.execute(text("SELECT thread_id()"))).scalar_one() == here
        assert await conn.scalar(text("SELECT thread_id()")) == here
        assert list(await conn.scalars(text("SELECT thread_id()"))) == [here]
    async with sqlite_db.read(offload=True) as conn:
        assert not isinstance(conn, LoopConnection)
        assert (await conn.execute(text("SELECT thread_id()"))).scalar_one() != here


async def test_a_read_sees_committed_writes_and_not_a_writers_open_transaction(sqlite_db: Database) -> None:
    account_id = await accounts.create_account(sqlite_db, name="Loop", plan="pro")
    query = select(t.accounts.c.name).where(t.accounts.c.id == account_id)
    async with sqlite_db.read() as conn:
        assert (await conn.execute(query)).scalar_one() == "Loop"

    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with sqlite_db.write() as conn:  # BEGIN IMMEDIATE: holds the write lock until released
            await conn.execute(t.accounts.update().where(t.accounts.c.id == account_id).values(name="New"))
            holding.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await holding.wait()
    started = time.monotonic()
    async with sqlite_db.read() as conn:  # WAL: the reader neither waits nor sees uncommitted data
        assert (await conn.execute(query)).scalar_one() == "Loop"
    assert time.monotonic() - started < 1.0
    release.set()
    await task
    async with sqlite_db.read() as conn:
        assert (await conn.execute(query)).scalar_one() == "New"


async def test_many_concurrent_readers_never_wait_on_the_pool(sqlite_db: Database) -> None:
    async def reader() -> int:
        async with sqlite_db.read() as conn:
            await asyncio.sleep(0.01)  # hold the connection across a suspension
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    assert await asyncio.wait_for(asyncio.gather(*(reader() for _ in range(64))), 10) == [1] * 64


async def test_unsupported_calls_refuse_instead_of_taking_another_path(sqlite_db: Database) -> None:
    async with sqlite_db.read() as conn:
        with pytest.raises(NotImplementedError):
            await conn.stream(text("SELECT 1"))
        with pytest.raises(NotImplementedError):
            await conn.run_sync(lambda _c: None)
