"""Contact `ctc_…` on the wire (contract schema `Contact`)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any, group_ids: list[str]) -> dict[str, Any]:
    """A `contacts` row and the ids of the groups holding it (sorted), as the contract's Contact."""
    return {
        "id": row.id,
        "email": row.email,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "company": row.company,
        "customFields": row.custom_fields,
        "groupIds": group_ids,
        "createdAt": wire_time(row.created_at),
        "updatedAt": wire_time(row.updated_at),
    }
