"""Paged, sorted reads with a deterministic order (ties broken on id) and an exact total."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection


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
    descending = request.order == "desc"
    ordering = (
        [sort_column.desc(), table.c.id.desc()] if descending else [sort_column.asc(), table.c.id.asc()]
    )
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
