"""The suppression list as the engine sees it, through the real SMTP sink: domain entries stop sends
(exact domain only), a removed entry lets new leads be mailed while ended leads stay ended, and an
unsubscribe cannot be removed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.engine.sending.test_tracking import parsed, unsubscribe_url
from tests.utils.assertions import error, ok
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


async def test_a_one_click_unsubscribe_cannot_be_deleted_and_the_address_is_never_mailed_again(
    harness: Harness, sink_factory: SinkFactory, engine_app: Any
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    first = await harness.campaign(mailbox, [contact])
    await harness.drain()
    (received,) = sink.messages
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=engine_app)) as mail_client:
        one_click = await mail_client.post(
            unsubscribe_url(parsed(received)),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert one_click.status_code == 200

    path = "/suppressions/" + quote(contact["email"], safe="@")
    refused = await harness.client.delete(path)
    details = error(refused, 409, "INVALID_STATE")
    assert (details["entry"], details["source"], details["campaignId"]) == (
        contact["email"],
        "one-click",
        first["id"],
    )
    assert "only the recipient can opt in again" in refused.json()["error"]["message"]
    listed = ok(await harness.client.get("/suppressions", params={"search": contact["email"]}))
    assert [(item["entry"], item["reason"]) for item in listed] == [(contact["email"], "unsubscribed")]

    # A new campaign, and a manual entry added and removed on top: the address is still never mailed.
    ok(await harness.client.post("/suppressions", json={"emails": [contact["email"]]}))
    error(await harness.client.delete(path), 409, "INVALID_STATE")
    second = await harness.campaign(mailbox, [contact])
    await harness.drain()
    assert len(sink.messages) == 1
    (lead,) = await harness.leads(second["id"])
    assert lead["status"] == "unsubscribed" and "suppression list (unsubscribed)" in lead["reason"]
    assert await harness.messages(second["id"]) == []
