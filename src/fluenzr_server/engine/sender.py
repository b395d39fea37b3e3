"""The send task: sweep abandoned conversations, claim due leads, send over SMTP, record the outcomes.

One tick claims a bounded batch (`sending.claim`), sends each mailbox's share over that mailbox's one
connection (mailboxes in parallel), and records outcomes in small batches. Three things overlap so the
connections never wait on the worker: the next claim runs while a batch is on the wire (at most
`MAX_BATCHES_IN_FLIGHT`), outcomes are recorded in the background while the next conversations run, and
each connection's next message is built while the server takes in the current one (`after_data`).
Before each send, a campaign whose status was last read more than `RECHECK_SECONDS` ago is read again,
so a pause stops new sends within about half a second of its 200; work not started (pause, a mailbox
that just failed, shutdown) is given back (`sending.unclaim`), exactly as if it had never been claimed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta
from email.message import EmailMessage

from fluenzr_server.engine import sending, smtp
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now
from fluenzr_server.store.database import Database
from fluenzr_server.tracking.links import Links

log = logging.getLogger("fluenzr.engine.sender")

RECHECK_SECONDS = 0.5
SWEEP_SECONDS = 5.0
# Each claim and each record costs a dozen statements whatever its size; 100 and 50 halve that cost per
# email against 50 and 25. The price: a worker killed mid-batch leaves up to MAX_BATCHES_IN_FLIGHT * batch
# claimed messages, which the sweep marks `unknown` (never resent), as it must for any it cannot tell.
RECORD_BATCH = 50
MAX_BATCHES_IN_FLIGHT = 2
PLAIN_SMTP_REFUSED = (
    "security 'none' sends the password and every message unencrypted; it is only allowed for local "
    "test servers (FLUENZR_ALLOW_PRIVATE_HOSTS=1): use starttls or tls"
)


# A built message and its DATA payload, or why it could not be built (`ValueError`: the job fails; any
# other exception is raised when the job's turn comes, as an unprepared build would raise it).
_Built = tuple[EmailMessage, bytes] | BaseException


def _build(job: sending.Job) -> _Built:
    try:
        email = job.build(date=now())
        return email, smtp.data_payload(email)
    except Exception as exc:  # kept for the job's turn (see `_Built`)
        return exc


def worker_id() -> str:
    """This process's lease owner name: host, pid and a random tag (a restarted pid is another owner)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


