"""SMTP delivery with `aiosmtplib`; every outcome classified once, here (Postal's `smtp_sender.rb` model).

Outcomes (`SendOutcome.kind`), from RFC 5321 §4.2.1 reply classes:

- `sent`: 2yz after the end of DATA: the server took responsibility for the message.
- `retry`: a 4yz transient reply at any stage, a timeout, or a dropped connection BEFORE the message data
  was handed over: nothing was delivered, try again later (`backoff`).
- `unknown`: the connection dropped or timed out AFTER the whole message was handed over (the final dot
  was written) but before the final reply: it may have been delivered. Never retried: a duplicate cold
  email is worse than a missing one.
- `bounce`: a 5yz permanent reply at RCPT or DATA (and MAIL): a hard bounce for this recipient.
- `auth_failed`: 535/534/530 (RFC 4954 §6), a server without AUTH, or TLS required but refused or failing
  verification: the mailbox is misconfigured; its sends stop until it is fixed.
- `refused`: the host is refused by `net_policy.resolve_public` (private or unresolvable) or the connection
  is refused: `reason` goes into the email account's `lastError`.

Connections: one per mailbox, reused for consecutive sends (`RSET` between messages, `NOOP` to test an
idle one), reconnected when dropped. We connect to the address `resolve_public` returned (resolved once,
pinned) while TLS checks the certificate against the host name (SNI, `server_hostname`).
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Literal

Security = Literal["starttls", "tls", "none"]
OutcomeKind = Literal["sent", "retry", "unknown", "bounce", "auth_failed", "refused"]

# The retry schedule after a `retry` outcome: attempt 1 waits about 1 minute, then 5, 15, 30, 60 minutes;
# every wait has +-20% jitter so that many leads held by one bad minute do not come back together.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(minutes=60),
)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 6  # the first try plus five retries; then the lead is `failed` with the last reply
JITTER = 0.2


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach one mailbox's submission server. `timeout` is in seconds, per network operation."""

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
    """The wait before retry number `attempt` (1-based): `RETRY_DELAYS`, capped at `MAX_DELAY`, +-20%
    jitter."""
    raise NotImplementedError


class MailboxConnection:
    """One reusable SMTP connection to one mailbox's server; sends are serialised on it."""

    def __init__(
        self, settings: SmtpSettings, *, allow_private: bool, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.allow_private = allow_private
        self.tls_context = tls_context

    async def send(
        self,
        message: EmailMessage,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendOutcome:
        """Send `message` (envelope from/to default to its From and To), connecting or reconnecting as
        needed; never raises for an SMTP or network failure, which is classified into the outcome."""
        raise NotImplementedError

    async def close(self) -> None:
        """QUIT (best effort) and close the connection."""
        raise NotImplementedError


class SmtpPool:
    """A `MailboxConnection` per mailbox key (the email account id), replaced when its settings change."""

    def __init__(self, *, allow_private: bool, tls_context: ssl.SSLContext | None = None) -> None:
        self.allow_private = allow_private
        self.tls_context = tls_context

    async def send(
        self,
        key: str,
        settings: SmtpSettings,
        message: EmailMessage,
        *,
        sender: str | None = None,
        recipients: Sequence[str] | None = None,
    ) -> SendOutcome:
        """Send through the connection kept for `key` (see `MailboxConnection.send`)."""
        raise NotImplementedError

    async def discard(self, key: str) -> None:
        """Close and forget `key`'s connection (its settings changed or it is in error)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close every connection."""
        raise NotImplementedError


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
    raise NotImplementedError
