"""Webhooks operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import webhooks
from handlers._common import Result, db, deleted, listed, paging, settings


async def list_webhooks(
    user: str, page: int = 1, per_page: int = 20, sort: str = "createdAt", order: str = "desc"
) -> Result:
    """A page of webhooks (never their secrets)."""
    request = paging(page, per_page, sort, order)
    return listed(await webhooks.list_webhooks(db(), account_id=user, request=request), request)


async def create_webhook(user: str, body: dict[str, Any]) -> Result:
    """Subscribe a URL; the response carries the secret, once."""
    created = await webhooks.create_webhook(
        db(), account_id=user, body=body, allow_private=settings().allow_private_hosts
    )
    return envelope.ok(created), 201


async def delete_webhook(user: str, webhook_id: str) -> Result:
    """Unsubscribe."""
    await webhooks.delete_webhook(db(), account_id=user, webhook_id=webhook_id)
    return deleted(webhook_id)
