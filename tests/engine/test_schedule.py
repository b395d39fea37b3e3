"""The sending window and step arithmetic (fluenzr_server.engine.schedule), DST days included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluenzr_server.engine.schedule import DAY_NAMES, Window, is_open, next_open, step_due

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def window(tz: str = "UTC", days: str = "mon tue wed thu fri", start: int = 9, end: int = 17) -> Window:
    return Window(timezone=tz, days=frozenset(days.split()), start_hour=start, end_hour=end)


# -- from_wire ----------------------------------------------------------------------------------


def test_from_wire_takes_the_contract_defaults() -> None:
    assert Window.from_wire({}) == window()
    assert Window.from_wire(None) == window()


def test_from_wire_reads_every_field() -> None:
    got = Window.from_wire(
        {"timezone": "Europe/Madrid", "days": ["sat", "sun"], "startHour": 22, "endHour": 2}
    )
    assert got == Window("Europe/Madrid", frozenset({"sat", "sun"}), 22, 2)
    assert got.overnight


@pytest.mark.parametrize(
    "wire",
    [
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"timezone": "Europe"},
        {"days": ["funday"]},
        {"days": []},
        {"startHour": 24},
        {"endHour": 25},
        {"startHour": -1},
    ],
)
def test_from_wire_refuses_values_the_contract_does_not_allow(wire: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must be|time zone"):
        Window.from_wire(wire)


# -- ordinary days --------------------------------------------------------------------------------


def test_open_inside_hours_on_a_listed_day() -> None:
    w = window()
    monday = utc(2025, 3, 3)
    assert not is_open(w, monday.replace(hour=8, minute=59, second=59))
    assert is_open(w, monday.replace(hour=9))
    assert is_open(w, monday.replace(hour=16, minute=59, second=59))
    assert not is_open(w, monday.replace(hour=17))


def test_hours_are_local_to_the_zone() -> None:
    w = window("Europe/Madrid")  # CET (UTC+1) in January
    assert not is_open(w, utc(2025, 1, 6, 7, 59))
    assert is_open(w, utc(2025, 1, 6, 8, 0))  # 09:00 Madrid
    assert is_open(w, utc(2025, 1, 6, 15, 59))
    assert not is_open(w, utc(2025, 1, 6, 16, 0))  # 17:00 Madrid


def test_next_open_before_the_window_is_its_start_today() -> None:
    assert next_open(window(), utc(2025, 3, 3, 6, 30)) == utc(2025, 3, 3, 9)


def test_next_open_inside_the_window_is_now() -> None:
    at = utc(2025, 3, 3, 12, 34, 56)
    assert next_open(window(), at) == at


def test_next_open_after_the_window_is_tomorrows_start() -> None:
    assert next_open(window(), utc(2025, 3, 3, 17)) == utc(2025, 3, 4, 9)


def test_next_open_returns_utc_for_any_aware_input() -> None:
    at = local(MADRID, 2025, 3, 3, 7)
    got = next_open(window("Europe/Madrid"), at)
    assert got.tzinfo is UTC
    assert got == local(MADRID, 2025, 3, 3, 9)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(window(), datetime(2025, 3, 3, 12))
    with pytest.raises(ValueError, match="aware"):
        next_open(window(), datetime(2025, 3, 3, 12))


# -- weekends ---------------------------------------------------------------------------------------


def test_weekend_is_skipped() -> None:
    friday_evening = utc(2025, 3, 7, 18)
    assert not is_open(window(), utc(2025, 3, 8, 12))  # Saturday noon
    assert next_open(window(), friday_evening) == utc(2025, 3, 10, 9)  # Monday


def test_a_single_day_window_waits_a_week() -> None:
    w = window(days="wed")
    assert next_open(w, utc(2025, 3, 5, 17)) == utc(2025, 3, 12, 9)


# -- overnight windows --------------------------------------------------------------------------------


def test_overnight_window_belongs_to_the_day_it_starts_on() -> None:
    w = window(days="fri", start=22, end=2)
    assert is_open(w, utc(2025, 3, 7, 22))  # Friday 22:00
    assert is_open(w, utc(2025, 3, 8, 1, 59))  # Saturday 01:59: Friday's window
    assert not is_open(w, utc(2025, 3, 8, 2))
    assert not is_open(w, utc(2025, 3, 7, 1))  # Friday 01:00 is Thursday's window: not listed
    assert not is_open(w, utc(2025, 3, 8, 22))  # Saturday evening


def test_next_open_for_an_overnight_window() -> None:
    w = window(days="fri", start=22, end=2)
    assert next_open(w, utc(2025, 3, 7, 12)) == utc(2025, 3, 7, 22)
    assert next_open(w, utc(2025, 3, 8, 2)) == utc(2025, 3, 14, 22)
    at = utc(2025, 3, 8, 0, 30)
    assert next_open(w, at) == at


def test_equal_hours_are_a_whole_day_from_the_start() -> None:
    w = window(days="mon", start=9, end=9)
    assert is_open(w, utc(2025, 3, 3, 9))
    assert is_open(w, utc(2025, 3, 4, 8, 59))  # Tuesday morning, still Monday's window
    assert not is_open(w, utc(2025, 3, 4, 9))
    assert not is_open(w, utc(2025, 3, 3, 8))  # Monday morning is Sunday's


def test_end_hour_24_is_midnight() -> None:
    w = window(days="mon", start=20, end=24)
    assert is_open(w, utc(2025, 3, 3, 23, 59, 59))
    assert not is_open(w, utc(2025, 3, 4, 0))
    every_hour = window(days=" ".join(DAY_NAMES), start=0, end=24)
    assert all(is_open(every_hour, utc(2025, 3, 3) + timedelta(minutes=37 * i)) for i in range(300))


# -- daylight saving time -------------------------------------------------------------------------------
# Europe/Madrid: 2025-03-30 02:00 CET -> 03:00 CEST; 2025-10-26 03:00 CEST -> 02:00 CET.
# America/New_York: 2025-03-09 02:00 EST -> 03:00 EDT; 2025-11-02 02:00 EDT -> 01:00 EST.


def open_seconds(w: Window, start: datetime, end: datetime, step: timedelta = timedelta(minutes=1)) -> float:
    total, at = 0.0, start
    while at < end:
        total += step.total_seconds() if is_open(w, at) else 0
        at += step
    return total


def test_madrid_spring_forward_shortens_a_window_over_the_gap() -> None:
    w = window("Europe/Madrid", days="sun", start=1, end=3)
    day = (utc(2025, 3, 29, 22), utc(2025, 3, 30, 4))
    assert open_seconds(w, *day) == 3600  # 01:00-02:00 CET only; 02:00-03:00 does not exist
    assert next_open(w, utc(2025, 3, 29, 12)) == local(MADRID, 2025, 3, 30, 1)
    assert not is_open(w, local(MADRID, 2025, 3, 30, 3))


def test_madrid_spring_forward_opens_when_the_gap_ends() -> None:
    w = window("Europe/Madrid", days="sun", start=2, end=5)
    opens = next_open(w, utc(2025, 3, 29, 12))
    assert opens == utc(2025, 3, 30, 1)  # 03:00 CEST, the first instant at or after "02:00"
    assert opens.astimezone(MADRID).hour == 3
    assert is_open(w, opens)
    assert not is_open(w, opens - timedelta(seconds=1))


def test_madrid_fall_back_lengthens_a_window_over_the_fold() -> None:
    w = window("Europe/Madrid", days="sun", start=1, end=4)
    assert open_seconds(w, utc(2025, 10, 25, 20), utc(2025, 10, 26, 6)) == 4 * 3600  # 3 wall hours
    assert next_open(w, utc(2025, 10, 25, 12)) == local(MADRID, 2025, 10, 26, 1)


def test_madrid_fall_back_window_starting_in_the_fold_opens_at_its_first_occurrence() -> None:
    w = window("Europe/Madrid", days="sun", start=2, end=9)
    # (aware datetimes in a fold never compare equal across zones, PEP 495: compare in UTC)
    assert next_open(w, utc(2025, 10, 25, 12)) == local(MADRID, 2025, 10, 26, 2, fold=0).astimezone(UTC)
    assert next_open(w, utc(2025, 10, 25, 12)) == utc(2025, 10, 26, 0)  # 02:00 CEST


def test_overnight_window_across_the_madrid_changes() -> None:
    w = window("Europe/Madrid", days="sat", start=22, end=4)
    # spring forward: Saturday 22:00 CET to Sunday 04:00 CEST is 5 hours, not 6
    assert open_seconds(w, utc(2025, 3, 29, 18), utc(2025, 3, 30, 6)) == 5 * 3600
    assert is_open(w, local(MADRID, 2025, 3, 30, 3, 59))
    assert not is_open(w, local(MADRID, 2025, 3, 30, 4))
    # fall back: Saturday 22:00 CEST to Sunday 04:00 CET is 7 hours
    assert open_seconds(w, utc(2025, 10, 25, 18), utc(2025, 10, 26, 6)) == 7 * 3600
    assert next_open(w, utc(2025, 10, 26, 4)) == local(MADRID, 2025, 11, 1, 22)


def test_new_york_spring_forward() -> None:
    w = window("America/New_York", days="sun", start=1, end=3)
    assert open_seconds(w, utc(2025, 3, 9, 4), utc(2025, 3, 9, 10)) == 3600
    w_gap = window("America/New_York", days="sun", start=2, end=3)
    # the whole window lies in the gap: that Sunday has none, the next opens a week later
    assert next_open(w_gap, utc(2025, 3, 9, 0)) == local(NEW_YORK, 2025, 3, 16, 2)


def test_new_york_fall_back() -> None:
    w = window("America/New_York", days="sun", start=0, end=3)
    assert open_seconds(w, utc(2025, 11, 2, 3), utc(2025, 11, 2, 10)) == 4 * 3600
    w1 = window("America/New_York", days="sun", start=1, end=2)
    assert next_open(w1, utc(2025, 11, 1, 12)) == utc(2025, 11, 2, 5)  # 01:00 EDT, the first one
    assert is_open(w1, utc(2025, 11, 2, 6, 30))  # 01:30 EST, the repeated hour
    assert open_seconds(w1, utc(2025, 11, 2, 3), utc(2025, 11, 2, 10)) == 2 * 3600


# -- step_due ---------------------------------------------------------------------------------------------


def test_zero_days_is_sent_at() -> None:
    at = utc(2025, 3, 3, 10, 11, 12)
    assert step_due(at, 0, "Europe/Madrid") == at


def test_calendar_days_keep_the_wall_clock_time() -> None:
    assert step_due(utc(2025, 3, 3, 10), 3, "UTC") == utc(2025, 3, 6, 10)


def test_step_due_across_spring_forward_keeps_local_time() -> None:
    sent = local(MADRID, 2025, 3, 29, 10, 15)  # Saturday 10:15 CET
    due = step_due(sent, 1, "Europe/Madrid")
    assert due.astimezone(MADRID).replace(tzinfo=None) == datetime(2025, 3, 30, 10, 15)
    assert due - sent == timedelta(hours=23)


def test_step_due_across_fall_back_keeps_local_time() -> None:
    sent = local(NEW_YORK, 2025, 11, 1, 9, 0)
    due = step_due(sent, 2, "America/New_York")
    assert due == local(NEW_YORK, 2025, 11, 3, 9, 0)
    assert due - sent == timedelta(hours=49)


def test_step_due_into_a_gap_moves_forward_past_it() -> None:
    sent = local(NEW_YORK, 2025, 3, 8, 2, 30)  # Saturday 02:30 EST
    due = step_due(sent, 1, "America/New_York")  # Sunday 02:30 does not exist
    assert due == local(NEW_YORK, 2025, 3, 9, 3, 30)
    assert due.astimezone(NEW_YORK).hour == 3


def test_step_due_into_a_fold_takes_the_first_occurrence() -> None:
    sent = local(NEW_YORK, 2025, 11, 1, 1, 30)
    due = step_due(sent, 1, "America/New_York")
    assert due == utc(2025, 11, 2, 5, 30)  # 01:30 EDT, not 01:30 EST


def test_step_due_in_utc() -> None:
    assert step_due(local(MADRID, 2025, 3, 3, 10), 1, "Europe/Madrid").tzinfo is UTC


# -- properties ------------------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # transitions at midnight
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",
]

windows = st.builds(
    Window,
    timezone=st.sampled_from(ZONES),
    days=st.frozensets(st.sampled_from(DAY_NAMES), min_size=1),
    start_hour=st.integers(0, 23),
    end_hour=st.integers(0, 24),
)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.just(UTC),
)


@settings(max_examples=400, deadline=None)
@given(w=windows, at=instants)
def test_next_open_is_open_and_never_earlier(w: Window, at: datetime) -> None:
    got = next_open(w, at)
    assert got >= at
    assert is_open(w, got)
    assert got.tzinfo is UTC
    if got > at:
        # it is the first open instant: one second earlier is closed (or before `at`)
        assert got - timedelta(seconds=1) < at or not is_open(w, got - timedelta(seconds=1))


@settings(max_examples=300, deadline=None)
@given(at=instants, days=st.integers(0, 400), tz=st.sampled_from(ZONES))
def test_step_due_is_never_earlier_and_lands_on_the_right_calendar_day(
    at: datetime, days: int, tz: str
) -> None:
    due = step_due(at, days, tz)
    assert due >= at
    zone = ZoneInfo(tz)
    assert due.astimezone(zone).date() - at.astimezone(zone).date() == timedelta(days=days) or (
        # a wall time in a gap that ends past midnight (midnight transitions) may land on the next day
        due.astimezone(zone).date() - at.astimezone(zone).date() == timedelta(days=days + 1)
    )
