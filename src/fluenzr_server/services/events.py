"""The webhook outbox: `emit` records an event in the caller's transaction.

Event types and payloads are the contract's (`x-webhooks`): `{"id": "evt_…", "type": "contact.created",
"createdAt": "…", "data": {…}}`, where `data` is the resource's public representation (its `present()`).
Delivery to subscribed endpoints happens later, from the outbox (engine/), so a change that rolls back
emits nothing and a committed change is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.ids import new_id
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.store import tables as t


async def emit(conn: AsyncConnection, *, account_id: str, type: str, data: dict[str, Any]) -> str:
    """Write one event of `type` for `account_id` inside `conn`'s transaction; its id (`evt_…`)."""
    event_id = new_id("evt")
    await conn.execute(
        insert(t.events).values(id=event_id, account_id=account_id, type=type, data=data, created_at=now())
    )
    return event_id


def payload(row: Any) -> dict[str, Any]:
    """The wire form of an event row, as delivered to webhook endpoints."""
    return {"id": row.id, "type": row.type, "createdAt": wire_time(row.created_at), "data": row.data}


async def emit_many(
    conn: AsyncConnection, *, account_id: str, events: Sequence[tuple[str, dict[str, Any]]]
) -> list[str]:
    """`emit` for many events at once: one batched INSERT of (type, data) pairs; their ids, in order."""
    if not events:
        return []
    stamp = now()
    rows: list[dict[str, Any]] = [
        {"id": new_id("evt"), "account_id": account_id, "type": type, "data": data, "created_at": stamp}
        for type, data in events
    ]
    await conn.execute(insert(t.events), rows)
    return [row["id"] for row in rows]
