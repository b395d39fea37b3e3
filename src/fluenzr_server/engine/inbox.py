"""What a classified inbound message does (`engine/inbound.py` says what it is), in the poll's transaction.

Every message read is recorded once in `inbound_messages` (unique per mailbox, UIDVALIDITY and UID; a
message whose Message-ID was already recorded for the mailbox is skipped, which is how a changed
UIDVALIDITY is read again without being processed twice). Effects:

- `reply` naming (In-Reply-To / References) an email sent from this mailbox: the lead becomes `replied`
  (`replied_at` set once, its next step cancelled: the sequence stops) and one `email.replied` event
  carries the reply's subject, a snippet and its sender. A lead already `bounced` or `unsubscribed`
  keeps that state but gets `replied_at`. A reply naming nothing of ours is recorded as `other`.
- `hard_bounce` (5.x.x): the email it reports on (by the returned Message-ID, else by the failed address
  among the leads of this mailbox's campaigns) becomes `bounced`, so the campaign's `bounced` statistic
  counts it and `sent` no longer does; the lead becomes `bounced` (`bounced_at`), the address is
  suppressed for the account (reason `bounced`) and one `email.bounced` event carries the status and
  diagnostic. `soft_bounce` (4.x.x): recorded only; the sequence goes on.
- `auto_reply`: recorded (matched to the lead when it names our email); nothing else changes.
- `unsubscribe` from a contact with leads in campaigns sending from this mailbox:
  `unsubscribes.unsubscribe_lead(..., source="mailto")` for each of those leads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine.inbound import Inbound, Recipient
from fluenzr_server.engine.sending import complete_if_done
from fluenzr_server.ids import new_id
from fluenzr_server.services import events, suppressions
from fluenzr_server.services.common import wire_time
from fluenzr_server.services.unsubscribes import unsubscribe_lead
from fluenzr_server.store import tables as t

log = logging.getLogger("fluenzr.engine.inbox")

_leads = t.campaign_contacts
_messages = t.messages
_inbound = t.inbound_messages
# A lead that is still in (or finished) its sequence takes the new state; bounced/unsubscribed/failed keep
# theirs (the timestamp is still recorded, so the statistics count it).
_TAKES_NEW_STATE = ("active", "paused", "completed")


@dataclass
class Outcome:
    kind: str
    detail: str | None = None
    campaign_id: str | None = None
    contact_id: str | None = None
    message_id: str | None = None


async def already_recorded(conn: AsyncConnection, *, email_account_id: str, fingerprint: str) -> bool:
    query = select(_inbound.c.id).where(
        _inbound.c.email_account_id == email_account_id, _inbound.c.fingerprint == fingerprint
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def record(
    conn: AsyncConnection,
    *,
    mailbox: Any,
    uid_validity: int,
    uid: int,
    inbound: Inbound,
    now: datetime,
) -> bool:
    """Apply and record one message of `mailbox` (an `imap_mailboxes` row); False when it had been
    recorded before (same UID, or same Message-ID after a UIDVALIDITY change) and nothing was done."""
    if await already_recorded(conn, email_account_id=mailbox.id, fingerprint=inbound.fingerprint):
        return False
    seen = select(_inbound.c.id).where(
        _inbound.c.email_account_id == mailbox.id,
        _inbound.c.uid_validity == uid_validity,
        _inbound.c.uid == uid,
    )
    if (await conn.execute(seen)).first() is not None:
        return False
    outcome = await _apply(conn, mailbox, inbound, now)
    detail = outcome.detail or inbound.why or None
    await conn.execute(
        _inbound.insert().values(
            id=new_id("inb"),
            account_id=mailbox.account_id,
            email_account_id=mailbox.id,
            uid_validity=uid_validity,
            uid=uid,
            fingerprint=inbound.fingerprint,
            kind=outcome.kind,
            from_email=inbound.from_email,
            subject=inbound.subject[:500] or None,
            detail=detail[:1000] if detail else None,
            campaign_id=outcome.campaign_id,
            contact_id=outcome.contact_id,
            message_id=outcome.message_id,
            received_at=now,
        )
    )
    return True


async def _apply(conn: AsyncConnection, mailbox: Any, inbound: Inbound, now: datetime) -> Outcome:
    if inbound.kind in ("hard_bounce", "soft_bounce"):
        return await _bounce(conn, mailbox, inbound, now)
    if inbound.kind == "unsubscribe":
        return await _unsubscribe(conn, mailbox, inbound, now)
    ours = await _ours(conn, mailbox.id, inbound.references)
    if inbound.kind == "reply":
        if ours is None:
            return Outcome("other", "In-Reply-To/References name no email sent from this mailbox")
        return await _reply(conn, mailbox, ours, inbound, now)
    if ours is not None:
        return Outcome(inbound.kind, None, ours.campaign_id, ours.contact_id, ours.id)
    return Outcome(inbound.kind)


async def _ours(conn: AsyncConnection, mailbox_id: str, message_ids: tuple[str, ...]) -> Row[Any] | None:
    """Our email (a `messages` row sent from this mailbox) named first in `message_ids`."""
    if not message_ids:
        return None
    query = select(_messages).where(
        _messages.c.message_id.in_(list(message_ids[:50])), _messages.c.email_account_id == mailbox_id
    )
    found = {row.message_id: row for row in await conn.execute(query)}
    return next((found[m] for m in message_ids if m in found), None)


def _event(message: Any, now: datetime, reason: str | None) -> dict[str, Any]:
    return {
        "campaignId": message.campaign_id,
        "contactId": message.contact_id,
        "email": message.to_email,
        "step": message.step,
        "messageId": message.message_id,
        "at": wire_time(now),
        "reason": reason,
    }


def _lead(message: Any) -> Any:
    return update(_leads).where(
        _leads.c.campaign_id == message.campaign_id, _leads.c.contact_id == message.contact_id
    )


async def _reply(conn: AsyncConnection, mailbox: Any, ours: Any, inbound: Inbound, now: datetime) -> Outcome:
    outcome = Outcome("reply", None, ours.campaign_id, ours.contact_id, ours.id)
    changed = await conn.execute(
        _lead(ours)
        .where(_leads.c.replied_at.is_(None))
        .values(
            replied_at=now,
            status=case((_leads.c.status.in_(_TAKES_NEW_STATE), "replied"), else_=_leads.c.status),
            reason=case(
                (_leads.c.status.in_(_TAKES_NEW_STATE), f"replied to step {ours.step + 1}"),
                else_=_leads.c.reason,
            ),
            next_send_at=None,
        )
    )
    if changed.rowcount != 1:
        return outcome  # a second reply from the same lead: recorded, no second event
    data = _event(ours, now, None)
    data["reply"] = {
        "subject": inbound.subject,
        "snippet": inbound.snippet,
        "from": inbound.from_email or "",
    }
    await events.emit(conn, account_id=mailbox.account_id, type="email.replied", data=data)
    await complete_if_done(conn, ours.campaign_id, now=now)
    return outcome


async def _by_address(conn: AsyncConnection, mailbox: Any, addresses: list[str]) -> Row[Any] | None:
    """The latest email sent from this mailbox to one of `addresses` (a bounce report without usable
    returned headers), via the contacts (unique per account and address) and their leads."""
    if not addresses:
        return None
    query = (
        select(_messages)
        .join(t.contacts, t.contacts.c.id == _messages.c.contact_id)
        .where(
            t.contacts.c.account_id == mailbox.account_id,
            t.contacts.c.email.in_(addresses),
            _messages.c.email_account_id == mailbox.id,
            _messages.c.status.in_(("sent", "bounced")),
        )
        .order_by(_messages.c.sent_at.desc(), _messages.c.step.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


def _pick(recipients: tuple[Recipient, ...], to_email: str) -> Recipient | None:
    for recipient in recipients:
        if recipient.address == to_email.lower():
            return recipient
    return recipients[0] if len(recipients) == 1 else None


async def _bounce(conn: AsyncConnection, mailbox: Any, inbound: Inbound, now: datetime) -> Outcome:
    ours = await _ours(conn, mailbox.id, inbound.returned_ids)
    if ours is None:
        ours = await _by_address(conn, mailbox, [r.address for r in inbound.recipients])
    if ours is None:
        reasons = "; ".join(f"{r.address}: {r.reason()}" for r in inbound.recipients)
        return Outcome(inbound.kind, f"matches no email sent from this mailbox. {reasons}".strip())
    recipient = _pick(inbound.recipients, ours.to_email)
    if recipient is None:
        recipient = next((r for r in inbound.recipients if r.permanent), None) or (
            inbound.recipients[0] if inbound.recipients else Recipient(ours.to_email, "5.0.0", "")
        )
    kind = "hard_bounce" if recipient.permanent else "soft_bounce"
    reason = recipient.reason()
    outcome = Outcome(kind, reason, ours.campaign_id, ours.contact_id, ours.id)
    if kind == "soft_bounce":
        return outcome
    await conn.execute(
        update(_messages)
        .where(_messages.c.id == ours.id, _messages.c.status == "sent")
        .values(status="bounced", smtp_reply=reason, updated_at=now)
    )
    changed = await conn.execute(
        _lead(ours)
        .where(_leads.c.bounced_at.is_(None))
        .values(
            bounced_at=now,
            status=case((_leads.c.status.in_(_TAKES_NEW_STATE), "bounced"), else_=_leads.c.status),
            reason=case(
                (_leads.c.status.in_(_TAKES_NEW_STATE), f"step {ours.step + 1}: {reason}"[:500]),
                else_=_leads.c.reason,
            ),
            next_send_at=None,
        )
    )
    await suppressions.suppress(
        conn,
        account_id=mailbox.account_id,
        email=ours.to_email,
        reason="bounced",
        now=now,
        detail=reason,
        campaign_id=ours.campaign_id,
    )
    if changed.rowcount == 1:
        await events.emit(
            conn, account_id=mailbox.account_id, type="email.bounced", data=_event(ours, now, reason)
        )
        await complete_if_done(conn, ours.campaign_id, now=now)
    return outcome


async def _unsubscribe(conn: AsyncConnection, mailbox: Any, inbound: Inbound, now: datetime) -> Outcome:
    if not inbound.from_email:
        return Outcome("unsubscribe", "no From address")
    query = (
        select(_leads.c.campaign_id, _leads.c.contact_id)
        .join(t.contacts, t.contacts.c.id == _leads.c.contact_id)
        .join(t.campaigns, t.campaigns.c.id == _leads.c.campaign_id)
        .where(
            t.contacts.c.account_id == mailbox.account_id,
            t.contacts.c.email == inbound.from_email,
            t.campaigns.c.email_account_id == mailbox.id,
        )
        .order_by(_leads.c.campaign_id)
    )
    leads = list((await conn.execute(query)).all())
    if not leads:
        return Outcome("unsubscribe", "from no contact of a campaign sending from this mailbox")
    for lead in leads:
        await unsubscribe_lead(
            conn, campaign_id=lead.campaign_id, contact_id=lead.contact_id, source="mailto", now=now
        )
    for campaign_id in sorted({lead.campaign_id for lead in leads}):
        await complete_if_done(conn, campaign_id, now=now)
    first = leads[0]
    return Outcome("unsubscribe", f"{len(leads)} lead(s) unsubscribed", first.campaign_id, first.contact_id)
