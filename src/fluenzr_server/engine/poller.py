"""The IMAP poll task: read each email account's INBOX for replies, auto-replies, bounce reports and
`mailto:` unsubscribe requests (`engine/inbound.py` classifies, `engine/inbox.py` applies).

A tick claims up to `batch` mailboxes whose `next_poll_at` is due with `engine.claim.claim_due` (a lease:
several workers never poll one mailbox at once; a dead worker's lease runs out and another takes it),
polls them concurrently (each in a thread: imaplib blocks), then writes, in one transaction per mailbox,
every message's effect, the new cursor (UIDVALIDITY, last UID) and the end of the lease. Effects and
cursor commit together, so a crash between them reads the same messages again and `inbox.record`
skips those already recorded.

A failed poll (login refused, connection refused or timed out, host refused by the policy) never stops
the engine: the mailbox's `imap.status` becomes `error` with `lastError`, and it is tried again after
`smtp.backoff(n)` (about 1, 5, 15, 30, then 60 minutes); a successful poll makes it `active` again.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import date, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select

from fluenzr_server.engine import imap, inbox
from fluenzr_server.engine.claim import claim_due, release_many
from fluenzr_server.engine.inbound import Inbound, classify
from fluenzr_server.engine.sender import worker_id
from fluenzr_server.engine.smtp import backoff
from fluenzr_server.net_policy import HostRefused, resolve_public
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now
from fluenzr_server.services.imap_mailboxes import PLAIN_IMAP_REFUSED
from fluenzr_server.store import tables as t

log = logging.getLogger("fluenzr.engine.poller")

_table = t.imap_mailboxes
MESSAGES_PER_POLL = 100


class ImapPollTask:
    name = "imap-poller"

    def __init__(
        self,
        resources: Resources,
        *,
        batch: int = 4,
        owner: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        messages_per_poll: int = MESSAGES_PER_POLL,
    ) -> None:
        """`batch`: mailboxes claimed per tick; `tls_context`: trust store for TLS/STARTTLS (tests pass one
        trusting their test CA; default: the system's)."""
        self.batch = batch
        self.owner = owner or worker_id()
        self.tls_context = tls_context or ssl.create_default_context()
        self.messages_per_poll = messages_per_poll

    async def tick(self, resources: Resources) -> int:
        settings = resources.settings
        lease = timedelta(seconds=max(settings.engine_lease_seconds, 4 * settings.imap_timeout_seconds))
        async with resources.database.write() as conn:
            claimed = await claim_due(
                conn,
                _table,
                now=now(),
                limit=self.batch,
                lease=lease,
                owner=self.owner,
                due_column="next_poll_at",
            )
        if not claimed:
            return 0
        await asyncio.gather(*(self._poll_one(resources, row) for row in claimed))
        return len(claimed)

    async def _poll_one(self, resources: Resources, row: Any) -> None:
        try:
            polled = await self._read(resources, row)
        except imap.ImapFailure as failure:
            await self._failed(resources, row, failure.reason)
            return
        except Exception as exc:  # a bug, kept visible; the mailbox is retried later like any failure
            log.exception("poll of mailbox %s raised", row.id)
            await self._failed(resources, row, f"internal error during the poll: {type(exc).__name__}")
            return
        await self._record(resources, row, *polled)

    async def _read(self, resources: Resources, row: Any) -> tuple[imap.Poll, list[tuple[int, Inbound]]]:
        settings = resources.settings
        allow_private = settings.allow_private_hosts
        if row.security == "none" and not allow_private:
            raise imap.ImapFailure("auth_failed", PLAIN_IMAP_REFUSED)
        try:
            password = resources.secret_box.decrypt(row.password)
        except InvalidToken:
            raise imap.ImapFailure(
                "auth_failed", "the stored IMAP password cannot be decrypted: set it again"
            ) from None
        try:
            addresses = await resolve_public(row.host, row.port, allow_private=allow_private)
        except HostRefused as refused:
            raise imap.ImapFailure("refused", f"host {refused.reason}") from None
        connection = imap.ImapSettings(
            host=row.host,
            port=row.port,
            username=row.username,
            password=password,
            security=row.security,
            timeout=settings.imap_timeout_seconds,
        )
        since = await self._since(resources, row.id)
        poll = await asyncio.to_thread(
            imap.poll,
            connection,
            address=addresses[0],
            tls_context=self.tls_context,
            uid_validity=row.uid_validity,
            last_uid=row.last_uid,
            since=since,
            limit=self.messages_per_poll,
        )
        classified = await asyncio.to_thread(lambda: [(m.uid, classify(m.raw)) for m in poll.messages])
        return poll, classified

    async def _since(self, resources: Resources, email_account_id: str) -> date:
        """Where a new cursor starts: the day before the email account was created, but no earlier than
        the day after the retention window of inbound messages began (`engine/retention.py`): an older
        message's record may be gone, and reading the message again would apply it twice."""
        async with resources.database.read() as conn:
            query = select(t.email_accounts.c.created_at).where(t.email_accounts.c.id == email_account_id)
            created = (await conn.execute(query)).scalar_one_or_none()
        stamp = now()
        kept = timedelta(days=resources.settings.retention_inbound_messages_days)
        return max((created or stamp).date() - timedelta(days=1), (stamp - kept).date() + timedelta(days=1))

    async def _record(
        self, resources: Resources, row: Any, poll: imap.Poll, classified: list[tuple[int, Inbound]]
    ) -> None:
        stamp = now()
        due = stamp if poll.more else stamp + timedelta(seconds=resources.settings.imap_poll_seconds)
        values = {
            "status": "active",
            "last_error": None,
            "consecutive_failures": 0,
            "last_polled_at": stamp,
            "uid_validity": poll.uid_validity,
            "last_uid": poll.cursor,
            "next_poll_at": due,
        }
        async with resources.database.write() as conn:
            held = await release_many(conn, _table, {row.id: values}, owner=self.owner)
            if row.id not in held:
                log.warning("lost the lease on mailbox %s before recording its poll", row.id)
                return
            for uid, inbound in classified:
                await inbox.record(
                    conn, mailbox=row, uid_validity=poll.uid_validity, uid=uid, inbound=inbound, now=stamp
                )

    async def _failed(self, resources: Resources, row: Any, reason: str) -> None:
        stamp = now()
        failures = row.consecutive_failures + 1
        values = {
            "status": "error",
            "last_error": reason[:500],
            "consecutive_failures": failures,
            "next_poll_at": stamp + backoff(failures),
        }
        async with resources.database.write() as conn:
            await release_many(conn, _table, {row.id: values}, owner=self.owner)
