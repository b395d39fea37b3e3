"""SMTP delivery (fluenzr_server.engine.smtp) against the in-process sink: every outcome, both TLS modes."""

from __future__ import annotations

import asyncio
import random
import socket
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from fluenzr_server.engine import smtp
from fluenzr_server.engine.message import build_message
from fluenzr_server.engine.smtp import MailboxConnection, SendOutcome, SmtpPool, SmtpSettings, backoff
from fluenzr_server.engine.smtp_sink import SmtpSink, make_test_certificate

from .conftest import SinkFactory

USER, PASSWORD = "sales@acme.example", "app-password"


def mail(n: int = 1, to: str = "ada@example.com") -> EmailMessage:
    return build_message(
        from_email="sales@acme.example",
        from_name="Sam",
        to_email=to,
        to_name="Ada",
        subject=f"Quick question {n}",
        body_text="Hi Ada!\n.\nA line with a leading dot, above.\n",
        message_id=f"<{n}.test@acme.example>",
        in_reply_to=None,
        references=[],
        date=datetime(2025, 3, 3, 10, tzinfo=UTC),
    )


def settings(sink: SmtpSink, **changes: object) -> SmtpSettings:
    base = SmtpSettings(
        host="localhost",
        port=sink.port,
        username=USER if sink.credentials else "",
        password=PASSWORD if sink.credentials else "",
        security=sink.security,
        timeout=10.0,  # generous: the machine may be busy; timeout tests set their own
    )
    return SmtpSettings(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def connection(sink: SmtpSink, **changes: object) -> MailboxConnection:
    context = sink.client_tls_context() if sink.certificate else None
    return MailboxConnection(settings(sink, **changes), allow_private=True, tls_context=context)


# -- sent -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_sent_with_auth_over_tls(sink_factory: SinkFactory, security: str) -> None:
    sink = await sink_factory(security=security, credentials=(USER, PASSWORD))
    conn = connection(sink)
    outcome = await conn.send(mail())
    await conn.close()
    assert outcome.kind == "sent"
    assert outcome.code == 250
    assert "2.0.0" in outcome.reply
    [got] = sink.messages
    assert got.message_id == "<1.test@acme.example>"
    assert got.mail_from == "sales@acme.example"
    assert got.rcpt_tos == ["ada@example.com"]
    assert b"\r\n..\r\n" not in got.data  # the dot-stuffing was undone by the server
    assert b"Hi Ada!\r\n.\r\nA line" in got.data


async def test_sent_in_plain_text_to_a_local_sink(smtp_sink: SmtpSink) -> None:
    outcome = await smtp.send(settings(smtp_sink, security="none"), mail(), allow_private=True)
    assert outcome == SendOutcome("sent", 250, outcome.reply, "")
    assert smtp_sink.message_ids() == ["<1.test@acme.example>"]


async def test_none_with_credentials_still_authenticates(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(credentials=(USER, PASSWORD))
    assert (await smtp.send(settings(sink), mail(), allow_private=True)).kind == "sent"
    bad = await smtp.send(settings(sink, password="wrong"), mail(2), allow_private=True)
    assert bad.kind == "auth_failed"
    assert bad.code == 535


async def test_consecutive_sends_reuse_one_connection(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="starttls", credentials=(USER, PASSWORD))
    conn = connection(sink)
    outcomes = [await conn.send(mail(n)) for n in range(1, 6)]
    await conn.close()
    assert [o.kind for o in outcomes] == ["sent"] * 5
    assert sink.connections == 1
    assert conn.connects == 1
    assert len(set(sink.message_ids())) == 5


async def test_reconnects_when_the_server_dropped_an_idle_connection(smtp_sink: SmtpSink) -> None:
    conn = connection(smtp_sink)
    assert (await conn.send(mail(1))).kind == "sent"
    smtp_sink.disconnect_all()
    assert (await conn.send(mail(2))).kind == "sent"
    await conn.close()
    assert conn.connects == 2
    assert smtp_sink.message_ids() == ["<1.test@acme.example>", "<2.test@acme.example>"]


async def test_an_idle_connection_is_checked_with_noop_before_reuse(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connection(smtp_sink)
    assert (await conn.send(mail(1))).kind == "sent"
    assert (await conn.send(mail(2))).kind == "sent"
    assert smtp_sink.commands == []  # busy: no check between consecutive sends
    monkeypatch.setattr(smtp, "IDLE_CHECK_SECONDS", 0.0)
    assert (await conn.send(mail(3))).kind == "sent"
    await conn.close()
    assert smtp_sink.commands == ["NOOP"]
    assert conn.connects == 1


async def test_a_421_to_mail_on_a_reused_connection_reconnects_at_once(smtp_sink: SmtpSink) -> None:
    conn = connection(smtp_sink)
    assert (await conn.send(mail(1))).kind == "sent"
    smtp_sink.fail("mail", 421, "4.7.0 Too many messages on this connection", count=1)
    assert (await conn.send(mail(2))).kind == "sent"
    await conn.close()
    assert conn.connects == 2


async def test_the_connection_is_reset_and_reused_after_a_refused_recipient(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 550, recipients=["gone@example.com"])
    conn = connection(smtp_sink)
    assert (await conn.send(mail(1, to="gone@example.com"))).kind == "bounce"
    assert (await conn.send(mail(2))).kind == "sent"
    await conn.close()
    assert conn.connects == 1
    assert smtp_sink.commands == ["RSET"]
    assert smtp_sink.message_ids() == ["<2.test@acme.example>"]


# -- retry ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "code"), [("mail", 451), ("rcpt", 450), ("rcpt", 452), ("data", 451)])
async def test_4xx_is_retry(smtp_sink: SmtpSink, stage: str, code: int) -> None:
    smtp_sink.fail(stage, code, "4.3.0 try later", count=1)  # type: ignore[arg-type]
    conn = connection(smtp_sink)
    outcome = await conn.send(mail())
    assert outcome.kind == "retry"
    assert outcome.code == code
    assert outcome.reply == f"{code} 4.3.0 try later"
    assert str(code) in outcome.reason
    assert (await conn.send(mail(2))).kind == "sent"  # and the connection goes on
    await conn.close()


async def test_a_timeout_before_the_data_is_retry(smtp_sink: SmtpSink) -> None:
    smtp_sink.slow("rcpt", 1.5, count=1)
    outcome = await smtp.send(settings(smtp_sink, timeout=0.3), mail(), allow_private=True)
    assert outcome.kind == "retry"
    assert "timed out" in outcome.reason


async def test_a_drop_before_the_data_is_retry(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("rcpt", count=1)
    outcome = await smtp.send(settings(smtp_sink), mail(), allow_private=True)
    assert outcome.kind == "retry"
    assert smtp_sink.messages == []


async def scripted_server(
    final: bytes, greeting: bytes = b"220 fake ESMTP\r\n"
) -> tuple[asyncio.Server, int]:
    """A bare SMTP server that answers every command normally and `final` after the message data."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        while not reader.at_eof() and not greeting.startswith(b"4"):
            line = await reader.readline()
            command = line[:4].upper()
            if command == b"EHLO":
                writer.write(b"250-fake\r\n250 8BITMIME\r\n")
            elif command == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                await reader.readuntil(b"\r\n.\r\n")
                writer.write(final)
                await writer.drain()
                break
            elif command == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            elif line:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_4xx_greeting_is_retry() -> None:
    server, port = await scripted_server(b"", greeting=b"421 4.3.2 busy, try later\r\n")
    async with server:
        outcome = await smtp.send(
            SmtpSettings("127.0.0.1", port, "", "", "none", 10.0), mail(), allow_private=True
        )
    assert outcome.kind == "retry"
    assert outcome.code == 421


async def test_an_unreadable_reply_after_the_data_is_unknown() -> None:
    server, port = await scripted_server(b"\x00garbage with no code\r\n")
    async with server:
        outcome = await smtp.send(
            SmtpSettings("127.0.0.1", port, "", "", "none", 10.0), mail(), allow_private=True
        )
    assert outcome.kind == "unknown"
    assert "\x00" not in outcome.reason


async def test_replies_are_kept_short_and_on_one_line(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 550, "5.1.1 " + "very long\tline " * 200)
    outcome = await smtp.send(settings(smtp_sink), mail(), allow_private=True)
    assert outcome.kind == "bounce"
    assert len(outcome.reply) <= smtp.MAX_TEXT
    assert outcome.reply.endswith("…")
    assert "\t" not in outcome.reply


async def test_a_421_after_the_data_is_retry() -> None:
    # 4yz after the data: the server says it did not take the message (RFC 5321 §4.2.5)
    server, port = await scripted_server(b"421 4.4.2 closing, message not accepted\r\n")
    async with server:
        outcome = await smtp.send(
            SmtpSettings("127.0.0.1", port, "", "", "none", 10.0), mail(), allow_private=True
        )
    assert outcome.kind == "retry"
    assert outcome.code == 421


# -- unknown --------------------------------------------------------------------------------------------


async def test_a_drop_after_the_data_is_unknown(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("data", count=1, keep=True)
    conn = connection(smtp_sink)
    outcome = await conn.send(mail())
    assert outcome.kind == "unknown"
    assert "may have been delivered" in outcome.reason
    assert smtp_sink.message_ids() == ["<1.test@acme.example>"]  # it was, in fact
    assert (await conn.send(mail(2))).kind == "sent"  # a fresh connection for the next one
    await conn.close()
    assert conn.connects == 2


async def test_a_timeout_after_the_data_is_unknown(smtp_sink: SmtpSink) -> None:
    smtp_sink.slow("data", 1.5, count=1)
    outcome = await smtp.send(settings(smtp_sink, timeout=0.3), mail(), allow_private=True)
    assert outcome.kind == "unknown"
    assert "timed out" in outcome.reason


# -- bounce ---------------------------------------------------------------------------------------------


async def test_5xx_at_rcpt_is_a_bounce(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 550, "5.1.1 <gone@example.com>: user unknown", recipients=["gone@example.com"])
    outcome = await smtp.send(settings(smtp_sink), mail(to="gone@example.com"), allow_private=True)
    assert outcome == SendOutcome(
        "bounce",
        550,
        "550 5.1.1 <gone@example.com>: user unknown",
        "rejected at RCPT: 550 5.1.1 <gone@example.com>: user unknown",
    )


async def test_5xx_after_the_data_is_a_bounce(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("data", 554, "5.7.1 message content rejected", count=1)
    outcome = await smtp.send(settings(smtp_sink), mail(), allow_private=True)
    assert outcome.kind == "bounce"
    assert outcome.code == 554


# -- auth_failed ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_wrong_password_is_auth_failed(sink_factory: SinkFactory, security: str) -> None:
    sink = await sink_factory(security=security, credentials=(USER, PASSWORD))
    conn = connection(sink, password="wrong")
    outcome = await conn.send(mail())
    assert outcome.kind == "auth_failed"
    assert outcome.code == 535
    assert "535" in outcome.reason
    assert not conn.connected
    assert sink.messages == []


async def test_starttls_required_but_not_used_is_auth_failed(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="starttls")
    outcome = await smtp.send(settings(sink, security="none"), mail(), allow_private=True)
    assert outcome.kind == "auth_failed"
    assert outcome.code == 530


async def test_starttls_not_offered_is_auth_failed(smtp_sink: SmtpSink) -> None:
    outcome = await smtp.send(settings(smtp_sink, security="starttls"), mail(), allow_private=True)
    assert outcome.kind == "auth_failed"
    assert "STARTTLS" in outcome.reason


async def test_no_auth_offered_with_credentials_over_tls_is_auth_failed(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="tls", offer_auth=False)
    context = sink.client_tls_context()
    outcome = await smtp.send(
        settings(sink, username=USER, password=PASSWORD), mail(), allow_private=True, tls_context=context
    )
    assert outcome.kind == "auth_failed"
    assert "AUTH" in outcome.reason


async def test_plain_local_sink_without_auth_takes_the_message_despite_credentials(
    sink_factory: SinkFactory,
) -> None:
    sink = await sink_factory(offer_auth=False)  # security none: a local sink
    outcome = await smtp.send(settings(sink, username=USER, password=PASSWORD), mail(), allow_private=True)
    assert outcome.kind == "sent"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_untrusted_certificate_is_auth_failed(sink_factory: SinkFactory, security: str) -> None:
    sink = await sink_factory(security=security)
    outcome = await smtp.send(settings(sink), mail(), allow_private=True)  # the system's trust store
    assert outcome.kind == "auth_failed"
    assert "TLS failed" in outcome.reason
    assert "certificate" in outcome.reason.lower()


async def test_the_certificate_is_checked_against_the_host_name_not_the_address(
    sink_factory: SinkFactory,
) -> None:
    other = make_test_certificate(["mail.acme.example"])  # signed by its own CA; we trust that CA
    sink = await sink_factory(security="tls", certificate=other)
    outcome = await smtp.send(
        settings(sink), mail(), allow_private=True, tls_context=other.client_context()
    )  # host "localhost" (127.0.0.1), certificate for mail.acme.example
    assert outcome.kind == "auth_failed"
    assert "localhost" in outcome.reason or "match" in outcome.reason.lower()


async def test_5xx_to_mail_is_auth_failed(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("mail", 553, "5.7.1 Sender address rejected: not owned by user")
    outcome = await smtp.send(settings(smtp_sink), mail(), allow_private=True)
    assert outcome.kind == "auth_failed"
    assert "refuses this sender" in outcome.reason


# -- refused --------------------------------------------------------------------------------------------


async def test_a_private_host_is_refused_unless_allowed(smtp_sink: SmtpSink) -> None:
    outcome = await smtp.send(settings(smtp_sink), mail(), allow_private=False)
    assert outcome.kind == "refused"
    assert "non-public address" in outcome.reason
    assert smtp_sink.connections == 0


async def test_an_unresolvable_host_is_refused(smtp_sink: SmtpSink) -> None:
    outcome = await smtp.send(settings(smtp_sink, host="no-such-host.invalid"), mail(), allow_private=True)
    assert outcome.kind == "refused"
    assert "does not resolve" in outcome.reason


async def test_a_closed_port_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await smtp.send(
        SmtpSettings("127.0.0.1", port, "", "", "none", 10.0), mail(), allow_private=True
    )
    assert outcome.kind == "refused"
    assert "connection refused" in outcome.reason


# -- the pool ---------------------------------------------------------------------------------------------


async def test_pool_keeps_one_connection_per_mailbox_and_replaces_it_when_settings_change(
    sink_factory: SinkFactory,
) -> None:
    first = await sink_factory()
    second = await sink_factory()
    pool = SmtpPool(allow_private=True)
    for n in range(3):
        assert (await pool.send("acc_1", settings(first), mail(n))).kind == "sent"
        assert (await pool.send("acc_2", settings(second), mail(10 + n))).kind == "sent"
    assert (first.connections, second.connections) == (1, 1)
    moved = settings(second)  # acc_1 now points at the second server
    assert (await pool.send("acc_1", moved, mail(20))).kind == "sent"
    assert second.connections == 2
    await pool.discard("acc_2")
    assert (await pool.send("acc_2", settings(second), mail(21))).kind == "sent"
    assert second.connections == 3
    await pool.close()
    assert len(first.messages) == 3
    assert len(second.messages) == 5


async def test_pool_closes_connections_left_idle(
    sink_factory: SinkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await sink_factory(), await sink_factory()
    pool = SmtpPool(allow_private=True)
    assert (await pool.send("acc_1", settings(first), mail(1))).kind == "sent"
    assert (await pool.send("acc_2", settings(second), mail(2))).kind == "sent"
    assert len(pool) == 2  # nothing idle yet
    monkeypatch.setattr(smtp, "POOL_IDLE_SECONDS", 0.0)
    assert (await pool.send("acc_2", settings(second), mail(3))).kind == "sent"
    assert len(pool) == 1  # acc_1 was closed; acc_2, in use, was kept
    assert (await pool.send("acc_1", settings(first), mail(4))).kind == "sent"
    await pool.close()
    assert (first.connections, second.connections) == (2, 1)


async def test_concurrent_sends_on_one_mailbox_are_serialised(smtp_sink: SmtpSink) -> None:
    pool = SmtpPool(allow_private=True)
    outcomes = await asyncio.gather(*(pool.send("acc_1", settings(smtp_sink), mail(n)) for n in range(10)))
    await pool.close()
    assert [o.kind for o in outcomes] == ["sent"] * 10
    assert smtp_sink.connections == 1
    assert len(set(smtp_sink.message_ids())) == 10


async def test_a_message_without_recipients_is_a_programming_error(smtp_sink: SmtpSink) -> None:
    message = EmailMessage()
    message["From"] = "sales@acme.example"
    with pytest.raises(ValueError, match="recipient"):
        await smtp.send(settings(smtp_sink), message, allow_private=True)


# -- backoff ----------------------------------------------------------------------------------------------


def test_backoff_schedule_with_jitter_and_cap() -> None:
    rng = random.Random(7)
    minutes = [1, 5, 15, 30, 60, 60, 60]
    for attempt, base in enumerate(minutes, start=1):
        for _ in range(50):
            wait = backoff(attempt, rng=rng)
            assert (
                timedelta(minutes=base) * 0.8
                <= wait
                <= min(timedelta(minutes=base) * 1.2, timedelta(hours=1))
            )
    assert backoff(100) <= timedelta(hours=1)
    assert len({backoff(1) for _ in range(20)}) > 1  # jittered


def test_backoff_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        backoff(0)
