"""Group `grp_…` on the wire (contract schema `Group`)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any, contact_count: int) -> dict[str, Any]:
    """A `groups` row and its exact member count, as the contract's Group."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "contactCount": contact_count,
        "createdAt": wire_time(row.created_at),
        "updatedAt": wire_time(row.updated_at),
    }
