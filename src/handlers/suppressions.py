"""Suppressions operations."""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse

from fluenzr_server import envelope
from fluenzr_server.services import suppressions
from handlers._common import Result, db, listed, paging


async def list_suppressions(
    user: str,
    page: int = 1,
    per_page: int = 20,
    sort: str = "createdAt",
    order: str = "desc",
    reason: str | None = None,
    search: str | None = None,
) -> Result:
    """A page of the suppression list, newest first unless asked otherwise."""
    request = paging(page, per_page, sort, order)
    found = await suppressions.list_suppressions(
        db(), account_id=user, request=request, reason=reason, search=search
    )
    return listed(found, request)


async def create_suppressions(user: str, body: dict[str, Any]) -> Result:
    """Suppress addresses and domains (reason `manual`): what was added and what was already there."""
    return envelope.ok(await suppressions.create_suppressions(db(), account_id=user, body=body)), 200


async def delete_suppression(user: str, entry: str) -> ConnexionResponse:
    """Remove an address or `@domain` entry; 204 without a body (so without a content type)."""
    await suppressions.delete_suppression(db(), account_id=user, entry=entry)
    return ConnexionResponse(status_code=204, body=b"")
