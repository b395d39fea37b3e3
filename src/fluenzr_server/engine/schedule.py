"""A campaign's sending window and the calendar arithmetic of its sequence, in the campaign's time zone.

Rules (the contract's `Schedule`; issue 13):

- Hours are local wall-clock hours in the IANA zone (`zoneinfo`). An instant is inside the window when its
  local time reads `start_hour <= hour < end_hour` on one of `days`. `end_hour` 24 means midnight.
- A window whose `end_hour` is not after `start_hour` runs past midnight and belongs to the day it starts
  on: `{"days": ["fri"], "startHour": 22, "endHour": 2}` is open Friday 22:00 to Saturday 02:00, not
  Saturday 22:00 or Friday 00:00-02:00. `start_hour == end_hour` is a 24-hour window.
- Daylight saving time follows from the wall-clock rule: on a spring-forward day the skipped hour does not
  exist, so a window that covers it is shorter (and opens when the gap ends if it would have opened inside
  it); on a fall-back day the repeated hour is inside the window twice, so it is longer.
- `step_due` adds calendar days: the same local wall-clock time `delay_days` later (the rule of RFC 5545
  §3.3.10 for a DAILY recurrence). A wall time that does not exist that day is taken with the offset in
  force before the gap, which moves it forward past the gap by the gap's length (RFC 5545 §3.3.5); a wall
  time that occurs twice takes its first occurrence (`fold=0`, PEP 495).

Every function takes and returns aware datetimes; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DAYS: frozenset[str] = frozenset(DAY_NAMES[:5])

# A window opens at least once in any 7 days; 15 leaves room for a week whose only window fell in a gap.
_SEARCH_DAYS = 15


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The `ZoneInfo` for an IANA name (cached). Raises `ZoneInfoNotFoundError` (a `KeyError`) or
    `ValueError` for a name that is not a zone."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class Window:
    """When a campaign may send: `days` are "mon".."sun", hours are local wall-clock hours in `timezone`."""

    timezone: str
    days: frozenset[str]
    start_hour: int
    end_hour: int

    def __post_init__(self) -> None:
        unknown = set(self.days) - set(DAY_NAMES)
        if unknown or not self.days:
            raise ValueError(f"days must be a non-empty subset of {', '.join(DAY_NAMES)}")
        if not 0 <= self.start_hour <= 23:
            raise ValueError("start_hour must be 0..23")
        if not 0 <= self.end_hour <= 24:
            raise ValueError("end_hour must be 0..24")
        try:
            zone(self.timezone)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"{self.timezone!r} is not an IANA time zone") from None

    @classmethod
    def from_wire(cls, schedule: Mapping[str, Any] | None) -> Window:
        """A window from the contract's `Schedule` (`timezone`, `days`, `startHour`, `endHour`); missing
        fields take the contract's defaults: UTC, mon-fri, 9, 17. Raises `ValueError` for values the
        contract does not allow."""
        schedule = schedule or {}
        return cls(
            timezone=str(schedule.get("timezone") or "UTC"),
            days=frozenset(schedule["days"]) if schedule.get("days") is not None else DEFAULT_DAYS,
            start_hour=int(schedule.get("startHour", 9)),
            end_hour=int(schedule.get("endHour", 17)),
        )

    @property
    def overnight(self) -> bool:
        """True when the window runs past midnight into the next day."""
        return self.end_hour <= self.start_hour


def _day_name(day: date) -> str:
    return DAY_NAMES[day.weekday()]


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an aware datetime is required")


def is_open(window: Window, at: datetime) -> bool:
    """Whether the instant `at` (aware) is inside the window."""
    _require_aware(at)
    local = at.astimezone(zone(window.timezone))
    hour, today = local.hour, local.date()
    if not window.overnight:
        return _day_name(today) in window.days and window.start_hour <= hour < window.end_hour
    if hour >= window.start_hour:
        return _day_name(today) in window.days
    return hour < window.end_hour and _day_name(today - timedelta(days=1)) in window.days


def _first_instant_at_or_after(tz: ZoneInfo, wall: datetime) -> datetime:
    """The earliest instant whose local wall time is `wall` or, when `wall` falls in a gap, the gap's end.

    For a wall time that occurs twice this is its first occurrence (`fold=0`).
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap: `fold=1` reads the wall time with the offset after the transition (an instant before the
    # gap), `fold=0` with the offset before it (an instant after the gap). The transition is between them;
    # find it to the second (zone transitions fall on whole seconds).
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def next_open(window: Window, at: datetime) -> datetime:
    """`at` itself (in UTC) when the window is open then, else the next instant it opens (UTC).

    The result is never earlier than `at` and is always an instant where `is_open` holds: the window's
    start on one of its days, or the end of a DST gap that swallowed the start.
    """
    _require_aware(at)
    at = at.astimezone(UTC)
    if is_open(window, at):
        return at
    tz = zone(window.timezone)
    first_day = at.astimezone(tz).date() - timedelta(days=1)
    for offset in range(_SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if _day_name(day) not in window.days:
            continue
        opens = _first_instant_at_or_after(tz, datetime.combine(day, time(window.start_hour)))
        if opens >= at and is_open(window, opens):
            return opens
    raise ValueError("the window never opens")  # unreachable for a valid Window


def step_due(sent_at: datetime, delay_days: int, timezone: str) -> datetime:
    """When the next step is due: the same local wall-clock time as `sent_at`, `delay_days` calendar days
    later in `timezone` (UTC result). 0 days gives `sent_at`. See the module docstring for DST gaps/folds."""
    _require_aware(sent_at)
    if delay_days < 0:
        raise ValueError("delay_days must not be negative")
    if delay_days == 0:
        return sent_at.astimezone(UTC)
    tz = zone(timezone)
    wall = sent_at.astimezone(tz).replace(tzinfo=None) + timedelta(days=delay_days)
    # fold=0 is both rules at once: the first occurrence in a fold, the pre-gap offset in a gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
