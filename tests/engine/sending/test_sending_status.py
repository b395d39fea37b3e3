"""`GET /campaigns/{id}/sending-status` against the contract's wording, with a frozen clock.

The service is asked at a fixed instant (`at`); the leads' and the mailbox's times are set around it. Each
case checks what the contract says: `window.opensAt` is now while the window is open, else its next
opening; `waiting_for_interval` is listed only while a lead is due and the mailbox's `minIntervalSeconds`
is what holds it back; `nextSendAt` is the earliest instant every condition allows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from fluenzr_server.services.common import wire_time
from fluenzr_server.services.sending_status import get_sending_status
from fluenzr_server.store import tables as t
from tests.engine.sending.conftest import ALWAYS_OPEN, Harness
from tests.utils.factories import create_email_account

MONDAY = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)  # frozen "now" of the open-window cases
MADRID_OFFICE = {
    "timezone": "Europe/Madrid",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "startHour": 9,
    "endHour": 17,
}
BEFORE_OFFICE = datetime(2025, 1, 6, 7, 0, tzinfo=UTC)  # 08:00 in Madrid (UTC+1); it opens at 08:00Z
OFFICE_OPENS = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def campaign_with_a_lead(
    harness: Harness, *, schedule: dict[str, Any] = ALWAYS_OPEN, daily_limit: int = 200
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A running campaign with one active lead, sending from a mailbox with a 600 s interval (no send
    happens: the engine is not ticked)."""
    mailbox = await create_email_account(harness.client, minIntervalSeconds=600, dailyLimit=daily_limit)
    campaign = await harness.campaign(mailbox, await harness.contacts(1), schedule=schedule)
    return campaign, mailbox


async def set_times(
    harness: Harness,
    campaign: dict[str, Any],
    mailbox: dict[str, Any],
    *,
    lead_due: datetime,
    mailbox_next: datetime | None = None,
    sent_today: int = 0,
) -> None:
    async with harness.database.write() as conn:
        await conn.execute(
            update(t.campaign_contacts)
            .where(t.campaign_contacts.c.campaign_id == campaign["id"])
            .values(next_send_at=lead_due)
        )
        await conn.execute(
            update(t.email_accounts)
            .where(t.email_accounts.c.id == mailbox["id"])
            .values(next_send_at=mailbox_next, sent_today=sent_today, sent_day=lead_due.date())
        )


async def status_at(harness: Harness, campaign: dict[str, Any], at: datetime) -> dict[str, Any]:
    return await get_sending_status(
        harness.database, account_id=harness.account_id, campaign_id=campaign["id"], at=at
    )


def codes(status: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in status["reasons"]]


async def test_an_open_window_opens_now_and_a_due_lead_may_be_sent_now(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness)
    await set_times(harness, campaign, mailbox, lead_due=MONDAY - MINUTE)
    status = await status_at(harness, campaign, MONDAY)
    assert status["window"] == {"open": True, "opensAt": wire_time(MONDAY)}  # "Now when open"
    assert (status["sending"], codes(status), status["nextSendAt"]) == (True, [], wire_time(MONDAY))
    assert status["leads"] == {"active": 1, "due": 1, "inFlight": 0}
    assert status["emailAccount"]["nextAllowedSendAt"] is None
    later = MONDAY + timedelta(hours=3)
    assert (await status_at(harness, campaign, later))["window"]["opensAt"] == wire_time(later)


async def test_a_closed_window_names_its_next_opening(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness, schedule=MADRID_OFFICE)
    await set_times(harness, campaign, mailbox, lead_due=BEFORE_OFFICE - MINUTE)
    status = await status_at(harness, campaign, BEFORE_OFFICE)
    assert status["window"] == {"open": False, "opensAt": wire_time(OFFICE_OPENS)}
    assert (status["sending"], codes(status)) == (False, ["outside_window"])
    assert status["nextSendAt"] == wire_time(OFFICE_OPENS)
    friday_evening = datetime(2025, 1, 10, 17, 30, tzinfo=UTC)  # 18:30 in Madrid: next Monday 08:00Z
    assert (await status_at(harness, campaign, friday_evening))["window"] == {
        "open": False,
        "opensAt": wire_time(OFFICE_OPENS + timedelta(days=7)),
    }


