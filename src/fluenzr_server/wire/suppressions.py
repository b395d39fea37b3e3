"""Suppression list entry on the wire (schema `Suppression`)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any) -> dict[str, Any]:
    """A `suppressions` row as the contract's Suppression: `entry` is the stored key (the address, or `@`
    and the domain), and exactly one of `email` and `domain` is set."""
    key: str = row.email
    is_domain = key.startswith("@")
    return {
        "entry": key,
        "email": None if is_domain else key,
        "domain": key[1:] if is_domain else None,
        "reason": row.reason,
        "detail": row.detail,
        "campaignId": row.campaign_id,
        "createdAt": wire_time(row.created_at),
    }
