"""The async engine: URL mapping to async drivers and SQLite pragmas (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from fluenzr_server.store import json_codec, json_values

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
# Every engine's JSON columns go through orjson: written by `json_codec` (a batch import writes two a row),
# read by `json_values` (a contacts page decodes one a row), with the same values as the standard library.
JSON_CODEC: dict[str, Any] = {
    "json_serializer": json_codec.dumps,
    "json_deserializer": json_values.loads,
}


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")
    return parsed.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> URL:
    """The URL Alembic and the CLI's bulk paths use (plain sqlite3 / psycopg)."""
    return _with_driver(url, _SYNC_DRIVERS)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(sync_engine: Any) -> None:
    if sync_engine.dialect.name == "sqlite":
        event.listen(sync_engine, "connect", _sqlite_pragmas)


def install_busy_timeout(sync_engine: Any, milliseconds: int) -> None:
    """Every new connection of `sync_engine` waits at most `milliseconds` for another's lock (after the
    pragmas' 5,000; 0: SQLITE_BUSY at once)."""

    def busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(milliseconds)}")
        cursor.close()

    event.listen(sync_engine, "connect", busy_timeout)


def install_begin_immediate(sync_engine: Any) -> None:
    """SQLite write transactions take the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another writer
    committed in between; an immediate one waits its turn (busy_timeout) and then reads current data, so
    every check-then-write in a service is atomic. Their connections also get a larger page cache
    (`WRITE_CACHE_KIB`).
    """

    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    install_write_connections(sync_engine)
    event.listen(sync_engine, "begin", begin)


def install_write_connections(sync_engine: Any) -> None:
    """Write connections without the driver's implicit (deferred) BEGIN, with the larger page cache; the
    caller begins its transactions itself (`install_begin_immediate`, or `Database`'s on-loop writes,
    which issue BEGIN IMMEDIATE on the driver: a ConnectionEvents listener would make SQLAlchemy
    dispatch events on every statement of the engine)."""

    def no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own implicit BEGIN would be deferred

    event.listen(sync_engine, "connect", no_driver_begin)
    event.listen(sync_engine, "connect", _write_cache)


# Page cache of a write connection, in KiB (SQLite's default is 2,000 KiB). A 1,000-row batch import dirties
# several MiB of pages (the random-id primary key of events, five contact indexes); with the
# default cache, SQLite spills dirty pages to the WAL in the middle of the transaction and reads evicted
# ones back (about 8% of the server's CPU per imported row, `bench/inproc_import.py`). Writes take turns
# (`Database`), so a process holds one or two write connections, each caching at most this much.
WRITE_CACHE_KIB = 32768


def _write_cache(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
    cursor.close()


# A PostgreSQL pool's connections: `pool_size` kept open, up to `max_overflow` more opened on demand.
# No overflow by default: SQLAlchemy closes an overflow connection at check-in whenever `pool_size` others
# are idle at that instant, which under a steady load of more requests than connections happens all the
# time (10 + 10 behind the checkout gate: 273 connections opened in 12 s, half the req/s of 20 + 0;
# bench/results/pg-tail-s5.md). Two workers keep 40 of PostgreSQL's default 100 connections open.
DEFAULT_POOL_SIZE = 20
DEFAULT_MAX_OVERFLOW = 0


def create_engine(
    url: str,
    *,
    for_writes: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
) -> AsyncEngine:
    """An async engine for `url`; on PostgreSQL with a pool of `pool_size` + `max_overflow` connections."""
    target = async_url(url)
    kwargs: dict[str, Any] = {**JSON_CODEC}
    if target.get_backend_name() == "postgresql":
        # No pre-ping: it costs a round trip on every checkout (two per request). Recycling connections
        # before server-side idle timeouts, plus the error-triggered pool invalidation, covers restarts.
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_recycle=300)
    engine = create_async_engine(target, **kwargs)
    install_sqlite_pragmas(engine.sync_engine)
    if for_writes and target.get_backend_name() == "sqlite":
        install_begin_immediate(engine.sync_engine)
    return engine
