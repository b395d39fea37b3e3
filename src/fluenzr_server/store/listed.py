"""`column IN (values)` with the whole list as ONE bound parameter, on both databases.

A batch import asks about 1,000 emails at a time. Spelled `IN (?, ?, …)`, SQLAlchemy expands and binds
1,000 parameters on every execution (about 1 µs each) and the driver adapts each one (psycopg: about 8 µs
a row). As one parameter: PostgreSQL's `column = ANY(:array)`; SQLite's `column IN (SELECT value FROM
json_each(:json))`, the list as JSON text (json_each is built into SQLite since 3.38). Both search the
column's index once per value, as `IN (…)` does (checked by `tests/store/test_listed.py` with EXPLAIN).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import ColumnElement, String, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect


def one_of(dialect: Dialect, column: ColumnElement[str], values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN (values)` for text `values` (any number of them), one bound parameter."""
    if dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(String)))
    listed = func.json_each(literal(orjson.dumps(list(values)).decode(), String)).table_valued("value")
    return column.in_(select(listed.c.value))
