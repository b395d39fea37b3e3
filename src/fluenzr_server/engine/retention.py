"""The retention sweep: the engine task that deletes records older than their window, in bounded batches.

What is kept, and for how long (the defaults; `Settings.retention_*` change them):

- Webhook deliveries and their attempts (the deliveries log, `GET /webhooks/{id}/deliveries`): 30 days
  after the delivery's last attempt, once it is `delivered` or `failed`. A `pending` delivery is never
  deleted, whatever its age: it is still owed to its endpoint. Stripe keeps its events, and the log of
  their deliveries, for 30 days.
- Events (the outbox, `services/events.py`): 30 days after they happened, and never while a delivery of
  the event is kept (the dispatcher reads the event to send it; the deliveries log shows its type). Fan-out
  is written with the event, so there is no "not yet fanned out" state to wait for. Stripe: 30 days.
- Tracking hits (`tracking_events`, every open and click): 90 days. The statistics and the leads'
  `openedAt`/`clickedAt` are the leads' own timestamps and outlive the hits; the hits decide only whether
  a hit is a message's *first* (one `email.opened`/`email.clicked` each) and catch a link scanner's burst
  (seconds long). So after 90 days a new open of the same message counts as a first again. 90 days is
  longer than any sequence we expect to run and twice Postmark's default of 45 days for message events.
- Inbound messages (`inbound_messages`, replies and bounce reports read over IMAP): 90 days. They stop a
  message being processed twice; after a UIDVALIDITY change the poller reads the INBOX again only from
  the start of this window (`engine/poller.py`), so a deleted record is never needed again.
- Idempotency keys: 24 hours, Stripe's lifetime, which the contract promises (`idempotency.py` refuses
  to replay an older key; this sweep removes the ones no request of their account came back to clear).

Messages, leads, contacts and suppressions are never expired here: the statistics are counted from them.

Each tick deletes at most `batch` rows of each kind, each kind in its own short write transaction: the
oldest expired rows' keys are picked through an index on the age column (ordered, `LIMIT batch`) and
deleted by key. On PostgreSQL the pick is `FOR UPDATE SKIP LOCKED`, so workers sweeping at the same time
take disjoint batches and none waits on another or on the sending engine; on SQLite a write transaction
holds the single write lock (`BEGIN IMMEDIATE`), which serialises them. Deleting a row twice is
impossible either way, and a worker that dies mid-batch rolls back and loses nothing. The delete repeats
the pick's conditions, so a row that changed in between (a delivery retried by hand) stays. When a tick
finds nothing, the next sweep waits `interval` (the runner ticks idle tasks twice a second). River's job
cleaner deletes finished jobs the same way: by age, in batches, from any number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now as real_now
from fluenzr_server.settings import Settings
from fluenzr_server.store import tables as t

Clock = Callable[[], datetime]
FINISHED = ("delivered", "failed")  # a delivery in these states is owed to no one


@dataclass(frozen=True, slots=True)
class Windows:
    """How long each kind of record is kept."""

    events: timedelta
    webhook_deliveries: timedelta
    tracking_hits: timedelta
    inbound_messages: timedelta
    idempotency_keys: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Windows:
        return cls(
            events=timedelta(days=settings.retention_events_days),
            webhook_deliveries=timedelta(days=settings.retention_webhook_deliveries_days),
            tracking_hits=timedelta(days=settings.retention_tracking_hits_days),
            inbound_messages=timedelta(days=settings.retention_inbound_messages_days),
            idempotency_keys=timedelta(hours=settings.retention_idempotency_keys_hours),
        )


@dataclass(frozen=True, slots=True)
class Swept:
    """Rows deleted by one tick, per kind (attempts go with their deliveries)."""

    webhook_deliveries: int = 0
    webhook_attempts: int = 0
    events: int = 0
    tracking_hits: int = 0
    inbound_messages: int = 0
    idempotency_keys: int = 0

    @property
    def total(self) -> int:
        return (
            self.webhook_deliveries
            + self.events
            + self.tracking_hits
            + self.inbound_messages
            + self.idempotency_keys
        )


class RetentionTask:
    """The engine task (`engine.runner.Task`) that deletes expired records; one per worker process."""

    name = "retention"

    def __init__(
        self,
        *,
        clock: Clock = real_now,
        windows: Windows | None = None,
        batch: int | None = None,
        interval: float | None = None,
        account_ids: Sequence[str] | None = None,
    ) -> None:
        """`windows`, `batch` (rows per kind per tick) and `interval` (seconds between sweeps that found
        nothing) default to the settings; `account_ids` restricts the sweep to those accounts (tests
        sharing a database), None sweeps every account."""
        self.clock = clock
        self.windows = windows
        self.batch = batch
        self.interval = interval
        self.account_ids = list(account_ids) if account_ids is not None else None
        self.last = Swept()
        self._next_sweep = 0.0  # time.monotonic() after which an idle task sweeps again

    async def tick(self, resources: Resources) -> int:
        """Delete up to `batch` expired rows of each kind; how many rows were deleted (0: nothing was
        due, or the last sweep found nothing less than `interval` ago)."""
        if time.monotonic() < self._next_sweep:
            return 0
        self.last = await self.sweep(resources)
        if self.last.total == 0:
            interval = self.interval or resources.settings.retention_interval_seconds
            self._next_sweep = time.monotonic() + interval
        return self.last.total

    async def sweep(self, resources: Resources) -> Swept:
        """One batch of each kind, now (whatever the interval)."""
        settings = resources.settings
        windows = self.windows or Windows.from_settings(settings)
        limit = self.batch or settings.retention_batch_size
        at = self.clock()
        database = resources.database
        async with database.write() as conn:
            deliveries, attempts = await self._deliveries(conn, at - windows.webhook_deliveries, limit)
        async with database.write() as conn:
            events = await self._events(conn, at - windows.events, limit)
        async with database.write() as conn:
            hits = await self._hits(conn, at - windows.tracking_hits, limit)
        async with database.write() as conn:
            inbound = await self._by_account(
                conn, t.inbound_messages, "received_at", at - windows.inbound_messages, limit
            )
        async with database.write() as conn:
            keys = await self._by_account(
                conn, t.idempotency_keys, "created_at", at - windows.idempotency_keys, limit
            )
        return Swept(deliveries, attempts, events, hits, inbound, keys)

    def _accounts(self, table: Table) -> list[ColumnElement[bool]]:
        return [] if self.account_ids is None else [table.c.account_id.in_(self.account_ids)]

    async def _deliveries(self, conn: AsyncConnection, cutoff: datetime, limit: int) -> tuple[int, int]:
        c = t.webhook_deliveries.c
        # A finished delivery's `due_at` is when its last attempt was due (ix_webhook_deliveries_status_due).
        expired = and_(
            c.status.in_(FINISHED),
            c.due_at < cutoff,
            or_(c.last_attempt_at.is_(None), c.last_attempt_at < cutoff),
            *self._accounts(t.webhook_deliveries),
        )
        # In no particular order: the index is (status, due_at) and two statuses qualify, so ordering by
        # age would sort every expired row for each batch; any expired batch will do.
        ids = await _pick(conn, t.webhook_deliveries, None, expired, limit)
        if not ids:
            return 0, 0
        keys = [key for (key,) in ids]
        attempts = await conn.execute(
            delete(t.webhook_attempts).where(t.webhook_attempts.c.delivery_id.in_(keys))
        )
        gone = await conn.execute(delete(t.webhook_deliveries).where(c.id.in_(keys), expired))
        return gone.rowcount, attempts.rowcount

    async def _events(self, conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
        c = t.events.c
        delivered_from = exists().where(t.webhook_deliveries.c.event_id == c.id)
        expired = and_(c.created_at < cutoff, ~delivered_from, *self._accounts(t.events))
        ids = await _pick(conn, t.events, c.created_at, expired, limit)
        if not ids:
            return 0
        gone = await conn.execute(delete(t.events).where(c.id.in_([key for (key,) in ids]), expired))
        return gone.rowcount

    async def _hits(self, conn: AsyncConnection, cutoff: datetime, limit: int) -> int:
        c = t.tracking_events.c
        scope: list[ColumnElement[bool]] = []
        if self.account_ids is not None:
            owned = select(t.messages.c.id).where(t.messages.c.account_id.in_(self.account_ids))
            scope.append(c.message_id.in_(owned))
        ids = await _pick(conn, t.tracking_events, c.at, and_(c.at < cutoff, *scope), limit)
        if not ids:
            return 0
        gone = await conn.execute(delete(t.tracking_events).where(c.id.in_([key for (key,) in ids])))
        return gone.rowcount

    async def _by_account(
        self, conn: AsyncConnection, table: Table, age: str, cutoff: datetime, limit: int
    ) -> int:
        expired = and_(table.c[age] < cutoff, *self._accounts(table))
        keys = await _pick(conn, table, table.c[age], expired, limit)
        if not keys:
            return 0
        primary = tuple_(*table.primary_key.columns)
        gone = await conn.execute(delete(table).where(primary.in_([tuple(key) for key in keys])))
        return gone.rowcount


async def _pick(
    conn: AsyncConnection, table: Table, age: Any, expired: ColumnElement[bool], limit: int
) -> list[Any]:
    """The primary keys of up to `limit` expired rows, oldest first by the `age` column (in index order,
    so the scan stops after `limit` rows; None: any order); on PostgreSQL locked until the transaction
    ends, and rows another transaction holds are skipped (another worker's batch)."""
    key = list(table.primary_key.columns)
    pick = select(*key).where(expired).limit(limit)
    if age is not None:
        pick = pick.order_by(age, *key)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=table)
    return list((await conn.execute(pick)).all())
