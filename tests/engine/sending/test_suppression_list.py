"""The suppression list as the engine sees it, through the real SMTP sink: domain entries stop sends
(exact domain only), and a removed entry lets new leads be mailed while ended leads stay ended."""

from __future__ import annotations

from urllib.parse import quote

from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.utils.assertions import ok
from tests.utils.factories import unique_email


async def test_a_domain_entry_stops_every_send_to_that_domain_but_not_its_subdomains(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (blocked,) = await harness.contacts(1, email=unique_email("ada", "Blocked-Corp.example"))
    (sub,) = await harness.contacts(1, email=unique_email("bob", "mail.blocked-corp.example"))
    (other,) = await harness.contacts(1, email=unique_email("cy", "fine.example"))
    ok(await harness.client.post("/suppressions", json={"domains": ["@BLOCKED-CORP.example"]}))

    campaign = await harness.campaign(mailbox, [blocked, sub, other])
    await harness.drain()

    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([sub["email"], other["email"]])
    (ended,) = await harness.leads(campaign["id"], status="failed")
    assert ended["contactId"] == blocked["id"]
    assert "blocked-corp.example" in ended["reason"] and "suppression list (manual)" in ended["reason"]
    assert len(await harness.leads(campaign["id"], status="completed")) == 2
    assert [m.contact_id for m in await harness.messages(campaign["id"])] == sorted([sub["id"], other["id"]])


async def test_a_manual_entry_removed_lets_a_new_campaign_mail_the_address_and_ended_leads_stay_ended(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    ok(await harness.client.post("/suppressions", json={"emails": [contact["email"].upper()]}))

    first = await harness.campaign(mailbox, [contact])
    await harness.drain()
    assert sink.messages == []
    (ended,) = await harness.leads(first["id"])
    assert ended["status"] == "failed" and "suppression list (manual)" in ended["reason"]

    removed = await harness.client.delete("/suppressions/" + quote(contact["email"], safe="@"))
    assert removed.status_code == 204, removed.text
    second = await harness.campaign(mailbox, [contact])
    await harness.make_due(first["id"])
    await harness.drain()

    assert [m.rcpt_tos for m in sink.messages] == [[contact["email"]]]
    (sent,) = await harness.leads(second["id"])
    assert sent["status"] == "completed"
    (still,) = await harness.leads(first["id"])
    assert (still["status"], still["reason"]) == ("failed", ended["reason"])
    assert await harness.messages(first["id"]) == []


async def test_a_domain_entry_added_mid_sequence_stops_the_follow_up(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1, email=unique_email("ada", "later.example"))
    steps = [{"subject": "One", "body": "First"}, {"subject": "Two", "body": "Second", "delayDays": 2}]
    campaign = await harness.campaign(mailbox, [contact], steps=steps)
    await harness.drain()
    assert len(sink.messages) == 1

    ok(await harness.client.post("/suppressions", json={"domains": ["later.example"]}))
    await harness.make_due(campaign["id"])
    await harness.drain()
    assert len(sink.messages) == 1
    (lead,) = await harness.leads(campaign["id"])
    assert (lead["status"], lead["currentStep"]) == ("failed", 1)
