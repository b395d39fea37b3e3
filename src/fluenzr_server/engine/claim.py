"""The one claim query: due rows taken by exactly one worker, with a lease.

Shared by the sending engine (leads, messages) and the webhook dispatcher (deliveries). On PostgreSQL it is
`SELECT … FOR UPDATE SKIP LOCKED` (as River's and procrastinate's fetch queries), so workers on several hosts
take disjoint rows without waiting on each other. On SQLite the caller's transaction already holds the
single write lock (`BEGIN IMMEDIATE`), which makes the select-then-update atomic in the same way.

A lease (`lease_until`, `lease_owner`) marks a row as being worked on: a row whose lease has run out is
due again, which is how work held by a killed worker is found. What "found again" means is the caller's
rule (a webhook delivery is retried; an SMTP message that may have been sent becomes `unknown`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def pick_due(
    conn: AsyncConnection,
    table: Table,
    *,
    now: datetime,
    limit: int,
    where: ColumnElement[bool] | None = None,
    due_column: str = "due_at",
) -> list[Row[Any]]:
    """Lock and return up to `limit` rows of `table` whose `due_column` is at or before `now`.

    The select half of the claim, for tables whose rows stop being due in the caller's own transaction
    (the sending engine's leads: their `next_send_at` is cleared as a message row takes the lease). Rows
    locked by another transaction are skipped on PostgreSQL; they stay locked until this one ends. Oldest
    due first, ties by primary key.
    """
    if limit <= 0:
        return []
    due = table.c[due_column]
    condition = and_(due <= now, *([where] if where is not None else []))
    pick = select(table).where(condition).order_by(due, *table.primary_key.columns).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=table)
    return list((await conn.execute(pick)).all())


async def claim_due(
    conn: AsyncConnection,
    table: Table,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    owner: str,
    where: ColumnElement[bool] | None = None,
    due_column: str = "due_at",
) -> list[Row[Any]]:
    """Lease up to `limit` rows of `table` that are due and not leased; return them as updated.

    Shapes: `table` has `id`, `lease_until` (timestamp, NULL when free) and `lease_owner` (text) columns
    and the `due_column`. Rows are taken oldest-due first, ties by id. Must run inside the caller's write
    transaction (`Database.write()`); the lease holds once that transaction commits.
    """
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
    condition = and_(free, *([where] if where is not None else []))
    picked = await pick_due(conn, table, now=now, limit=limit, where=condition, due_column=due_column)
    ids = [row.id for row in picked]
    if not ids:
        return []
    leased = (
        update(table)
        .where(table.c.id.in_(ids))
        .values(lease_until=now + lease, lease_owner=owner)
        .returning(*table.c)
    )
    rows = list((await conn.execute(leased)).all())
    rows.sort(key=lambda row: (row._mapping[due_column], row.id))
    return rows


async def release_many(
    conn: AsyncConnection, table: Table, values_by_id: dict[Any, dict[str, Any]], *, owner: str
) -> set[Any]:
    """End this owner's lease on each row, writing that row's values (every row the
    same columns), in one executemany. The ids whose lease was still this owner's, which are the only rows
    written; on PostgreSQL they are locked first, so no claimer can take one in between."""
    if not values_by_id:
        return set()
    held = select(table.c.id).where(table.c.id.in_(list(values_by_id)), table.c.lease_owner == owner)
    if conn.dialect.name == "postgresql":
        held = held.with_for_update()
    kept = set((await conn.execute(held)).scalars())
    if kept:
        columns = sorted(next(iter(values_by_id.values())))
        statement = (
            update(table)
            .where(table.c.id == bindparam("_row_id"))
            .values(lease_until=None, lease_owner=None, **{c: bindparam(f"_new_{c}") for c in columns})
        )
        params = [
            {"_row_id": row_id, **{f"_new_{c}": values_by_id[row_id][c] for c in columns}}
            for row_id in sorted(kept)
        ]
        await conn.execute(statement, params)
    return kept
