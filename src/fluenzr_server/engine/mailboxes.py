"""Per-mailbox sending counters: the daily limit and the least interval between two sends.

Rules (documented on the contract's `EmailAccount`):
- `dailyLimit` counts the sends started on one **UTC calendar day** (`sentToday` resets at 00:00 UTC), across
  every campaign that uses the mailbox and every worker process.
- `minIntervalSeconds` is the least time between the starts of two sends from the mailbox; each send pushes
  the next allowed start by the interval plus a random 0-20% (so a mailbox does not tick like a clock);
  0 means no pause at all.
- A slot is reserved in the claim transaction, before the SMTP conversation: the mailbox row is locked and
  updated by one conditional UPDATE (PostgreSQL row lock; SQLite's single writer), so concurrent workers
  never reserve past the limit nor closer than the interval. A send that did not happen (4xx, refused,
  authentication failure, a claim given back) returns its slot (`refund`).
- `MAX_CONSECUTIVE_FAILURES` failed conversations in a row (anything but `sent` and `bounce`) pause the
  campaigns sending from the mailbox (listmonk pauses a campaign past an error threshold the same way); an
  authentication failure sets the mailbox's `status` to `error` at once. Any update of the email account
  (`PUT`) makes it `active` again.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine.clock import aware
from fluenzr_server.store import tables as t

MAX_CONSECUTIVE_FAILURES = 5
INTERVAL_JITTER = 0.2
_mailboxes = t.email_accounts


def utc_day(at: datetime) -> date:
    return aware(at).date()


def used_today(row: Row[Any], now: datetime) -> int:
    """Sends started on `now`'s UTC day (the stored counter belongs to `sent_day`)."""
    return int(row.sent_today) if row.sent_day == utc_day(now) else 0


def can_send(row: Row[Any], now: datetime) -> bool:
    """Whether the mailbox may start a send now (a cheap pre-check; `reserve` is the atomic one)."""
    if row.status != "active" or used_today(row, now) >= row.daily_limit:
        return False
    return row.next_send_at is None or aware(row.next_send_at) <= now


def grantable(row: Row[Any], now: datetime) -> int:
    """How many sends `reserve` could grant the mailbox now: 0 when it may not send, 1 when it keeps an
    interval between sends, else what is left of its daily limit."""
    if not can_send(row, now):
        return 0
    left = int(row.daily_limit) - used_today(row, now)
    return min(left, 1) if int(row.min_interval_seconds) > 0 else left


async def reserve(conn: AsyncConnection, mailbox_id: str, *, wanted: int, now: datetime) -> int:
    """Reserve up to `wanted` sends from the mailbox starting now; how many were granted (0..wanted)."""
    if wanted <= 0:
        return 0
    query = select(_mailboxes).where(_mailboxes.c.id == mailbox_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or not can_send(row, now):
        return 0
    interval = int(row.min_interval_seconds)
    granted = min(wanted, int(row.daily_limit) - used_today(row, now), 1 if interval > 0 else wanted)
    if granted <= 0:
        return 0
    today = utc_day(now)
    next_at = (
        # Jitter spreads sends; it needs no cryptographic randomness.
        now + timedelta(seconds=interval * (1 + random.random() * INTERVAL_JITTER))  # noqa: S311
        if interval
        else None
    )
    counted = case((_mailboxes.c.sent_day == today, _mailboxes.c.sent_today), else_=0)
    result = await conn.execute(
        update(_mailboxes)
        .where(
            _mailboxes.c.id == mailbox_id,
            _mailboxes.c.status == "active",
            counted + granted <= _mailboxes.c.daily_limit,
            or_(_mailboxes.c.next_send_at.is_(None), _mailboxes.c.next_send_at <= now),
        )
        .values(sent_today=counted + granted, sent_day=today, next_send_at=next_at)
    )
    return granted if result.rowcount == 1 else 0


async def refund(conn: AsyncConnection, mailbox_id: str, *, day: date) -> None:
    """Give back one slot reserved on `day` for a send that did not happen."""
    await conn.execute(
        update(_mailboxes)
        .where(_mailboxes.c.id == mailbox_id, _mailboxes.c.sent_day == day, _mailboxes.c.sent_today > 0)
        .values(sent_today=_mailboxes.c.sent_today - 1)
    )


async def succeeded(conn: AsyncConnection, mailbox_id: str) -> None:
    """A conversation that reached the end: the failure streak and the last error are cleared."""
    await conn.execute(
        update(_mailboxes)
        .where(
            _mailboxes.c.id == mailbox_id,
            or_(_mailboxes.c.consecutive_failures > 0, _mailboxes.c.last_error.is_not(None)),
        )
        .values(consecutive_failures=0, last_error=None)
    )


async def failed(conn: AsyncConnection, mailbox_id: str, *, error: str, fatal: bool) -> int:
    """Count a failed conversation and record `error`; `fatal` sets status `error`. The new streak."""
    values: dict[str, Any] = {
        "consecutive_failures": _mailboxes.c.consecutive_failures + 1,
        "last_error": error[:500],
    }
    if fatal:
        values["status"] = "error"
    result = await conn.execute(
        update(_mailboxes)
        .where(and_(_mailboxes.c.id == mailbox_id))
        .values(values)
        .returning(_mailboxes.c.consecutive_failures)
    )
    streak = result.scalar_one_or_none()
    return int(streak or 0)
