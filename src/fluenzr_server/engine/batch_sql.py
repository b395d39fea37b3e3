"""Batch statements of the sending engine whose text does not depend on the batch's size.

On PostgreSQL a list of values is one array parameter: `column = ANY(:values)` for `IN`, and
`UPDATE … FROM unnest(:a, :b, …) AS v(…)` for an update that writes other values to each row. One
statement text for any batch, so psycopg parses it and PostgreSQL plans it once, and one parameter per
column instead of one per value (psycopg adapts each parameter at several µs; `IN` with n values is a new
text for every n). SQLite keeps `IN` and executemany, which cost it nothing comparable at the engine's
batch sizes. The PostgreSQL form of `one_of` is `store.listed.one_of`'s, which the bulk import uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.functions import Function
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

from fluenzr_server.store import listed


def one_of(conn: AsyncConnection, column: ColumnElement[str], values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`: the same rows, by the same index."""
    if conn.dialect.name == "postgresql":
        return listed.one_of(conn.dialect, column, values)
    return column.in_(list(values))


def unnest(columns: Sequence[tuple[str, TypeEngine[Any]]], params: Sequence[str]) -> TableValuedAlias:
    """PostgreSQL's `unnest(:p1, :p2, …) AS v(c1, c2, …)`: rows of parallel arrays, one bound parameter
    (`params[i]`, an array of `columns[i]`'s type) per column. Join it to a table in an UPDATE's WHERE."""
    from sqlalchemy import bindparam, func

    arrays = [bindparam(param, type_=ARRAY(type_)) for (_, type_), param in zip(columns, params, strict=True)]
    function: Function[Any] = func.unnest(*arrays)
    return function.table_valued(*(name for name, _ in columns)).render_derived()
