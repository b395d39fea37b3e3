"""Replies, auto-replies, late bounces and `mailto:` unsubscribes, end to end on both databases: a campaign
sends through the SMTP sink, the test APPENDs what Gmail, Outlook or Postfix would deliver into a real
Dovecot INBOX, one poller tick reads it, and the lead, the statistics, the events and the suppression
list show the effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fluenzr_server.engine.poller import ImapPollTask
from fluenzr_server.engine.smtp_sink import TestCertificate
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from tests.engine import mail_samples as samples
from tests.engine.conftest import ImapUser, SinkFactory
from tests.engine.sending.conftest import Harness
from tests.utils.assertions import ok_object

TWO_STEPS = [
    {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}!"},
    {"subject": "Following up", "body": "Any thoughts, {{firstName}}?", "delayDays": 1},
]


class Scene:
    """One mailbox with IMAP, one running two-step campaign, its first step sent."""

    def __init__(self, harness: Harness, user: ImapUser, poller: ImapPollTask) -> None:
        self.harness = harness
        self.user = user
        self.poller = poller
        self.mailbox: dict[str, Any] = {}
        self.campaign: dict[str, Any] = {}
        self.contacts: list[dict[str, Any]] = []
        self.sink: Any = None

    async def start(self, sink_factory: SinkFactory, *, leads: int = 1, security: str = "starttls") -> None:
        self.sink = await sink_factory()
        self.mailbox = await self.harness.mailbox(self.sink, imap=self.user.settings(security))
        self.contacts = await self.harness.contacts(leads)
        self.campaign = await self.harness.campaign(self.mailbox, self.contacts, steps=TWO_STEPS)
        assert await self.harness.drain() == leads
        assert len(self.sink.messages) == leads

    async def sent(self, index: int = 0) -> Any:
        rows = [m for m in await self.harness.messages(self.campaign["id"]) if m.step == 0]
        contact_id = self.contacts[index]["id"]
        return next(row for row in rows if row.contact_id == contact_id)

    async def deliver(self, build: Callable[..., bytes], index: int = 0, **extra: Any) -> None:
        message = await self.sent(index)
        fields = {
            "lead": message.to_email,
            "mailbox": self.mailbox["fromEmail"],
            "our_id": message.message_id,
            "subject": f"Quick question, Ada{index}",
            **extra,
        }
        self.user.append(build(**fields))

    async def poll(self) -> int:
        """One poller tick. Mailboxes of other tests (same database) are parked first, so the tick can
        only find this test's."""
        await self.park_others()
        return await self.poller.tick(self.harness.resources)

    async def park_others(self) -> None:
        async with self.harness.database.write() as conn:
            await conn.execute(
                update(t.imap_mailboxes)
                .where(t.imap_mailboxes.c.account_id != self.harness.account_id)
                .values(next_poll_at=now() + timedelta(days=1))
            )

    async def lead(self, index: int = 0) -> dict[str, Any]:
        leads = await self.harness.leads(self.campaign["id"])
        return next(lead for lead in leads if lead["contactId"] == self.contacts[index]["id"])

    async def inbound(self) -> list[Any]:
        async with self.harness.database.read() as conn:
            query = select(t.inbound_messages).where(
                t.inbound_messages.c.email_account_id == self.mailbox["id"]
            )
            return list((await conn.execute(query.order_by(t.inbound_messages.c.uid))).all())

    async def imap_row(self) -> Any:
        async with self.harness.database.read() as conn:
            query = select(t.imap_mailboxes).where(t.imap_mailboxes.c.id == self.mailbox["id"])
            return (await conn.execute(query)).one()

    async def imap_status(self) -> dict[str, Any]:
        found = ok_object(await self.harness.client.get(f"/email-accounts/{self.mailbox['id']}"))
        imap: dict[str, Any] = found["imap"]
        return imap

    async def make_poll_due(self) -> None:
        async with self.harness.database.write() as conn:
            await conn.execute(
                update(t.imap_mailboxes)
                .where(t.imap_mailboxes.c.id == self.mailbox["id"])
                .values(next_poll_at=now() - timedelta(seconds=1))
            )

    async def suppression(self, email: str) -> Any:
        async with self.harness.database.read() as conn:
            query = select(t.suppressions).where(
                t.suppressions.c.account_id == self.harness.account_id, t.suppressions.c.email == email
            )
            return (await conn.execute(query)).first()

    async def step_two_sent(self) -> int:
        await self.harness.make_due(self.campaign["id"])
        return await self.harness.drain()


@pytest.fixture
def scene(harness: Harness, imap_user: ImapUser, certificate: TestCertificate) -> Scene:
    return Scene(
        harness, imap_user, ImapPollTask(harness.resources, tls_context=certificate.client_context())
    )


