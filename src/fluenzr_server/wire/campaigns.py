"""Campaign `cmp_…` on the wire (contract schema `Campaign`)."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any, contact_count: int) -> dict[str, Any]:
    """A `campaigns` row and the number of contacts it holds, as the contract's Campaign."""
    return {
        "id": row.id,
        "name": row.name,
        "emailAccountId": row.email_account_id,
        # Steps stored before `bodyHtml` existed have none.
        "steps": [step if "bodyHtml" in step else {**step, "bodyHtml": None} for step in row.steps],
        "schedule": row.schedule,
        "status": row.status,
        "trackOpens": bool(row.track_opens),
        "trackClicks": bool(row.track_clicks),
        "contactCount": contact_count,
        "createdAt": wire_time(row.created_at),
        "updatedAt": wire_time(row.updated_at),
    }
