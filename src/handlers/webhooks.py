"""Webhooks operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import webhook_deliveries, webhooks
from handlers._common import Result, db, deleted, listed, paging, resources, secret_box, settings


async def list_webhooks(
    user: str, page: int = 1, per_page: int = 20, sort: str = "createdAt", order: str = "desc"
) -> Result:
    """A page of webhooks (never their secrets)."""
    request = paging(page, per_page, sort, order)
    return listed(await webhooks.list_webhooks(db(), account_id=user, request=request), request)


async def create_webhook(user: str, body: dict[str, Any]) -> Result:
    """Subscribe a URL; the response carries the secret, once."""
    created = await webhooks.create_webhook(
        db(), account_id=user, body=body, allow_private=settings().allow_private_hosts, box=secret_box()
    )
    return envelope.ok(created), 201


async def get_webhook(user: str, webhook_id: str) -> Result:
    """One webhook (never its secret)."""
    return envelope.ok(await webhooks.get_webhook(db(), account_id=user, webhook_id=webhook_id)), 200


async def update_webhook(user: str, webhook_id: str, body: dict[str, Any]) -> Result:
    """Change url, events, description or active (re-enables a disabled endpoint)."""
    updated = await webhooks.update_webhook(
        db(), account_id=user, webhook_id=webhook_id, body=body, allow_private=settings().allow_private_hosts
    )
    return envelope.ok(updated), 200


async def delete_webhook(user: str, webhook_id: str) -> Result:
    """Unsubscribe."""
    await webhooks.delete_webhook(db(), account_id=user, webhook_id=webhook_id)
    return deleted(webhook_id)


async def rotate_webhook_secret(user: str, webhook_id: str) -> Result:
    """A new secret, shown once; the old one keeps signing for 24 hours."""
    rotated = await webhooks.rotate_secret(db(), account_id=user, webhook_id=webhook_id, box=secret_box())
    return envelope.ok(rotated), 200


async def test_webhook(user: str, webhook_id: str) -> Result:
    """Deliver a `webhook.test` event now; the delivery with its attempt."""
    sent = await webhook_deliveries.send_test(resources(), account_id=user, webhook_id=webhook_id)
    return envelope.ok(sent), 200


async def list_webhook_deliveries(
    user: str,
    webhook_id: str,
    page: int = 1,
    per_page: int = 20,
    sort: str = "createdAt",
    order: str = "desc",
    status: str | None = None,
) -> Result:
    """A page of the webhook's deliveries, each with its attempts."""
    request = paging(page, per_page, sort, order)
    found = await webhook_deliveries.list_deliveries(
        db(), account_id=user, webhook_id=webhook_id, request=request, status=status
    )
    return listed(found, request)


async def retry_webhook_delivery(user: str, webhook_id: str, delivery_id: str) -> Result:
    """Schedule the delivery again, now."""
    retried = await webhook_deliveries.retry_delivery(
        db(), account_id=user, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return envelope.ok(retried), 202
