"""The retention sweep (`engine/retention.py`) on both databases, with a frozen clock: what goes, what stays,
bounded batches, and two workers sweeping at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import func, insert, select

from fluenzr_server.engine.poller import ImapPollTask
from fluenzr_server.engine.retention import RetentionTask, Swept
from fluenzr_server.engine.tasks import default_tasks
from fluenzr_server.ids import new_id
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now as real_now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant, resources_for

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_serial = count()


def key(prefix: str) -> str:
    return new_id(prefix)


def frozen() -> datetime:
    return NOW


def task(tenant: Tenant, **options: Any) -> RetentionTask:
    return RetentionTask(clock=frozen, account_ids=[tenant.account_id], **options)


class Scene:
    """Rows of one tenant written straight into the tables, with the ages a test gives them."""

    def __init__(self, database: Database, tenant: Tenant) -> None:
        self.database = database
        self.account_id = tenant.account_id
        self.webhook_id = ""
        self.message_id = ""
        self.email_account_id = ""
        self.campaign_id = ""

    async def setup(self) -> Scene:
        account = self.account_id
        self.webhook_id, self.email_account_id = key("whk"), key("eml")
        contact, campaign, self.message_id = key("con"), key("cmp"), key("msg")
        self.campaign_id = campaign
        at = NOW - 400 * DAY
        async with self.database.write() as conn:
            await conn.execute(
                insert(t.webhooks).values(
                    id=self.webhook_id,
                    account_id=account,
                    url="https://hooks.example.com/x",
                    events=["contact.created"],
                    active=True,
                    secret="sealed",
                    created_at=at,
                )
            )
            await conn.execute(
                insert(t.email_accounts).values(
                    id=self.email_account_id,
                    account_id=account,
                    from_email=f"{self.email_account_id}@acme.example",
                    from_name="Sam",
                    smtp_host="smtp.acme.example",
                    smtp_port=587,
                    smtp_username="sam",
                    smtp_password="sealed",
                    smtp_security="starttls",
                    daily_limit=100,
                    created_at=at,
                    updated_at=at,
                )
            )
            await conn.execute(
                insert(t.contacts).values(
                    id=contact,
                    account_id=account,
                    email=f"{contact}@example.com",
                    custom_fields={},
                    created_at=at,
                    updated_at=at,
                )
            )
            await conn.execute(
                insert(t.campaigns).values(
                    id=campaign,
                    account_id=account,
                    name="Old",
                    steps=[],
                    schedule={},
                    status="completed",
                    created_at=at,
                    updated_at=at,
                )
            )
            await conn.execute(
                insert(t.campaign_contacts).values(
                    campaign_id=campaign,
                    contact_id=contact,
                    current_step=1,
                    status="completed",
                    added_at=at,
                    sent_at=at,
                    opened_at=at,
                    clicked_at=at,
                )
            )
            await conn.execute(
                insert(t.messages).values(
                    id=self.message_id,
                    account_id=account,
                    campaign_id=campaign,
                    contact_id=contact,
                    step=0,
                    to_email=f"{contact}@example.com",
                    message_id=f"<{self.message_id}@acme.example>",
                    status="sent",
                    attempts=1,
                    created_at=at,
                    updated_at=at,
                    sent_at=at,
                )
            )
        return self

    async def event(self, age: timedelta) -> str:
        event_id = key("evt")
        row = {"id": event_id, "account_id": self.account_id, "type": "contact.created", "data": {}}
        async with self.database.write() as conn:
            await conn.execute(insert(t.events).values(created_at=NOW - age, **row))
        return event_id

    async def delivery(
        self,
        event_id: str,
        status: str,
        age: timedelta,
        *,
        attempted: timedelta | None = None,
        attempts: int = 1,
    ) -> str:
        delivery_id = key("dlv")
        last = NOW - (attempted if attempted is not None else age)
        async with self.database.write() as conn:
            await conn.execute(
                insert(t.webhook_deliveries).values(
                    id=delivery_id,
                    account_id=self.account_id,
                    webhook_id=self.webhook_id,
                    event_id=event_id,
                    status=status,
                    attempt_count=attempts,
                    schedule_step=attempts,
                    due_at=NOW - age,
                    created_at=NOW - age,
                    last_attempt_at=last if attempts else None,
                )
            )
            for _ in range(attempts):
                await conn.execute(
                    insert(t.webhook_attempts).values(
                        id=key("att"),
                        delivery_id=delivery_id,
                        attempted_at=last,
                        status_code=200,
                        duration_ms=5,
                    )
                )
        return delivery_id

    async def hits(self, age: timedelta, number: int = 1) -> list[str]:
        ids = [key("trk") for _ in range(number)]
        rows = [
            {"id": i, "message_id": self.message_id, "kind": "open", "at": NOW - age, "machine": False}
            for i in ids
        ]
        async with self.database.write() as conn:
            await conn.execute(insert(t.tracking_events), rows)
        return ids

    async def inbound(self, age: timedelta) -> str:
        inbound_id = key("inb")
        async with self.database.write() as conn:
            await conn.execute(
                insert(t.inbound_messages).values(
                    id=inbound_id,
                    account_id=self.account_id,
                    email_account_id=self.email_account_id,
                    uid_validity=1,
                    uid=next(_serial),
                    fingerprint=inbound_id,
                    kind="other",
                    received_at=NOW - age,
                )
            )
        return inbound_id

    async def idempotency_keys(self, age: timedelta, number: int = 1, *, finished: bool = True) -> list[str]:
        keys = [key("idem") for _ in range(number)]
        rows = [
            {
                "account_id": self.account_id,
                "key": k,
                "fingerprint": "f" * 64,
                "status_code": 201 if finished else None,
                "response_body": "{}" if finished else None,
                "created_at": NOW - age,
            }
            for k in keys
        ]
        async with self.database.write() as conn:
            await conn.execute(insert(t.idempotency_keys), rows)
        return keys

    async def ids(self, table: Any) -> set[str]:
        column = table.c.key if table is t.idempotency_keys else table.c.id
        scope: Any
        if table is t.tracking_events:
            scope = table.c.message_id == self.message_id
        elif table is t.webhook_attempts:
            owned = select(t.webhook_deliveries.c.id).where(
                t.webhook_deliveries.c.account_id == self.account_id
            )
            scope = table.c.delivery_id.in_(owned)
        else:
            scope = table.c.account_id == self.account_id
        async with self.database.read() as conn:
            return set((await conn.execute(select(column).where(scope))).scalars().all())


async def scene(database: Database, tenant: Tenant) -> Scene:
    return await Scene(database, tenant).setup()


async def sweep_all(retention: RetentionTask, resources: Resources) -> list[Swept]:
    done = []
    while (swept := await retention.sweep(resources)).total:
        done.append(swept)
    return done


async def test_old_finished_rows_go_and_young_or_unfinished_rows_stay(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)
    # Deliveries (30 days after the last attempt, once finished) and the events they hold (30 days).
    e_done = await s.event(40 * DAY)
    d_done = await s.delivery(e_done, "delivered", 31 * DAY, attempts=2)
    e_failed = await s.event(35 * DAY)
    d_failed = await s.delivery(e_failed, "failed", 30 * DAY + timedelta(seconds=1), attempts=8)
    e_pending = await s.event(90 * DAY)
    d_pending = await s.delivery(e_pending, "pending", 60 * DAY, attempts=3)  # still owed: stays
    e_young_delivery = await s.event(45 * DAY)
    d_young = await s.delivery(e_young_delivery, "delivered", 29 * DAY)
    e_retried = await s.event(50 * DAY)
    d_retried = await s.delivery(e_retried, "delivered", 50 * DAY, attempted=DAY)  # retried by hand lately
    e_lonely_old = await s.event(31 * DAY)
    e_young = await s.event(29 * DAY)
    # Tracking hits and inbound messages (90 days), idempotency keys (24 hours).
    (old_hit,) = await s.hits(91 * DAY)
    (young_hit,) = await s.hits(89 * DAY)
    old_inbound, young_inbound = await s.inbound(91 * DAY), await s.inbound(89 * DAY)
    (old_key,) = await s.idempotency_keys(timedelta(hours=25))
    (abandoned_key,) = await s.idempotency_keys(timedelta(hours=25), finished=False)
    (young_key,) = await s.idempotency_keys(timedelta(hours=23))

    done = await sweep_all(task(tenant), resources)

    assert sum(x.webhook_deliveries for x in done) == 2 and sum(x.webhook_attempts for x in done) == 10
    assert await s.ids(t.webhook_deliveries) == {d_pending, d_young, d_retried}
    assert {d_done, d_failed}.isdisjoint(await s.ids(t.webhook_deliveries))
    assert len(await s.ids(t.webhook_attempts)) == 3 + 1 + 1
    assert await s.ids(t.events) == {e_pending, e_young_delivery, e_retried, e_young}
    assert {e_done, e_failed, e_lonely_old}.isdisjoint(await s.ids(t.events))
    assert await s.ids(t.tracking_events) == {young_hit} and old_hit not in await s.ids(t.tracking_events)
    assert await s.ids(t.inbound_messages) == {young_inbound} and old_inbound != young_inbound
    assert await s.ids(t.idempotency_keys) == {young_key}  # old_key and abandoned_key (never finished) gone
    assert {old_key, abandoned_key}.isdisjoint(await s.ids(t.idempotency_keys))
    # What the statistics count is never touched: the lead's timestamps and the message.
    async with database.read() as conn:
        lead = (
            await conn.execute(
                select(t.campaign_contacts).where(t.campaign_contacts.c.campaign_id == s.campaign_id)
            )
        ).first()
        assert lead is not None and lead.opened_at is not None and lead.clicked_at is not None
        assert (await conn.execute(select(func.count()).where(t.messages.c.id == s.message_id))).scalar() == 1


async def test_each_tick_deletes_at_most_a_batch_of_each_kind(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)
    await s.hits(100 * DAY, number=25)
    await s.idempotency_keys(timedelta(days=2), number=12)
    for _ in range(7):
        await s.event(40 * DAY)
    done = await sweep_all(task(tenant, batch=10), resources)
    assert [(x.tracking_hits, x.idempotency_keys, x.events) for x in done] == [
        (10, 10, 7),
        (10, 2, 0),
        (5, 0, 0),
    ]
    assert await s.ids(t.tracking_events) == set() and await s.ids(t.idempotency_keys) == set()


async def test_the_oldest_rows_go_first(resources: Resources, database: Database, tenant: Tenant) -> None:
    s = await scene(database, tenant)
    oldest = await s.hits(300 * DAY, number=3)
    older = await s.hits(200 * DAY, number=3)
    await task(tenant, batch=3).sweep(resources)
    assert await s.ids(t.tracking_events) == set(older)
    assert set(oldest).isdisjoint(await s.ids(t.tracking_events))


async def test_two_workers_sweeping_at_once_delete_each_row_once(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)
    await s.hits(120 * DAY, number=300)
    young = set(await s.hits(DAY, number=5))
    for _ in range(40):
        await s.delivery(await s.event(60 * DAY), "delivered", 40 * DAY, attempts=2)
    workers = [task(tenant, batch=25), task(tenant, batch=25)]
    swept = await asyncio.gather(*(sweep_all(w, resources) for w in workers))
    batches = [x for per_worker in swept for x in per_worker]
    assert sum(x.tracking_hits for x in batches) == 300  # every old hit deleted, none counted twice
    assert sum(x.webhook_deliveries for x in batches) == 40 and sum(x.webhook_attempts for x in batches) == 80
    assert sum(x.events for x in batches) == 40
    assert all(x.tracking_hits <= 25 and x.webhook_deliveries <= 25 for x in batches)
    assert await s.ids(t.tracking_events) == young
    assert await s.ids(t.webhook_deliveries) == set() and await s.ids(t.events) == set()


async def test_windows_come_from_the_settings(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)
    (hit,) = await s.hits(10 * DAY)
    (kept,) = await s.hits(8 * DAY)
    settings = resources.settings.model_copy(update={"retention_tracking_hits_days": 9.0})
    scoped = resources_for(resources, settings)
    await sweep_all(task(tenant), scoped)
    assert await s.ids(t.tracking_events) == {kept} != {hit}


async def test_an_idle_sweep_waits_its_interval_and_the_engine_runs_it(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)
    retention = task(tenant, interval=3600)
    assert await retention.tick(resources) == 0  # nothing expired: the next sweep is an hour away
    (hit,) = await s.hits(100 * DAY)
    assert await retention.tick(resources) == 0 and await s.ids(t.tracking_events) == {hit}
    busy = task(tenant, interval=3600)
    assert await busy.tick(resources) == 1 and await s.ids(t.tracking_events) == set()
    assert "retention" in [each.name for each in default_tasks(resources)]


async def test_a_new_imap_cursor_starts_inside_the_inbound_retention_window(
    resources: Resources, database: Database, tenant: Tenant
) -> None:
    s = await scene(database, tenant)  # its email account was created 400 days before NOW
    poller = ImapPollTask(resources)
    today = real_now().date()
    window = resources.settings.retention_inbound_messages_days
    since = await poller._since(resources, s.email_account_id)
    # Messages older than the window may have lost their record: reading them again would apply them twice.
    assert since == today - timedelta(days=window) + DAY
    async with database.write() as conn:
        young = t.email_accounts.update().where(t.email_accounts.c.id == s.email_account_id)
        await conn.execute(young.values(created_at=real_now() - 3 * DAY))
    assert await poller._since(resources, s.email_account_id) == today - 4 * DAY
