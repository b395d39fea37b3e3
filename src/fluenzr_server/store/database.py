"""A database handle: the engines and the dialect-specific bits queries need (one per `Resources`)."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fluenzr_server.store.checkout_gate import CheckoutGate
from fluenzr_server.store.engine import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, create_engine
from fluenzr_server.store.loop_sqlite import LoopConnection, loop_engine
from fluenzr_server.store.one_hop import drive, in_hop, loop_write_connection

T = TypeVar("T")


class _SharedRead:
    """The read connection of one request (`Database.request_scope`), opened at its first read."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.conn: AsyncConnection | None = None
        self.entered = False  # holds a place at the database's checkout gate

    async def connection(self) -> AsyncConnection:
        if self.conn is None:
            loop = self.database.loop_engine
            if loop is not None:
                self.conn = await LoopConnection(loop).start()
                return self.conn
            gate = self.database.checkout_gate
            entered = await gate.enter() if gate is not None else False
            try:
                self.conn = await self.database.read_engine.connect().start()
            except BaseException:
                if gate is not None:
                    gate.leave(entered)
                raise
            self.entered = entered
        return self.conn

    async def release(self, *, keep_place: bool = False) -> bool:
        """The connection back to the pool; with `keep_place`, its place at the checkout gate stays with the
        caller, who must `leave` it (True is returned then: a place is kept)."""
        if self.conn is None:
            return False
        conn, self.conn = self.conn, None
        entered, self.entered = self.entered, False
        kept = False
        try:
            # Back to the pool (PostgreSQL: its read transaction rolled back), even when the request is
            # cancelled meanwhile (a client gone): the close goes on, shielded, as AsyncConnection's own.
            await asyncio.shield(conn.close())
            kept = entered and keep_place
        finally:
            if not kept and self.database.checkout_gate is not None:
                self.database.checkout_gate.leave(entered)
        return kept


_shared_read: ContextVar[_SharedRead | None] = ContextVar("fluenzr_shared_read", default=None)