@pytest.mark.parametrize(
    ("build", "security"), [(samples.gmail_reply, "tls"), (samples.outlook_reply, "starttls")]
)
async def test_reply_stops_the_sequence_and_fires_email_replied(
    scene: Scene, sink_factory: SinkFactory, build: Callable[..., bytes], security: str
) -> None:
    await scene.start(sink_factory, leads=2, security=security)
    await scene.deliver(build, text="Sounds good. Can we talk on Thursday?")

    assert await scene.poll() == 1
    replied = await scene.lead(0)
    assert (replied["status"], replied["reason"], replied["nextSendAt"]) == (
        "replied",
        "replied to step 1",
        None,
    )
    assert (await scene.lead(1))["status"] == "active"
    stats = await scene.harness.stats(scene.campaign["id"])
    assert (stats["sent"], stats["replied"], stats["replyRate"]) == (2, 1, 50.0)
    (event,) = await scene.harness.events("email.replied")
    ours = await scene.sent(0)
    assert event.data["messageId"] == ours.message_id
    assert (event.data["contactId"], event.data["step"]) == (scene.contacts[0]["id"], 0)
    assert event.data["reply"] == {
        "subject": "Re: Quick question, Ada0" if build is samples.gmail_reply else "RE: Quick question, Ada0",
        "snippet": "Sounds good. Can we talk on Thursday?",
        "from": ours.to_email,
    }
    imap = await scene.imap_status()
    assert (imap["status"], imap["lastError"], imap["lastPolledAt"] is not None) == ("active", None, True)
    assert "password" not in imap

    # The sequence stopped for the lead that replied only; the next poll re-processes nothing.
    assert await scene.step_two_sent() == 1
    assert len(scene.sink.messages) == 3
    await scene.make_poll_due()
    assert await scene.poll() == 1
    assert len(await scene.inbound()) == 1
    assert len(await scene.harness.events("email.replied")) == 1


async def test_a_reply_to_a_message_we_did_not_send_is_recorded_as_other(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory)
    message = await scene.sent()
    scene.user.append(
        samples.gmail_reply(
            lead=message.to_email,
            mailbox=scene.mailbox["fromEmail"],
            our_id="<someone-else@elsewhere.example>",
            subject="Hello",
            text="Hi",
        )
    )
    assert await scene.poll() == 1
    (inbound,) = await scene.inbound()
    assert (inbound.kind, inbound.campaign_id) == ("other", None)
    assert (await scene.lead())["status"] == "active"
    assert await scene.harness.events("email.replied") == []


async def test_auto_replies_are_recorded_and_the_sequence_goes_on(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory)
    for build in (samples.gmail_vacation, samples.outlook_automatic_reply, samples.spanish_out_of_office):
        await scene.deliver(build)

    assert await scene.poll() == 1
    inbound = await scene.inbound()
    assert [row.kind for row in inbound] == ["auto_reply"] * 3
    assert {row.contact_id for row in inbound} == {scene.contacts[0]["id"]}
    lead = await scene.lead()
    assert (lead["status"], lead["nextSendAt"] is not None) == ("active", True)
    assert (await scene.harness.stats(scene.campaign["id"]))["replied"] == 0
    assert await scene.harness.events("email.replied") == []
    assert await scene.step_two_sent() == 1


@pytest.mark.parametrize(
    ("build", "status"),
    [(samples.postfix_bounce, "5.1.1"), (samples.gmail_bounce, "5.1.1"), (samples.outlook_bounce, "5.1.10")],
)
async def test_hard_bounce_report_bounces_the_lead_and_suppresses_the_address(
    scene: Scene, sink_factory: SinkFactory, build: Callable[..., bytes], status: str
) -> None:
    await scene.start(sink_factory, leads=2)
    await scene.deliver(build)

    assert await scene.poll() == 1
    lead = await scene.lead(0)
    assert (lead["status"], lead["reason"].startswith(f"step 1: {status} ")) == ("bounced", True)
    stats = await scene.harness.stats(scene.campaign["id"])
    assert (stats["sent"], stats["bounced"], stats["bounceRate"]) == (1, 1, 50.0)
    ours = await scene.sent(0)
    assert ours.status == "bounced"
    suppressed = await scene.suppression(ours.to_email)
    assert (suppressed.reason, suppressed.detail.startswith(status)) == ("bounced", True)
    (event,) = await scene.harness.events("email.bounced")
    assert event.data["messageId"] == ours.message_id
    assert event.data["reason"].startswith(f"{status} smtp;")
    (inbound,) = await scene.inbound()
    assert (inbound.kind, inbound.message_id) == ("hard_bounce", ours.id)

    # The sequence stopped for that lead only.
    assert await scene.step_two_sent() == 1


