"""A local SMTP server that keeps what it receives: the `smtp-sink` command and the tests' SMTP server.

Built on `aiosmtpd`. Listens on 127.0.0.1 (a free port by default) and records every message it accepts
(envelope from and to, raw bytes, Message-ID; other headers parsed on demand), optionally also into a
Maildir folder; `connections` and `commands` (NOOP, RSET) let tests see how a client reuses a connection.

- Security: `none`, `starttls` (RFC 3207; STARTTLS is required before MAIL and AUTH) or `tls` (implicit
  TLS, RFC 8314), with a certificate for `localhost` and 127.0.0.1 signed by a throwaway CA generated at
  start (`make_test_certificate`, `cryptography`); `client_tls_context()` trusts that CA.
- AUTH (RFC 4954, PLAIN and LOGIN) is required when `credentials` are given; a wrong password gets 535.
  Without them AUTH is optional and any credentials pass (a catch-all sink for `make run`).
- Scripted failures (`fail`, `drop`, `slow`): a 4yz/5yz reply at MAIL, RCPT or DATA for given recipients or
  for the next N commands/messages, a dropped connection (at DATA: after the whole message arrived, before
  the reply, the case a client cannot tell from a delivery; with `keep=True` the message is recorded as
  delivered first), or a slow reply.

Run it in the current event loop (`async with SmtpSink(...)`, `await start()`/`await stop()`) or in a
thread of its own (`with SmtpSink(...)`), which suits tests that also block (subprocesses, sync clients).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import mailbox
import re
import ssl
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SinkSecurity = Literal["none", "starttls", "tls"]
# The Message-ID field (RFC 5322 §3.6.4), possibly folded onto the next line.
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)
Stage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True)
class TestCertificate:
    """A throwaway CA and a server certificate it signed for `localhost` and 127.0.0.1 (PEM)."""

    __test__ = False  # not a pytest class

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context that verifies servers against this CA only (hostname checked)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))


def make_test_certificate(hostnames: Iterable[str] = ("localhost", "127.0.0.1")) -> TestCertificate:
    """A new CA (P-256) and a server certificate for `hostnames` (DNS names or IP literals), valid 1 day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FluenzR test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return TestCertificate(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as accepted: envelope, raw bytes (CRLF) and its Message-ID; other headers are parsed
    only when asked for (`subject`, `header`), so that recording stays cheap under load."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message_id: str | None
    received_at: dt.datetime

    @cached_property
    def headers(self) -> EmailMessage:
        """The parsed header block (values decoded from RFC 2047 when read)."""
        parsed = BytesHeaderParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str | None:
        return self.header("Subject")

    def header(self, name: str) -> str | None:
        """A header of the message, decoded (RFC 2047), or None."""
        value = self.headers.get(name)
        return str(value) if value is not None else None

    def summary(self) -> str:
        """One line: From, To, Subject and Message-ID, as the `smtp-sink` command prints it."""
        parts = {name: self.header(name) or "-" for name in ("From", "To", "Subject")}
        return (
            f"From: {parts['From']} | To: {parts['To']} | Subject: {parts['Subject']} | "
            f"Message-ID: {self.message_id or '-'}"
        )


@dataclass
class Rule:
    """One scripted behaviour: at `stage`, for `recipients` (any when empty) and at most `count` times
    (always when None): wait `delay` seconds, then reply `code text` or, with `drop`, close the connection
    (neither: carry on normally after the delay). With `keep`, a message refused or dropped at DATA is
    recorded anyway, as a server that delivered it but failed to say so."""

    stage: Stage
    code: int | None = None
    text: str = ""
    recipients: frozenset[str] = field(default_factory=frozenset)
    count: int | None = None
    drop: bool = False
    delay: float = 0.0
    keep: bool = False  # at DATA: record the message before replying or dropping (it "was delivered")

    def matches(self, stage: Stage, recipients: Iterable[str]) -> bool:
        if self.stage != stage or self.count == 0:
            return False
        if not self.recipients:
            return True
        return any(r.lower() in self.recipients for r in recipients)


def _default_text(code: int) -> str:
    return "4.3.0 Try again later (scripted)" if code < 500 else "5.1.1 Mailbox unavailable (scripted)"


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def _apply(self, server: SMTP, stage: Stage, recipients: Iterable[str]) -> str | None:
        rule = self.sink._take_rule(stage, recipients)
        if rule is None:
            return None
        if rule.delay:
            await asyncio.sleep(rule.delay)
        if rule.drop:
            if server.transport is not None:
                server.transport.close()
            return "421 4.4.2 Connection dropped (scripted)"
        if rule.code is not None:
            return f"{rule.code} {rule.text or _default_text(rule.code)}"
        return None

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, arg: str) -> str:
        self.sink._note("NOOP")
        return "250 2.0.0 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sink._note("RSET")
        return "250 2.0.0 OK"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = await self._apply(server, "mail", ())
        if scripted is not None:
            return scripted
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = await self._apply(server, "rcpt", (address,))
        if scripted is not None:
            return scripted
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rule = self.sink._peek_rule("data", envelope.rcpt_tos)
        if rule is not None and rule.keep:
            self._record(envelope)
        scripted = await self._apply(server, "data", envelope.rcpt_tos)
        if scripted is not None:
            return scripted
        message = self._record(envelope)
        return f"250 2.0.0 OK queued as {message.message_id or 'no-message-id'}"

    def _record(self, envelope: Envelope) -> ReceivedMessage:
        data = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not data:
            data = envelope.content
        return self.sink._record(str(envelope.mail_from or ""), list(envelope.rcpt_tos), data)


