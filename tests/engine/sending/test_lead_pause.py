"""Pausing and resuming one lead: the rest of the campaign goes on, the lead neither repeats nor skips a
step, and the campaign does not complete while a lead is paused."""

from __future__ import annotations

from sqlalchemy import update

from fluenzr_server.store import tables as t
from tests.conftest import Tenant, client_for
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.utils.assertions import error, ok_object

TWO_STEPS = [
    {"subject": "Hello {{firstName}}", "body": "First."},
    {"subject": "Following up", "body": "Second.", "delayDays": 2},
]


def _lead_path(campaign: dict[str, object], contact: dict[str, object]) -> str:
    return f"/campaigns/{campaign['id']}/contacts/{contact['id']}"


async def test_a_paused_lead_waits_while_the_others_go_on_and_resumes_at_its_step(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    held, other = await harness.contacts(2)
    campaign = await harness.campaign(mailbox, [held, other], steps=TWO_STEPS)
    await harness.drain()
    assert len(sink.messages) == 2

    lead = ok_object(await harness.client.post(_lead_path(campaign, held) + "/pause"))
    assert (lead["status"], lead["currentStep"]) == ("paused", 1)
    assert lead["nextSendAt"] is not None
    again = ok_object(await harness.client.post(_lead_path(campaign, held) + "/pause"))
    assert again == lead, "pausing a paused lead is a no-op"

    await harness.make_due(campaign["id"])
    await harness.drain()
    assert [m.rcpt_tos for m in sink.messages[2:]] == [[other["email"]]]
    assert (await harness.status(campaign["id"]))["status"] == "running", "completed with a lead paused"
    assert ok_object(await harness.client.get(_lead_path(campaign, held)))["status"] == "paused"

    resumed = ok_object(await harness.client.post(_lead_path(campaign, held) + "/resume"))
    assert (resumed["status"], resumed["currentStep"]) == ("active", 1)
    await harness.drain()
    to_held = [m for m in sink.messages if held["email"] in m.rcpt_tos]
    assert [m.subject for m in to_held] == ["Hello Ada0", "Following up"]
    assert len(sink.messages) == 4
    assert (await harness.status(campaign["id"]))["status"] == "completed"
    error(await harness.client.post(_lead_path(campaign, held) + "/pause"), 409, "INVALID_STATE")


async def test_pause_refuses_a_stopped_lead_and_one_in_flight(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    done, flying = await harness.contacts(2)
    campaign = await harness.campaign(mailbox, [done, flying])
    await harness.drain()  # one step: both leads complete

    details = error(await harness.client.post(_lead_path(campaign, done) + "/pause"), 409, "INVALID_STATE")
    assert details == {"status": "completed"}
    error(await harness.client.post(_lead_path(campaign, done) + "/resume"), 409, "INVALID_STATE")

    # A lead whose step the engine has claimed: active with no next send time.
    async with harness.database.write() as conn:
        leads = t.campaign_contacts.c
        await conn.execute(
            update(t.campaign_contacts)
            .where(leads.campaign_id == campaign["id"], leads.contact_id == flying["id"])
            .values(status="active", next_send_at=None)
        )
    details = error(await harness.client.post(_lead_path(campaign, flying) + "/pause"), 409, "INVALID_STATE")
    assert details == {"status": "active", "sending": True}
    resumed = ok_object(await harness.client.post(_lead_path(campaign, flying) + "/resume"))
    assert resumed["status"] == "active", "resuming an active lead is a no-op"


async def test_leads_of_another_account_or_campaign_are_404(
    harness: Harness, sink_factory: SinkFactory, engine_app: object, other_tenant: Tenant
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    campaign = await harness.campaign(mailbox, [contact], start=False)
    outsider = await harness.contacts(1)
    for path in (
        _lead_path(campaign, outsider[0]),
        f"/campaigns/cmp_missing/contacts/{contact['id']}",
    ):
        error(await harness.client.get(path), 404, "NOT_FOUND")
        error(await harness.client.post(path + "/pause"), 404, "NOT_FOUND")
    async with client_for(engine_app, other_tenant.api_key) as stranger:
        for suffix in ("", "/pause", "/resume"):
            method = stranger.get if not suffix else stranger.post
            error(await method(_lead_path(campaign, contact) + suffix), 404, "NOT_FOUND")
    lead = ok_object(await harness.client.get(_lead_path(campaign, contact)))
    assert (lead["contactId"], lead["status"]) == (contact["id"], "active")
