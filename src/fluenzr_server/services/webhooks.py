"""Webhooks: subscriptions to events, signed with a secret that is shown once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete
from sqlalchemy.engine import Row

from fluenzr_server.errors import NotFound
from fluenzr_server.ids import new_id, new_webhook_secret
from fluenzr_server.net_policy import check_webhook_url
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest, fetch_page

_SORTS = {"createdAt": t.webhooks.c.created_at, "url": t.webhooks.c.url}


def present(row: Row[Any] | Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": row.events,
        "description": row.description,
        "active": row.active,
        "createdAt": wire_time(row.created_at),
    }


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
        await conn.execute(t.webhooks.insert().values(values))
    return {
        "id": values["id"],
        "url": url,
        "events": values["events"],
        "description": values["description"],
        "active": values["active"],
        "createdAt": wire_time(stamp),
        "secret": values["secret"],
    }


async def delete_webhook(db: Database, *, account_id: str, webhook_id: str) -> None:
    async with db.write() as conn:
        scope = and_(t.webhooks.c.account_id == account_id, t.webhooks.c.id == webhook_id)
        if (await conn.execute(delete(t.webhooks).where(scope))).rowcount == 0:
            raise NotFound(webhook_id)
