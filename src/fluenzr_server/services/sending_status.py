"""Why a campaign is or is not sending right now, in terms a person can act on, and when it sends next.

Each blocking condition is a `reasons` entry with a stable `code` and a sentence saying what to do:
`draft`, `paused` (with the engine's own reason when it paused the campaign), `completed`,
`no_email_account`, `email_account_error` (its `lastError`), `daily_limit_reached` (resets at 00:00 UTC),
`outside_window` (and when it opens), `no_active_leads`, `waiting_for_next_step` (follow-ups not yet
due), `waiting_for_interval` (a lead is due and the mailbox's `minIntervalSeconds` is what holds it back:
the interval ends after the daily limit's reset and the window's opening would allow a send). `sending`
is true when a send may start now. `nextSendAt` is the earliest instant every condition allows a send, or
null when one needs a person (draft, paused, completed, mailbox in error, no leads left). `window.opensAt`
is the answer's own instant while the window is open (the contract's "now when open"), else its next
opening.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from fluenzr_server.engine import mailboxes, schedule
from fluenzr_server.engine.clock import aware
from fluenzr_server.errors import NotFound
from fluenzr_server.services.common import now, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database

_leads = t.campaign_contacts


def _time(value: datetime | None) -> str | None:
    return wire_time(value) if value is not None else None


def _next_utc_midnight(at: datetime) -> datetime:
    day = aware(at).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


async def get_sending_status(
    db: Database, *, account_id: str, campaign_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """The contract's SendingStatus of the account's campaign at `at` (aware UTC; default: now).
    NotFound for another account's or an unknown campaign."""
    at = aware(at) if at is not None else now()
    async with db.read() as conn:
        campaign = (
            await conn.execute(
                select(t.campaigns).where(
                    t.campaigns.c.id == campaign_id, t.campaigns.c.account_id == account_id
                )
            )
        ).first()
        if campaign is None:
            raise NotFound(campaign_id)
        mailbox = None
        if campaign.email_account_id is not None:
            mailbox = (
                await conn.execute(
                    select(t.email_accounts).where(t.email_accounts.c.id == campaign.email_account_id)
                )
            ).first()
        counts = select(
            func.count().filter(_leads.c.status == "active").label("active"),
            func.count().filter(_leads.c.status == "active", _leads.c.next_send_at <= at).label("due"),
            func.min(_leads.c.next_send_at).filter(_leads.c.status == "active").label("earliest"),
        ).where(_leads.c.campaign_id == campaign_id)
        in_flight = select(func.count()).where(
            t.messages.c.campaign_id == campaign_id, t.messages.c.status == "sending"
        )
        lead_counts = (await conn.execute(counts)).one()
        sending_now_count = int((await conn.execute(in_flight)).scalar_one())

    window = schedule.Window.from_wire(campaign.schedule)
    window_open = schedule.is_open(window, at)
    opens_at = at if window_open else schedule.next_open(window, at)
    reasons: list[dict[str, str]] = []
    needs_person = False

    def reason(code: str, message: str, *, blocking_for_good: bool = False) -> None:
        nonlocal needs_person
        reasons.append({"code": code, "message": message})
        needs_person = needs_person or blocking_for_good

    status = campaign.status
    if status == "draft":
        reason(
            "draft", "The campaign has not been started: POST /campaigns/{id}/start.", blocking_for_good=True
        )
    elif status == "paused":
        why = campaign.status_reason or "It was paused through the API."
        reason("paused", f"{why} Start it again to resume where it stopped.", blocking_for_good=True)
    elif status == "completed":
        reason(
            "completed",
            "Every lead has finished the sequence; nothing is left to send.",
            blocking_for_good=True,
        )

    candidates = [at]
    mailbox_view: dict[str, Any] | None = None
    if mailbox is None:
        reason(
            "no_email_account",
            "The campaign has no email account: set emailAccountId.",
            blocking_for_good=True,
        )
    else:
        used = mailboxes.used_today(mailbox, at)
        resets_at = _next_utc_midnight(at)
        next_allowed = aware(mailbox.next_send_at) if mailbox.next_send_at is not None else None
        mailbox_view = {
            "id": mailbox.id,
            "status": mailbox.status,
            "lastError": mailbox.last_error,
            "sentToday": used,
            "dailyLimit": mailbox.daily_limit,
            "dailyLimitResetsAt": wire_time(resets_at),
            "nextAllowedSendAt": _time(next_allowed) if next_allowed and next_allowed > at else None,
        }
        if mailbox.status != "active":
            reason(
                "email_account_error",
                f"Its email account {mailbox.from_email} is in error "
                f"({mailbox.last_error or 'unknown error'}): "
                "fix its SMTP settings with PUT /email-accounts/{id}; sending resumes by itself.",
                blocking_for_good=True,
            )
        elif used >= mailbox.daily_limit:
            reason(
                "daily_limit_reached",
                f"Its email account sent {used} of its {mailbox.daily_limit} emails today; "
                f"the limit resets at {wire_time(resets_at)} (00:00 UTC).",
            )
            candidates.append(resets_at)
        if next_allowed is not None and next_allowed > at and mailbox.status == "active":
            candidates.append(next_allowed)
            # Listed only when the interval is what holds a due lead back: the daily limit's reset and
            # the window's opening would allow a send before it ends.
            allowed_otherwise = max(
                at,
                resets_at if used >= mailbox.daily_limit else at,
                opens_at if not window_open else at,
            )
            if int(lead_counts.due) > 0 and next_allowed > allowed_otherwise:
                reason(
                    "waiting_for_interval",
                    "Sends from its email account are spaced by minIntervalSeconds "
                    f"({mailbox.min_interval_seconds}); "
                    f"the next may start at {wire_time(next_allowed)}.",
                )
    if not window_open:
        days = ", ".join(day for day in schedule.DAY_NAMES if day in window.days)
        reason(
            "outside_window",
            f"Outside its sending window ({days} {window.start_hour}:00-"
            f"{window.end_hour}:00 {window.timezone}); it opens at {wire_time(opens_at)}.",
        )
    if int(lead_counts.active) == 0 and status in ("running", "paused"):
        reason(
            "no_active_leads",
            "No lead has a step left to send: add contacts to continue.",
            blocking_for_good=True,
        )
    elif int(lead_counts.due) == 0 and lead_counts.earliest is not None:
        earliest = aware(lead_counts.earliest)
        reason(
            "waiting_for_next_step",
            f"No step is due yet: the next one is due at {wire_time(earliest)} (the steps' delayDays).",
        )
        candidates.append(earliest)

    next_send: datetime | None = None
    if not needs_person:
        start = max(candidates)
        next_send = start if schedule.is_open(window, start) else schedule.next_open(window, start)
    sending_now = status == "running" and next_send is not None and next_send <= at
    return {
        "campaignId": campaign.id,
        "status": status,
        "sending": sending_now,
        "reasons": reasons,
        "nextSendAt": _time(next_send),
        "window": {"open": window_open, "opensAt": _time(opens_at)},
        "emailAccount": mailbox_view,
        "leads": {
            "active": int(lead_counts.active),
            "due": int(lead_counts.due),
            "inFlight": sending_now_count,
        },
    }