class _Authenticator:
    """Accepts exactly `credentials`, or any user name and password when they are None."""

    def __init__(self, credentials: tuple[str, str] | None) -> None:
        self.credentials = (credentials[0].encode(), credentials[1].encode()) if credentials else None

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            self.credentials is None or (auth_data.login, auth_data.password) == self.credentials
        )
        return AuthResult(success=ok, handled=False)


class SmtpSink:
    """An in-process SMTP server recording what it receives (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        security: SinkSecurity = "none",
        credentials: tuple[str, str] | None = None,
        certificate: TestCertificate | None = None,
        maildir: Path | str | None = None,
        hostname: str = "localhost",
        on_message: Callable[[ReceivedMessage], None] | None = None,
        offer_auth: bool = True,
        keep_in_memory: bool = True,
    ) -> None:
        """`credentials` (user, password): AUTH is required and only these pass. Without them AUTH is
        optional and any user name and password pass (a catch-all sink), unless `offer_auth` is False:
        then no AUTH is advertised (security `none` and `tls`). `keep_in_memory` False leaves `messages`
        empty (a long-running sink that prints or writes a Maildir)."""
        self.keep_in_memory = keep_in_memory
        self.host = host
        self.offer_auth = offer_auth
        self.port = port
        self.security = security
        self.credentials = credentials
        self.certificate = certificate or (make_test_certificate() if security != "none" else None)
        if maildir is not None:
            Path(maildir).parent.mkdir(parents=True, exist_ok=True)  # Maildir(create=True) makes one level
        self.maildir = mailbox.Maildir(maildir, create=True) if maildir is not None else None
        self.hostname = hostname
        self.on_message = on_message
        self.messages: list[ReceivedMessage] = []
        self.rules: list[Rule] = []
        self.connections = 0  # connections accepted so far (tests of connection reuse)
        self.commands: list[str] = []  # NOOP and RSET commands received, in order
        self._lock = threading.Condition()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._protocols: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._server_tls = self.certificate.server_context() if self.certificate else None

    # -- scripting ---------------------------------------------------------------------------------

    def fail(
        self,
        stage: Stage,
        code: int,
        text: str = "",
        *,
        recipients: Iterable[str] = (),
        count: int | None = None,
        delay: float = 0.0,
    ) -> Rule:
        """Reply `code text` at `stage` for `recipients` (any when empty), `count` times (None: always)."""
        return self._add(
            Rule(stage, code=code, text=text, recipients=_lower(recipients), count=count, delay=delay)
        )

    def drop(
        self,
        stage: Stage,
        *,
        recipients: Iterable[str] = (),
        count: int | None = None,
        delay: float = 0.0,
        keep: bool = False,
    ) -> Rule:
        """Close the connection at `stage` instead of replying (at `data`: after the whole message
        arrived; with `keep` the message is recorded as delivered first)."""
        rule = Rule(stage, drop=True, recipients=_lower(recipients), count=count, delay=delay, keep=keep)
        return self._add(rule)

    def slow(self, stage: Stage, seconds: float, *, count: int | None = None) -> Rule:
        """Wait `seconds` before answering at `stage`, then answer normally."""
        return self._add(Rule(stage, delay=seconds, count=count))

    def clear_rules(self) -> None:
        with self._lock:
            self.rules.clear()

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def _peek_rule(self, stage: Stage, recipients: Iterable[str]) -> Rule | None:
        recipients = list(recipients)
        with self._lock:
            return next((rule for rule in self.rules if rule.matches(stage, recipients)), None)

    def _take_rule(self, stage: Stage, recipients: Iterable[str]) -> Rule | None:
        recipients = list(recipients)
        with self._lock:
            for rule in self.rules:
                if rule.matches(stage, recipients):
                    if rule.count is not None:
                        rule.count -= 1
                    return rule
        return None

    # -- what was received --------------------------------------------------------------------------

    def _record(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> ReceivedMessage:
        head = data.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        received = ReceivedMessage(
            mail_from=mail_from,
            rcpt_tos=rcpt_tos,
            data=data,
            message_id=found.group(1).decode("ascii", "replace") if found else None,
            received_at=dt.datetime.now(dt.UTC),
        )
        if self.maildir is not None:
            self.maildir.add(data)
        with self._lock:
            if self.keep_in_memory:
                self.messages.append(received)
            self._lock.notify_all()
        if self.on_message is not None:
            self.on_message(received)
        return received

    def _note(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def message_ids(self) -> list[str]:
        """Message-IDs of every message received, in order (duplicates kept: tests count them)."""
        with self._lock:
            return [m.message_id for m in self.messages if m.message_id]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until `count` messages have arrived (threaded mode); raises `TimeoutError`."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} of {count} messages after {timeout}s")
            return list(self.messages)

    async def wait_for_async(self, count: int, seconds: float = 10.0) -> list[ReceivedMessage]:
        """`wait_for` for tests running in the sink's own event loop; raises `TimeoutError`."""
        timeout = seconds
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} messages after {timeout}s")
            await asyncio.sleep(0.01)
        return list(self.messages)

    def disconnect_all(self) -> None:
        """Close every open connection from the server side (as a server's idle timeout does)."""
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.close()

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this sink's certificate (checks the host name `localhost`)."""
        if self.certificate is None:
            raise RuntimeError("this sink has no certificate (security none)")
        return self.certificate.client_context()

    # -- running ---------------------------------------------------------------------------------------

    def _protocol(self) -> SMTP:
        tls_context = self._server_tls
        with warnings.catch_warnings():  # AUTH without TLS is what security "none" means here
            warnings.simplefilter("ignore")
            protocol = self._smtp(tls_context)
        self.connections += 1
        self._protocols.add(protocol)
        return protocol

    def _smtp(self, tls_context: ssl.SSLContext | None) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname=self.hostname,
            ident="FluenzR SMTP sink",
            tls_context=tls_context if self.security == "starttls" else None,
            require_starttls=self.security == "starttls",
            auth_required=self.credentials is not None,
            # aiosmtpd advertises AUTH only over STARTTLS when this is True; implicit TLS counts as none
            auth_require_tls=self.security == "starttls" or not self.offer_auth,
            authenticator=_Authenticator(self.credentials),
            enable_SMTPUTF8=True,
            loop=self._loop,
        )

    async def start(self) -> None:
        """Listen in the running event loop; `port` is the one bound."""
        self._loop = asyncio.get_running_loop()
        ssl_context = self._server_tls if self.security == "tls" else None
        self._server = await self._loop.create_server(self._protocol, self.host, self.port, ssl=ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is None:
            return
        self._server.close()
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> SmtpSink:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> SmtpSink:
        """Run the sink in a thread with its own event loop."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None


def _lower(recipients: Iterable[str]) -> frozenset[str]:
    return frozenset(r.lower() for r in recipients)


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    maildir: Path | str | None = None,
    credentials: tuple[str, str] | None = None,
    on_message: Callable[[ReceivedMessage], None] | None = None,
    on_ready: Callable[[SmtpSink], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a plain-text sink until `stop` is set (forever when None): what `fluenzr-server smtp-sink` runs.
    `on_ready` is called once it listens (with the bound port)."""
    sink = SmtpSink(
        host=host,
        port=port,
        maildir=maildir,
        credentials=credentials,
        on_message=on_message,
        keep_in_memory=False,
    )
    async with sink:
        if on_ready is not None:
            on_ready(sink)
        await (stop or asyncio.Event()).wait()
