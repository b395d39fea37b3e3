"""PostgreSQL checkouts are served first come, first served (`store/checkout_gate.py`): with more concurrent
requests than pooled connections, a caller that starts later never takes a connection before one that has
been waiting. SQLAlchemy's async pool alone lets it (issue 12: p99 of seconds at 32 connections on 10 + 10).
Order, not timing, is asserted: each test fails on the bare pool or without the gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.resources import Resources
from fluenzr_server.store.checkout_gate import CheckoutGate
from fluenzr_server.store.database import Database
from tests.conftest import test_settings as settings_for

Checkout = Callable[[Database], AbstractAsyncContextManager[AsyncConnection]]


async def _settle() -> None:
    """Enough loop turns for every runnable task to reach its next wait."""
    for _ in range(20):
        await asyncio.sleep(0)


def _postgres(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's pool (SQLite reads run on the event loop and writes take turns)")


@pytest.fixture
async def small_pool(database_url: str) -> AsyncIterator[Database]:
    _postgres(database_url)
    db = Database(database_url, pool_size=2, max_overflow=0)
    try:
        yield db
    finally:
        await db.dispose()


async def _in_line(
    db: Database, checkout: Checkout, *, waiters: int, late_arrival: bool
) -> tuple[list[str], bool]:
    """Two holders take the pool's two connections; `waiters` callers queue in a known order; then the
    holders give their connections back one after the other. With `late_arrival`, a newcomer is woken as
    the first connection goes back into the pool (its `checkin` event), so that it asks for a connection
    before the first waiter, woken by that check-in, runs.
    Returns the order in which the waiters and the newcomer got a connection, and whether every checkout
    past the holders waited at the gate (never inside the pool)."""
    order: list[str] = []
    release = [asyncio.Event(), asyncio.Event()]
    newcomer_go = asyncio.Event()
    waited_in_pool = False

    async def hold(index: int) -> None:
        async with checkout(db) as conn:
            await conn.execute(text("SELECT 1"))
            await release[index].wait()

    async def wait_in_line(name: str, before: Awaitable[object] | None = None) -> None:
        if before is not None:
            await before
        async with checkout(db) as conn:
            order.append(name)
            await conn.execute(text("SELECT 1"))

    holders = [asyncio.create_task(hold(index)) for index in range(2)]
    await _settle()
    tasks = []
    for index in range(waiters):
        tasks.append(asyncio.create_task(wait_in_line(f"waiter-{index}")))
        await _settle()  # arrival order is creation order
    if late_arrival:
        tasks.append(asyncio.create_task(wait_in_line("newcomer", newcomer_go.wait())))
        await _settle()
    queue = getattr(db.engine.sync_engine.pool, "_pool", None)
    getters = getattr(getattr(queue, "_queue", None), "_getters", None)
    waited_in_pool = bool(getters)
    pool = db.engine.sync_engine.pool

    def on_checkin(*_args: object) -> None:
        if late_arrival and release[0].is_set():
            newcomer_go.set()  # runnable before the waiter that this check-in wakes

    event.listen(pool, "checkin", on_checkin)
    try:
        release[0].set()
        await _settle()
        release[1].set()
        await asyncio.wait_for(asyncio.gather(*holders, *tasks), timeout=30)
    finally:
        event.remove(pool, "checkin", on_checkin)
    return order, not waited_in_pool


def _read(db: Database) -> AbstractAsyncContextManager[AsyncConnection]:
    return db.read()


def _write(db: Database) -> AbstractAsyncContextManager[AsyncConnection]:
    return db.write()


class _RequestRead:
    """A request's shared read connection (`Database.request_scope`), as the API-key lookup opens it."""

    def __init__(self, db: Database) -> None:
        self.scope = db.request_scope()
        self.db = db

    async def __aenter__(self) -> AsyncConnection:
        await self.scope.__aenter__()
        self.read = self.db.read()
        return await self.read.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.read.__aexit__(None, None, None)
        await self.scope.__aexit__(None, None, None)


@pytest.mark.parametrize("checkout", [_read, _write, _RequestRead], ids=["read", "write", "request-read"])
async def test_waiters_get_connections_in_arrival_order(small_pool: Database, checkout: Checkout) -> None:
    order, all_at_gate = await _in_line(small_pool, checkout, waiters=5, late_arrival=True)
    assert order == [f"waiter-{index}" for index in range(5)] + ["newcomer"]
    assert all_at_gate


async def test_the_bare_pool_lets_a_newcomer_overtake(small_pool: Database) -> None:
    """Why the gate exists: the same sequence on SQLAlchemy's pool alone serves the newcomer before the
    waiters (if SQLAlchemy's pool becomes fair, this fails and the gate may go)."""
    small_pool.checkout_gate = None
    order, _ = await _in_line(small_pool, _read, waiters=5, late_arrival=True)
    assert order.index("newcomer") < 5


