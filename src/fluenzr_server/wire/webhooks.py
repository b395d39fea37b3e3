"""Webhook `whk_…` on the wire (schemas `Webhook`, and `WebhookWithSecret` on creation or rotation)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any, *, secret: str | None = None) -> dict[str, Any]:
    """A `webhooks` row as the contract's Webhook; with `secret` (the plaintext `whsec_…`, given only at
    creation and rotation: the stored one is encrypted) the signing secret too."""
    presented = {
        "id": row.id,
        "url": row.url,
        "events": row.events,
        "description": row.description,
        "active": row.active,
        "disabledReason": row.disabled_reason,
        "createdAt": wire_time(row.created_at),
    }
    if secret is not None:
        presented["secret"] = secret
    return presented
