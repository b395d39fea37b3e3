"""SMTP delivery with `aiosmtplib`; every outcome classified once, here (Postal's `smtp_sender.rb` model).

Outcomes (`SendOutcome.kind`), from RFC 5321 §4.2.1 reply classes:

- `sent`: 2yz after the end of DATA: the server took responsibility for the message.
- `retry`: a 4yz transient reply at any stage, a timeout, or a dropped connection BEFORE the message data
  was handed over: nothing was delivered, try again later (`backoff`).
- `unknown`: the connection dropped or timed out AFTER the whole message was handed over (the final dot
  was written) but before the final reply: it may have been delivered. Never retried: a duplicate cold
  email is worse than a missing one.
- `bounce`: a 5yz permanent reply at RCPT, to DATA or after the data: a hard bounce for this recipient.
- `auth_failed`: 535/534/530 (RFC 4954 §6) or another 5yz to AUTH, a server without AUTH (except with
  security `none`, for local sinks), TLS required but refused or failing verification, or a 5yz to MAIL
  (the server refuses this sender, e.g. "553 sender not owned by user"): the mailbox is misconfigured;
  its sends stop until it is fixed. 4yz replies here are `retry`.
- `refused`: the host is refused by `net_policy.resolve_public` (private or unresolvable) or the connection
  is refused: `reason` goes into the email account's `lastError`.

Security: `starttls` upgrades a plain connection (RFC 3207; a server that does not offer it is
`auth_failed`, never a silent plain-text send), `tls` is implicit TLS (RFC 8314, port 465), `none` is
plain text (local sinks; the engine refuses it unless private hosts are allowed). AUTH (RFC 4954) uses
the best mechanism both sides offer; an empty user name skips it.

A message goes to all its recipients or to none: any refused recipient ends the transaction (`RSET`).

Connections: one per mailbox, reused for consecutive sends (`RSET` after a failed transaction, `NOOP`
to test one idle for more than `IDLE_CHECK_SECONDS`), reconnected when dropped. A reused connection the
server closed meanwhile (or answered 421 to MAIL) is replaced and the message tried once more at once:
nothing had been handed over. We connect to the address `resolve_public` returned (resolved once,
pinned) while TLS checks the certificate against the host name (SNI, `server_hostname`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from fluenzr_server.engine.message import ascii_domain
from fluenzr_server.net_policy import HostRefused, resolve_public

Security = Literal["starttls", "tls", "none"]
OutcomeKind = Literal["sent", "retry", "unknown", "bounce", "auth_failed", "refused"]
_Stage = Literal["mail", "rcpt", "data", "content", "handed_over"]

# The retry schedule after a `retry` outcome: attempt 1 waits about 1 minute, then 5, 15, 30, 60 minutes;
# every wait has +-20% jitter (capped at one hour) so that leads held back by one bad minute do not all
# come back at once. After MAX_ATTEMPTS tries the lead is `failed` with the last reply (the caller's rule).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(minutes=60),
)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 6  # the first try plus five retries
JITTER = 0.2
IDLE_CHECK_SECONDS = 15.0
POOL_IDLE_SECONDS = 120.0  # servers drop idle clients after some minutes anyway (RFC 5321 §4.5.3.2.7)
MAX_TEXT = 500  # characters of a server reply kept in an outcome (replies may be up to 32 KiB)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_AUTH_CODES = frozenset({530, 534, 535})


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach one mailbox's submission server. `timeout` is in seconds, per network operation
    (connect, TLS handshake, each command and reply). An empty `username` skips AUTH."""

    host: str
    port: int
    username: str
    password: str
    security: Security = "starttls"
    timeout: float = 30.0


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one message: `kind` (see the module docstring), the SMTP `code` and `reply` text
    when the server answered (`None`/"" otherwise), and `reason`: one line safe to show the customer (the
    lead's `reason`, the email account's `lastError`)."""

    kind: OutcomeKind
    code: int | None = None
    reply: str = ""
    reason: str = ""


def backoff(attempt: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait before retry number `attempt` (1-based): `RETRY_DELAYS` (the last repeats), +-20% jitter,
    capped at `MAX_DELAY`. Raises `ValueError` for `attempt` < 1."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    base = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return min(base * factor, MAX_DELAY)


def _one_line(text: str) -> str:
    """Server text made safe to store and show: one line, no control characters, at most MAX_TEXT."""
    clean = " ".join(_CONTROLS.sub(" ", text).split())
    return clean if len(clean) <= MAX_TEXT else clean[: MAX_TEXT - 1] + "…"


def _reply(code: int, text: str) -> str:
    return _one_line(f"{code} {text}")


def _from_reply(stage: _Stage, code: int, text: str) -> SendOutcome:
    """A non-success reply at `stage`, classified (RFC 5321 §4.2.1: 4yz transient, 5yz permanent)."""
    reply = _reply(code, text)
    if code in _AUTH_CODES:
        return SendOutcome("auth_failed", code, reply, f"authentication required or refused: {reply}")
    if 400 <= code < 500:
        return SendOutcome("retry", code, reply, f"temporary failure at {stage.upper()}: {reply}")
    if code >= 500 and stage == "mail":
        return SendOutcome("auth_failed", code, reply, f"the server refuses this sender: {reply}")
    if code >= 500:
        where = "RCPT" if stage == "rcpt" else "DATA"
        return SendOutcome("bounce", code, reply, f"rejected at {where}: {reply}")
    return SendOutcome("retry", code, reply, f"unexpected reply at {stage.upper()}: {reply}")


def data_payload(message: EmailMessage) -> bytes:
    """The DATA payload: CRLF lines, leading dots doubled (RFC 5321 §4.5.2), the final "." line."""
    data = normalize_message_line_endings(message.as_bytes())
    return PERIOD_REGEX.sub(b"..", data) + b".\r\n"


def _envelope(
    message: EmailMessage, sender: str | None, recipients: Sequence[str] | None
) -> tuple[str, list[str]]:
    if sender is None:
        found = getaddresses([str(v) for v in message.get_all("From", [])])
        sender = found[0][1] if found else ""
    if recipients is None:
        fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
        recipients = [address for _, address in getaddresses(fields) if address]
    if not sender or not recipients:
        raise ValueError("a message needs an envelope sender and at least one recipient")
    return sender, list(recipients)


def _tls_name(host: str) -> str:
    """The name TLS checks the certificate against (SNI): A-labels for an IDN, the literal for an IP."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return ascii_domain(bare)
    return bare


