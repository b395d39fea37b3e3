"""The SMTP sink (fluenzr_server.engine.smtp_sink) seen by a real client: aiosmtplib (and stdlib smtplib)."""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from fluenzr_server.engine.smtp_sink import SmtpSink

from .conftest import SinkFactory


def message(to: str = "ada@example.com", message_id: str = "<m1@acme.example>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Sam <sales@acme.example>"
    msg["To"] = to
    msg["Subject"] = "Quick question"
    msg["Message-ID"] = message_id
    msg.set_content("Hi Ada!\n")
    return msg


async def send(sink: SmtpSink, msg: EmailMessage | None = None, **options: object) -> object:
    security = options.pop("security", sink.security)
    return await aiosmtplib.send(
        msg or message(),
        hostname="localhost",
        port=sink.port,
        use_tls=security == "tls",
        start_tls=security == "starttls",
        tls_context=sink.client_tls_context() if sink.certificate else None,
        timeout=options.pop("timeout", 5),
        **options,  # type: ignore[arg-type]
    )


async def test_plain_sink_records_envelope_bytes_and_ids(smtp_sink: SmtpSink) -> None:
    await send(smtp_sink)
    [got] = smtp_sink.messages
    assert got.mail_from == "sales@acme.example"
    assert got.rcpt_tos == ["ada@example.com"]
    assert got.message_id == "<m1@acme.example>"
    assert got.subject == "Quick question"
    assert b"Hi Ada!" in got.data
    assert smtp_sink.message_ids() == ["<m1@acme.example>"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"Message-ID: <a@x.example>", "<a@x.example>"),
        (b"message-id:<b@x.example>", "<b@x.example>"),
        (b"Message-ID:\r\n <folded.long.id@x.example>", "<folded.long.id@x.example>"),
        (b"X-Message-ID: <not-this@x.example>", None),
        (b"Subject: no id", None),
    ],
)
async def test_message_id_is_read_from_the_header_block(
    smtp_sink: SmtpSink, head: bytes, expected: str | None
) -> None:
    data = (
        b"From: s@acme.example\r\n"
        + head
        + b"\r\nSubject: =?utf-8?q?Hola_Zo=C3=AB?=\r\n\r\nMessage-ID: <body@x.example>\r\n"
    )
    await aiosmtplib.send(
        data, sender="s@acme.example", recipients=["a@example.com"], hostname="127.0.0.1", port=smtp_sink.port
    )
    [got] = smtp_sink.messages
    assert got.message_id == expected
    assert got.subject == ("no id" if head.startswith(b"Subject") else "Hola Zoë")


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_auth_over_tls(sink_factory: SinkFactory, security: str) -> None:
    sink = await sink_factory(security=security, credentials=("sales@acme.example", "s3cret"))
    await send(sink, username="sales@acme.example", password="s3cret")
    assert sink.message_ids() == ["<m1@acme.example>"]


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_wrong_password_is_535(sink_factory: SinkFactory, security: str) -> None:
    sink = await sink_factory(security=security, credentials=("sales@acme.example", "s3cret"))
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as caught:
        await send(sink, username="sales@acme.example", password="wrong")
    assert caught.value.code == 535
    assert sink.messages == []


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_without_credentials_any_login_passes_and_none_is_needed(
    sink_factory: SinkFactory, security: str
) -> None:
    sink = await sink_factory(security=security)
    await send(sink, username="anyone", password="anything")
    await send(sink)
    assert len(sink.messages) == 2


async def test_auth_is_required_when_credentials_are_set(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="tls", credentials=("u", "p"))
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
        await send(sink)
    assert caught.value.code == 530


async def test_starttls_sink_refuses_mail_before_starttls(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="starttls")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
        await aiosmtplib.send(message(), hostname="127.0.0.1", port=sink.port, start_tls=False, timeout=5)
    assert caught.value.code == 530


