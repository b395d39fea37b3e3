"""Many rows into one table through the driver's own executemany: what `conn.execute(insert(table), rows)`
(`insert_rows`) or an UPDATE per row (`update_rows`) stores, without SQLAlchemy's per-row parameter
machinery (about 10 µs a row for a 1,000-row batch import).

The statement is the one SQLAlchemy compiles for the dialect (cached), and each value goes through the
column type's own bind processor (JSON serialisation, SQLite's datetime text; the casts PostgreSQL's
statement carries), so the database receives the same values either way. `tests/store/test_bulk.py`
compares the rows both ways on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

_Process = Callable[[Any], Any]


def _statement(table: Table, dialect: Dialect, skip_conflicts: bool) -> Insert:
    if not skip_conflicts:
        return insert(table)
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


@lru_cache(maxsize=64)
def _compiled(
    table: Table, dialect: Dialect, names: tuple[str, ...], skip_conflicts: bool
) -> tuple[str, tuple[str, ...], bool]:
    compiled = _statement(table, dialect, skip_conflicts).compile(dialect=dialect, column_keys=list(names))
    positional = bool(compiled.positional)
    order = tuple(compiled.positiontup or ()) if positional else names
    return str(compiled), order, positional


def _last_value_kept(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # Rows of one batch share their timestamps: the same object is converted once, not once a row.
    last: list[Any] = [object(), None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return run


def _processors(
    table: Table, dialect: Dialect, names: Sequence[str]
) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, bind processor) of the columns among `names` that have one (JSON, SQLite's datetimes)."""
    processors: list[tuple[int, _Process]] = []
    for position, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((position, _last_value_kept(process)))
    return processors


def _driver_params(
    table: Table,
    dialect: Dialect,
    rows: Sequence[Mapping[str, Any]],
    columns: tuple[str, ...],
    binds: tuple[str, ...],
    positional: bool,
) -> list[Any]:
    """Each row's values of `columns` (bound as `binds`, in the statement's order) as the driver takes them:
    one C call a row (itemgetter), then each processed column converted in place, one Python call a value."""
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    listed = [list(values(row)) for row in rows]
    for position, process in _processors(table, dialect, columns):
        for row_values in listed:
            row_values[position] = process(row_values[position])
    if positional:
        return [tuple(row_values) for row_values in listed]
    return [dict(zip(binds, row_values, strict=True)) for row_values in listed]


def _same_columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    names = tuple(rows[0])
    if any(len(row) != len(names) for row in rows):
        raise ValueError("every row must give the same columns")
    return names


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_conflicts: bool = False
) -> int:
    """INSERT `rows` (each with the same keys, column names of `table`) in `conn`'s transaction, as one
    executemany; with `skip_conflicts`, a row that would break a unique constraint is skipped (ON CONFLICT
    DO NOTHING). Returns the number of rows the driver reports inserted: -1 when it cannot tell."""
    if not rows:
        return 0
    names = _same_columns(rows)
    dialect = conn.dialect
    sql, order, positional = _compiled(table, dialect, names, skip_conflicts)
    result = await conn.exec_driver_sql(sql, _driver_params(table, dialect, rows, order, order, positional))
    return int(result.rowcount)


@lru_cache(maxsize=64)
def _compiled_update(
    table: Table, dialect: Dialect, keys: tuple[str, ...], names: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[str, ...], bool]:
    """The UPDATE setting `names` of the row picked by `keys`, its columns in bind order, and bind names."""
    where = [table.c[key] == bindparam(f"k_{key}") for key in keys]
    statement = update(table).where(*where).values({name: bindparam(f"v_{name}") for name in names})
    compiled = statement.compile(dialect=dialect)
    positional = bool(compiled.positional)
    binds = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    return str(compiled), tuple(bind[2:] for bind in binds), binds, positional


async def update_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: tuple[str, ...]
) -> int:
    """UPDATE one row of `table` per item of `rows` in `conn`'s transaction, as one executemany: each item
    gives the `keys` columns (which row) and the new values of the other columns (the same columns in every
    item). Returns the number of rows the driver reports updated: -1 when it cannot tell."""
    if not rows:
        return 0
    names = _same_columns(rows)
    dialect = conn.dialect
    values = tuple(name for name in names if name not in keys)
    sql, columns, binds, positional = _compiled_update(table, dialect, keys, values)
    result = await conn.exec_driver_sql(sql, _driver_params(table, dialect, rows, columns, binds, positional))
    return int(result.rowcount)