class MailboxConnection:
    """One reusable SMTP connection to one mailbox's server; sends are serialised on it."""

    def __init__(
        self, settings: SmtpSettings, *, allow_private: bool, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.allow_private = allow_private
        self.tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._last_used = time.monotonic()
        self._needs_reset = False
        self.connects = 0  # connections opened so far (tests of reuse)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def busy(self) -> bool:
        """A send (or close) is running on this connection."""
        return self._lock.locked()

    @property
    def last_used(self) -> float:
        """`time.monotonic()` of the last send (or of creation)."""
        return self._last_used

    def _context(self) -> ssl.SSLContext:
        if self.tls_context is None:
            self.tls_context = ssl.create_default_context()
        return self.tls_context

    async def send(
        self,
        message: EmailMessage,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
        data: bytes | None = None,
        after_data: Callable[[], object] | None = None,
    ) -> SendOutcome:
        """Send `message` (envelope from/to default to its From and To/Cc/Bcc), connecting or reconnecting
        as needed; never raises for an SMTP or network failure, which is classified into the outcome.
        `data`: the message's `data_payload`, when the caller made it already. `after_data`: called (at
        most once, and it must not raise) once the message data is written, before the final reply is
        awaited, while the server takes the message in: the caller prepares its next message then.
        Raises `ValueError` for a message without sender or recipients."""
        mail_from, rcpt_tos = _envelope(message, sender, recipients)
        payload = data_payload(message) if data is None else data
        async with self._lock:
            for _ in range(2):
                reused = await self._reusable()
                if not reused:
                    failure = await self._connect()
                    if failure is not None:
                        return failure
                outcome, stale = await self._transaction(mail_from, rcpt_tos, payload, after_data)
                self._last_used = time.monotonic()
                if stale and reused:
                    continue  # the server had dropped the idle connection: nothing was sent; once more
                if outcome.kind in ("auth_failed", "refused"):
                    self._drop()
                return outcome
            return outcome

    async def close(self) -> None:
        """QUIT (best effort) and close the connection."""
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit(timeout=min(self.settings.timeout, 5.0))
                except (aiosmtplib.SMTPException, OSError):
                    client.close()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._needs_reset = False

    async def _reusable(self) -> bool:
        """Whether the open connection can take the next message (RSET or NOOP it when needed)."""
        client = self._client
        if client is None:
            return False
        if not client.is_connected:
            self._drop()
            return False
        try:
            if self._needs_reset:
                await client.rset()
                self._needs_reset = False
            elif time.monotonic() - self._last_used > IDLE_CHECK_SECONDS:
                await client.noop()
        except (aiosmtplib.SMTPException, OSError):
            self._drop()
            return False
        return True

    async def _open_socket(self) -> socket.socket | SendOutcome:
        """A TCP socket connected to the first public address of the host that answers."""
        settings = self.settings
        try:
            addresses = await resolve_public(settings.host, settings.port, allow_private=self.allow_private)
        except HostRefused as exc:
            return SendOutcome("refused", reason=f"SMTP host {exc.reason}")
        loop = asyncio.get_running_loop()
        refused = timed_out = 0
        last = ""
        for address in addresses:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(
                    loop.sock_connect(sock, (str(address), settings.port)), settings.timeout
                )
            except TimeoutError:
                sock.close()
                timed_out += 1
                last = f"timed out connecting to {settings.host}:{settings.port}"
            except OSError as exc:
                sock.close()
                refused += isinstance(exc, ConnectionRefusedError)
                last = f"cannot connect to {settings.host}:{settings.port}: {exc.strerror or exc}"
            else:
                return sock
        if refused == len(addresses):
            return SendOutcome("refused", reason=f"connection refused by {settings.host}:{settings.port}")
        return SendOutcome("retry", reason=last)

    async def _connect(self) -> SendOutcome | None:
        """Connect, greet, secure and authenticate; `None` when ready, else the failure as an outcome."""
        self._drop()
        settings = self.settings
        try:
            server_name = _tls_name(settings.host)
        except ValueError:
            return SendOutcome("refused", reason=f"SMTP host {settings.host!r} is not a host name")
        opened = await self._open_socket()
        if isinstance(opened, SendOutcome):
            return opened
        # The socket is the client's from here: closing the client (its transport) closes the socket.
        client = aiosmtplib.SMTP(
            hostname=server_name,
            sock=opened,
            use_tls=settings.security == "tls",
            start_tls=False,
            tls_context=self._context() if settings.security != "none" else None,
            timeout=settings.timeout,
        )
        self.connects += 1
        stage = "connect"
        try:
            await client.connect()
            stage = "EHLO"
            await client.ehlo()
            if settings.security == "starttls":
                stage = "STARTTLS"
                if not client.supports_extension("starttls"):
                    client.close()
                    return SendOutcome("auth_failed", reason="the server does not offer STARTTLS")
                await client.starttls(server_hostname=server_name, tls_context=self._context())
                stage = "EHLO"
                await client.ehlo()
            if settings.username:
                stage = "AUTH"
                if not client.supports_extension("auth"):
                    if settings.security != "none":
                        client.close()
                        return SendOutcome("auth_failed", reason="the server does not offer AUTH")
                else:
                    await client.login(settings.username, settings.password)
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            return self._connect_reply(stage, exc.code, exc.message)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            client.close()
            return SendOutcome("auth_failed", reason=f"TLS failed at {stage}: {_one_line(str(exc))}")
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
            client.close()
            if isinstance(exc.__cause__, ssl.SSLError):
                return SendOutcome("auth_failed", reason=f"TLS failed: {_one_line(str(exc.__cause__))}")
            return SendOutcome("retry", reason=f"connection lost at {stage}: {_one_line(str(exc))}")
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            client.close()
            return SendOutcome("retry", reason=f"timed out at {stage}")
        except aiosmtplib.SMTPException as exc:  # e.g. "No suitable authentication method found"
            client.close()
            return SendOutcome("auth_failed", reason=f"{stage} failed: {_one_line(str(exc))}")
        except OSError as exc:
            client.close()
            return SendOutcome("retry", reason=f"network error at {stage}: {_one_line(str(exc))}")
        self._client = client
        self._needs_reset = False
        self._last_used = time.monotonic()
        return None

    @staticmethod
    def _connect_reply(stage: str, code: int, text: str) -> SendOutcome:
        reply = _reply(code, text)
        if 400 <= code < 500:
            return SendOutcome("retry", code, reply, f"temporary failure at {stage}: {reply}")
        if stage in ("AUTH", "STARTTLS") or code in _AUTH_CODES:
            return SendOutcome("auth_failed", code, reply, f"{stage} refused: {reply}")
        return SendOutcome("refused", code, reply, f"the server refused the session at {stage}: {reply}")

    async def _transaction(
        self,
        sender: str,
        recipients: list[str],
        payload: bytes,
        after_data: Callable[[], object] | None = None,
    ) -> tuple[SendOutcome, bool]:
        """One MAIL/RCPT/DATA transaction on the open connection; the outcome, and whether it failed
        because the connection was already gone when it started (nothing sent; worth one more try)."""
        client = self._client
        assert client is not None
        stage: _Stage = "mail"
        try:
            await client.mail(sender)
            stage = "rcpt"
            for recipient in recipients:
                await client.rcpt(recipient)
            stage = "data"
            start = await client.execute_command(b"DATA")
            if start.code != 354:
                self._needs_reset = True
                return self._after_reply("data", start.code, start.message), False
            stage = "content"
            protocol = client.protocol
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("connection lost")
            protocol.write(payload)
            # From here the server may have the whole message: a lost reply means "maybe delivered".
            stage = "handed_over"
            if after_data is not None:
                after_data()  # the caller's own work, while the server takes the message in
            final = await protocol.read_response(timeout=self.settings.timeout)
        except aiosmtplib.SMTPResponseException as exc:
            if stage == "handed_over" or not 400 <= exc.code < 600:  # no reply we can read: unclear
                return self._lost(stage, f"unreadable reply ({_one_line(exc.message)})"), False
            self._needs_reset = True
            stale = stage == "mail" and exc.code == 421
            return self._after_reply(stage, exc.code, exc.message), stale
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            stale = stage == "mail" and not timed_out
            return self._lost(stage, "timed out" if timed_out else "connection lost"), stale
        except aiosmtplib.SMTPException as exc:
            return self._lost(stage, _one_line(str(exc))), False
        if 200 <= final.code < 300:
            return SendOutcome("sent", final.code, _reply(final.code, final.message)), False
        self._needs_reset = True
        return self._after_reply("handed_over", final.code, final.message), False

    def _lost(self, stage: _Stage, what: str) -> SendOutcome:
        """The conversation broke off at `stage`: `unknown` once the message was handed over, else `retry`."""
        self._drop()
        if stage == "handed_over":
            return SendOutcome(
                "unknown", reason=f"{what} after the message was handed over; it may have been delivered"
            )
        return SendOutcome("retry", reason=f"{what} at {stage.upper()}")

    def _after_reply(self, stage: _Stage, code: int, text: str) -> SendOutcome:
        if code == 421:  # the server is closing the connection (RFC 5321 §3.8)
            self._drop()
        return _from_reply("data" if stage in ("content", "handed_over") else stage, code, text)


class SmtpPool:
    """A `MailboxConnection` per mailbox key (the email account id), replaced when its settings change
    and closed once unused for `POOL_IDLE_SECONDS` (a worker serving thousands of mailboxes keeps open
    only the connections it is using)."""

    def __init__(self, *, allow_private: bool, tls_context: ssl.SSLContext | None = None) -> None:
        self.allow_private = allow_private
        self.tls_context = tls_context
        self._connections: dict[str, MailboxConnection] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._pruned = time.monotonic()

    def __len__(self) -> int:
        return len(self._connections)

    def connection(self, key: str, settings: SmtpSettings) -> MailboxConnection:
        """The connection kept for `key`, a new one when there is none or its settings changed (the old
        one is closed in the background). Send on it at once: an unused connection may be pruned."""
        self._prune(keep=key)
        current = self._connections.get(key)
        if current is not None and current.settings == settings:
            return current
        if current is not None:
            self._close_later(current)
        fresh = MailboxConnection(settings, allow_private=self.allow_private, tls_context=self.tls_context)
        self._connections[key] = fresh
        return fresh

    def _close_later(self, connection: MailboxConnection) -> None:
        task = asyncio.get_running_loop().create_task(connection.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _prune(self, *, keep: str) -> None:
        now = time.monotonic()
        if now - self._pruned < min(POOL_IDLE_SECONDS, 30.0):
            return
        self._pruned = now
        for key, connection in list(self._connections.items()):
            if key != keep and not connection.busy and now - connection.last_used > POOL_IDLE_SECONDS:
                del self._connections[key]
                self._close_later(connection)

    async def send(
        self,
        key: str,
        settings: SmtpSettings,
        message: EmailMessage,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
        data: bytes | None = None,
        after_data: Callable[[], object] | None = None,
    ) -> SendOutcome:
        """Send through the connection kept for `key` (see `MailboxConnection.send`)."""
        connection = self.connection(key, settings)
        return await connection.send(
            message, sender=sender, recipients=recipients, data=data, after_data=after_data
        )

    async def discard(self, key: str) -> None:
        """Close and forget `key`'s connection (its settings changed or it is in error)."""
        connection = self._connections.pop(key, None)
        if connection is not None:
            await connection.close()

    async def close(self) -> None:
        """Close every connection."""
        connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(c.close() for c in connections), *self._closing, return_exceptions=True)


async def send(
    settings: SmtpSettings,
    message: EmailMessage,
    *,
    allow_private: bool,
    tls_context: ssl.SSLContext | None = None,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
) -> SendOutcome:
    """One message over a fresh connection, closed afterwards."""
    connection = MailboxConnection(settings, allow_private=allow_private, tls_context=tls_context)
    try:
        return await connection.send(message, sender=sender, recipients=recipients)
    finally:
        await connection.close()
