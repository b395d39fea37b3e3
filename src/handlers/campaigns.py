"""Campaigns operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import campaigns, leads, sending_status
from handlers._common import Result, db, listed, paging


async def list_campaigns(
    user: str,
    page: int = 1,
    per_page: int = 20,
    sort: str = "createdAt",
    order: str = "desc",
    status: str | None = None,
) -> Result:
    """A page of campaigns."""
    request = paging(page, per_page, sort, order)
    return listed(
        await campaigns.list_campaigns(db(), account_id=user, request=request, status=status), request
    )


async def create_campaign(user: str, body: dict[str, Any]) -> Result:
    """Create a draft campaign."""
    return envelope.ok(await campaigns.create_campaign(db(), account_id=user, body=body)), 201


async def get_campaign(user: str, campaign_id: str) -> Result:
    """One campaign."""
    return envelope.ok(await campaigns.get_campaign(db(), account_id=user, campaign_id=campaign_id)), 200


async def update_campaign(user: str, campaign_id: str, body: dict[str, Any]) -> Result:
    """Update a draft or paused campaign."""
    updated = await campaigns.update_campaign(db(), account_id=user, campaign_id=campaign_id, body=body)
    return envelope.ok(updated), 200


async def start_campaign(user: str, campaign_id: str) -> Result:
    """draft/paused → running (idempotent)."""
    return envelope.ok(await campaigns.start_campaign(db(), account_id=user, campaign_id=campaign_id)), 200


async def pause_campaign(user: str, campaign_id: str) -> Result:
    """running → paused (idempotent)."""
    return envelope.ok(await campaigns.pause_campaign(db(), account_id=user, campaign_id=campaign_id)), 200


async def add_campaign_contacts(user: str, campaign_id: str, body: dict[str, Any]) -> Result:
    """Add contacts by ids or by group, idempotently."""
    result = await campaigns.add_contacts(db(), account_id=user, campaign_id=campaign_id, body=body)
    return envelope.ok(result), 200


async def get_campaign_stats(user: str, campaign_id: str) -> Result:
    """Counts and rates from the send records."""
    return envelope.ok(await campaigns.get_stats(db(), account_id=user, campaign_id=campaign_id)), 200


async def list_campaign_contacts(
    user: str, campaign_id: str, page: int = 1, per_page: int = 20, status: str | None = None
) -> Result:
    """A page of the campaign's leads."""
    request = paging(page, per_page, "addedAt", "asc")
    found = await leads.list_leads(
        db(), account_id=user, campaign_id=campaign_id, request=request, status=status
    )
    return listed(found, request)


async def get_campaign_contact(user: str, campaign_id: str, contact_id: str) -> Result:
    """One lead."""
    lead = await leads.get_lead(db(), account_id=user, campaign_id=campaign_id, contact_id=contact_id)
    return envelope.ok(lead), 200


async def pause_campaign_contact(user: str, campaign_id: str, contact_id: str) -> Result:
    """active → paused for one lead (idempotent)."""
    lead = await leads.pause_lead(db(), account_id=user, campaign_id=campaign_id, contact_id=contact_id)
    return envelope.ok(lead), 200


async def resume_campaign_contact(user: str, campaign_id: str, contact_id: str) -> Result:
    """paused → active for one lead (idempotent)."""
    lead = await leads.resume_lead(db(), account_id=user, campaign_id=campaign_id, contact_id=contact_id)
    return envelope.ok(lead), 200


async def get_campaign_sending_status(user: str, campaign_id: str) -> Result:
    """Why the campaign is or is not sending now, and when it sends next."""
    return envelope.ok(
        await sending_status.get_sending_status(db(), account_id=user, campaign_id=campaign_id)
    ), 200
