"""What an attempt's outcome means for the delivery and the endpoint: Svix's retry rules.

Source: Svix, "Retry schedule" (docs.svix.com/retries): attempts immediately, then after 5 seconds,
5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours (8 attempts over about 27.6 hours); an
endpoint whose attempts have all failed for 5 days is disabled. A 2xx answer is success; anything else,
3xx included (redirects are never followed), is a failure. 410 Gone disables the endpoint at once; 429 and
503 with `Retry-After` (RFC 9110 §10.2.3: seconds or an HTTP-date) wait that long before the next attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay before attempt n+1 after attempt n failed; the first attempt is immediate.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = timedelta(days=5)
# A Retry-After longer than the schedule's longest wait is capped, so an endpoint cannot park deliveries.
MAX_RETRY_AFTER = timedelta(hours=10)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one attempt: `status` of the delivery (`delivered`, `pending` with `due_at`,
    `failed`) and `disable` (a reason) when the endpoint is to be switched off."""

    status: str
    due_at: datetime | None = None
    disable: str | None = None


def retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A `Retry-After` header as a delay from `now` (None when absent or unreadable), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        delay = max(when - now, timedelta(0))
    return min(delay, MAX_RETRY_AFTER)


def decide(
    *,
    status_code: int | None,
    retry_after_header: str | None,
    schedule_step: int,
    failing_since: datetime | None,
    now: datetime,
) -> Decision:
    """The outcome of attempt number `schedule_step + 1` (0-based `schedule_step`) that got `status_code`
    (None: no HTTP answer). `failing_since` is when the endpoint's current run of failures began."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision("delivered")
    if status_code == 410:
        return Decision("failed", disable="The endpoint answered 410 Gone")
    if failing_since is not None and now - failing_since >= DISABLE_AFTER:
        return Decision("failed", disable="Every delivery attempt failed for 5 days")
    if schedule_step + 1 >= MAX_ATTEMPTS:
        return Decision("failed")
    delay = RETRY_DELAYS[schedule_step]
    if status_code in (429, 503):
        delay = retry_after(retry_after_header, now=now) or delay
    return Decision("pending", due_at=now + delay)
