"""What the engine does when SMTP says no, or says nothing: retries, bounces, broken mailboxes, crashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fluenzr_server.engine import mailboxes, sending
from fluenzr_server.engine.sender import SendTask
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.utils.assertions import ok_object


async def test_a_4xx_is_retried_later_with_the_same_message_and_then_sent(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    sink.fail("rcpt", 451, "4.7.1 Greylisted, try again later", count=1)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    campaign = await harness.campaign(mailbox, [contact])

    await harness.drain()
    assert sink.messages == []
    (message,) = await harness.messages(campaign["id"])
    assert (message.status, message.attempts) == ("retrying", 1) and message.smtp_reply.startswith("451")
    (lead,) = await harness.leads(campaign["id"])
    assert lead["status"] == "active" and lead["nextSendAt"] is not None
    account = ok_object(await harness.client.get(f"/email-accounts/{mailbox['id']}"))
    assert account["sentToday"] == 0  # the slot went back: nothing was sent
    assert await harness.drain() == 0  # backing off (about a minute)

    await harness.make_due(campaign["id"])
    await harness.drain()
    (received,) = sink.messages
    (message,) = await harness.messages(campaign["id"])
    assert (message.status, message.attempts) == ("sent", 2)
    assert received.message_id == message.message_id
    assert (await harness.stats(campaign["id"]))["sent"] == 1


async def test_a_5xx_at_rcpt_bounces_the_lead_and_suppresses_the_address_for_every_campaign(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    good, bad = await harness.contacts(2)
    sink.fail("rcpt", 550, "5.1.1 No such user", recipients=[bad["email"]])
    mailbox = await harness.mailbox(sink)
    first = await harness.campaign(mailbox, [good, bad])
    await harness.drain()

    assert [m.rcpt_tos for m in sink.messages] == [[good["email"]]]
    (bounced,) = await harness.leads(first["id"], status="bounced")
    assert bounced["contactId"] == bad["id"] and "550" in bounced["reason"]
    stats = await harness.stats(first["id"])
    assert (stats["sent"], stats["bounced"], stats["bounceRate"]) == (1, 1, 50.0)
    (event,) = await harness.events("email.bounced")
    assert event.data["contactId"] == bad["id"] and event.data["email"] == bad["email"]
    assert event.data["reason"].startswith("550") and event.data["messageId"].startswith("<")
    async with harness.database.read() as conn:
        row = (
            await conn.execute(
                select(t.suppressions).where(
                    t.suppressions.c.account_id == harness.account_id, t.suppressions.c.email == bad["email"]
                )
            )
        ).one()
    assert row.reason == "bounced"

    sink.clear_rules()  # the address would work now; it must still never be mailed again
    second = await harness.campaign(mailbox, [good, bad])
    await harness.drain()
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([good["email"], good["email"]])
    (suppressed,) = await harness.leads(second["id"], status="bounced")
    assert suppressed["contactId"] == bad["id"] and "suppress" in suppressed["reason"]
    assert (await harness.status(second["id"]))["status"] == "completed"


async def test_an_authentication_failure_stops_the_mailbox_without_burning_leads(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=("sales", "the-real-password"))
    mailbox = await harness.mailbox(sink)  # logs in with the wrong password
    campaign = await harness.campaign(mailbox, await harness.contacts(3))
    await harness.drain()

    assert sink.messages == []
    account = ok_object(await harness.client.get(f"/email-accounts/{mailbox['id']}"))
    assert account["status"] == "error" and "535" in account["lastError"]
    assert {lead["status"] for lead in await harness.leads(campaign["id"])} == {"active"}
    assert all(m.status == "retrying" and m.attempts == 0 for m in await harness.messages(campaign["id"]))
    status = await harness.sending_status(campaign["id"])
    assert status["sending"] is False and status["nextSendAt"] is None
    assert [reason["code"] for reason in status["reasons"]] == ["email_account_error"]
    assert await harness.drain() == 0  # a mailbox in error is not tried again by itself

    fixed = await harness.client.put(
        f"/email-accounts/{mailbox['id']}", json={"smtp": {"password": "the-real-password"}}
    )
    assert ok_object(fixed)["status"] == "active" and ok_object(fixed)["lastError"] is None
    await harness.drain()
    assert len(sink.messages) == 3 and len(set(sink.message_ids())) == 3
    assert (await harness.status(campaign["id"]))["status"] == "completed"


async def test_consecutive_failures_of_a_mailbox_pause_its_campaigns(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    sink.fail("mail", 421, "4.3.2 Service shutting down")
    mailbox = await harness.mailbox(sink)
    campaign = await harness.campaign(mailbox, await harness.contacts(mailboxes.MAX_CONSECUTIVE_FAILURES + 2))
    await harness.drain()

    assert sink.messages == []
    paused = await harness.status(campaign["id"])
    assert paused["status"] == "paused"
    status = await harness.sending_status(campaign["id"])
    reason = status["reasons"][0]
    assert status["nextSendAt"] is None
    assert (
        reason["code"] == "paused"
        and f"{mailboxes.MAX_CONSECUTIVE_FAILURES} consecutive" in reason["message"]
    )
    (event,) = await harness.events("campaign.paused")
    assert event.data["id"] == campaign["id"]
    assert {lead["status"] for lead in await harness.leads(campaign["id"])} == {"active"}  # none burnt

    sink.clear_rules()
    await harness.client.post(f"/campaigns/{campaign['id']}/start")
    await harness.make_due(campaign["id"])
    await harness.drain()
    assert len(sink.messages) == mailboxes.MAX_CONSECUTIVE_FAILURES + 2
    assert ok_object(await harness.client.get(f"/email-accounts/{mailbox['id']}"))["lastError"] is None


async def test_a_conversation_cut_after_the_data_is_unknown_and_never_resent(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    first, second = await harness.contacts(2)
    sink.drop("data", recipients=[first["email"]], keep=True, count=1)  # delivered, but no reply
    mailbox = await harness.mailbox(sink)
    campaign = await harness.campaign(mailbox, [first, second])
    await harness.drain()
    await harness.make_due(campaign["id"])
    await harness.drain()

    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([first["email"], second["email"]])
    (failed,) = await harness.leads(campaign["id"], status="failed")
    assert failed["contactId"] == first["id"] and "may have been delivered" in failed["reason"]
    statuses = {m.contact_id: m.status for m in await harness.messages(campaign["id"])}
    assert statuses == {first["id"]: "unknown", second["id"]: "sent"}
    assert (await harness.status(campaign["id"]))["status"] == "completed"


async def test_a_worker_that_dies_mid_conversation_leaves_an_unknown_message_not_a_resend(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    campaign = await harness.campaign(mailbox, [contact])
    # A worker claims the message and dies before it records anything.
    dead = SendTask(harness.resources, owner="dead-worker")
    jobs = await sending.claim(
        harness.database,
        now=now(),
        owner=dead.owner,
        limit=10,
        lease_seconds=30,
        smtp_timeout=5,
        secret_box=harness.resources.secret_box,
        links=dead.links,
    )
    assert [job.contact_id for job in jobs] == [contact["id"]]
    await dead.aclose()

    assert await harness.drain() == 0  # in flight: not claimable, lease not yet expired
    assert await sending.sweep_abandoned(harness.database, now=now()) == 0
    assert await sending.sweep_abandoned(harness.database, now=now() + timedelta(seconds=31)) == 1
    (message,) = await harness.messages(campaign["id"])
    assert message.status == "unknown" and message.message_id == jobs[0].message_id
    (lead,) = await harness.leads(campaign["id"])
    assert lead["status"] == "failed" and "not sent again" in lead["reason"]
    assert await harness.drain() == 0 and sink.messages == []
    assert (await harness.status(campaign["id"]))["status"] == "completed"


async def test_plain_smtp_is_refused_unless_private_hosts_are_allowed(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    campaign = await harness.campaign(mailbox, await harness.contacts(1))
    strict = harness.resources.settings.model_copy(update={"allow_private_hosts": False})
    harness.task.allow_private = strict.allow_private_hosts
    harness.task.pool.allow_private = False
    await harness.drain()
    assert sink.messages == []
    account = ok_object(await harness.client.get(f"/email-accounts/{mailbox['id']}"))
    assert account["status"] == "error" and "FLUENZR_ALLOW_PRIVATE_HOSTS" in account["lastError"]
    (lead,) = await harness.leads(campaign["id"])
    assert lead["status"] == "active"


async def test_starttls_with_auth_on_a_test_certificate(harness: Harness, sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="starttls", credentials=SINK_LOGIN)
    harness.task.pool.tls_context = sink.client_tls_context()
    mailbox = await harness.mailbox(sink, smtp={"host": "localhost", "security": "starttls"})
    campaign = await harness.campaign(mailbox, await harness.contacts(2))
    await harness.drain()
    assert len(sink.messages) == 2
    assert (await harness.stats(campaign["id"]))["sent"] == 2
