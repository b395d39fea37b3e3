"""Webhook `whk_…` on the wire (contract schemas `Webhook` and, on creation, `WebhookWithSecret`)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any, *, reveal_secret: bool = False) -> dict[str, Any]:
    """A `webhooks` row as the contract's Webhook; with `reveal_secret` (creation only: the secret is
    shown once) the signing secret `whsec_…` too."""
    presented = {
        "id": row.id,
        "url": row.url,
        "events": row.events,
        "description": row.description,
        "active": row.active,
        "createdAt": wire_time(row.created_at),
    }
    if reveal_secret:
        presented["secret"] = row.secret
    return presented
