"""Webhooks: subscriptions to events, signed with a secret that is shown once (at creation or rotation).

Secrets are stored encrypted (`webhooks.secrets.seal`). An endpoint the dispatcher disabled (410 Gone, or
5 days of failures) has `active: false` and a `disabledReason`; `PUT` with `active: true` re-enables it,
clears the reason and resumes its pending deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.crypto import SecretBox
from fluenzr_server.errors import NotFound
from fluenzr_server.ids import new_id, new_webhook_secret
from fluenzr_server.net_policy import check_webhook_url
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import one_hop
from fluenzr_server.store.paging import PageRequest, fetch_page
from fluenzr_server.webhooks.secrets import ROTATION_OVERLAP, seal
from fluenzr_server.wire.webhooks import present

_SORTS = {"createdAt": t.webhooks.c.created_at, "url": t.webhooks.c.url}


async def load(conn: AsyncConnection, *, account_id: str, webhook_id: str) -> Row[Any]:
    """The account's webhook row; NotFound for an unknown id or another account's."""
    query = select(t.webhooks).where(t.webhooks.c.account_id == account_id, t.webhooks.c.id == webhook_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(webhook_id)
    return row


async def list_webhooks(
    db: Database, *, account_id: str, request: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    async with db.read() as conn:
        rows, total = await fetch_page(
            conn,
            table=t.webhooks,
            where=[t.webhooks.c.account_id == account_id],
            sort_column=_SORTS[request.sort],
            request=request,
        )
    return [present(row) for row in rows], total


async def get_webhook(db: Database, *, account_id: str, webhook_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        return present(await load(conn, account_id=account_id, webhook_id=webhook_id))


@one_hop
async def create_webhook(
    db: Database, *, account_id: str, body: dict[str, Any], allow_private: bool = False, box: SecretBox
) -> dict[str, Any]:
    """A new subscription with its secret (shown this once, stored encrypted); 400 when `url` is not an
    https URL to a public host (`net_policy`)."""
    url = check_webhook_url(body["url"], allow_private=allow_private)
    secret = new_webhook_secret()
    values = {
        "id": new_id("whk"),
        "account_id": account_id,
        "url": url,
        "events": body["events"],
        "description": body.get("description"),
        "active": body.get("active", True),
        "secret": seal(box, secret),
        "created_at": now(),
    }
    async with db.write() as conn:
        row = (await conn.execute(t.webhooks.insert().values(values).returning(*t.webhooks.c))).one()
    return present(row, secret=secret)


@one_hop
async def update_webhook(
    db: Database, *, account_id: str, webhook_id: str, body: dict[str, Any], allow_private: bool = False
) -> dict[str, Any]:
    """Change the fields sent (url, events, description, active); `active: true` re-enables a disabled
    endpoint (its run of failures starts afresh)."""
    values: dict[str, Any] = {}
    if "url" in body:
        values["url"] = check_webhook_url(body["url"], allow_private=allow_private)
    for field in ("events", "description"):
        if field in body:
            values[field] = body[field]
    if "active" in body:
        values["active"] = body["active"]
        if body["active"]:
            values.update(disabled_reason=None, failing_since=None)
    async with db.write() as conn:
        await load(conn, account_id=account_id, webhook_id=webhook_id)
        scope = and_(t.webhooks.c.account_id == account_id, t.webhooks.c.id == webhook_id)
        await conn.execute(update(t.webhooks).where(scope).values(values))
        return present(await load(conn, account_id=account_id, webhook_id=webhook_id))


@one_hop
async def rotate_secret(
    db: Database, *, account_id: str, webhook_id: str, box: SecretBox, at: datetime | None = None
) -> dict[str, Any]:
    """A new secret, returned this once; the current one keeps signing beside it for 24 hours."""
    stamp = at or now()
    secret = new_webhook_secret()
    async with db.write() as conn:
        row = await load(conn, account_id=account_id, webhook_id=webhook_id)
        expires = stamp + ROTATION_OVERLAP
        await conn.execute(
            update(t.webhooks)
            .where(t.webhooks.c.id == webhook_id)
            .values(secret=seal(box, secret), previous_secret=row.secret, previous_secret_expires_at=expires)
        )
        rotated = present(await load(conn, account_id=account_id, webhook_id=webhook_id), secret=secret)
    return {**rotated, "previousSecretExpiresAt": wire_time(expires)}


@one_hop
async def delete_webhook(db: Database, *, account_id: str, webhook_id: str) -> None:
    async with db.write() as conn:
        scope = and_(t.webhooks.c.account_id == account_id, t.webhooks.c.id == webhook_id)
        if (await conn.execute(delete(t.webhooks).where(scope))).rowcount == 0:
            raise NotFound(webhook_id)
