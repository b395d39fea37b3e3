"""SQLite reads on the event loop: an `AsyncConnection` whose statements run in place, without a thread hop.

Through aiosqlite every statement, checkout and release is a round trip to the connection's thread (about
0.25 CPU ms each, measured in issue 12), while the reads the API makes are indexed lookups of a few
microseconds. This connection runs the same SQLAlchemy statements on a plain `sqlite3` connection in the
calling thread, so a read costs what its query costs. It is only used for reads (`Database.read()`): in WAL
mode a reader never waits for a lock, so nothing here can stall the loop on another process; writes keep
the threaded engine, whose `BEGIN IMMEDIATE` may wait for another process's write lock.

Only the `AsyncConnection` calls services make are implemented (`execute`, `scalar`, `scalars`, `close`
and the context manager); the others raise instead of silently taking the threaded path.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Executable, Result, ScalarResult
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from fluenzr_server.store.engine import (
    JSON_CODEC,
    install_begin_immediate,
    install_busy_timeout,
    install_sqlite_pragmas,
    install_write_connections,
    sync_url,
)


def loop_engine(
    url: str, *, for_writes: bool = False, begin_immediate: bool = True, busy_timeout_ms: int | None = None
) -> AsyncEngine:
    """An `AsyncEngine` holding a plain-sqlite3 engine, only to be opened through `LoopConnection`.

    Its pool never makes a caller wait (`max_overflow=-1`): a caller waiting on a pool lock would block the
    event loop that the connection's holder needs to give it back. `for_writes`: transactions begin with
    BEGIN IMMEDIATE, and connections may move between the worker threads of `store/one_hop.py`.
    Without `begin_immediate`, a write connection begins no transaction of its own: its user issues
    BEGIN IMMEDIATE on the driver. `busy_timeout_ms`: how long a statement waits for another connection's
    lock (default: the engine's).
    """
    engine = create_sync_engine(
        sync_url(url),
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=-1,
        connect_args={"check_same_thread": False} if for_writes else {},
        **JSON_CODEC,
    )
    install_sqlite_pragmas(engine)
    if for_writes:
        (install_begin_immediate if begin_immediate else install_write_connections)(engine)
    if busy_timeout_ms is not None:
        install_busy_timeout(engine, busy_timeout_ms)
    # AsyncEngine only accepts async dialects; this one is never driven through greenlet_spawn's
    # await-requiring paths (LoopConnection overrides every call that would be).
    engine.dialect.is_async = True
    return AsyncEngine(engine)


class LoopConnection(AsyncConnection):
    """An `AsyncConnection` over `loop_engine(url)` executing synchronously in the caller's thread."""

    async def start(self, is_ctxmanager: bool = False) -> LoopConnection:
        self.sync_connection = self.sync_engine.connect()
        return self

    async def execute(  # type: ignore[override]
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Result[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(  # type: ignore[override]
        self, statement: str, parameters: Any = None, *, execution_options: Any = None
    ) -> Result[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options=execution_options)

    async def scalar(
        self, statement: Executable, parameters: Any = None, *, execution_options: Any = None
    ) -> Any:
        return self._proxied.scalar(statement, parameters, execution_options=execution_options)

    async def scalars(
        self, statement: Executable, parameters: Any = None, *, execution_options: Any = None
    ) -> ScalarResult[Any]:
        return self._proxied.scalars(statement, parameters, execution_options=execution_options)

    async def close(self) -> None:
        if self.sync_connection is not None:
            self.sync_connection.close()

    async def __aexit__(self, *_exc: object) -> None:
        # AsyncConnection closes in a shielded task; this close never suspends, so it cannot be cancelled
        # half-way, and it needs no event loop (store/one_hop.py runs it in a worker thread).
        await self.close()

    async def stream(self, *_args: Any, **_kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise NotImplementedError("LoopConnection serves execute/scalar/scalars only; use Database.write()")

    async def run_sync(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise NotImplementedError("LoopConnection serves execute/scalar/scalars only; use Database.write()")