async def test_a_nested_checkout_does_not_wait_behind_its_own_place(small_pool: Database) -> None:
    """A task holding a place that checks out again goes to the pool directly (no self-deadlock)."""
    async with small_pool.write() as outer:
        await outer.execute(text("SELECT 1"))
        async with small_pool.read() as inner:
            assert (await inner.execute(text("SELECT 1"))).scalar() == 1
    gate = small_pool.checkout_gate
    assert gate is not None and gate.waiting == 0 and not gate.holds_place()


async def test_a_failed_checkout_gives_its_place_back(database_url: str) -> None:
    _postgres(database_url)
    missing = database_url.rsplit("/", 1)[0] + "/fluenzr_no_such_database"
    broken = Database(missing, pool_size=1, max_overflow=0)

    async def read_once() -> None:
        async with asyncio.timeout(10), broken.request_scope(), broken.read():
            pass

    try:
        for _ in range(3):  # with a lost place, the second attempt would wait forever
            with pytest.raises(OperationalError, match="fluenzr_no_such_database"):
                await read_once()
        assert broken.checkout_gate is not None and not broken.checkout_gate.holds_place()
    finally:
        await broken.dispose()


async def test_pool_sizes_follow_the_settings(database_url: str) -> None:
    settings = settings_for(database_url, database_pool_size=3, database_max_overflow=2)
    resources = Resources.open(settings)
    try:
        db = resources.database
        if db.dialect != "postgresql":
            assert db.checkout_gate is None
            return
        pool = db.engine.sync_engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 2  # type: ignore[attr-defined]
        assert db.checkout_gate is not None and db.checkout_gate.places == 5
        assert db.read_engine.sync_engine.pool is pool  # reads and writes share the pool and the gate
    finally:
        await resources.close()


async def test_the_gate_hands_a_freed_place_to_the_longest_waiting() -> None:
    gate = CheckoutGate(1)
    order: list[int] = []
    assert await gate.enter()

    async def wait(index: int) -> None:
        entered = await gate.enter()
        order.append(index)
        gate.leave(entered)

    tasks = []
    for index in range(4):
        tasks.append(asyncio.create_task(wait(index)))
        await _settle()
    assert gate.waiting == 4
    gate.leave(True)
    late = asyncio.create_task(wait(99))  # starts in the same step as the release: must not overtake
    await asyncio.gather(*tasks, late)
    assert order == [0, 1, 2, 3, 99]
    with pytest.raises(ValueError, match="at least one place"):
        CheckoutGate(0)


async def test_a_wait_at_the_gate_times_out_as_the_pool_would() -> None:
    gate = CheckoutGate(1, timeout_seconds=0.05)
    holder = asyncio.create_task(gate.enter())
    assert await holder
    with pytest.raises(SQLAlchemyTimeoutError, match=r"no database connection free within 0\.05 s"):
        await gate.enter()
    assert gate.waiting == 0
    gate.leave(True)
    assert await asyncio.wait_for(gate.enter(), 1)  # the place is free again


async def test_the_gate_waits_as_long_as_the_pool(small_pool: Database) -> None:
    gate, pool = small_pool.checkout_gate, small_pool.engine.sync_engine.pool
    assert gate is not None and gate.timeout_seconds == pool.timeout() == 30  # type: ignore[attr-defined]


async def test_a_request_write_keeps_the_place_of_its_read(database_url: str) -> None:
    """A request that read and then writes gets its write connection before requests that queued after it
    (it gives its read connection back first, so it never holds two)."""
    _postgres(database_url)
    db = Database(database_url, pool_size=1, max_overflow=0)
    order: list[str] = []
    may_write = asyncio.Event()

    async def request() -> None:
        async with db.request_scope():
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
            await may_write.wait()
            async with db.write() as conn:
                order.append("request-write")
                await conn.execute(text("SELECT 1"))

    async def later(name: str) -> None:
        async with db.read() as conn:
            order.append(name)
            await conn.execute(text("SELECT 1"))

    try:
        first = asyncio.create_task(request())
        await _settle()
        assert db.checkout_gate is not None and db.checkout_gate.waiting == 0
        others = []
        for index in range(3):
            others.append(asyncio.create_task(later(f"later-{index}")))
            await _settle()
        assert db.checkout_gate.waiting == 3
        may_write.set()
        await asyncio.wait_for(asyncio.gather(first, *others), timeout=30)
        assert order == ["request-write", "later-0", "later-1", "later-2"]
        assert db.checkout_gate.waiting == 0
        assert await asyncio.wait_for(db.checkout_gate.enter(), 1)  # every place was given back
    finally:
        await db.dispose()
