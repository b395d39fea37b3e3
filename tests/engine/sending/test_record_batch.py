"""Recording a batch of accepted messages in a few statements (on PostgreSQL, one statement over arrays
per table: `engine/batch_sql.py`) writes what one statement per row wrote: each owned message `sent` once,
each still-active lead advanced with its own values, and nothing for a row that changed meanwhile."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select, update

from fluenzr_server.engine import schedule, sending, smtp
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness

TWO_STEPS = [
    {"subject": "Hello {{firstName}}", "body": "First."},
    {"subject": "Following up", "body": "Second.", "delayDays": 3},
]
ACCEPTED = smtp.SendOutcome("sent", 250, "250 2.0.0 Ok: queued", "")


async def claim(harness: Harness, limit: int = 50) -> list[sending.Job]:
    return await sending.claim(
        harness.database,
        now=now(),
        owner=harness.task.owner,
        limit=limit,
        lease_seconds=60,
        smtp_timeout=5,
        secret_box=harness.resources.secret_box,
        links=harness.task.links,
    )


async def lead_rows(harness: Harness, campaign_id: str) -> dict[str, object]:
    async with harness.database.read() as conn:
        query = select(t.campaign_contacts).where(t.campaign_contacts.c.campaign_id == campaign_id)
        return {row.contact_id: row for row in (await conn.execute(query)).all()}


async def test_a_batch_advances_each_active_lead_and_skips_rows_changed_meanwhile(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    contacts = await harness.contacts(6)
    campaign = await harness.campaign(await harness.mailbox(sink), contacts, steps=TWO_STEPS)
    jobs = await claim(harness)
    assert sorted(job.contact_id for job in jobs) == sorted(c["id"] for c in contacts)
    by_contact = {job.contact_id: job for job in jobs}
    paused, unsubscribed, swept = contacts[0]["id"], contacts[1]["id"], contacts[2]["id"]
    async with harness.database.write() as conn:
        # While the batch is on the wire: one lead is paused and one unsubscribes (rows changed by
        # others), and one message's lease is taken by the sweep (its worker looked dead).
        leads = t.campaign_contacts.c
        for contact_id, status in ((paused, "paused"), (unsubscribed, "unsubscribed")):
            await conn.execute(
                update(t.campaign_contacts)
                .where(leads.campaign_id == campaign["id"], leads.contact_id == contact_id)
                .values(status=status)
            )
        await conn.execute(
            update(t.messages)
            .where(t.messages.c.id == by_contact[swept].id)
            .values(status="unknown", lease_owner=None, lease_until=None)
        )
    recorded_at = now()
    await sending.record(harness.database, [(job, ACCEPTED) for job in jobs], now=recorded_at)

    messages = {m.contact_id: m for m in await harness.messages(campaign["id"])}
    assert {c: m.status for c, m in messages.items()} == {
        c["id"]: ("unknown" if c["id"] == swept else "sent") for c in contacts
    }
    assert all(m.smtp_reply == "250 2.0.0 Ok: queued" for c, m in messages.items() if c != swept)
    rows = await lead_rows(harness, campaign["id"])
    assert (rows[paused].status, rows[paused].current_step) == ("paused", 0)  # not advanced behind its back
    assert (rows[unsubscribed].status, rows[unsubscribed].current_step) == ("unsubscribed", 0)
    assert (rows[swept].status, rows[swept].current_step) == ("active", 0)  # the sweep decides, not us
    due = schedule.step_due(recorded_at, 3, "UTC")
    for contact in contacts[3:]:
        row = rows[contact["id"]]
        assert (row.status, row.current_step, row.reason) == ("active", 1, None)
        assert row.next_send_at is not None and abs(sending.utc(row.next_send_at) - due) < timedelta(
            seconds=1
        )
        assert row.thread_message_id == by_contact[contact["id"]].message_id
        assert row.sent_at is not None and row.last_sent_at is not None
    sent_events = [e.data["contactId"] for e in await harness.events("email.sent")]
    assert sorted(sent_events) == sorted(c["id"] for c in contacts if c["id"] != swept)

    # Recording the same batch again (a record retried) changes nothing and emits nothing.
    await sending.record(harness.database, [(job, ACCEPTED) for job in jobs], now=now())
    assert await lead_rows(harness, campaign["id"]) == rows
    assert len(await harness.events("email.sent")) == len(sent_events)


async def test_a_batch_keeps_each_leads_own_step_thread_and_end(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    contacts = await harness.contacts(4)
    campaign = await harness.campaign(await harness.mailbox(sink), contacts, steps=TWO_STEPS)
    await harness.drain()  # step 1 sent to all four
    first_ids = {m.contact_id: m.message_id for m in await harness.messages(campaign["id"])}
    async with harness.database.write() as conn:
        # Two leads' second step is due, two others were added later and are still at step 0.
        leads = t.campaign_contacts.c
        await conn.execute(
            update(t.campaign_contacts)
            .where(leads.campaign_id == campaign["id"], leads.contact_id.in_([c["id"] for c in contacts[:2]]))
            .values(next_send_at=now() - timedelta(seconds=1))
        )
    late = await harness.contacts(2)
    added = await harness.client.post(
        f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [c["id"] for c in late]}
    )
    assert added.status_code == 200
    jobs = await claim(harness)
    assert sorted((job.contact_id, job.step) for job in jobs) == sorted(
        [(c["id"], 1) for c in contacts[:2]] + [(c["id"], 0) for c in late]
    )
    await sending.record(harness.database, [(job, ACCEPTED) for job in jobs], now=now())
    rows = await lead_rows(harness, campaign["id"])
    for contact in contacts[:2]:  # the last step: completed, still threaded under the first message
        row = rows[contact["id"]]
        assert (row.status, row.current_step, row.next_send_at) == ("completed", 2, None)
        assert row.thread_message_id == first_ids[contact["id"]]
    for contact in late:  # the first step: active, due in three days, its own thread
        row = rows[contact["id"]]
        assert (row.status, row.current_step) == ("active", 1) and row.next_send_at is not None
        (job,) = [job for job in jobs if job.contact_id == contact["id"]]
        assert row.thread_message_id == job.message_id
    for contact in contacts[2:]:  # not in the batch: untouched
        assert (rows[contact["id"]].current_step, rows[contact["id"]].status) == (1, "active")


async def test_a_message_that_cannot_be_built_fails_alone_amid_prepared_ones(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    """Each message is built while the previous one is taken in by the server (`SendTask`): one the
    builder refuses (a non-ASCII local part needs SMTPUTF8) fails with the reason, the others are sent."""
    sink = await sink_factory(credentials=SINK_LOGIN)
    contacts = await harness.contacts(5)
    stamp = now()
    async with harness.database.write() as conn:
        await conn.execute(
            insert(t.contacts).values(
                id="ctc_unbuildable" + secrets.token_hex(4),
                account_id=harness.account_id,
                email=f"zoë.{secrets.token_hex(3)}@example.com",
                first_name="Zoë",
                custom_fields={},
                created_at=stamp,
                updated_at=stamp,
            )
        )
        query = select(t.contacts.c.id).where(
            t.contacts.c.account_id == harness.account_id, t.contacts.c.first_name == "Zoë"
        )
        odd = (await conn.execute(query)).scalar_one()
    # The odd one in the middle of the mailbox's queue (leads are claimed oldest due first).
    campaign = await harness.campaign(
        await harness.mailbox(sink), [*contacts[:2], {"id": odd}, *contacts[2:]], steps=TWO_STEPS[:1]
    )
    async with harness.database.write() as conn:
        leads = t.campaign_contacts.c
        for position, contact_id in enumerate(
            [c["id"] for c in contacts[:2]] + [odd] + [c["id"] for c in contacts[2:]]
        ):
            await conn.execute(
                update(t.campaign_contacts)
                .where(leads.campaign_id == campaign["id"], leads.contact_id == contact_id)
                .values(next_send_at=stamp - timedelta(seconds=60 - position))
            )
    await harness.drain()
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(c["email"] for c in contacts)
    (failed,) = await harness.leads(campaign["id"], status="failed")
    assert failed["contactId"] == odd and "cannot be built" in failed["reason"]
    statuses = {m.contact_id: m.status for m in await harness.messages(campaign["id"])}
    assert statuses == {**{c["id"]: "sent" for c in contacts}, odd: "failed"}
    assert (await harness.status(campaign["id"]))["status"] == "completed"
