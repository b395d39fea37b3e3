"""Webhooks: subscriptions to events, signed with a secret that is shown once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete

from fluenzr_server.errors import NotFound
from fluenzr_server.ids import new_id, new_webhook_secret
from fluenzr_server.net_policy import check_webhook_url
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest, fetch_page
from fluenzr_server.wire.webhooks import present

_SORTS = {"createdAt": t.webhooks.c.created_at, "url": t.webhooks.c.url}


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


async def create_webhook(
    db: Database, *, account_id: str, body: dict[str, Any], allow_private: bool = False
) -> dict[str, Any]:
    """A new subscription; 400 when `url` is not an https URL to a public host (`net_policy`)."""
    url = check_webhook_url(body["url"], allow_private=allow_private)
    stamp = now()
    values = {
        "id": new_id("whk"),
        "account_id": account_id,
        "url": url,
        "events": body["events"],
        "description": body.get("description"),
        "active": body.get("active", True),
        "secret": new_webhook_secret(),
        "created_at": stamp,
    }
    async with db.write() as conn:
        row = (await conn.execute(t.webhooks.insert().values(values).returning(*t.webhooks.c))).one()
    return present(row, reveal_secret=True)


async def delete_webhook(db: Database, *, account_id: str, webhook_id: str) -> None:
    async with db.write() as conn:
        scope = and_(t.webhooks.c.account_id == account_id, t.webhooks.c.id == webhook_id)
        if (await conn.execute(delete(t.webhooks).where(scope))).rowcount == 0:
            raise NotFound(webhook_id)
