"""A service's whole write in one thread hop on SQLite (`@one_hop`), instead of one hop per statement.

Through aiosqlite every statement of a write (BEGIN IMMEDIATE, each INSERT/UPDATE, the outbox event,
COMMIT) is a round trip to the connection's thread: a `POST /contacts` made eight of them (issue 12). A
service decorated with `@one_hop` runs, on SQLite, as one call in a worker thread (`asyncio.to_thread`):
there `Database.write()` and `Database.read()` hand out connections whose statements execute in place on a
plain `sqlite3` connection (`loop_sqlite.LoopConnection`), so the service's coroutine never suspends and is
driven to its end by one `send(None)`. `BEGIN IMMEDIATE` may wait for another process's write lock
(busy_timeout): it waits in that thread, never on the event loop. The process's writers still take turns
(`Database` holds its write turn for the whole hop).

Only services whose every await is a statement on their connections can be decorated: one that awaits
anything else (a network call, a sleep) would suspend, and `drive` refuses it with a RuntimeError rather
than block or drop it. On PostgreSQL, and inside a hop already, the decorator calls the service as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from fluenzr_server.store.database import Database

P = ParamSpec("P")
T = TypeVar("T")

_in_hop: ContextVar[bool] = ContextVar("fluenzr_in_one_hop", default=False)


def in_hop() -> bool:
    """True inside a `@one_hop` service's thread: connections execute in place there."""
    return _in_hop.get()


def drive(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work()` to its end in this thread, as a coroutine that must never suspend (see the module)."""
    _in_hop.set(True)  # this thread's copy of the context (asyncio.to_thread runs in a copy)
    coroutine = work()
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: T = finished.value
        return result
    coroutine.close()
    raise RuntimeError(f"{work!r} awaited something other than its database connection inside @one_hop")


def one_hop(
    service: Callable[Concatenate[Database, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Database, P], Coroutine[Any, Any, T]]:
    """Decorates a service `f(db, ...)` so that, on SQLite, its whole unit of work is one thread hop."""

    @functools.wraps(service)
    async def hop(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def work() -> T:
            return await service(db, *args, **kwargs)

        return await db.one_hop(work)

    return hop
