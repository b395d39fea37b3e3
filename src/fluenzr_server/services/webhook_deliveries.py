"""The deliveries log of a webhook, manual retries, and test deliveries.

A delivery is one event sent to one endpoint: `pending` (due at `nextAttemptAt`), `delivered` (a 2xx) or
`failed` (the retry schedule ran out, the endpoint answered 410, or it was disabled). Each delivery lists
its attempts, oldest first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Row

from fluenzr_server.engine.claim import claim_due
from fluenzr_server.engine.webhooks import LEASE, attempt, present_attempt, worker_name
from fluenzr_server.errors import InvalidState, NotFound
from fluenzr_server.resources import Resources
from fluenzr_server.services import events
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.services.webhooks import load
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest, fetch_page
from fluenzr_server.webhooks.http import WebhookClient

_deliveries = t.webhook_deliveries
_SORTS = {"createdAt": _deliveries.c.created_at}


def present(row: Row[Any], event: Row[Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhookId": row.webhook_id,
        "event": {"id": event.id, "type": event.type, "createdAt": wire_time(event.created_at)},
        "status": row.status,
        "attemptCount": row.attempt_count,
        "nextAttemptAt": wire_time(row.due_at) if row.status == "pending" else None,
        "createdAt": wire_time(row.created_at),
        "attempts": attempts,
    }


async def _present_rows(conn: Any, rows: list[Row[Any]]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    event_rows = await conn.execute(
        select(t.events).where(t.events.c.id.in_(sorted({row.event_id for row in rows})))
    )
    found = {event.id: event for event in event_rows.all()}
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    query = (
        select(t.webhook_attempts)
        .where(t.webhook_attempts.c.delivery_id.in_(ids))
        .order_by(t.webhook_attempts.c.attempted_at, t.webhook_attempts.c.id)
    )
    for attempt_row in (await conn.execute(query)).all():
        attempts[attempt_row.delivery_id].append(present_attempt(attempt_row))
    return [present(row, found[row.event_id], attempts[row.id]) for row in rows]


async def list_deliveries(
    db: Database, *, account_id: str, webhook_id: str, request: PageRequest, status: str | None
) -> tuple[list[dict[str, Any]], int]:
    where = [_deliveries.c.account_id == account_id, _deliveries.c.webhook_id == webhook_id]
    if status:
        where.append(_deliveries.c.status == status)
    async with db.read() as conn:
        await load(conn, account_id=account_id, webhook_id=webhook_id)
        rows, total = await fetch_page(
            conn, table=_deliveries, where=where, sort_column=_SORTS[request.sort], request=request
        )
        return await _present_rows(conn, list(rows)), total


async def _get(db: Database, account_id: str, delivery_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        query = select(_deliveries).where(
            _deliveries.c.account_id == account_id, _deliveries.c.id == delivery_id
        )
        return (await _present_rows(conn, list((await conn.execute(query)).all())))[0]


async def retry_delivery(
    db: Database, *, account_id: str, webhook_id: str, delivery_id: str
) -> dict[str, Any]:
    """Send the delivery again as soon as a worker is free, with a fresh retry schedule and the same
    `webhook-id`. 409 when the endpoint is disabled (re-enable it first)."""
    async with db.write() as conn:
        hook = await load(conn, account_id=account_id, webhook_id=webhook_id)
        scope = and_(
            _deliveries.c.account_id == account_id,
            _deliveries.c.webhook_id == webhook_id,
            _deliveries.c.id == delivery_id,
        )
        if (await conn.execute(select(_deliveries.c.id).where(scope))).first() is None:
            raise NotFound(delivery_id)
        if not hook.active:
            raise InvalidState(
                "The webhook is disabled; re-enable it (PUT active: true) before retrying",
                {"active": False, "disabledReason": hook.disabled_reason},
            )
        retried = await conn.execute(
            update(_deliveries).where(scope).values(status="pending", schedule_step=0, due_at=now())
        )
        if retried.rowcount != 1:  # the retention sweep deleted it in between (engine/retention.py)
            raise NotFound(delivery_id)
    return await _get(db, account_id, delivery_id)


async def send_test(resources: Resources, *, account_id: str, webhook_id: str) -> dict[str, Any]:
    """Send a `webhook.test` event to this endpoint now (even a disabled one) and return the delivery
    with its single attempt; test deliveries are not retried and never disable the endpoint."""
    db = resources.database
    owner = worker_name()
    async with db.write() as conn:
        hook = await load(conn, account_id=account_id, webhook_id=webhook_id)
        data = {"webhookId": hook.id, "message": "A test delivery from FluenzR"}
        delivery_id = await events.emit_test(conn, account_id=account_id, webhook_id=hook.id, data=data)
        leased = await claim_due(
            conn,
            _deliveries,
            now=now(),
            limit=1,
            lease=LEASE,
            owner=owner,
            where=_deliveries.c.id == delivery_id,
        )
    client = WebhookClient.for_settings(resources.settings)
    try:
        await attempt(resources, client, leased, owner=owner, clock=now, single_attempt=True)
    finally:
        await client.close()
    return await _get(db, account_id, delivery_id)