class Database:
    def __init__(
        self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW
    ) -> None:
        """`pool_size` + `max_overflow`: the PostgreSQL connections this handle opens at most (kept open,
        opened on demand and closed when idle); SQLite's pools are sized on their own."""
        self.url = url
        self.engine: AsyncEngine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.dialect = self.engine.dialect.name
        # PostgreSQL: every checkout of the pool (reads and writes share it) waits its turn here, first
        # come first served, instead of racing in the pool (store/checkout_gate.py).
        self.checkout_gate = (
            CheckoutGate(pool_size + max_overflow, timeout_seconds=self.engine.pool.timeout())  # type: ignore[attr-defined]
            if self.dialect == "postgresql"
            else None
        )
        # SQLite gets a second pool whose transactions take the write lock first; PostgreSQL needs none.
        self.write_engine = create_engine(url, for_writes=True) if self.dialect == "sqlite" else self.engine
        # PostgreSQL reads in autocommit: at READ COMMITTED each statement takes its own snapshot inside a
        # transaction too, so a read-only BEGIN ... ROLLBACK bought nothing but two round trips per request.
        self.read_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self.engine
        )
        # SQLite has one writer at a time; queueing this process's writers here is fair and prompt, where
        # SQLite's busy handler would poll with growing sleeps (p99 of seconds under concurrent writes).
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None
        # SQLite reads run on the event loop (store/loop_sqlite.py): one indexed read costs microseconds,
        # a thread round trip per statement cost far more.
        self.loop_engine = loop_engine(url) if self.dialect == "sqlite" else None
        # A `@one_hop` service's writes (store/one_hop.py): in place, in the one worker thread it runs in.
        self.hop_write_engine = loop_engine(url, for_writes=True) if self.dialect == "sqlite" else None
        # A `@small_write` service's transaction on the event loop: never waits for a lock (busy timeout 0).
        self.loop_write_engine = (
            loop_engine(url, for_writes=True, begin_immediate=False, busy_timeout_ms=0)
            if self.dialect == "sqlite"
            else None
        )

    @asynccontextmanager
    async def request_scope(self) -> AsyncIterator[None]:
        """One request (the edge opens it): on PostgreSQL its reads share one connection, from the API-key
        lookup to the handler's queries (one checkout, one BEGIN/ROLLBACK instead of two), opened at the
        first read and released at the end (or before a write, so a request never holds two connections:
        a pool of N serves N requests without waiting on itself). SQLite reads need no sharing (`_shared`)."""
        shared = _SharedRead(self)
        token = _shared_read.set(shared)
        try:
            yield
        finally:
            _shared_read.reset(token)
            await shared.release()

    def _shared(self) -> _SharedRead | None:
        if self.loop_engine is not None:
            # SQLite: a read on the loop checks a connection out and back in within one synchronous step,
            # so sharing saves nothing; holding one across the request's awaits would grow the pool past
            # its size under concurrency, and connections beyond it are closed and reopened (PRAGMAs).
            return None
        shared = _shared_read.get()
        return shared if shared is not None and shared.database is self and not in_hop() else None

    @asynccontextmanager
    async def read(self, *, offload: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for reads. On SQLite its statements run in place on the event loop, unless
        `offload` (a read that may scan many rows, e.g. a substring filter): then on the driver's thread.
        Inside `request_scope`, the request's shared connection (not for SQLite's offloaded reads)."""
        hop = loop_write_connection(self)
        if hop is not None:  # a `@small_write` on the loop: its reads see its own savepoints
            yield hop
            return
        shared = self._shared()
        if shared is not None and not (offload and self.loop_engine is not None):
            conn = await shared.connection()
            try:
                yield conn
            except BaseException:
                await shared.release()  # nothing half-done stays behind (PostgreSQL: an aborted transaction)
                raise
            return
        if self.loop_engine is not None and (not offload or in_hop()):
            async with LoopConnection(self.loop_engine) as conn:
                yield conn
            return
        async with self._turn(), self.read_engine.connect() as conn:
            yield conn

    def _turn(self, *, kept: bool = False) -> AbstractAsyncContextManager[None]:
        """A place at the checkout gate (PostgreSQL), held until the connection is back in the pool;
        `kept`: the caller holds one already (`_SharedRead.release(keep_place=True)`), given back at the
        end."""
        if self.checkout_gate is None:
            return nullcontext()
        return self.checkout_gate.place(already_entered=kept)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed when the block ends, rolled back when it raises (inside a `@small_write`
        on the loop: a savepoint, released or rolled back to, of the transaction holding the write lock)."""
        hop = loop_write_connection(self)
        if hop is not None:
            # On the driver (SQLAlchemy compiles its savepoint statements on every use).
            raw = _driver(hop)
            name = f"small_write_{id(raw)}_{next(_savepoints)}"
            raw.execute(f"SAVEPOINT {name}")
            try:
                yield hop
            except BaseException:
                raw.execute(f"ROLLBACK TO {name}")
                raw.execute(f"RELEASE {name}")
                raise
            raw.execute(f"RELEASE {name}")
            return
        shared = self._shared()
        # A request's write takes over the place its reads held at the checkout gate (one connection at a
        # time either way) rather than queueing again behind requests that arrived after it.
        kept = await shared.release(keep_place=True) if shared is not None else False
        if self.hop_write_engine is not None and in_hop():
            # The hop holds this process's write turn; statements execute in place in its thread.
            async with LoopConnection(self.hop_write_engine) as conn:
                with conn.sync_connection.begin():  # type: ignore[union-attr]
                    yield conn
            return
        if self._write_turn is None:
            async with self._turn(kept=kept), self.write_engine.begin() as conn:
                yield conn
            return
        async with self._write_turn, self.write_engine.begin() as conn:
            yield conn

    async def one_hop(self, work: Callable[[], Coroutine[Any, Any, T]], *, on_loop: bool = False) -> T:
        """`work()` (a whole service call) on SQLite as one worker-thread hop with this process's write
        turn (`store/one_hop.py`); elsewhere, and inside a hop, as it is. `on_loop` (`@small_write`): on
        the event loop instead when the write lock is free at once."""
        if self._write_turn is None or in_hop():
            return await work()
        shared = self._shared()
        if shared is not None:
            await shared.release()  # its sqlite3 connection belongs to the event loop's thread
        if on_loop and not self._write_turn.locked():
            # No await from here to its end: this process's other writers cannot start meanwhile.
            done = self._on_loop(work)
            if done is not None:
                return done[0]
        async with self._write_turn:
            if on_loop:
                # The turn is ours after a queue of this process's threaded writers: on the loop still,
                # unless another process holds the lock (else one queue would send every write after it
                # through the thread too, as long as writes keep coming).
                done = self._on_loop(work)
                if done is not None:
                    return done[0]
            return await asyncio.to_thread(drive, work)

    def _on_loop(self, work: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T] | None:
        """`work()` run to its end in this thread in one transaction that took the write lock without
        waiting; None, with nothing run, when another connection holds the lock (SQLITE_BUSY)."""
        assert self.loop_write_engine is not None
        conn = LoopConnection(self.loop_write_engine)
        sync = conn.sync_connection = self.loop_write_engine.sync_engine.connect()
        try:
            raw = _driver(conn)
            try:
                raw.execute("BEGIN IMMEDIATE")  # busy timeout 0: SQLITE_BUSY at once if the lock is taken
            except sqlite3.OperationalError as error:
                if _is_busy(error):
                    return None
                raise
            try:
                result = contextvars.copy_context().run(drive, work, (self, conn))
            finally:
                # The write blocks that ended well are released savepoints, the others were rolled back to
                # theirs: commit what a threaded hop would have committed block by block.
                if raw.in_transaction:
                    raw.execute("COMMIT")
            return (result,)
        finally:
            sync.close()

    def insert_ignore(self, table: Table, rows: list[dict[str, Any]]) -> Insert:
        """INSERT that skips rows whose primary key exists (idempotent membership adds)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).values(rows).on_conflict_do_nothing()
        return sqlite.insert(table).values(rows).on_conflict_do_nothing()

    async def dispose(self) -> None:
        await self.engine.dispose()
        for sync in (self.loop_engine, self.hop_write_engine, self.loop_write_engine):
            if sync is not None:
                sync.sync_engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


_savepoints = itertools.count()


def _driver(conn: AsyncConnection) -> sqlite3.Connection:
    """The sqlite3 connection under a `LoopConnection`."""
    assert conn.sync_connection is not None
    raw: sqlite3.Connection = conn.sync_connection.connection.driver_connection  # type: ignore[assignment]
    return raw


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code, sqlite3.h): another connection holds the lock."""
    return error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