async def test_bounce_report_without_returned_headers_is_matched_by_address(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory)
    await scene.deliver(samples.postfix_bounce, our_id=None)

    assert await scene.poll() == 1
    assert (await scene.lead())["status"] == "bounced"
    assert (await scene.harness.stats(scene.campaign["id"]))["bounced"] == 1


async def test_soft_bounce_is_recorded_not_suppressed_and_the_sequence_goes_on(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory)
    await scene.deliver(samples.postfix_delayed)

    assert await scene.poll() == 1
    (inbound,) = await scene.inbound()
    assert (inbound.kind, inbound.detail.startswith("4.4.1")) == ("soft_bounce", True)
    assert (await scene.lead())["status"] == "active"
    assert await scene.suppression((await scene.sent()).to_email) is None
    assert await scene.harness.events("email.bounced") == []
    assert (await scene.harness.stats(scene.campaign["id"]))["bounced"] == 0
    assert await scene.step_two_sent() == 1


async def test_mailto_unsubscribe_request_unsubscribes_the_lead(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory, leads=2)
    ours = await scene.sent(0)
    scene.user.append(samples.mailto_unsubscribe(lead=ours.to_email, mailbox=scene.mailbox["fromEmail"]))
    scene.user.append(
        samples.mailto_unsubscribe(lead="stranger@example.net", mailbox=scene.mailbox["fromEmail"])
    )

    assert await scene.poll() == 1
    lead = await scene.lead(0)
    assert (lead["status"], lead["reason"]) == ("unsubscribed", "unsubscribed (mailto)")
    assert (await scene.lead(1))["status"] == "active"
    assert (await scene.suppression(ours.to_email)).reason == "unsubscribed"
    assert await scene.suppression("stranger@example.net") is None
    (event,) = await scene.harness.events("contact.unsubscribed")
    assert event.data["id"] == scene.contacts[0]["id"]
    assert (await scene.harness.stats(scene.campaign["id"]))["unsubscribed"] == 1
    assert [row.kind for row in await scene.inbound()] == ["unsubscribe", "unsubscribe"]
    assert await scene.step_two_sent() == 1


async def test_changed_uidvalidity_resets_the_cursor_without_processing_twice(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory, leads=2)
    await scene.deliver(samples.gmail_reply, text="Yes please")
    assert await scene.poll() == 1
    before = await scene.imap_row()
    assert (before.last_uid, before.uid_validity is not None) == (1, True)

    scene.user.server.reset_uid_validity(scene.user.name)  # the server numbers its messages afresh
    await scene.deliver(samples.gmail_reply, index=1, text="Me too")
    await scene.make_poll_due()
    assert await scene.poll() == 1

    after = await scene.imap_row()
    assert after.uid_validity != before.uid_validity
    assert after.last_uid == 2
    inbound = await scene.inbound()
    assert [(row.kind, row.uid_validity) for row in inbound] == [
        ("reply", before.uid_validity),
        ("reply", after.uid_validity),
    ]
    events = await scene.harness.events("email.replied")
    assert [e.data["contactId"] for e in events] == [scene.contacts[0]["id"], scene.contacts[1]["id"]]


async def test_two_pollers_never_poll_one_mailbox_at_once(
    scene: Scene, sink_factory: SinkFactory, certificate: TestCertificate
) -> None:
    await scene.start(sink_factory)
    await scene.deliver(samples.gmail_reply, text="Hello")
    other = ImapPollTask(scene.harness.resources, tls_context=certificate.client_context())
    await scene.park_others()
    handled = await asyncio.gather(
        scene.poller.tick(scene.harness.resources), other.tick(scene.harness.resources)
    )
    assert sorted(handled) == [0, 1]
    assert len(await scene.inbound()) == 1
    assert len(await scene.harness.events("email.replied")) == 1


async def test_many_messages_are_read_in_bounded_batches(
    scene: Scene, sink_factory: SinkFactory, certificate: TestCertificate
) -> None:
    await scene.start(sink_factory)
    for _ in range(5):
        await scene.deliver(samples.gmail_vacation)
    scene.poller = ImapPollTask(
        scene.harness.resources, tls_context=certificate.client_context(), messages_per_poll=2
    )
    for expected in (2, 4, 5):
        assert await scene.poll() == 1
        assert len(await scene.inbound()) == expected
    assert (await scene.imap_row()).next_poll_at is not None
    assert await scene.poll() == 0  # read to the end: due again after the poll interval only


