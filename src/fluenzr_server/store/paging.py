"""Paged, sorted reads with a deterministic order (ties broken on id) and an exact total.

One collation on SQLite and PostgreSQL, whatever the database's locale: text sorts compare the values
with A-Z folded to a-z, then by Unicode code point (byte order of UTF-8: SQLite's BINARY, PostgreSQL's
"C"); ids (the tie-breaker) by code point; NULLs come last in both directions. The same request gets the
same order on both databases (tests/api/test_collation.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Table, bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.store.collation import CodePointOrder, FoldedText


def _sort_keys(table: Table, sort_column: ColumnElement[Any], descending: bool) -> list[Any]:
    key: ColumnElement[Any] = FoldedText(sort_column) if isinstance(sort_column.type, String) else sort_column
    tie: ColumnElement[Any] = CodePointOrder(table.c.id)
    ordered = [key.desc(), tie.desc()] if descending else [key.asc(), tie.asc()]
    # Only a nullable column says where NULLs go: a NOT NULL one keeps the plain order an index can serve
    # in both directions (e.g. ix_contacts_account_email_sort).
    nullable = getattr(sort_column, "nullable", True)
    return [ordered[0].nulls_last() if nullable else ordered[0], ordered[1]]


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


# Page statements kept for `fetch_page(reuse=...)`: a handful per list (one per sort and order).
_PAGE_QUERIES: dict[tuple[Hashable, str, str], Select[Any]] = {}


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
    columns: Sequence[ColumnElement[Any]] = (),
    params: Mapping[str, Any] | None = None,
    reuse: Hashable | None = None,
) -> tuple[list[Row[Any]], int]:
    """A page of `table`'s rows (with `columns` beside each, e.g. a correlated subquery) and the total.

    `params` are the values of `where`'s bound parameters. With `reuse` (a key naming `where`, `columns`
    and the sort), the page's statement is built once and kept: building a statement costs more than
    running an indexed one."""
    query = _PAGE_QUERIES.get((reuse, request.sort, request.order)) if reuse is not None else None
    if query is None:
        ordering = _sort_keys(table, sort_column, request.order == "desc")
        query = (
            select(table, *columns)
            .where(*where)
            .order_by(*ordering)
            .limit(bindparam("page_limit"))
            .offset(bindparam("page_offset"))
        )
        if reuse is not None:
            _PAGE_QUERIES[(reuse, request.sort, request.order)] = query
    values = {**(params or {}), "page_limit": request.per_page, "page_offset": request.offset}
    rows = list((await conn.execute(query, values)).all())
    if request.page == 1 and len(rows) < request.per_page:
        return rows, len(rows)  # the whole result is on this page: no count query needed
    if cached_count is not None:
        total = cached_count.cache.get(cached_count.key, cached_count.version)
        if total is not None:
            return rows, total
    counted = select(func.count()).select_from(table).where(*where)
    total = int((await conn.execute(counted, dict(params or {}))).scalar_one())
    if cached_count is not None:
        cached_count.cache.put(cached_count.key, cached_count.version, total)
    return rows, total


async def counts_by(conn: AsyncConnection, column: ColumnElement[Any], ids: list[str]) -> dict[str, int]:
    """How many rows name each of these ids in `column` (members per group, contacts per campaign)."""
    if not ids:
        return {}
    query = select(column, func.count()).where(column.in_(ids)).group_by(column)
    return {str(key): int(count) for key, count in (await conn.execute(query)).all()}
