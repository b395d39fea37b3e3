"""Pause while sending, resume, contacts added to a running campaign, and the leads API."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from fluenzr_server.engine.runner import run_tasks
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.utils.assertions import error, ok, ok_object

LEADS = 120


async def test_pause_stops_new_sends_within_a_second_and_start_resumes_without_resend_or_skip(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    sink.slow("data", 0.02)  # about 40 messages a second: the engine is mid-batch when the pause lands
    mailbox = await harness.mailbox(sink)
    contacts = await harness.contacts(LEADS)
    campaign = await harness.campaign(mailbox, contacts)
    stop = asyncio.Event()
    runner = asyncio.create_task(run_tasks([harness.task], harness.resources, stop, idle_seconds=0.05))
    try:
        await sink.wait_for_async(15, seconds=20)
        ok(await harness.client.post(f"/campaigns/{campaign['id']}/pause"))
        paused_at = datetime.now(UTC)
        await asyncio.sleep(1.5)
        late = [m for m in sink.messages if m.received_at > paused_at + timedelta(seconds=1)]
        assert late == [], f"{len(late)} messages started more than 1 s after the pause's 200"
        stopped_at = len(sink.messages)
        assert stopped_at < LEADS
        await asyncio.sleep(0.5)
        assert len(sink.messages) == stopped_at

        ok(await harness.client.post(f"/campaigns/{campaign['id']}/start"))
        await sink.wait_for_async(LEADS, seconds=30)
        for _ in range(100):
            if (await harness.status(campaign["id"]))["status"] == "completed":
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner, timeout=10)

    ids = sink.message_ids()
    assert len(ids) == LEADS and len(set(ids)) == LEADS  # no step sent twice
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(
        c["email"] for c in contacts
    )  # none skipped
    messages = await harness.messages(campaign["id"])
    assert sorted(m.message_id for m in messages) == sorted(ids)
    assert {m.status for m in messages} == {"sent"}
    assert (await harness.status(campaign["id"]))["status"] == "completed"
    assert (await harness.stats(campaign["id"]))["sent"] == LEADS


async def test_contacts_added_to_a_running_campaign_become_leads_and_are_sent(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    first = await harness.contacts(1)
    campaign = await harness.campaign(
        mailbox,
        first,
        steps=[
            {"subject": "Hi {{firstName}}", "body": "One"},
            {"subject": "Hi {{firstName}}", "body": "Two", "delayDays": 3},
        ],
    )
    await harness.drain()
    later = await harness.contacts(2)
    added = await harness.client.post(
        f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [c["id"] for c in later]}
    )
    assert ok_object(added)["added"] == 2
    (due_now,) = [lead for lead in await harness.leads(campaign["id"]) if lead["contactId"] == later[0]["id"]]
    assert due_now["status"] == "active" and due_now["nextSendAt"] is not None and due_now["currentStep"] == 0
    await harness.drain()
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(c["email"] for c in first + later)
    assert (await harness.status(campaign["id"]))["status"] == "running"  # follow-ups still to come


async def test_leads_list_pages_and_filters_and_is_tenant_scoped(
    harness: Harness, sink_factory: SinkFactory, other_client: object
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    contacts = await harness.contacts(3)
    campaign = await harness.campaign(mailbox, contacts, start=False)
    response = await harness.client.get(f"/campaigns/{campaign['id']}/contacts", params={"perPage": 2})
    assert response.json()["meta"] == {"page": 1, "perPage": 2, "total": 3}
    page = ok(response)
    assert [lead["contactId"] for lead in page] == sorted(c["id"] for c in contacts)[:2] or len(page) == 2
    assert all(lead["status"] == "active" and lead["nextSendAt"] is None for lead in page)  # draft: not due
    ok(await harness.client.post(f"/campaigns/{campaign['id']}/start"))
    await harness.drain()
    completed = ok(
        await harness.client.get(f"/campaigns/{campaign['id']}/contacts", params={"status": "completed"})
    )
    assert len(completed) == 3 and all(lead["lastSentAt"] for lead in completed)
    assert (
        ok(await harness.client.get(f"/campaigns/{campaign['id']}/contacts", params={"status": "failed"}))
        == []
    )
    error(
        await harness.client.get(f"/campaigns/{campaign['id']}/contacts", params={"status": "nope"}),
        400,
        "VALIDATION_ERROR",
    )
    import httpx

    assert isinstance(other_client, httpx.AsyncClient)
    error(await other_client.get(f"/campaigns/{campaign['id']}/contacts"), 404, "NOT_FOUND")
    error(await other_client.get(f"/campaigns/{campaign['id']}/sending-status"), 404, "NOT_FOUND")


async def test_sending_status_of_a_draft_and_of_a_completed_campaign(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    campaign = await harness.campaign(mailbox, await harness.contacts(1), start=False)
    draft = await harness.sending_status(campaign["id"])
    assert (draft["sending"], draft["nextSendAt"], [r["code"] for r in draft["reasons"]]) == (
        False,
        None,
        ["draft"],
    )
    ok(await harness.client.post(f"/campaigns/{campaign['id']}/start"))
    running = await harness.sending_status(campaign["id"])
    assert running["sending"] is True and running["reasons"] == [] and running["leads"]["due"] == 1
    await harness.drain()
    done = await harness.sending_status(campaign["id"])
    assert done["status"] == "completed" and done["nextSendAt"] is None
    assert next(r["code"] for r in done["reasons"]) == "completed"
