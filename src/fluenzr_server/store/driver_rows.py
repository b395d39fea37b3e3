"""A hot read statement run through the database driver itself: the same SQL, without SQLAlchemy's
per-execution work.

SQLAlchemy's execution (compiled-cache lookup, execution context, result metadata, row objects; on
PostgreSQL also a greenlet switch into the async driver) cost several times what an indexed lookup costs
in the driver: 40 against 12 CPU µs for the API-key lookup on SQLite (issue 12, `bench/layers.py`). A
`DriverStatement` is a Core statement compiled once per dialect; `first()` sends that SQL with its
parameters in the driver's own placeholder style and returns the first row as a plain tuple.

Only for statements whose parameters and columns are strings or integers: the drivers hand those back
as SQLAlchemy would (no bind or result processing is skipped), which the constructor checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, Select, String
from sqlalchemy.engine import Dialect

from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import in_hop

_PLAIN = (String, Integer)


class DriverStatement:
    """One prebuilt `SELECT`, compiled for each dialect it meets, run through the driver."""

    def __init__(self, statement: Select[Any]) -> None:
        for column in statement.selected_columns:
            if not isinstance(column.type, _PLAIN):
                raise TypeError(f"column {column} is {column.type!r}: not a plain string or integer")
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
        """The SQL for `dialect` and, for a positional placeholder style, the parameter names in order."""
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if compiled._bind_processors:
                raise TypeError(f"parameters needing conversion: {sorted(compiled._bind_processors)}")
            order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            found = self._compiled[dialect.name] = (str(compiled), order)
        return found

    async def first(self, database: Database, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for `params` (by bind name), or None; reads as `database.read()` would: on
        SQLite in place on the event loop, on PostgreSQL on the request's shared read connection."""
        loop = database.loop_engine
        if loop is not None and not in_hop():
            sql, order = self._sql(loop.sync_engine.dialect)
            values = [params[name] for name in order] if order is not None else dict(params)
            raw = loop.sync_engine.raw_connection()  # a pool checkout, as LoopConnection makes
            try:
                cursor = raw.driver_connection.execute(sql, values)  # type: ignore[union-attr]
                try:
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                raw.close()
            return tuple(row) if row is not None else None
        async with database.read() as conn:
            if database.dialect != "postgresql":
                result = (await conn.execute(self.statement, dict(params))).first()
                return tuple(result) if result is not None else None
            sql, order = self._sql(conn.dialect)
            values = [params[name] for name in order] if order is not None else dict(params)
            driver: Any = (await conn.get_raw_connection()).driver_connection
            async with driver.cursor() as cursor:
                await cursor.execute(sql, values)
                found = await cursor.fetchone()
            return tuple(found) if found is not None else None
