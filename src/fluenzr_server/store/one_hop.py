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

`@small_write` goes one step further for writes of a few indexed statements (a contact, an idempotency
key): the thread hop and SQLAlchemy's transaction events cost more than the write itself (issue 12: the
contact-creating service alone took 520 CPU µs in the thread, 320 on the loop). On SQLite it
first tries the whole unit of work on the event loop: one connection whose busy timeout is zero takes the
write lock with `BEGIN IMMEDIATE`; when that fails at once with SQLITE_BUSY (another process holds the lock,
e.g. the engine child), nothing has run yet, and the service takes `@one_hop`'s thread, which may wait.
Once the lock is held nothing the service does can wait on a lock (in WAL mode a writer holding it is
never refused), so the loop is never blocked on another process. The service's `write()` blocks are
savepoints of that one transaction, committed together when the service returns or raises; its `read()`s
use the same connection. One cost stays on the loop: a commit that leaves the WAL at 1,000 pages or more
runs SQLite's automatic checkpoint there (an fsync; 4-7 ms every ~100 contact writes, measured on this
machine), as it ran in the writer's thread before. Moving it to a thread was tried: a checkpoint that
overlaps writes never lets SQLite restart the WAL, and one that holds the write turn made writers wait
longer than the fsync it saved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from fluenzr_server.store.database import Database
    from fluenzr_server.store.loop_sqlite import LoopConnection

P = ParamSpec("P")
T = TypeVar("T")

_in_hop: ContextVar[bool] = ContextVar("fluenzr_in_one_hop", default=False)
# The transaction of a `@small_write` running on the event loop: (its Database, its connection).
_loop_write: ContextVar[tuple[object, LoopConnection] | None] = ContextVar("fluenzr_loop_write", default=None)


def in_hop() -> bool:
    """True inside a `@one_hop` service's thread: connections execute in place there."""
    return _in_hop.get()


def loop_write_connection(database: object) -> LoopConnection | None:
    """Inside a `@small_write` running on the event loop for `database`: the connection holding its write
    lock (every read and write of the service goes through it); None elsewhere."""
    found = _loop_write.get()
    return found[1] if found is not None and found[0] is database else None


def drive(
    work: Callable[[], Coroutine[Any, Any, T]], loop_write: tuple[object, LoopConnection] | None = None
) -> T:
    """Run `work()` to its end in this thread, as a coroutine that must never suspend (see the module).
    Call it in a copy of the context (asyncio.to_thread runs in one; `contextvars.copy_context().run`):
    it marks that context as a hop, with `loop_write` as the connection holding the write lock if given."""
    _in_hop.set(True)
    _loop_write.set(loop_write)
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


def small_write(
    service: Callable[Concatenate[Database, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Database, P], Coroutine[Any, Any, T]]:
    """`@one_hop` for a write of a few indexed statements: on SQLite, when the write lock is free at once,
    the whole unit of work runs on the event loop, without a thread hop (`Database.one_hop(on_loop=True)`);
    when it is not (another process, or this one's threaded writer, holds it), in `@one_hop`'s thread."""

    @functools.wraps(service)
    async def hop(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def work() -> T:
            return await service(db, *args, **kwargs)

        return await db.one_hop(work, on_loop=True)

    return hop
