"""Reading a mailbox's INBOX over IMAP4rev1 (RFC 3501) with `imap-tools` (imaplib), in a worker thread.

Read-only by construction: the INBOX is opened with EXAMINE (RFC 3501 §6.3.2, no flag can change, not
even `\\Seen`) and messages are fetched with `BODY.PEEK[]`; nothing is stored, copied, moved or expunged.

The connection goes to the address `net_policy.resolve_public` returned (resolved once, pinned) while TLS
checks the certificate against the host name (SNI); `tls` is implicit TLS (RFC 8314), `starttls` upgrades
with STARTTLS (RFC 3501 §6.2.1) and refuses to go on without it, `none` is plain text (local test
mailboxes; refused by the caller elsewhere). `timeout` (seconds) bounds the connection and every read.

The cursor (RFC 3501 §2.3.1.1): UIDs only mean something together with the mailbox's UIDVALIDITY. A poll
reads the messages whose UID is above `last_uid`; when UIDVALIDITY differs from the one the cursor was
taken with (or there is no cursor yet), it starts again from the messages that arrived since `since`
(a date: the email account's creation, so years of old mail are not read) and the caller skips what it
had already recorded (by Message-ID).
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from imap_tools import BaseMailBox
from imap_tools.errors import ImapToolsError, MailboxLoginError, MailboxStarttlsError

from fluenzr_server.engine.smtp import _tls_name
from fluenzr_server.net_policy import Address

Security = Literal["tls", "starttls", "none"]
FailureKind = Literal["auth_failed", "refused", "timeout", "protocol"]
MAX_MESSAGE_BYTES = 256 * 1024  # the first 256 KiB of a message: headers, text and a DSN's parts
_UID = re.compile(rb"\bUID (\d+)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    security: Security
    timeout: float = 30.0


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes


@dataclass(frozen=True)
class Poll:
    """What one poll read: the INBOX's UIDVALIDITY, messages above the cursor (UID order, at most
    `limit`), and whether more are waiting."""

    uid_validity: int
    messages: list[Fetched]
    more: bool
    cursor: int  # the highest UID this poll covered: the next poll reads above it


class ImapFailure(Exception):
    """A poll that could not read the mailbox; `reason` is one line safe to show the customer."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class _PinnedImap(imaplib.IMAP4):
    """imaplib's client connecting to a given address; `host` stays the name (STARTTLS's SNI)."""

    def __init__(self, host: str, port: int, *, address: Address, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((str(self._address), self.port), timeout)


class _PinnedImapTls(imaplib.IMAP4_SSL):
    def __init__(
        self, host: str, port: int, *, address: Address, timeout: float, ssl_context: ssl.SSLContext
    ) -> None:
        self._address = address
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> ssl.SSLSocket:
        sock = socket.create_connection((str(self._address), self.port), timeout)
        wrapped: ssl.SSLSocket = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        return wrapped


class _Mailbox(BaseMailBox):
    """imap-tools' mailbox over the pinned client."""

    def __init__(self, settings: ImapSettings, address: Address, tls_context: ssl.SSLContext) -> None:
        self._settings = settings
        self._address = address
        self._tls_context = tls_context
        super().__init__()

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        s = self._settings
        name = _tls_name(s.host)
        if s.security == "tls":
            return _PinnedImapTls(
                name, s.port, address=self._address, timeout=s.timeout, ssl_context=self._tls_context
            )
        client = _PinnedImap(name, s.port, address=self._address, timeout=s.timeout)
        if s.security == "starttls":
            if "STARTTLS" not in client.capabilities:
                client.shutdown()
                reason = "the server does not offer STARTTLS (use tls or fix the port)"
                raise ImapFailure("auth_failed", reason)
            client.starttls(self._tls_context)
        return client


def _imap_date(day: date) -> str:
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def _uid_validity(client: imaplib.IMAP4) -> int:
    _, data = client.response("UIDVALIDITY")
    if not data or data[0] is None:
        raise ImapFailure("protocol", "the server sent no UIDVALIDITY for INBOX")
    value = data[0]
    return int(value.decode() if isinstance(value, bytes) else str(value))


def _uid_next(client: imaplib.IMAP4) -> int:
    _, data = client.response("UIDNEXT")
    if data and data[0] is not None:
        value = data[0]
        return int(value.decode() if isinstance(value, bytes) else str(value))
    return max(_search(client, "ALL"), default=0) + 1


def _search(client: imaplib.IMAP4, *criteria: str) -> list[int]:
    status, data = client.uid("SEARCH", *criteria)
    if status != "OK":
        raise ImapFailure("protocol", f"UID SEARCH failed: {_text(data)}")
    return sorted(int(uid) for uid in (data[0] or b"").split())


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> list[Fetched]:
    status, data = client.uid(
        "FETCH", ",".join(str(uid) for uid in uids), f"(UID BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)"
    )
    if status != "OK":
        raise ImapFailure("protocol", f"UID FETCH failed: {_text(data)}")
    fetched: dict[int, bytes] = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = _UID.search(item[0])
            if match is not None:
                fetched[int(match.group(1))] = bytes(item[1])
    return [Fetched(uid, fetched[uid]) for uid in uids if uid in fetched]


def _text(data: Any) -> str:
    parts = data if isinstance(data, list) else [data]
    text = " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts if p)
    return " ".join(text.split())[:300]


def poll(
    settings: ImapSettings,
    *,
    address: Address,
    tls_context: ssl.SSLContext,
    uid_validity: int | None,
    last_uid: int,
    since: date,
    limit: int,
) -> Poll:
    """Log in, EXAMINE INBOX, fetch up to `limit` new messages (blocking: run it in a thread).

    Raises `ImapFailure`: `auth_failed` (LOGIN refused, no STARTTLS, certificate refused), `refused`
    (connection refused or reset), `timeout`, `protocol` (an unexpected answer)."""
    try:
        with _Mailbox(settings, address, tls_context) as mailbox:
            mailbox.login(settings.username, settings.password, initial_folder=None)
            client = mailbox.client
            status, data = client.select("INBOX", readonly=True)
            if status != "OK":
                raise ImapFailure("protocol", f"EXAMINE INBOX failed: {_text(data)}")
            current = _uid_validity(client)
            if uid_validity == current:
                # `n:*` always names the highest UID too (RFC 3501 §6.4.8), even below n: filtered here.
                uids = [uid for uid in _search(client, "UID", f"{last_uid + 1}:*") if uid > last_uid]
            else:
                uids = _search(client, "SINCE", _imap_date(since))
            batch = uids[:limit]
            messages = _fetch(client, batch) if batch else []
            if batch:
                cursor = batch[-1]
            elif uid_validity == current:
                cursor = last_uid
            else:
                cursor = _uid_next(client) - 1  # nothing since `since`: start above everything there is
            return Poll(uid_validity=current, messages=messages, more=len(uids) > limit, cursor=cursor)
    except ImapFailure:
        raise
    except MailboxLoginError as exc:
        reason = f"the IMAP server refused the login: {_text(exc.command_result[1])}"
        raise ImapFailure("auth_failed", reason) from exc
    except MailboxStarttlsError as exc:
        raise ImapFailure("auth_failed", f"STARTTLS failed: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        reason = f"the server's TLS certificate was refused: {exc.verify_message}"
        raise ImapFailure("auth_failed", reason) from exc
    except ssl.SSLError as exc:
        raise ImapFailure("auth_failed", f"TLS failed: {exc.reason or exc}") from exc
    except TimeoutError as exc:
        raise ImapFailure("timeout", f"the IMAP server did not answer within {settings.timeout:g} s") from exc
    except ConnectionRefusedError as exc:
        raise ImapFailure("refused", f"connection refused by {settings.host}:{settings.port}") from exc
    except (OSError, EOFError) as exc:
        raise ImapFailure("refused", f"connection to {settings.host}:{settings.port} failed: {exc}") from exc
    except (imaplib.IMAP4.error, ImapToolsError) as exc:
        raise ImapFailure("protocol", f"the IMAP server answered unexpectedly: {_text(str(exc))}") from exc
