"""Paged, sorted reads with a deterministic order (ties broken on id) and an exact total."""

from __future__ import annotations

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


async def fetch_page(
    conn: AsyncConnection,
    *,
    table: Table,
    where: list[ColumnElement[bool]],
    sort_column: ColumnElement[Any],
    request: PageRequest,
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
        total = len(rows)  # the whole result is on this page: no count query needed
    else:
        total = (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
    return rows, int(total)
