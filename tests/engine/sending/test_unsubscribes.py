"""`services.unsubscribes.unsubscribe_lead`: the one effect of every unsubscribe request."""

from __future__ import annotations

from sqlalchemy import select

from fluenzr_server.services.common import now
from fluenzr_server.services.unsubscribes import unsubscribe_lead
from fluenzr_server.store import tables as t
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness

TWO_STEPS = [
    {"subject": "Hello {{firstName}}", "body": "First."},
    {"subject": "Following up", "body": "Second.", "delayDays": 2},
]


async def test_unsubscribe_stops_the_sequence_suppresses_the_address_and_emits_once(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    leaving, staying = await harness.contacts(2)
    campaign = await harness.campaign(mailbox, [leaving, staying], steps=TWO_STEPS)
    await harness.drain()
    assert len(sink.messages) == 2

    async with harness.database.write() as conn:
        first = await unsubscribe_lead(
            conn, campaign_id=campaign["id"], contact_id=leaving["id"], source="one-click", now=now()
        )
    async with harness.database.write() as conn:
        again = await unsubscribe_lead(
            conn, campaign_id=campaign["id"], contact_id=leaving["id"], source="page", now=now()
        )
    assert (first, again) == (True, False)

    await harness.make_due(campaign["id"])
    await harness.drain()
    to_leaving = [m for m in sink.messages if leaving["email"] in m.rcpt_tos]
    assert len(to_leaving) == 1, "the second step went to an unsubscribed contact"
    assert len(sink.messages) == 3

    leads = {lead["contactId"]: lead for lead in await harness.leads(campaign["id"])}
    assert leads[leaving["id"]]["status"] == "unsubscribed"
    assert leads[leaving["id"]]["reason"] == "unsubscribed (one-click)"
    assert leads[staying["id"]]["status"] == "completed"
    assert (await harness.stats(campaign["id"]))["unsubscribed"] == 1

    events = await harness.events("contact.unsubscribed")
    assert [event.data["id"] for event in events] == [leaving["id"]]
    async with harness.database.read() as conn:
        entry = (
            await conn.execute(
                select(t.suppressions).where(
                    t.suppressions.c.account_id == harness.account_id,
                    t.suppressions.c.email == leaving["email"],
                )
            )
        ).one()
    assert (entry.reason, entry.campaign_id) == ("unsubscribed", campaign["id"])

    # Another campaign of the account never mails the address.
    other = await harness.campaign(mailbox, [leaving])
    await harness.drain()
    assert len([m for m in sink.messages if leaving["email"] in m.rcpt_tos]) == 1
    (lead,) = await harness.leads(other["id"])
    assert lead["status"] == "unsubscribed"


async def test_unsubscribe_of_an_unknown_lead_changes_nothing(harness: Harness) -> None:
    async with harness.database.write() as conn:
        done = await unsubscribe_lead(
            conn, campaign_id="cmp_missing", contact_id="ctc_missing", source="mailto", now=now()
        )
    assert done is False
    assert await harness.events("contact.unsubscribed") == []
