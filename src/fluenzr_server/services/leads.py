"""A campaign's leads: each contact's place in the sequence, as the sending engine keeps it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Row

from fluenzr_server.errors import NotFound
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
        "openedAt": wire_time(row.opened_at) if row.opened_at is not None else None,
        "clickedAt": wire_time(row.clicked_at) if row.clicked_at is not None else None,
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
