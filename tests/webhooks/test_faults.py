"""Faults: an endpoint down for a while, and a worker killed with SIGKILL mid-delivery. Every event is
delivered, verified, at least once; duplicates carry the same webhook-id; nothing is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.store import tables as t
from fluenzr_server.webhooks.policy import RETRY_DELAYS
from tests.conftest import ROOT, Tenant
from tests.utils.factories import create_contact
from tests.webhooks.conftest import Clock, drain, subscribe
from tests.webhooks.receiver import Receiver


async def event_ids(hook_resources: Resources, tenant: Tenant) -> set[str]:
    async with hook_resources.database.read() as conn:
        query = select(t.events.c.id).where(t.events.c.account_id == tenant.account_id)
        return set((await conn.execute(query)).scalars())


async def statuses(hook_resources: Resources, tenant: Tenant) -> list[str]:
    async with hook_resources.database.read() as conn:
        query = select(t.webhook_deliveries.c.status).where(
            t.webhook_deliveries.c.account_id == tenant.account_id
        )
        return list((await conn.execute(query)).scalars())


async def test_an_endpoint_down_for_a_while_gets_every_event_once_when_back(
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    await subscribe(api, receiver, ["contact.created"])
    receiver.stop()
    for _ in range(10):
        await create_contact(api)
    assert await drain(dispatcher, hook_resources) == 10  # connection refused
    clock.advance(RETRY_DELAYS[0])
    assert await drain(dispatcher, hook_resources) == 10  # still down
    receiver.start()
    clock.advance(RETRY_DELAYS[1])
    assert await drain(dispatcher, hook_resources) == 10

    counts = receiver.ids()
    assert set(counts) == await event_ids(hook_resources, tenant) and set(counts.values()) == {1}
    assert all(r.verified for r in receiver.received)
    assert await statuses(hook_resources, tenant) == ["delivered"] * 10


def start_worker(database_url: str, account_id: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.webhooks.worker_main", database_url, account_id, "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process


async def test_a_worker_killed_mid_delivery_loses_nothing(
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    hook_resources: Resources,
    database_url: str,
    tmp_path: Path,
) -> None:
    await subscribe(api, receiver, ["contact.created"])
    receiver.answer(200, hang=5)  # the first request hangs: the worker is mid-delivery when killed
    for _ in range(20):
        await create_contact(api)
    expected = await event_ids(hook_resources, tenant)
    log = tmp_path / "worker.log"

    first = start_worker(database_url, tenant.account_id, log)
    try:
        await asyncio.to_thread(receiver.wait_for, 1, 30)
        await asyncio.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert await statuses(hook_resources, tenant) == ["pending"] * 20  # nothing was recorded as sent

    second = start_worker(database_url, tenant.account_id, log)
    try:
        for _ in range(300):  # up to 60 s: the lease (2 s) runs out, then the batch is sent again
            if set(await statuses(hook_resources, tenant)) == {"delivered"}:
                break
            await asyncio.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert set(await statuses(hook_resources, tenant)) == {"delivered"}, log.read_text()[-3000:]
    verified = {r.webhook_id for r in receiver.verified()}
    assert verified == expected  # every event arrived, signed
    assert all(len(json.loads(r.body)["data"]) > 0 for r in receiver.received)
    # Duplicates are allowed (the killed worker's batch is sent again), and carry the same webhook-id.
    assert set(receiver.ids()) == expected


async def test_an_endpoint_deleted_mid_delivery_ends_the_batch_cleanly(
    api: httpx.AsyncClient,
    tenant: Tenant,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(200, hang=1.0)
    await create_contact(api)
    tick = asyncio.create_task(dispatcher.tick(hook_resources))
    await asyncio.to_thread(receiver.wait_for, 1, 10)
    assert (await api.delete(f"/webhooks/{hook['id']}")).status_code == 200
    assert await tick == 1  # recorded nothing for the vanished delivery, raised nothing
    assert await statuses(hook_resources, tenant) == []
