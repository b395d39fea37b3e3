"""A local SMTP server that keeps what it receives: the `smtp-sink` command and the tests' SMTP server.

Built on `aiosmtpd`. Listens on 127.0.0.1 (a free port by default), records every message (envelope from
and to, raw bytes, parsed Message-ID and Subject), optionally writes each to a Maildir folder. It can
require AUTH (PLAIN/LOGIN) with given credentials, offer STARTTLS or speak implicit TLS with a certificate
generated at start (`test_certificate`, `cryptography`), and be scripted to fail: a 4yz or 5yz reply at
RCPT or DATA for given recipients or for the next N messages, a dropped connection at RCPT or mid-DATA
(after the data arrived, before the reply), or a slow reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SinkSecurity = Literal["none", "starttls", "tls"]
Stage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True)
class TestCertificate:
    """A throwaway CA and a server certificate it signed for `localhost` and 127.0.0.1 (PEM)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as accepted: envelope, raw bytes (CRLF), parsed headers of interest."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message_id: str | None
    subject: str | None
    received_at: datetime


@dataclass
class Rule:
    """One scripted behaviour: at `stage`, for `recipients` (any when empty) or the next `count` messages
    (every one when None): reply `code` `text`, or `drop` the connection, after `delay` seconds."""

    stage: Stage
    code: int | None = None
    text: str = ""
    recipients: frozenset[str] = field(default_factory=frozenset)
    count: int | None = None
    drop: bool = False
    delay: float = 0.0
