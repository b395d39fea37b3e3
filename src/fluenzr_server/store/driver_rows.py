"""A hot read statement run through the database driver itself: the same SQL, without SQLAlchemy's
per-execution work.

SQLAlchemy's execution (compiled-cache lookup, execution context, result metadata, row objects; on
PostgreSQL also a greenlet switch into the async driver) cost several times what an indexed lookup costs
in the driver: 40 against 12 CPU µs for the API-key lookup on SQLite (issue 12, `bench/layers.py`). A
`DriverStatement` is a Core statement compiled once per dialect; `first()` sends that SQL with its
parameters in the driver's own placeholder style and returns the first row as a plain tuple.

Only for statements whose parameters are strings or integers (no bind processing is skipped), which the
constructor checks. Columns of other types (JSON documents, timestamps: `GET /contacts/{id}`) go through the
result processor SQLAlchemy itself would apply on SQLite; on PostgreSQL such a statement runs through
SQLAlchemy, whose psycopg dialect also sets the driver's own loaders up for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Integer, Select, String
from sqlalchemy.engine import Dialect

from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import in_hop

_PLAIN = (String, Integer)


class DriverStatement:
    """One prebuilt `SELECT`, compiled for each dialect it meets, run through the driver."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.plain = all(isinstance(column.type, _PLAIN) for column in statement.selected_columns)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        self._held: dict[str, dict[str, Any]] = {}
        self._processors: dict[int, tuple[Dialect, tuple[Callable[[Any], Any] | None, ...]]] = {}

    def _row_processors(self, dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
        """Each column's result processor for `dialect` (this instance: it holds the JSON deserialiser)."""
        found = self._processors.get(id(dialect))
        if found is None or found[0] is not dialect:
            processors = tuple(
                column.type._cached_result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            found = self._processors[id(dialect)] = (dialect, processors)
        return found[1]

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
        """The SQL for `dialect` and, for a positional placeholder style, the parameter names in order
        (`_values` gives them values)."""
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if compiled._bind_processors:
                raise TypeError(f"parameters needing conversion: {sorted(compiled._bind_processors)}")
            order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            found = self._compiled[dialect.name] = (str(compiled), order)
            # Values the statement holds itself (group_concat's separator): bound as SQLAlchemy would.
            self._held[dialect.name] = {
                name: bind.effective_value
                for name, bind in compiled.binds.items()
                if not bind.required and bind.callable is None
            }
        return found

    def _values(self, dialect: Dialect, order: tuple[str, ...] | None, params: Mapping[str, Any]) -> Any:
        held = self._held[dialect.name]
        if order is None:
            return {**held, **params}
        return [params[name] if name in params else held[name] for name in order]

    async def first(self, database: Database, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for `params` (by bind name), or None; reads as `database.read()` would: on
        SQLite in place on the event loop, on PostgreSQL on the request's shared read connection."""
        loop = database.loop_engine
        if loop is not None and not in_hop():
            sql, order = self._sql(loop.sync_engine.dialect)
            values = self._values(loop.sync_engine.dialect, order, params)
            raw = loop.sync_engine.raw_connection()  # a pool checkout, as LoopConnection makes
            try:
                cursor = raw.driver_connection.execute(sql, values)  # type: ignore[union-attr]
                try:
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                raw.close()
            if row is None:
                return None
            if self.plain:
                return tuple(row)
            processors = self._row_processors(loop.sync_engine.dialect)
            return tuple(
                value if process is None else process(value)
                for value, process in zip(row, processors, strict=True)
            )
        async with database.read() as conn:
            if database.dialect != "postgresql" or not self.plain:
                result = (await conn.execute(self.statement, dict(params))).first()
                return tuple(result) if result is not None else None
            sql, order = self._sql(conn.dialect)
            values = self._values(conn.dialect, order, params)
            driver: Any = (await conn.get_raw_connection()).driver_connection
            async with driver.cursor() as cursor:
                await cursor.execute(sql, values)
                found = await cursor.fetchone()
            return tuple(found) if found is not None else None
