"""A campaign from start to completed over real SMTP: what arrives, what the API reports, what is emitted."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy

from fluenzr_server.engine.embedded import embedded
from fluenzr_server.resources import Resources
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness, engine_settings


async def test_a_started_campaign_sends_every_lead_once_then_completes(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    contacts = await harness.contacts(3)
    campaign = await harness.campaign(mailbox, contacts)

    assert await harness.drain() == 3

    received = sink.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(c["email"] for c in contacts)
    for message in received:
        parsed = message_from_bytes(message.data, policy=policy.default)
        contact = next(c for c in contacts if c["email"] == message.rcpt_tos[0])
        assert parsed["Subject"] == f"Quick question, {contact['firstName']}"
        assert parsed.get_body(("plain",)).get_content().strip() == f"Hi {contact['firstName']}!"
        assert parsed["From"].addresses[0].addr_spec == mailbox["fromEmail"]
    stats = await harness.stats(campaign["id"])
    assert (stats["contacts"], stats["sent"], stats["bounced"]) == (3, 3, 0)
    assert (await harness.status(campaign["id"]))["status"] == "completed"
    leads = await harness.leads(campaign["id"])
    assert {lead["status"] for lead in leads} == {"completed"}
    assert all(lead["currentStep"] == 1 and lead["lastSentAt"] for lead in leads)
    messages = await harness.messages(campaign["id"])
    assert sorted(m.message_id for m in messages) == sorted(sink.message_ids())
    sent_events = await harness.events("email.sent")
    assert sorted(e.data["messageId"] for e in sent_events) == sorted(sink.message_ids())
    assert {e.data["campaignId"] for e in sent_events} == {campaign["id"]}
    assert all(e.data["step"] == 0 and e.data["reason"] is None for e in sent_events)
    (completed,) = await harness.events("campaign.completed")
    assert completed.data["id"] == campaign["id"] and completed.data["status"] == "completed"
    assert await harness.drain() == 0 and len(sink.messages) == 3


async def test_the_engine_runs_embedded_unless_turned_off(
    harness: Harness, sink_factory: SinkFactory, database_url: str
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    campaign = await harness.campaign(mailbox, await harness.contacts(2))
    db = harness.database

    off = engine_settings(database_url, engine=False)
    async with embedded(Resources.open(off, database=db)):
        await asyncio.sleep(1.0)
    assert sink.messages == []  # FLUENZR_ENGINE=off: the API alone

    on = engine_settings(database_url)
    async with embedded(Resources.open(on, database=db)):
        await sink.wait_for_async(2, seconds=15)
    assert (await harness.stats(campaign["id"]))["sent"] == 2
    assert (await harness.status(campaign["id"]))["status"] == "completed"
