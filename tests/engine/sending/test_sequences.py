"""Personalisation, threading, windows and per-mailbox limits, observed in what the SMTP sink receives."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from fluenzr_server.engine import schedule
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import ALWAYS_OPEN, SINK_LOGIN, Harness
from tests.utils.assertions import error


async def test_templates_render_per_contact_and_later_steps_thread_under_the_first(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    ada = (await harness.contacts(1, firstName="Ada", company="Analytical Engines"))[0]
    nameless = (await harness.contacts(1, firstName=None, company=None))[0]
    steps = [
        {"subject": "Quick question, {{ firstName | default('there') }}", "body": "Is {{company}} hiring?"},
        {
            "subject": "Quick question, {{ firstName | default('there') }}",
            "body": "Bumping this.",
            "delayDays": 2,
        },
        {"subject": "Last note for {{firstName}}", "body": "Closing the loop.", "delayDays": 1},
    ]
    campaign = await harness.campaign(mailbox, [ada, nameless], steps=steps)

    await harness.drain()
    # Step 1 for Ada; the nameless contact has no company (no fallback): failed, never "Is  hiring?".
    assert [m.rcpt_tos for m in sink.messages] == [[ada["email"]]]
    (failed,) = await harness.leads(campaign["id"], status="failed")
    assert failed["contactId"] == nameless["id"] and "company" in failed["reason"]
    (active,) = await harness.leads(campaign["id"], status="active")
    due = datetime.fromisoformat(active["nextSendAt"].replace("Z", "+00:00"))
    sent = datetime.fromisoformat(active["lastSentAt"].replace("Z", "+00:00"))
    assert due == schedule.step_due(sent, 2, "UTC") and active["currentStep"] == 1

    assert await harness.drain() == 0  # the follow-up waits for its delay
    await harness.make_due(campaign["id"])
    await harness.drain()
    await harness.make_due(campaign["id"])
    await harness.drain()

    first, second, third = (message_from_bytes(m.data, policy=policy.default) for m in sink.messages)
    assert first["Subject"] == "Quick question, Ada"
    assert first.get_body(("plain",)).get_content().strip() == "Is Analytical Engines hiring?"
    assert second["Subject"] == "Re: Quick question, Ada"
    assert third["Subject"] == "Last note for Ada"  # its own subject, still in the thread
    for reply in (second, third):
        assert reply["In-Reply-To"] == first["Message-ID"]
        assert reply["References"] == first["Message-ID"]
    assert len({first["Message-ID"], second["Message-ID"], third["Message-ID"]}) == 3
    assert first["Message-ID"].endswith("@acme.example>")
    assert (await harness.status(campaign["id"]))["status"] == "completed"
    stats = await harness.stats(campaign["id"])
    assert (stats["contacts"], stats["sent"]) == (2, 3)


async def test_a_template_that_does_not_parse_is_a_400_naming_the_step_and_position(harness: Harness) -> None:
    steps = [
        {"subject": "Hello {{firstName}}", "body": "Fine"},
        {"subject": "Oops {{ firstName }", "body": "Fine"},
    ]
    response = await harness.client.post("/campaigns", json={"name": "Broken", "steps": steps})
    details = error(response, 400, "VALIDATION_ERROR", fields=("steps.1.subject",))
    assert "line 1" in details["steps.1.subject"] and "column" in details["steps.1.subject"]
    created = await harness.client.post("/campaigns", json={"name": "Fine", "steps": steps[:1]})
    campaign_id = created.json()["data"]["id"]
    update = await harness.client.put(
        f"/campaigns/{campaign_id}", json={"steps": [{"subject": "x", "body": "{% if %}"}]}
    )
    error(update, 400, "VALIDATION_ERROR", fields=("steps.0.body",))


async def test_nothing_is_sent_outside_the_window_and_the_status_says_when_it_opens(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    contacts = await harness.contacts(2)
    hour = datetime.now(UTC).hour
    closed = {
        "timezone": "UTC",
        "days": ALWAYS_OPEN["days"],
        "startHour": (hour + 2) % 24,
        "endHour": (hour + 3) % 24 or 24,
    }
    campaign = await harness.campaign(mailbox, contacts, schedule=closed)

    assert await harness.drain() == 0 and sink.messages == []
    status = await harness.sending_status(campaign["id"])
    assert status["sending"] is False and status["window"]["open"] is False
    assert [reason["code"] for reason in status["reasons"]] == ["outside_window"]
    opens = datetime.fromisoformat(status["window"]["opensAt"].replace("Z", "+00:00"))
    assert opens.hour == (hour + 2) % 24 and opens > datetime.now(UTC)
    assert status["nextSendAt"] == status["window"]["opensAt"]
    assert status["leads"] == {"active": 2, "due": 2, "inFlight": 0}

    await harness.client.post(f"/campaigns/{campaign['id']}/pause")
    await harness.client.put(f"/campaigns/{campaign['id']}", json={"schedule": ALWAYS_OPEN})
    await harness.client.post(f"/campaigns/{campaign['id']}/start")
    assert await harness.drain() == 2 and len(sink.messages) == 2


async def test_the_daily_limit_holds_across_campaigns_of_one_mailbox(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink, dailyLimit=3)
    first = await harness.campaign(mailbox, await harness.contacts(2))
    second = await harness.campaign(mailbox, await harness.contacts(2))

    await harness.drain()
    assert len(sink.messages) == 3
    account = (await harness.client.get(f"/email-accounts/{mailbox['id']}")).json()["data"]
    assert account["sentToday"] == 3 and account["status"] == "active"
    stats = [await harness.stats(c["id"]) for c in (first, second)]
    assert sum(s["sent"] for s in stats) == 3
    waiting = first if stats[0]["sent"] < 2 else second
    status = await harness.sending_status(waiting["id"])
    assert status["sending"] is False
    assert "daily_limit_reached" in [reason["code"] for reason in status["reasons"]]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert status["nextSendAt"] == f"{tomorrow}T00:00:00.000000Z"
    assert status["emailAccount"]["dailyLimitResetsAt"] == f"{tomorrow}T00:00:00.000000Z"


async def test_sends_from_one_mailbox_are_spaced_by_its_min_interval(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink, minIntervalSeconds=1)
    campaign = await harness.campaign(mailbox, await harness.contacts(3))

    deadline = time.monotonic() + 10
    while len(sink.messages) < 3 and time.monotonic() < deadline:
        if await harness.tick() == 0:
            await asyncio.sleep(0.05)
    assert len(sink.messages) == 3
    # Each send starts when its message is claimed (the row's created_at): 1 s apart at least, plus jitter.
    starts = sorted(message.created_at for message in await harness.messages(campaign["id"]))
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
    assert all(1.0 <= gap < 3.0 for gap in gaps), gaps


async def test_the_mailbox_interval_is_reported_while_it_holds_a_send_back(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink, minIntervalSeconds=600)
    campaign = await harness.campaign(mailbox, await harness.contacts(2))
    await harness.drain()
    assert len(sink.messages) == 1
    status = await harness.sending_status(campaign["id"])
    assert [reason["code"] for reason in status["reasons"]] == ["waiting_for_interval"]
    allowed = datetime.fromisoformat(status["emailAccount"]["nextAllowedSendAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=599) < allowed - datetime.now(UTC) <= timedelta(seconds=721)
    assert status["nextSendAt"] == status["emailAccount"]["nextAllowedSendAt"]
