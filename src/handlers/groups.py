"""Groups operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import groups
from handlers._common import Result, db, deleted, listed, paging


async def list_groups(
    user: str,
    page: int = 1,
    per_page: int = 20,
    sort: str = "createdAt",
    order: str = "desc",
    name: str | None = None,
) -> Result:
    """A page of groups."""
    request = paging(page, per_page, sort, order)
    return listed(await groups.list_groups(db(), account_id=user, request=request, name=name), request)


async def create_group(user: str, body: dict[str, Any]) -> Result:
    """Create a group."""
    return envelope.ok(await groups.create_group(db(), account_id=user, body=body)), 201


async def get_group(user: str, group_id: str) -> Result:
    """One group."""
    return envelope.ok(await groups.get_group(db(), account_id=user, group_id=group_id)), 200


async def update_group(user: str, group_id: str, body: dict[str, Any]) -> Result:
    """Update the fields sent."""
    return envelope.ok(await groups.update_group(db(), account_id=user, group_id=group_id, body=body)), 200


async def delete_group(user: str, group_id: str) -> Result:
    """Delete a group (its contacts stay)."""
    await groups.delete_group(db(), account_id=user, group_id=group_id)
    return deleted(group_id)


async def add_group_contacts(user: str, group_id: str, body: dict[str, Any]) -> Result:
    """Add contacts to a group, idempotently and atomically."""
    result = await groups.add_contacts(
        db(), account_id=user, group_id=group_id, contact_ids=body["contactIds"]
    )
    return envelope.ok(result), 200
