"""A first-come, first-served line in front of a connection pool (PostgreSQL).

SQLAlchemy's async pool (2.1, `util/queue.py` `AsyncAdaptedQueue.get`) takes an idle connection without
waiting whenever one is there, even while other checkouts wait: a connection checked in wakes the first
waiter, but a checkout that starts before that waiter runs takes the connection, and the waiter, finding
the pool empty again, joins the back of the line (`asyncio.Queue.get`). Under more concurrent requests than
connections some requests lost that race again and again: at 32 wrk connections on a 10 + 10 pool the
server's p50 was 30 ms and its p99 several seconds, with single checkouts waiting up to 6.9 s
(`bench/results/pg-tail-s5.md`). The same starvation is known from other pools (asyncpg #1247, sqlx #453).

The gate admits at most as many holders as the pool has connections and hands a freed place to the
longest-waiting caller: `asyncio.Semaphore` is FIFO and hands over directly (a release wakes the first
waiter and keeps the place for it; an acquire never overtakes waiters: CPython since the gh-90155 fix,
checked on the running interpreter by tests/store/test_checkout_gate.py), so
behind the gate the pool always has a connection (or room to open one) and never makes anyone wait.

A task that already holds a place (a nested checkout) goes straight to the pool, as before the gate: it
must never wait behind callers that may be waiting for the place it holds. A wait at the gate is bounded by
the pool's own checkout timeout and fails as the pool's would (`sqlalchemy.exc.TimeoutError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.exc import TimeoutError as CheckoutTimeout


class CheckoutGate:
    """`places` concurrent holders at most (pool_size + max_overflow), admitted in arrival order; a caller
    waits `timeout_seconds` at most (the pool's `pool_timeout`, 30 s by default)."""

    def __init__(self, places: int, *, timeout_seconds: float = 30.0) -> None:
        if places < 1:
            raise ValueError("a checkout gate needs at least one place")
        self.places = places
        self.timeout_seconds = timeout_seconds
        self._free = asyncio.Semaphore(places)
        # The task holding a place in this context (tasks started inside inherit the context, not the place).
        self._holder: ContextVar[asyncio.Task[object] | None] = ContextVar(
            f"fluenzr_checkout_gate_{id(self)}", default=None
        )

    @property
    def waiting(self) -> int:
        """How many callers wait for a place now (a queue length for measurements and the timeout's message;
        read from the semaphore's private waiter queue)."""
        waiters = getattr(self._free, "_waiters", None)
        return sum(1 for waiter in waiters or () if not waiter.done())

    def holds_place(self) -> bool:
        """Whether the current task holds a place."""
        holder = self._holder.get()
        return holder is not None and holder is asyncio.current_task()

    async def enter(self) -> bool:
        """Wait for a place; False when this task holds one already (nothing to give back)."""
        if self.holds_place():
            return False
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._free.acquire()
        except TimeoutError:
            raise CheckoutTimeout(
                f"no database connection free within {self.timeout_seconds:g} s "
                f"({self.places} connections, {self.waiting} callers waiting)"
            ) from None
        self._holder.set(asyncio.current_task())
        return True

    def leave(self, entered: bool) -> None:
        """Give back the place `enter` returned True for."""
        if entered:
            self._holder.set(None)
            self._free.release()

    @asynccontextmanager
    async def place(self, *, already_entered: bool = False) -> AsyncIterator[None]:
        """A place for the block; `already_entered`: the caller's own (from `enter`), given back at the
        end."""
        entered = True if already_entered else await self.enter()
        try:
            yield
        finally:
            self.leave(entered)
