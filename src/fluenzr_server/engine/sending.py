"""The sending engine's state machine in the database: claim due leads, record outcomes, sweep crashes.

One message row per (lead, step) is written in the claim transaction, BEFORE the SMTP conversation, with
a lease; the send happens after that transaction commits and its outcome is written back in another
(DESIGN.md "Sending engine"). Hence:

- never twice: a lead is only picked while `active` with `next_send_at <= now` (the claim clears
  `next_send_at`), rows are picked with `FOR UPDATE SKIP LOCKED` (`claim.pick_due`), and the unique key on
  (campaign, contact, step) refuses a second message for a step. A retry re-uses the step's row only from
  `retrying`.
- never lost: a claimed message is `sending` until its outcome is recorded; one whose lease ran out (its
  worker died mid-conversation) becomes `unknown` and its lead `failed` with that reason: it may have been
  delivered, and a duplicate cold email is worse than a missing one.
- the claim re-reads each campaign's status (running) and window, the mailbox's status and counters
  (`mailboxes.reserve`) and the account's suppression list, in the same transaction.

Lead states: `active` -> `completed` (every step sent) | `bounced` (5xx, or a bounce report read over IMAP:
`engine/inbox.py`) | `failed` (reason) | `replied` (`engine/inbox.py`) | `unsubscribed` | `paused`. A campaign
with no `active` or `paused` lead left becomes `completed` by itself (`campaign.completed` event)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.crypto import SecretBox
from fluenzr_server.engine import batch_sql, mailboxes, message, schedule, smtp, templates
from fluenzr_server.engine.claim import pick_due
from fluenzr_server.engine.clock import aware
from fluenzr_server.ids import new_id
from fluenzr_server.services import events, suppressions
from fluenzr_server.services.common import wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.bulk import insert_rows
from fluenzr_server.store.database import Database
from fluenzr_server.tracking import html as tracking_html
from fluenzr_server.tracking.links import Links

log = logging.getLogger("fluenzr.engine.sending")

LIVE_LEAD_STATES = ("active", "paused")
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
_leads = t.campaign_contacts
_messages = t.messages
_campaigns = t.campaigns


@dataclass(frozen=True)
class Job:
    """One claimed message, ready to hand to SMTP."""

    id: str  # msg_…
    account_id: str
    campaign_id: str
    contact_id: str
    step: int
    attempt: int
    mailbox_id: str
    smtp: smtp.SmtpSettings
    sender: str  # the mailbox's fromEmail
    from_name: str
    to_name: str | None
    subject: str  # rendered
    body: str  # rendered
    thread_message_id: str | None  # the first step's Message-ID, for later steps
    to_email: str
    message_id: str
    claimed_day: date
    lease_owner: str
    next_delay_days: int | None  # None: this is the last step
    timezone: str
    # Tracking (tracking/): the step's rendered `bodyHtml` (None: the text is sent as HTML too), the
    # one-click unsubscribe URL, the campaign's switches, and the URL maker (None: a bare text message).
    html: str | None = None
    unsubscribe_url: str | None = None
    track_opens: bool = False
    track_clicks: bool = False
    links: Links | None = None

    def build(self, *, date: datetime) -> EmailMessage:
        """The RFC 5322 message, built after the claim committed (it is the costly part of a send).
        Raises `ValueError` for an address or header the message builder refuses."""
        body_html = None
        if self.links is not None:
            if self.html is not None:
                fragment = tracking_html.sanitize(self.html)
            else:
                fragment = tracking_html.from_text(self.body)
            fragment = tracking_html.track(
                fragment,
                message_id=self.id,
                links=self.links,
                opens=self.track_opens,
                clicks=self.track_clicks,
            )
            body_html = tracking_html.document(fragment)
        return message.build_message(
            from_email=self.sender,
            from_name=self.from_name,
            to_email=self.to_email,
            to_name=self.to_name,
            subject=self.subject,
            body_text=self.body,
            message_id=self.message_id,
            in_reply_to=self.thread_message_id,
            references=[self.thread_message_id] if self.thread_message_id else [],
            date=date,
            body_html=body_html,
            unsubscribe_url=self.unsubscribe_url,
        )


@dataclass(frozen=True)
class Sendable:
    campaign: Any  # the campaign's columns as attributes
    mailbox: Any  # its email account's columns as attributes


def _wire_contact(row: Row[Any]) -> dict[str, Any]:
    return {
        "email": row.email,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "company": row.company,
        "customFields": row.custom_fields or {},
    }


def _display_name(row: Row[Any]) -> str | None:
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return name or None


async def sendable_campaigns(conn: AsyncConnection, *, now: datetime) -> dict[str, Sendable]:
    """Running campaigns that may send right now: window open, mailbox active and under its limits."""
    mailbox_columns = [c.name for c in t.email_accounts.c]
    query = select(_campaigns, *[c.label(f"mb_{c.name}") for c in t.email_accounts.c]).select_from(
        _campaigns.join(t.email_accounts, _campaigns.c.email_account_id == t.email_accounts.c.id)
    )
    query = query.where(_campaigns.c.status == "running", t.email_accounts.c.status == "active")
    found: dict[str, Sendable] = {}
    mailbox_rows: dict[str, Any] = {}
    for row in (await conn.execute(query)).all():
        mapping = row._mapping
        mailbox_id = mapping["mb_id"]
        if mailbox_id not in mailbox_rows:
            mailbox_rows[mailbox_id] = _RowView({name: mapping[f"mb_{name}"] for name in mailbox_columns})
        mailbox = mailbox_rows[mailbox_id]
        if not mailboxes.can_send(mailbox, now):
            continue
        if not schedule.is_open(schedule.Window.from_wire(mapping["schedule"]), now):
            continue
        campaign = _RowView({c.name: mapping[c.name] for c in _campaigns.c})
        found[mapping["id"]] = Sendable(campaign=campaign, mailbox=mailbox)
    return found


class _RowView:
    """A row-like view (attribute access) over a dict of column values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


