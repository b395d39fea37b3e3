"""Unsubscribes: a contact asks one campaign's sender for no more email.

One function for every way the request arrives: the one-click POST (RFC 8058 §3.1), the confirmation page's
button, a `mailto:` request read from the mailbox (RFC 2369 §3.2), or the customer. Its effect, in the
caller's transaction:

- the lead becomes `unsubscribed` (a `bounced` lead keeps its state) and its next step is cancelled;
  `unsubscribed_at` is set once, so the campaign's `unsubscribed` statistic counts the lead once;
- the address joins the account's suppression list (`services.suppressions`), so no campaign of the
  account mails it again;
- one `contact.unsubscribed` event (the contact as `GET /contacts/{id}` shows it), only the first time.

Repeating the request changes nothing and emits nothing: mail clients and link scanners repeat it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.services import events, suppressions
from fluenzr_server.services.contacts import load_contact
from fluenzr_server.store import tables as t

Source = Literal["one-click", "page", "mailto", "manual"]
_leads = t.campaign_contacts


async def unsubscribe_lead(
    conn: AsyncConnection, *, campaign_id: str, contact_id: str, source: Source, now: datetime
) -> bool:
    """Unsubscribe the contact from the campaign and suppress its address for the whole account.

    True when this call unsubscribed it; False when it already was, or when there is no such lead
    (a deleted contact or campaign: nothing is left to stop).
    """
    query = (
        select(_leads.c.unsubscribed_at, t.campaigns.c.account_id, t.contacts.c.email)
        .join(t.campaigns, t.campaigns.c.id == _leads.c.campaign_id)
        .join(t.contacts, t.contacts.c.id == _leads.c.contact_id)
        .where(_leads.c.campaign_id == campaign_id, _leads.c.contact_id == contact_id)
    )
    lead = (await conn.execute(query)).first()
    if lead is None:
        return False
    changed = await conn.execute(
        update(_leads)
        .where(
            _leads.c.campaign_id == campaign_id,
            _leads.c.contact_id == contact_id,
            _leads.c.unsubscribed_at.is_(None),
        )
        .values(
            status=case((_leads.c.status == "bounced", _leads.c.status), else_="unsubscribed"),
            next_send_at=None,
            unsubscribed_at=func.coalesce(_leads.c.unsubscribed_at, now),
            reason=case((_leads.c.status == "bounced", _leads.c.reason), else_=f"unsubscribed ({source})"),
        )
    )
    await suppressions.suppress(
        conn,
        account_id=lead.account_id,
        email=lead.email,
        reason="unsubscribed",
        now=now,
        detail=f"unsubscribed ({source})",
        campaign_id=campaign_id,
        source=source,
    )
    if changed.rowcount != 1:
        return False
    contact = await load_contact(conn, account_id=lead.account_id, contact_id=contact_id)
    await events.emit(conn, account_id=lead.account_id, type="contact.unsubscribed", data=contact)
    return True