async def test_the_interval_is_no_reason_while_no_lead_is_due(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness)
    mailbox_next = MONDAY + 10 * MINUTE
    await set_times(
        harness, campaign, mailbox, lead_due=MONDAY + timedelta(hours=1), mailbox_next=mailbox_next
    )
    status = await status_at(harness, campaign, MONDAY)
    assert codes(status) == ["waiting_for_next_step"]
    assert status["leads"]["due"] == 0
    assert status["emailAccount"]["nextAllowedSendAt"] == wire_time(mailbox_next)  # the interval runs
    assert status["nextSendAt"] == wire_time(MONDAY + timedelta(hours=1))
    # A step due before the interval ends is sent when the interval allows: the interval still counts.
    await set_times(harness, campaign, mailbox, lead_due=MONDAY + 5 * MINUTE, mailbox_next=mailbox_next)
    status = await status_at(harness, campaign, MONDAY)
    assert (codes(status), status["nextSendAt"]) == (["waiting_for_next_step"], wire_time(mailbox_next))


async def test_the_interval_is_the_reason_when_it_holds_a_due_lead_back(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness)
    mailbox_next = MONDAY + 10 * MINUTE
    await set_times(harness, campaign, mailbox, lead_due=MONDAY - MINUTE, mailbox_next=mailbox_next)
    status = await status_at(harness, campaign, MONDAY)
    assert (status["sending"], codes(status)) == (False, ["waiting_for_interval"])
    (reason,) = status["reasons"]
    assert "minIntervalSeconds (600)" in reason["message"] and wire_time(mailbox_next) in reason["message"]
    assert status["nextSendAt"] == wire_time(mailbox_next)
    assert status["leads"]["due"] == 1


async def test_the_daily_limit_not_the_interval_holds_a_due_lead_back(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness, daily_limit=5)
    midnight = datetime(2025, 1, 7, tzinfo=UTC)
    await set_times(
        harness, campaign, mailbox, lead_due=MONDAY - MINUTE, mailbox_next=MONDAY + 10 * MINUTE, sent_today=5
    )
    status = await status_at(harness, campaign, MONDAY)
    assert codes(status) == ["daily_limit_reached"]
    assert status["nextSendAt"] == wire_time(midnight)
    # An interval that outlasts the reset holds the lead back too.
    late = midnight + 10 * MINUTE
    await set_times(harness, campaign, mailbox, lead_due=MONDAY - MINUTE, mailbox_next=late, sent_today=5)
    status = await status_at(harness, campaign, MONDAY)
    assert (codes(status), status["nextSendAt"]) == (
        ["daily_limit_reached", "waiting_for_interval"],
        wire_time(late),
    )


async def test_a_closed_window_not_the_interval_holds_a_due_lead_back(harness: Harness) -> None:
    campaign, mailbox = await campaign_with_a_lead(harness, schedule=MADRID_OFFICE)
    due = BEFORE_OFFICE - MINUTE
    await set_times(harness, campaign, mailbox, lead_due=due, mailbox_next=BEFORE_OFFICE + 10 * MINUTE)
    status = await status_at(harness, campaign, BEFORE_OFFICE)
    assert (codes(status), status["nextSendAt"]) == (["outside_window"], wire_time(OFFICE_OPENS))
    # An interval that ends after the window opens holds the lead back past the opening.
    after_opening = OFFICE_OPENS + 30 * MINUTE
    await set_times(harness, campaign, mailbox, lead_due=due, mailbox_next=after_opening)
    status = await status_at(harness, campaign, BEFORE_OFFICE)
    assert codes(status) == ["waiting_for_interval", "outside_window"]
    assert status["nextSendAt"] == wire_time(after_opening)