class SendTask:
    name = "sender"

    def __init__(
        self,
        resources: Resources,
        *,
        batch: int = 100,
        owner: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """`batch`: leads claimed per tick; `tls_context`: trust store for STARTTLS/TLS (tests pass one
        that trusts their test CA; default: the system's)."""
        self.batch = batch
        self.owner = owner or worker_id()
        self.allow_private = resources.settings.allow_private_hosts
        self.links = Links(resources.settings.public_url, resources.tokens)
        self.pool = smtp.SmtpPool(allow_private=self.allow_private, tls_context=tls_context)
        self._last_sweep = float("-inf")
        # Claimed batches being sent in the background, so the next claim (database work) overlaps the
        # SMTP conversations of the previous one; at most `MAX_BATCHES_IN_FLIGHT` batches at a time.
        self._in_flight: set[asyncio.Task[None]] = set()

    async def tick(self, resources: Resources) -> int:
        settings = resources.settings
        if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
            self._last_sweep = time.monotonic()
            await sending.sweep_abandoned(resources.database, now=now())
        jobs = await sending.claim(
            resources.database,
            now=now(),
            owner=self.owner,
            limit=self.batch,
            lease_seconds=settings.engine_lease_seconds,
            smtp_timeout=settings.smtp_timeout_seconds,
            secret_box=resources.secret_box,
            links=self.links,
        )
        if not jobs:
            return 0
        groups: dict[str, list[sending.Job]] = defaultdict(list)
        for job in jobs:
            groups[job.mailbox_id].append(job)
        batch = asyncio.create_task(self._send_batch(resources, list(groups.values())))
        self._in_flight.add(batch)
        batch.add_done_callback(self._in_flight.discard)
        while len(self._in_flight) >= MAX_BATCHES_IN_FLIGHT:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        return len(jobs)

    async def _send_batch(self, resources: Resources, groups: list[list[sending.Job]]) -> None:
        # One mailbox's jobs go one after the other on its connection; mailboxes in parallel.
        outcomes = await asyncio.gather(
            *(self._send_group(resources, group) for group in groups), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                log.error("a send batch failed", exc_info=outcome)

    async def wait_idle(self) -> None:
        """Wait until every claimed batch has been sent and recorded."""
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _send_group(self, resources: Resources, jobs: Sequence[sending.Job]) -> None:
        db = resources.database
        settings = resources.settings
        results: list[tuple[sending.Job, smtp.SendOutcome]] = []
        checked = time.monotonic()
        # The claim leased every job for `engine_lease_seconds`; before a send could outlive that, the
        # jobs still queued here get a fresh lease (a dead worker's jobs are the only ones that expire).
        leased_until = time.monotonic() + settings.engine_lease_seconds
        live = {job.campaign_id for job in jobs}
        recording: asyncio.Task[None] | None = None
        # The next job's message, built while the current one is on the wire (`_send_building_next`).
        prepared: dict[str, _Built] = {}
        index = 0
        try:
            while index < len(jobs):
                job = jobs[index]
                if time.monotonic() - checked >= RECHECK_SECONDS:
                    live = await sending.running(db, (j.campaign_id for j in jobs[index:]))
                    checked = time.monotonic()
                if job.campaign_id not in live:
                    # Paused (or otherwise stopped): every queued job of such a campaign goes back at once.
                    rest = jobs[index:]
                    await sending.unclaim(db, [j for j in rest if j.campaign_id not in live], now=now())
                    jobs = [*jobs[:index], *(j for j in rest if j.campaign_id in live)]
                    continue
                if leased_until - time.monotonic() < 2 * settings.smtp_timeout_seconds + 1:
                    leased_until = time.monotonic() + settings.engine_lease_seconds
                    until = now() + timedelta(seconds=settings.engine_lease_seconds)
                    pending = [done for done, _ in results] + list(jobs[index:])  # unrecorded ones too
                    await sending.extend_leases(db, pending, until=until)
                built = prepared.pop(job.id, None) or _build(job)
                if isinstance(built, ValueError):
                    index += 1
                    await sending.fail_unbuildable(
                        db, job, f"the message cannot be built: {built}", now=now()
                    )
                    continue
                if isinstance(built, BaseException):
                    raise built
                upcoming = jobs[index + 1] if index + 1 < len(jobs) else None
                outcome = await self._send_building_next(job, built, upcoming, prepared)
                index += 1
                results.append((job, outcome))
                if outcome.kind in ("auth_failed", "refused"):
                    # The mailbox is at fault: the rest of its share waits, unburnt, for it to be fixed.
                    await self.pool.discard(job.mailbox_id)
                    break
                if len(results) >= RECORD_BATCH:
                    # Recorded in the background while the next conversations run; one at a time.
                    if recording is not None:
                        await recording
                    recording = asyncio.create_task(sending.record(db, results, now=now()))
                    results = []
        finally:
            # Outcomes first, then the jobs whose conversation never started (shielded: also on cancel).
            await asyncio.shield(self._finish(db, recording, results, list(jobs[index:])))

    async def _finish(
        self,
        db: Database,
        recording: asyncio.Task[None] | None,
        results: list[tuple[sending.Job, smtp.SendOutcome]],
        untouched: list[sending.Job],
    ) -> None:
        if recording is not None:
            await recording
        if results:
            await sending.record(db, results, now=now())
        if untouched:
            await sending.unclaim(db, untouched, now=now())

    async def _send_building_next(
        self,
        job: sending.Job,
        built: tuple[EmailMessage, bytes],
        upcoming: sending.Job | None,
        prepared: dict[str, _Built],
    ) -> smtp.SendOutcome:
        """Send `job`; once its data is written, while the server takes it in, build `upcoming`'s message
        (the worker's largest CPU cost per email) into `prepared`, so the connection's next send starts at
        once. Building has no effects: a prepared message whose job is given back (pause) is dropped."""

        def build_next() -> None:
            if upcoming is not None:
                prepared[upcoming.id] = _build(upcoming)

        return await self._send(job, built, after_data=build_next)

    async def _send(
        self,
        job: sending.Job,
        built: tuple[EmailMessage, bytes],
        after_data: Callable[[], object] | None = None,
    ) -> smtp.SendOutcome:
        if job.smtp.security == "none" and not self.allow_private:
            return smtp.SendOutcome(kind="auth_failed", reason=PLAIN_SMTP_REFUSED)
        try:
            email, data = built
            return await self.pool.send(
                job.mailbox_id,
                job.smtp,
                email,
                sender=job.sender,
                recipients=[job.to_email],
                data=data,
                after_data=after_data,
            )
        except Exception as exc:  # the pool classifies network failures; anything else is a bug, kept visible
            log.exception("send of %s raised", job.id)
            return smtp.SendOutcome(
                kind="unknown", reason=f"internal error during the send: {type(exc).__name__}"
            )

    async def aclose(self) -> None:
        """Finish the batches in flight (their sends and records), then close the connections."""
        await self.wait_idle()
        await self.pool.close()