async def claim(
    db: Database,
    *,
    now: datetime,
    owner: str,
    limit: int,
    lease_seconds: float,
    smtp_timeout: float,
    secret_box: SecretBox,
    links: Links,
) -> list[Job]:
    """Claim up to `limit` due leads and write their message rows (status `sending`); the jobs to send.
    `links` makes each message's `/t/` URLs (unsubscribe, open pixel, tracked links)."""
    async with db.write() as conn:
        sendable = await sendable_campaigns(conn, now=now)
        if not sendable:
            return []
        leads = await _pick_leads(conn, sendable, now=now, limit=limit)
        if not leads:
            return []
        return await _claim_leads(
            conn, leads, sendable, now, owner, lease_seconds, smtp_timeout, secret_box, links
        )


async def _pick_leads(
    conn: AsyncConnection, sendable: dict[str, Sendable], *, now: datetime, limit: int
) -> list[Row[Any]]:
    """Due leads of the sendable campaigns, shared out between their mailboxes: each mailbox gets an
    equal share of `limit`, and never more than it may send now (`mailboxes.grantable`), so every
    mailbox's connection has work at once and no lead is locked for a mailbox that cannot take it. When
    more mailboxes can send than `limit`, those that have waited longest come first; the rest are
    picked by the next claim."""
    campaigns_of: dict[str, list[str]] = defaultdict(list)
    mailbox_rows: dict[str, Any] = {}
    for campaign_id, target in sendable.items():
        campaigns_of[target.mailbox.id].append(campaign_id)
        mailbox_rows[target.mailbox.id] = target.mailbox
    waited = sorted(mailbox_rows.values(), key=lambda row: aware(row.next_send_at or _LONG_AGO))
    if not waited or limit <= 0:
        return []
    share = -(-limit // len(waited))  # ceiling division
    leads: list[Row[Any]] = []
    for mailbox in waited[:limit]:
        wanted = min(share, mailboxes.grantable(mailbox, now), limit - len(leads))
        if wanted <= 0:
            continue
        campaign_ids = campaigns_of[mailbox.id]
        leads += await pick_due(
            conn,
            _leads,
            now=now,
            limit=wanted,
            where=and_(_leads.c.campaign_id.in_(campaign_ids), _leads.c.status == "active"),
            due_column="next_send_at",
        )
    return leads


async def _claim_leads(
    conn: AsyncConnection,
    leads: list[Row[Any]],
    sendable: dict[str, Sendable],
    now: datetime,
    owner: str,
    lease_seconds: float,
    smtp_timeout: float,
    secret_box: SecretBox,
    links: Links,
) -> list[Job]:
    contact_ids = list({lead.contact_id for lead in leads})
    contacts = {
        row.id: row
        for row in (
            await conn.execute(select(t.contacts).where(batch_sql.one_of(conn, t.contacts.c.id, contact_ids)))
        )
    }
    account_ids = list({sendable[lead.campaign_id].campaign.account_id for lead in leads})
    emails = list({contacts[lead.contact_id].email for lead in leads if lead.contact_id in contacts})
    # The batch's recipients, by address and by domain, in one primary-key query.
    suppressed = await suppressions.lookup(conn, account_ids=account_ids, emails=emails)
    campaign_ids = list({lead.campaign_id for lead in leads})
    existing = {
        (row.campaign_id, row.contact_id, row.step): row
        for row in await conn.execute(
            select(_messages).where(
                batch_sql.one_of(conn, _messages.c.campaign_id, campaign_ids),
                batch_sql.one_of(conn, _messages.c.contact_id, contact_ids),
            )
        )
    }
    ended: set[str] = set()
    ready: dict[str, list[tuple[Row[Any], Row[Any], Sendable, _Rendered, Row[Any] | None]]] = defaultdict(
        list
    )
    for lead in leads:
        target = sendable[lead.campaign_id]
        campaign = target.campaign
        contact = contacts.get(lead.contact_id)
        steps: list[dict[str, Any]] = campaign.steps
        step = int(lead.current_step)
        if contact is None:
            continue  # deleted meanwhile: the lead goes with it (foreign key)
        if step >= len(steps):
            await _end_lead(conn, lead, "completed", None)
            ended.add(lead.campaign_id)
            continue
        blocked = suppressed.get(campaign.account_id, contact.email)
        if blocked is not None:
            status = blocked.reason if blocked.reason in ("bounced", "unsubscribed") else "failed"
            await _end_lead(conn, lead, status, suppressions.why(contact.email, blocked))
            ended.add(lead.campaign_id)
            continue
        earlier = existing.get((lead.campaign_id, lead.contact_id, step))
        if earlier is not None and earlier.status != "retrying":
            # The step already has a message (a lead made due again by hand, or a repair): never resend.
            await conn.execute(_lead_scope(lead).values(next_send_at=None))
            continue
        row_id = earlier.id if earlier is not None else new_id("msg")
        try:
            rendered = _render(steps, step, _wire_contact(contact), row_id, links.unsubscribe_url(row_id))
        except templates.RenderError as exc:
            await _end_lead(conn, lead, "failed", f"step {step + 1}: {exc.reason}")
            ended.add(lead.campaign_id)
            continue
        ready[target.mailbox.id].append((lead, contact, target, rendered, earlier))

    jobs: list[Job] = []
    inserts: list[dict[str, Any]] = []
    password_cache: dict[str, str] = {}
    # Mailbox rows are locked in one order (by id) in every transaction, so two workers never deadlock.
    for mailbox_id, items in sorted(ready.items()):
        granted = await mailboxes.reserve(conn, mailbox_id, wanted=len(items), now=now)
        for lead, contact, target, rendered, earlier in items[:granted]:
            mailbox = target.mailbox
            if mailbox_id not in password_cache:
                password_cache[mailbox_id] = secret_box.decrypt(mailbox.smtp_password)
            # The sender extends the lease of jobs still queued on the connection (`extend_leases`).
            lease = now + _seconds(lease_seconds)
            job = await _write_message(
                conn,
                lead,
                contact,
                target,
                rendered,
                earlier,
                now,
                owner,
                lease,
                password_cache[mailbox_id],
                smtp_timeout,
                inserts,
                links,
            )
            jobs.append(job)
    if inserts:
        await insert_rows(conn, _messages, inserts)
    if jobs:
        # In flight: not due again until its outcome is recorded (one statement for the batch).
        if conn.dialect.name == "postgresql":
            await conn.execute(
                _IN_FLIGHT_PG,
                {
                    "b_campaigns": [job.campaign_id for job in jobs],
                    "b_contacts": [job.contact_id for job in jobs],
                },
            )
        else:
            keys = [(job.campaign_id, job.contact_id) for job in jobs]
            await conn.execute(
                update(_leads)
                .where(tuple_(_leads.c.campaign_id, _leads.c.contact_id).in_(keys))
                .values(next_send_at=None)
            )
    for campaign_id in ended:
        await complete_if_done(conn, campaign_id, now=now)
    return jobs


_claimed_leads = batch_sql.unnest(
    [("campaign_id", String()), ("contact_id", String())], ["b_campaigns", "b_contacts"]
)
_IN_FLIGHT_PG = (
    update(_leads)
    .where(
        _leads.c.campaign_id == _claimed_leads.c.campaign_id,
        _leads.c.contact_id == _claimed_leads.c.contact_id,
    )
    .values(next_send_at=None)
)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


@dataclass(frozen=True, slots=True)
class _Rendered:
    row_id: str  # the message row's id (msg_…), chosen before rendering: its tokens carry it
    subject: str
    body: str
    html: str | None
    unsubscribe_url: str


def _render(
    steps: list[dict[str, Any]], step: int, contact: dict[str, Any], row_id: str, unsubscribe_url: str
) -> _Rendered:
    subject = templates.render(steps[step]["subject"], contact)
    # `{{unsubscribeUrl}}` works in bodies, not in subjects (a link in a subject is useless).
    body_context = {**contact, "customFields": {**(contact.get("customFields") or {})}}
    body_context["customFields"]["unsubscribeUrl"] = unsubscribe_url
    body = templates.render(steps[step]["body"], body_context)
    source = steps[step].get("bodyHtml")
    html = None
    if source is not None:
        escaped = tracking_html.escaped_context(templates.context(body_context))
        html = templates.render(source, {"customFields": escaped})
    if step > 0:
        first = templates.render(steps[0]["subject"], contact)
        if subject == first or subject == message.reply_subject(first):
            subject = message.reply_subject(first)
    return _Rendered(row_id, subject, body, html, unsubscribe_url)


def _lead_scope(lead: Any) -> Any:
    return update(_leads).where(
        _leads.c.campaign_id == lead.campaign_id, _leads.c.contact_id == lead.contact_id
    )


async def _end_lead(conn: AsyncConnection, lead: Any, status: str, reason: str | None) -> None:
    await conn.execute(_lead_scope(lead).values(status=status, reason=reason, next_send_at=None))


async def _write_message(
    conn: AsyncConnection,
    lead: Row[Any],
    contact: Row[Any],
    target: Sendable,
    rendered: _Rendered,
    earlier: Row[Any] | None,
    now: datetime,
    owner: str,
    lease_until: datetime,
    password: str,
    smtp_timeout: float,
    inserts: list[dict[str, Any]],
    links: Links,
) -> Job:
    campaign, mailbox = target.campaign, target.mailbox
    step = int(lead.current_step)
    if earlier is None:
        row_id, message_id, attempt = rendered.row_id, message.new_message_id(mailbox.from_email), 1
    else:
        row_id, message_id, attempt = earlier.id, earlier.message_id, int(earlier.attempts) + 1
    thread = lead.thread_message_id if step > 0 else None
    if earlier is None:
        inserts.append(
            {
                "id": row_id,
                "account_id": campaign.account_id,
                "campaign_id": lead.campaign_id,
                "contact_id": lead.contact_id,
                "step": step,
                "email_account_id": mailbox.id,
                "to_email": contact.email,
                "message_id": message_id,
                "status": "sending",
                "attempts": attempt,
                "lease_until": lease_until,
                "lease_owner": owner,
                "created_at": now,
                "updated_at": now,
            }
        )
    else:
        await conn.execute(
            update(_messages)
            .where(_messages.c.id == row_id, _messages.c.status == "retrying")
            .values(
                status="sending",
                attempts=attempt,
                email_account_id=mailbox.id,
                to_email=contact.email,
                due_at=None,
                lease_until=lease_until,
                lease_owner=owner,
                updated_at=now,
            )
        )
    steps: list[dict[str, Any]] = campaign.steps
    return Job(
        id=row_id,
        account_id=campaign.account_id,
        campaign_id=lead.campaign_id,
        contact_id=lead.contact_id,
        step=step,
        attempt=attempt,
        mailbox_id=mailbox.id,
        smtp=smtp.SmtpSettings(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port,
            username=mailbox.smtp_username,
            password=password,
            security=mailbox.smtp_security,
            timeout=smtp_timeout,
        ),
        sender=mailbox.from_email,
        from_name=mailbox.from_name,
        to_name=_display_name(contact),
        subject=rendered.subject,
        body=rendered.body,
        thread_message_id=thread,
        to_email=contact.email,
        message_id=message_id,
        claimed_day=mailboxes.utc_day(now),
        lease_owner=owner,
        next_delay_days=int(steps[step + 1].get("delayDays", 0)) if step + 1 < len(steps) else None,
        timezone=str(campaign.schedule.get("timezone", "UTC")),
        html=rendered.html,
        unsubscribe_url=rendered.unsubscribe_url,
        track_opens=bool(campaign.track_opens),
        track_clicks=bool(campaign.track_clicks),
        links=links,
    )


# --- outcomes ----------------------------------------------------------------------------------------


def _email_event(job: Job, at: datetime, reason: str | None) -> dict[str, Any]:
    return {
        "campaignId": job.campaign_id,
        "contactId": job.contact_id,
        "email": job.to_email,
        "step": job.step,
        "messageId": job.message_id,
        "at": wire_time(at),
        "reason": reason,
    }


def _reply_text(outcome: smtp.SendOutcome) -> str:
    if outcome.code is not None and outcome.reply:
        reply = outcome.reply.strip()
        return (reply if reply.startswith(str(outcome.code)) else f"{outcome.code} {reply}")[:1000]
    return (outcome.reply or outcome.reason)[:1000]


async def record(db: Database, results: Iterable[tuple[Job, smtp.SendOutcome]], *, now: datetime) -> None:
    """Write the outcomes of finished conversations (one transaction for the batch)."""
    results = list(results)
    async with db.write() as conn:
        ended: set[str] = set()
        paused_mailboxes: dict[str, str] = {}
        owned = await _still_owned(conn, [job for job, _ in results])
        for job, outcome in results:
            if job.id not in owned:
                log.warning(
                    "message %s lost its lease before its outcome (%s) was recorded", job.id, outcome.kind
                )
        await _record_sent(
            conn,
            [job for job, outcome in results if job.id in owned and outcome.kind == "sent"],
            results,
            now,
            ended,
        )
        for job, outcome in results:
            if job.id in owned and outcome.kind != "sent":
                await _record_one(conn, job, outcome, now, ended, paused_mailboxes)
        for mailbox_id, error in paused_mailboxes.items():
            await _auto_pause(conn, mailbox_id, error, now)
        for campaign_id in ended:
            await complete_if_done(conn, campaign_id, now=now)


async def _still_owned(conn: AsyncConnection, jobs: list[Job]) -> set[str]:
    """The ids of these jobs whose message is still `sending` under this worker's lease (row-locked on
    PostgreSQL until the transaction ends, so a sweep cannot take them meanwhile)."""
    if not jobs:
        return set()
    owners = {job.id: job.lease_owner for job in jobs}
    query = select(_messages.c.id, _messages.c.lease_owner).where(
        batch_sql.one_of(conn, _messages.c.id, list(owners)), _messages.c.status == "sending"
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.id for row in await conn.execute(query) if row.lease_owner == owners[row.id]}


_NOW = bindparam("b_now", type_=_messages.c.sent_at.type)
_SENT = {"status": "sent", "sent_at": _NOW, "updated_at": _NOW, "lease_until": None, "lease_owner": None}
# Accepted messages and their leads, one row each: executemany (SQLite), or one statement over arrays
# (PostgreSQL). A lead is only advanced while `active`: paused, stopped or ended meanwhile, it stays so.
_SENT_MESSAGES = (
    update(_messages)
    .where(_messages.c.id == bindparam("b_id"))
    .values(smtp_reply=bindparam("b_reply"), **_SENT)
)
_SENT_LEADS = (
    update(_leads)
    .where(
        _leads.c.campaign_id == bindparam("b_campaign"),
        _leads.c.contact_id == bindparam("b_contact"),
        _leads.c.status == "active",
    )
    .values(
        current_step=bindparam("b_step"),
        status=bindparam("b_status"),
        next_send_at=bindparam("b_next"),
        last_sent_at=_NOW,
        sent_at=func.coalesce(_leads.c.sent_at, _NOW),
        thread_message_id=func.coalesce(_leads.c.thread_message_id, bindparam("b_message_id")),
        reason=None,
    )
)
_sent_rows = batch_sql.unnest([("id", String()), ("reply", String())], ["b_ids", "b_replies"])
_SENT_MESSAGES_PG = (
    update(_messages).where(_messages.c.id == _sent_rows.c.id).values(smtp_reply=_sent_rows.c.reply, **_SENT)
)
_sent_leads = batch_sql.unnest(
    [
        ("campaign_id", String()),
        ("contact_id", String()),
        ("step", Integer()),
        ("status", String()),
        ("next_at", DateTime(timezone=True)),
        ("message_id", String()),
    ],
    ["b_campaigns", "b_contacts", "b_steps", "b_statuses", "b_nexts", "b_message_ids"],
)
_SENT_LEADS_PG = (
    update(_leads)
    .where(
        _leads.c.campaign_id == _sent_leads.c.campaign_id,
        _leads.c.contact_id == _sent_leads.c.contact_id,
        _leads.c.status == "active",
    )
    .values(
        current_step=_sent_leads.c.step,
        status=_sent_leads.c.status,
        next_send_at=_sent_leads.c.next_at,
        last_sent_at=_NOW,
        sent_at=func.coalesce(_leads.c.sent_at, _NOW),
        thread_message_id=func.coalesce(_leads.c.thread_message_id, _sent_leads.c.message_id),
        reason=None,
    )
)


async def _record_sent(
    conn: AsyncConnection,
    jobs: list[Job],
    results: list[tuple[Job, smtp.SendOutcome]],
    now: datetime,
    ended: set[str],
) -> None:
    """Accepted messages, in a few statements for the whole batch (the common case)."""
    if not jobs:
        return
    replies = {job.id: _reply_text(outcome) for job, outcome in results}
    leads = []
    for job in jobs:
        last = job.next_delay_days is None
        if last:
            ended.add(job.campaign_id)
        next_at = None if last else schedule.step_due(now, job.next_delay_days or 0, job.timezone)
        leads.append((job, "completed" if last else "active", next_at))
    if conn.dialect.name == "postgresql":
        # Two statements whatever the batch's size: each column's values as one array (`batch_sql`).
        await conn.execute(
            _SENT_MESSAGES_PG,
            {"b_ids": [job.id for job in jobs], "b_replies": [replies[job.id] for job in jobs], "b_now": now},
        )
        await conn.execute(
            _SENT_LEADS_PG,
            {
                "b_campaigns": [job.campaign_id for job, _, _ in leads],
                "b_contacts": [job.contact_id for job, _, _ in leads],
                "b_steps": [job.step + 1 for job, _, _ in leads],
                "b_statuses": [status for _, status, _ in leads],
                "b_nexts": [next_at for _, _, next_at in leads],
                "b_message_ids": [job.message_id for job, _, _ in leads],
                "b_now": now,
            },
        )
    else:
        await conn.execute(
            _SENT_MESSAGES,
            [{"b_id": job.id, "b_reply": replies[job.id], "b_now": now} for job in jobs],
        )
        await conn.execute(
            _SENT_LEADS,
            [
                {
                    "b_campaign": job.campaign_id,
                    "b_contact": job.contact_id,
                    "b_step": job.step + 1,
                    "b_status": status,
                    "b_next": next_at,
                    "b_message_id": job.message_id,
                    "b_now": now,
                }
                for job, status, next_at in leads
            ],
        )
    for mailbox_id in sorted({job.mailbox_id for job in jobs}):
        await mailboxes.succeeded(conn, mailbox_id)
    await events.emit_many(
        conn, [(job.account_id, "email.sent", _email_event(job, now, None)) for job in jobs]
    )


async def _finish_message(conn: AsyncConnection, job: Job, **values: Any) -> bool:
    """Write the message's outcome if this worker still holds its lease (False: it was swept meanwhile)."""
    result = await conn.execute(
        update(_messages)
        .where(
            _messages.c.id == job.id,
            _messages.c.status == "sending",
            _messages.c.lease_owner == job.lease_owner,
        )
        .values(lease_until=None, lease_owner=None, **values)
    )
    return result.rowcount == 1


async def _record_one(
    conn: AsyncConnection,
    job: Job,
    outcome: smtp.SendOutcome,
    now: datetime,
    ended: set[str],
    paused_mailboxes: dict[str, str],
) -> bool:
    lead = _lead_key(job)
    reply = _reply_text(outcome)
    kind = outcome.kind
    if kind == "bounce":
        if not await _finish_message(conn, job, status="bounced", smtp_reply=reply, updated_at=now):
            return False
        await conn.execute(
            lead.where(_leads.c.status == "active").values(
                status="bounced",
                bounced_at=now,
                next_send_at=None,
                reason=f"step {job.step + 1}: {reply}"[:500],
            )
        )
        await suppressions.suppress(
            conn,
            account_id=job.account_id,
            email=job.to_email,
            reason="bounced",
            now=now,
            detail=reply,
            campaign_id=job.campaign_id,
        )
        await events.emit(
            conn, account_id=job.account_id, type="email.bounced", data=_email_event(job, now, reply)
        )
        ended.add(job.campaign_id)
        return True
    if kind == "unknown":
        if not await _finish_message(conn, job, status="unknown", smtp_reply=reply or None, updated_at=now):
            return False
        await conn.execute(
            lead.where(_leads.c.status == "active").values(
                status="failed", next_send_at=None, reason=_unknown_reason(job.step, outcome.reason or reply)
            )
        )
        ended.add(job.campaign_id)
        await _mailbox_failed(conn, job, outcome.reason or reply, False, paused_mailboxes)
        return True
    if kind == "retry":
        if job.attempt >= smtp.MAX_ATTEMPTS:
            if not await _finish_message(conn, job, status="failed", smtp_reply=reply, updated_at=now):
                return False
            await conn.execute(
                lead.where(_leads.c.status == "active").values(
                    status="failed",
                    next_send_at=None,
                    reason=f"step {job.step + 1}: gave up after {job.attempt} attempts: {reply}"[:500],
                )
            )
            ended.add(job.campaign_id)
        else:
            due = now + smtp.backoff(job.attempt)
            if not await _finish_message(
                conn, job, status="retrying", smtp_reply=reply, due_at=due, updated_at=now
            ):
                return False
            await conn.execute(lead.where(_leads.c.status == "active").values(next_send_at=due))
        await mailboxes.refund(conn, job.mailbox_id, day=job.claimed_day)
        await _mailbox_failed(conn, job, outcome.reason or reply, False, paused_mailboxes)
        return True
    # auth_failed / refused: the mailbox is at fault, not the lead; the step is not counted as an attempt.
    due = now if kind == "auth_failed" else now + smtp.backoff(1)
    if not await _finish_message(
        conn,
        job,
        status="retrying",
        smtp_reply=reply or None,
        attempts=job.attempt - 1,
        due_at=due,
        updated_at=now,
    ):
        return False
    await conn.execute(lead.where(_leads.c.status == "active").values(next_send_at=due))
    await mailboxes.refund(conn, job.mailbox_id, day=job.claimed_day)
    await _mailbox_failed(conn, job, outcome.reason or reply or kind, kind == "auth_failed", paused_mailboxes)
    return True


def _unknown_reason(step: int, detail: str) -> str:
    text = (
        f"step {step + 1}: the SMTP conversation ended after the message was handed over ({detail}); "
        "it may have been delivered, so it is not sent again"
    )
    return text[:500]


def _lead_key(job: Job) -> Any:
    return update(_leads).where(
        _leads.c.campaign_id == job.campaign_id, _leads.c.contact_id == job.contact_id
    )


async def _mailbox_failed(
    conn: AsyncConnection, job: Job, error: str, fatal: bool, paused_mailboxes: dict[str, str]
) -> None:
    streak = await mailboxes.failed(conn, job.mailbox_id, error=error, fatal=fatal)
    if streak >= mailboxes.MAX_CONSECUTIVE_FAILURES:
        paused_mailboxes[job.mailbox_id] = error


async def _auto_pause(conn: AsyncConnection, mailbox_id: str, error: str, now: datetime) -> None:
    """Pause every running campaign of a mailbox that failed `MAX_CONSECUTIVE_FAILURES` times in a row."""
    from fluenzr_server.services import campaigns as campaign_service

    reason = (
        f"paused automatically after {mailboxes.MAX_CONSECUTIVE_FAILURES} consecutive send failures "
        f"of its email account (last error: {error})"
    )[:500]
    query = select(_campaigns).where(
        _campaigns.c.email_account_id == mailbox_id, _campaigns.c.status == "running"
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    for row in (await conn.execute(query)).all():
        await conn.execute(
            update(_campaigns)
            .where(_campaigns.c.id == row.id, _campaigns.c.status == "running")
            .values(status="paused", status_reason=reason, updated_at=now)
        )
        data = await campaign_service.load(conn, account_id=row.account_id, campaign_id=row.id)
        await events.emit(conn, account_id=row.account_id, type="campaign.paused", data=data)
        log.warning("campaign %s paused: %s", row.id, reason)


async def complete_if_done(conn: AsyncConnection, campaign_id: str, *, now: datetime) -> bool:
    """Mark a running campaign `completed` (+ `campaign.completed`) when no lead has a step left."""
    from fluenzr_server.services import campaigns as campaign_service

    query = select(_campaigns).where(_campaigns.c.id == campaign_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # a concurrent add of contacts commits first, or waits for us
    row = (await conn.execute(query)).first()
    if row is None or row.status != "running":
        return False
    live = select(_leads.c.contact_id).where(
        _leads.c.campaign_id == campaign_id, _leads.c.status.in_(LIVE_LEAD_STATES)
    )
    if (await conn.execute(select(exists(live)))).scalar():
        return False
    await conn.execute(
        update(_campaigns)
        .where(_campaigns.c.id == campaign_id, _campaigns.c.status == "running")
        .values(status="completed", status_reason=None, updated_at=now)
    )
    data = await campaign_service.load(conn, account_id=row.account_id, campaign_id=campaign_id)
    await events.emit(conn, account_id=row.account_id, type="campaign.completed", data=data)
    return True


# --- giving work back, and crashes -------------------------------------------------------------------


async def fail_unbuildable(db: Database, job: Job, reason: str, *, now: datetime) -> None:
    """A claimed message the builder refused (an address or header it cannot encode): never sent; the
    message and its lead are `failed` with the reason, the mailbox's slot goes back."""
    async with db.write() as conn:
        if job.id not in await _still_owned(conn, [job]):
            return
        await _finish_message(conn, job, status="failed", smtp_reply=reason[:1000], updated_at=now)
        await conn.execute(
            _lead_key(job)
            .where(_leads.c.status == "active")
            .values(status="failed", next_send_at=None, reason=f"step {job.step + 1}: {reason}"[:500])
        )
        await mailboxes.refund(conn, job.mailbox_id, day=job.claimed_day)
        await complete_if_done(conn, job.campaign_id, now=now)


async def unclaim(db: Database, jobs: Iterable[Job], *, now: datetime) -> None:
    """Give back claimed jobs whose conversation never started (pause, shutdown): as if never claimed."""
    async with db.write() as conn:
        for job in jobs:
            owned = and_(
                _messages.c.id == job.id,
                _messages.c.status == "sending",
                _messages.c.lease_owner == job.lease_owner,
            )
            if job.attempt == 1:
                result = await conn.execute(delete(_messages).where(owned))
            else:
                result = await conn.execute(
                    update(_messages)
                    .where(owned)
                    .values(
                        status="retrying",
                        attempts=job.attempt - 1,
                        due_at=now,
                        lease_until=None,
                        lease_owner=None,
                    )
                )
            if result.rowcount != 1:
                continue
            await conn.execute(_lead_key(job).where(_leads.c.status == "active").values(next_send_at=now))
            await mailboxes.refund(conn, job.mailbox_id, day=job.claimed_day)


async def sweep_abandoned(db: Database, *, now: datetime, limit: int = 100) -> int:
    """Messages still `sending` after their lease: their worker died mid-conversation. Each becomes
    `unknown` (never resent) and its lead `failed` with the reason. How many were found."""
    async with db.write() as conn:
        rows = await pick_due(
            conn,
            _messages,
            now=now,
            limit=limit,
            where=_messages.c.status == "sending",
            due_column="lease_until",
        )
        campaigns: set[str] = set()
        for row in rows:
            await conn.execute(
                update(_messages)
                .where(_messages.c.id == row.id, _messages.c.status == "sending")
                .values(status="unknown", lease_until=None, lease_owner=None, updated_at=now)
            )
            reason = _unknown_reason(int(row.step), "its worker stopped during the SMTP conversation")
            await conn.execute(
                update(_leads)
                .where(
                    _leads.c.campaign_id == row.campaign_id,
                    _leads.c.contact_id == row.contact_id,
                    _leads.c.status == "active",
                    _leads.c.current_step == row.step,
                )
                .values(status="failed", next_send_at=None, reason=reason)
            )
            campaigns.add(row.campaign_id)
            log.warning(
                "message %s (%s) was abandoned mid-conversation: marked unknown", row.id, row.message_id
            )
        for campaign_id in campaigns:
            await complete_if_done(conn, campaign_id, now=now)
        return len(rows)


async def extend_leases(db: Database, jobs: Iterable[Job], *, until: datetime) -> None:
    """Push the lease of claimed jobs still waiting for their conversation (a long queue on one mailbox's
    connection), so that only a dead worker's messages ever run out of lease."""
    by_owner: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        by_owner[job.lease_owner].append(job.id)
    if not by_owner:
        return
    async with db.write() as conn:
        for owner, ids in by_owner.items():
            await conn.execute(
                update(_messages)
                .where(
                    _messages.c.id.in_(ids), _messages.c.status == "sending", _messages.c.lease_owner == owner
                )
                .values(lease_until=until)
            )


async def running(db: Database, campaign_ids: Iterable[str]) -> set[str]:
    """Which of these campaigns are still `running` (a claimed job re-checks before its send starts)."""
    ids = list(set(campaign_ids))
    if not ids:
        return set()
    async with db.read() as conn:
        query = select(_campaigns.c.id).where(_campaigns.c.id.in_(ids), _campaigns.c.status == "running")
        return set((await conn.execute(query)).scalars())


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)
