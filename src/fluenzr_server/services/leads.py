"""A campaign's leads: each contact's place in the sequence, as the sending engine keeps it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.errors import InvalidState, NotFound
from fluenzr_server.services.common import wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest

LEAD_STATES = ("active", "completed", "replied", "bounced", "unsubscribed", "failed", "paused")
_leads = t.campaign_contacts


def present(row: Row[Any]) -> dict[str, Any]:
    return {
        "contactId": row.contact_id,
        "email": row.email,
        "status": row.status,
        "currentStep": int(row.current_step),
        "nextSendAt": wire_time(row.next_send_at) if row.next_send_at is not None else None,
        "lastSentAt": wire_time(row.last_sent_at) if row.last_sent_at is not None else None,
        "reason": row.reason,
        "addedAt": wire_time(row.added_at),
    }


async def list_leads(
    db: Database, *, account_id: str, campaign_id: str, request: PageRequest, status: str | None
) -> tuple[list[dict[str, Any]], int]:
    """A page of the campaign's leads in the order they were added (ties by contact id); 404 for a
    campaign of another account. `currentStep` is 0-based: the next step to send (= steps sent)."""
    where = [_leads.c.campaign_id == campaign_id]
    if status:
        where.append(_leads.c.status == status)
    descending = request.order == "desc"
    ordering = (
        [_leads.c.added_at.desc(), _leads.c.contact_id.desc()]
        if descending
        else [_leads.c.added_at.asc(), _leads.c.contact_id.asc()]
    )
    query = (
        select(_leads, t.contacts.c.email)
        .join(t.contacts, t.contacts.c.id == _leads.c.contact_id)
        .where(*where)
        .order_by(*ordering)
        .limit(request.per_page)
        .offset(request.offset)
    )
    async with db.read() as conn:
        owned = select(t.campaigns.c.id).where(
            t.campaigns.c.id == campaign_id, t.campaigns.c.account_id == account_id
        )
        if (await conn.execute(owned)).first() is None:
            raise NotFound(campaign_id)
        rows = list((await conn.execute(query)).all())
        if request.page == 1 and len(rows) < request.per_page:
            total = len(rows)
        else:
            total = int(
                (await conn.execute(select(func.count()).select_from(_leads).where(*where))).scalar_one()
            )
    return [present(row) for row in rows], total


# A lead that has stopped: nothing left to pause or resume.
_STOPPED = ("completed", "replied", "bounced", "unsubscribed", "failed")


async def _lead(conn: AsyncConnection, account_id: str, campaign_id: str, contact_id: str) -> Row[Any]:
    query = (
        select(_leads, t.contacts.c.email)
        .join(t.contacts, t.contacts.c.id == _leads.c.contact_id)
        .join(t.campaigns, t.campaigns.c.id == _leads.c.campaign_id)
        .where(
            _leads.c.campaign_id == campaign_id,
            _leads.c.contact_id == contact_id,
            t.campaigns.c.account_id == account_id,
        )
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(contact_id, "No such contact in this campaign")
    return row


async def get_lead(db: Database, *, account_id: str, campaign_id: str, contact_id: str) -> dict[str, Any]:
    """One lead; NotFound when the campaign is another account's or the contact is not in it."""
    async with db.read() as conn:
        return present(await _lead(conn, account_id, campaign_id, contact_id))


async def pause_lead(db: Database, *, account_id: str, campaign_id: str, contact_id: str) -> dict[str, Any]:
    """`active` → `paused` for this lead alone (a paused lead: no-op). InvalidState for a stopped lead and
    for one whose step is in flight (`active` with no `next_send_at`: the claim cleared it), so that an
    outcome recorded for an `active` lead can never land on a paused one."""
    async with db.write() as conn:
        row = await _lead(conn, account_id, campaign_id, contact_id)
        if row.status == "paused":
            return present(row)
        _refuse_stopped(row)
        paused = await conn.execute(
            update(_leads)
            .where(
                _leads.c.campaign_id == campaign_id,
                _leads.c.contact_id == contact_id,
                _leads.c.status == "active",
                _leads.c.next_send_at.is_not(None),
            )
            .values(status="paused")
        )
        if paused.rowcount != 1:
            raise InvalidState(
                "A step is being sent to this contact right now; try again in a few seconds",
                {"status": "active", "sending": True},
            )
        return present(await _lead(conn, account_id, campaign_id, contact_id))


async def resume_lead(db: Database, *, account_id: str, campaign_id: str, contact_id: str) -> dict[str, Any]:
    """`paused` → `active` (an active lead: no-op); InvalidState for a stopped lead. The step it waited
    for keeps its `next_send_at`: due at once if that has passed."""
    async with db.write() as conn:
        row = await _lead(conn, account_id, campaign_id, contact_id)
        if row.status == "active":
            return present(row)
        _refuse_stopped(row)
        await conn.execute(
            update(_leads)
            .where(
                _leads.c.campaign_id == campaign_id,
                _leads.c.contact_id == contact_id,
                _leads.c.status == "paused",
            )
            .values(status="active")
        )
        return present(await _lead(conn, account_id, campaign_id, contact_id))


def _refuse_stopped(row: Row[Any]) -> None:
    if row.status in _STOPPED:
        raise InvalidState(
            f"This lead has stopped ({row.status}): there is nothing to pause or resume",
            {"status": row.status},
        )
