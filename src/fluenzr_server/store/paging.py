"""Paged, sorted reads with a deterministic order (ties broken on id) and an exact total.

One collation on SQLite and PostgreSQL, whatever the database's locale: text sorts compare the values
with A-Z folded to a-z, then by Unicode code point (byte order of UTF-8: SQLite's BINARY, PostgreSQL's
"C"); ids (the tie-breaker) by code point; NULLs come last in both directions. The same request gets the
same order on both databases (tests/api/test_collation.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Table, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class FoldedText(FunctionElement[str]):
    """A text column as it sorts: `lower(x)` (ASCII letters only) in code point order, on both databases."""

    type = String()
    name = "folded_text"
    inherit_cache = True


class CodePointOrder(FunctionElement[str]):
    """A text column compared by code point (for ids), on both databases."""

    type = String()
    name = "code_point_order"
    inherit_cache = True


@compiles(FoldedText)
def _folded_sqlite(element: FoldedText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"  # BINARY collation: code point order


@compiles(FoldedText, "postgresql")
def _folded_postgresql(element: FoldedText, compiler: SQLCompiler, **kw: Any) -> str:
    # Under "C", lower() folds A-Z only (as SQLite's does) and comparison is by byte, whatever the locale.
    return f'lower({compiler.process(element.clauses, **kw)} COLLATE "C")'


@compiles(CodePointOrder)
def _code_point_sqlite(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(CodePointOrder, "postgresql")
def _code_point_postgresql(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'


def _sort_keys(table: Table, sort_column: ColumnElement[Any], descending: bool) -> list[Any]:
    key: ColumnElement[Any] = FoldedText(sort_column) if isinstance(sort_column.type, String) else sort_column
    tie: ColumnElement[Any] = CodePointOrder(table.c.id)
    ordered = [key.desc(), tie.desc()] if descending else [key.asc(), tie.asc()]
    return [ordered[0].nulls_last(), ordered[1]]


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    per_page: int
    sort: str
    order: str

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class CountCache:
    """Exact totals, reused while the data they were counted from is unchanged.

    An entry is keyed by the list and its filters and tagged with a data version that every relevant write
    bumps in its own transaction; a total is only served for the version it was counted at. Per process
    and bounded (least recently used entries go first).
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> int | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, version: int, total: int) -> None:
        self._entries[key] = (version, total)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class CachedCount:
    cache: CountCache
    key: Hashable
    version: int


async def fetch_page(
    conn: AsyncConnection,
    *,
    table: Table,
    where: list[ColumnElement[bool]],
    sort_column: ColumnElement[Any],
    request: PageRequest,
    cached_count: CachedCount | None = None,
) -> tuple[list[Row[Any]], int]:
    ordering = _sort_keys(table, sort_column, request.order == "desc")
    query: Select[Any] = (
        select(table).where(*where).order_by(*ordering).limit(request.per_page).offset(request.offset)
    )
    rows = list((await conn.execute(query)).all())
    if request.page == 1 and len(rows) < request.per_page:
        return rows, len(rows)  # the whole result is on this page: no count query needed
    if cached_count is not None:
        total = cached_count.cache.get(cached_count.key, cached_count.version)
        if total is not None:
            return rows, total
    total = int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())
    if cached_count is not None:
        cached_count.cache.put(cached_count.key, cached_count.version, total)
    return rows, total


async def counts_by(conn: AsyncConnection, column: ColumnElement[Any], ids: list[str]) -> dict[str, int]:
    """How many rows name each of these ids in `column` (members per group, contacts per campaign)."""
    if not ids:
        return {}
    query = select(column, func.count()).where(column.in_(ids)).group_by(column)
    return {str(key): int(count) for key, count in (await conn.execute(query)).all()}