async def test_certificate_is_not_trusted_without_the_test_ca(sink_factory: SinkFactory) -> None:
    sink = await sink_factory(security="tls")
    system_trust = ssl.create_default_context()
    with pytest.raises(aiosmtplib.SMTPConnectError) as caught:
        await aiosmtplib.send(
            message(), hostname="localhost", port=sink.port, use_tls=True, tls_context=system_trust
        )
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


async def test_5xx_at_rcpt_for_a_given_recipient(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 550, recipients=["Gone@Example.com"])
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
        await send(smtp_sink, message(to="gone@example.com"))
    assert [e.code for e in caught.value.recipients] == [550]
    await send(smtp_sink, message(to="ada@example.com"))  # others are not affected
    assert len(smtp_sink.messages) == 1


async def test_4xx_at_rcpt_for_the_next_message_only(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 451, count=1)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
        await send(smtp_sink)
    assert caught.value.recipients[0].code == 451
    await send(smtp_sink)
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("code", [452, 554])
async def test_reply_at_data(smtp_sink: SmtpSink, code: int) -> None:
    smtp_sink.fail("data", code, "scripted", count=1)
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(smtp_sink)
    assert caught.value.code == code
    assert smtp_sink.messages == []


async def test_4xx_at_mail(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("mail", 421, count=1)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
        await send(smtp_sink)
    assert caught.value.code == 421


async def test_drop_mid_data(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("data", count=1)
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await send(smtp_sink)
    assert smtp_sink.messages == []


async def test_drop_mid_data_after_keeping_the_message(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("data", count=1, keep=True)
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await send(smtp_sink)
    assert smtp_sink.message_ids() == ["<m1@acme.example>"]  # delivered, though the client never heard


async def test_drop_at_rcpt(smtp_sink: SmtpSink) -> None:
    smtp_sink.drop("rcpt", count=1)
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await send(smtp_sink)


async def test_slow_reply_times_the_client_out(smtp_sink: SmtpSink) -> None:
    smtp_sink.slow("data", 1.0, count=1)
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        await send(smtp_sink, timeout=0.3)


async def test_rules_run_out(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("rcpt", 450, count=2)
    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await send(smtp_sink)
    await send(smtp_sink)
    smtp_sink.fail("rcpt", 550)
    smtp_sink.clear_rules()
    await send(smtp_sink)
    assert len(smtp_sink.messages) == 2


async def test_maildir_keeps_every_message(sink_factory: SinkFactory, tmp_path: Path) -> None:
    # `make smtp-sink` on a fresh clone: `.fluenzr/` does not exist yet.
    folder = tmp_path / ".fluenzr" / "maildir"
    sink = await sink_factory(maildir=folder)
    await send(sink, message(message_id="<a@acme.example>"))
    await send(sink, message(message_id="<b@acme.example>"))
    kept = sorted(str(m["Message-ID"]) for m in mailbox.Maildir(folder, create=False))
    assert kept == ["<a@acme.example>", "<b@acme.example>"]


def test_threaded_sink_with_a_blocking_client(threaded_sink: SmtpSink) -> None:
    with smtplib.SMTP("127.0.0.1", threaded_sink.port, timeout=5) as client:
        client.send_message(message(message_id="<sync@acme.example>"))
    assert threaded_sink.wait_for(1)[0].message_id == "<sync@acme.example>"
    threaded_sink.fail("rcpt", 550, count=1)
    with (
        smtplib.SMTP("127.0.0.1", threaded_sink.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.send_message(message())
    with pytest.raises(TimeoutError):
        threaded_sink.wait_for(2, timeout=0.2)


async def test_connections_are_counted(smtp_sink: SmtpSink) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_sink.port, timeout=5) as client:
        await client.send_message(message(message_id="<1@acme.example>"))
        await client.send_message(message(message_id="<2@acme.example>"))
    assert smtp_sink.connections == 1
    assert len(smtp_sink.messages) == 2
