"""The webhook outbox: `emit` records an event, and its deliveries, in the caller's transaction.

Event types and payloads are the contract's (`x-webhooks`): `{"id": "evt_…", "type": "contact.created",
"createdAt": "…", "data": {…}}`, where `data` is the resource's public representation (its `present()`).

Fan-out happens here, not in a later step: one `webhook_deliveries` row per active endpoint of the account
subscribed to the type, written with the event. So a change that rolls back emits nothing, a committed
change always has its deliveries, and the dispatcher (engine/webhooks.py) has exactly one kind of work to
claim. The cost is one indexed read of the account's webhooks per event, inside the writer's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.ids import new_id, new_sortable_id, new_sortable_ids
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.bulk import insert_rows

# Sent only by POST /webhooks/{id}/test, to that one endpoint; never subscribed to.
TEST_EVENT = "webhook.test"

# Built once, run with bound parameters (every write emits: building them per call cost more than running).
_INSERT_EVENT = insert(t.events)
_ACTIVE_HOOKS = select(t.webhooks.c.id, t.webhooks.c.events).where(
    t.webhooks.c.account_id == bindparam("account"), t.webhooks.c.active.is_(True)
)


async def emit(conn: AsyncConnection, *, account_id: str, type: str, data: dict[str, Any]) -> str:
    """Write one event of `type` for `account_id` inside `conn`'s transaction, with a pending delivery
    for each active webhook of the account subscribed to `type`; the event's id (`evt_…`)."""
    stamp = now()
    event_id = await _insert_event(conn, account_id=account_id, type=type, data=data, at=stamp)
    hooks = (await conn.execute(_ACTIVE_HOOKS, {"account": account_id})).all()
    subscribed = [row.id for row in hooks if type in row.events]
    if subscribed:
        await conn.execute(
            insert(t.webhook_deliveries),
            [
                new_delivery(account_id=account_id, webhook_id=hook, event_id=event_id, at=stamp)
                for hook in subscribed
            ],
        )
    return event_id


async def emit_test(conn: AsyncConnection, *, account_id: str, webhook_id: str, data: dict[str, Any]) -> str:
    """A `webhook.test` event with one delivery, to `webhook_id` only; the delivery's id."""
    stamp = now()
    event_id = await _insert_event(conn, account_id=account_id, type=TEST_EVENT, data=data, at=stamp)
    delivery = new_delivery(account_id=account_id, webhook_id=webhook_id, event_id=event_id, at=stamp)
    await conn.execute(insert(t.webhook_deliveries).values(delivery))
    return str(delivery["id"])


async def _insert_event(
    conn: AsyncConnection, *, account_id: str, type: str, data: dict[str, Any], at: datetime
) -> str:
    event_id = new_sortable_id("evt")
    row = {"id": event_id, "account_id": account_id, "type": type, "data": data, "created_at": at}
    await conn.execute(_INSERT_EVENT, row)
    return event_id


async def emit_many(conn: AsyncConnection, items: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """`emit` for each `(account_id, type, data)`, in a few statements whatever their number (the sending
    engine's batches): the events, then one delivery per subscribed active endpoint; their ids, in order."""
    if not items:
        return []
    stamp = now()
    ids = new_sortable_ids("evt", len(items))
    rows = [
        {"id": event_id, "account_id": account_id, "type": type_, "data": data, "created_at": stamp}
        for event_id, (account_id, type_, data) in zip(ids, items, strict=True)
    ]
    await insert_rows(conn, t.events, rows)
    accounts = sorted({account_id for account_id, _, _ in items})
    hooks = select(t.webhooks.c.id, t.webhooks.c.account_id, t.webhooks.c.events).where(
        t.webhooks.c.account_id.in_(accounts), t.webhooks.c.active.is_(True)
    )
    endpoints: dict[str, list[tuple[str, list[str]]]] = {}
    for hook in (await conn.execute(hooks)).all():
        endpoints.setdefault(hook.account_id, []).append((hook.id, hook.events))
    deliveries = [
        new_delivery(account_id=account_id, webhook_id=hook_id, event_id=event_id, at=stamp)
        for event_id, (account_id, type_, _) in zip(ids, items, strict=True)
        for hook_id, subscribed in endpoints.get(account_id, [])
        if type_ in subscribed
    ]
    await insert_rows(conn, t.webhook_deliveries, deliveries)
    return ids


def new_delivery(*, account_id: str, webhook_id: str, event_id: str, at: datetime) -> dict[str, Any]:
    """A pending delivery row, due at once."""
    return {
        "id": new_id("dlv"),
        "account_id": account_id,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "status": "pending",
        "attempt_count": 0,
        "schedule_step": 0,
        "due_at": at,
        "created_at": at,
    }


def payload(row: Any) -> dict[str, Any]:
    """The wire form of an event row, as delivered to webhook endpoints."""
    return {"id": row.id, "type": row.type, "createdAt": wire_time(row.created_at), "data": row.data}