async def test_wrong_password_is_an_error_with_back_off_until_fixed(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    scene.user.password, real = "wrong-password", scene.user.password
    await scene.start(sink_factory)
    await scene.deliver(samples.gmail_reply, text="Hi")

    assert await scene.poll() == 1
    imap = await scene.imap_status()
    assert imap["status"] == "error"
    assert "refused the login" in imap["lastError"]
    row = await scene.imap_row()
    assert row.next_poll_at.replace(tzinfo=None) > (now() + timedelta(seconds=40)).replace(tzinfo=None)
    assert await scene.poll() == 0  # backing off

    fixed = await scene.harness.client.put(
        f"/email-accounts/{scene.mailbox['id']}", json={"imap": {"password": real}}
    )
    assert ok_object(fixed)["imap"]["status"] == "active"
    assert await scene.poll() == 1
    assert (await scene.imap_status())["status"] == "active"
    assert (await scene.lead())["status"] == "replied"


async def test_server_down_is_an_error_then_recovers(
    harness: Harness, sink_factory: SinkFactory, certificate: TestCertificate
) -> None:
    from tests.engine.conftest import start_dovecot, stop_dovecot

    server = start_dovecot(certificate)
    try:
        server.add_user("sales", "pw")
        user = ImapUser(server, "sales", "pw")
        scene = Scene(
            harness, user, ImapPollTask(harness.resources, tls_context=certificate.client_context())
        )
        await scene.start(sink_factory)
        server.stop()

        assert await scene.poll() == 1
        imap = await scene.imap_status()
        assert (imap["status"], imap["lastPolledAt"]) == ("error", None)
        assert "connection refused" in imap["lastError"]
        assert (await scene.imap_row()).consecutive_failures == 1

        server.start()
        await scene.deliver(samples.outlook_reply, text="Back online")
        await scene.make_poll_due()
        assert await scene.poll() == 1
        imap = await scene.imap_status()
        assert (imap["status"], imap["lastError"]) == ("active", None)
        assert (await scene.imap_row()).consecutive_failures == 0
        assert (await scene.lead())["status"] == "replied"
    finally:
        stop_dovecot(server)


async def test_nothing_in_the_mailbox_is_changed(scene: Scene, sink_factory: SinkFactory) -> None:
    await scene.start(sink_factory)
    await scene.deliver(samples.gmail_reply, text="Hi")
    await scene.deliver(samples.postfix_delayed)
    assert await scene.poll() == 1
    maildir = scene.user.server.maildir(scene.user.name)
    unread = sorted(p.name for p in (maildir / "new").iterdir())
    assert len(unread) == 2  # still unseen, still there
    assert not list((maildir / "cur").iterdir())


async def test_removing_imap_settings_stops_polling(scene: Scene, sink_factory: SinkFactory) -> None:
    await scene.start(sink_factory)
    removed = await scene.harness.client.put(f"/email-accounts/{scene.mailbox['id']}", json={"imap": None})
    assert ok_object(removed)["imap"] is None
    await scene.deliver(samples.gmail_reply, text="Hi")
    assert await scene.poll() == 0
    async with scene.harness.database.read() as conn:
        count = (
            select(func.count())
            .select_from(t.imap_mailboxes)
            .where(t.imap_mailboxes.c.id == scene.mailbox["id"])
        )
        assert (await conn.execute(count)).scalar_one() == 0


async def test_a_host_resolving_to_a_private_address_is_refused_at_connect_time(
    scene: Scene, sink_factory: SinkFactory, database_url: str
) -> None:
    """Accepted while FLUENZR_ALLOW_PRIVATE_HOSTS was on; a worker without it refuses to connect."""
    from tests.conftest import resources_for, test_settings

    await scene.start(sink_factory)
    strict = resources_for(scene.harness.resources, test_settings(database_url))
    assert not strict.settings.allow_private_hosts
    await scene.park_others()
    assert await scene.poller.tick(strict) == 1
    imap = await scene.imap_status()
    assert imap["status"] == "error"
    assert "non-public address (127.0.0.1)" in imap["lastError"]


async def test_settings_changed_during_a_poll_drop_its_outcome(
    scene: Scene, sink_factory: SinkFactory
) -> None:
    await scene.start(sink_factory)
    await scene.deliver(samples.gmail_reply, text="Hi")
    await scene.park_others()
    original = scene.poller._record

    async def record_after_an_update(*args: Any) -> None:
        ok_object(
            await scene.harness.client.put(
                f"/email-accounts/{scene.mailbox['id']}", json={"imap": {"password": scene.user.password}}
            )
        )
        await original(*args)

    scene.poller._record = record_after_an_update  # type: ignore[method-assign]
    assert await scene.poller.tick(scene.harness.resources) == 1
    assert await scene.inbound() == []  # this poll's lease was ended by the update: nothing recorded
    scene.poller._record = original  # type: ignore[method-assign]
    assert await scene.poll() == 1  # due at once, read again
    assert (await scene.lead())["status"] == "replied"
