"""`fluenzr-server worker` processes against one SMTP sink: killed with SIGKILL and restarted, and three at
once on PostgreSQL. The sink's received Message-IDs are compared with the database afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from fluenzr_server.engine.smtp_sink import SmtpSink, TestCertificate
from fluenzr_server.ids import new_id
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.engine.sending.conftest import SINK_LOGIN, Harness
from tests.utils.assertions import ok, ok_object


@pytest.fixture
def login_sink(certificate: TestCertificate) -> Iterator[SmtpSink]:
    """A sink in a thread of its own (worker processes talk to it while the test waits)."""
    with SmtpSink(certificate=certificate, credentials=SINK_LOGIN) as sink:
        yield sink


def start_worker(database_url: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLUENZR_DATABASE_URL": database_url,
        "FLUENZR_ENVIRONMENT": "test",
        "FLUENZR_ALLOW_PRIVATE_HOSTS": "1",
        "FLUENZR_ENGINE_LEASE_SECONDS": "6",
        "FLUENZR_SMTP_TIMEOUT_SECONDS": "1",
        "FLUENZR_LOG_LEVEL": "warning",
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fluenzr_server.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def insert_contacts(database: Database, account_id: str, count: int, tag: str) -> list[str]:
    """Contacts written straight into the table (the API path is tested elsewhere; thousands are slow)."""
    stamp = now()
    rows = [
        {
            "id": new_id("ctc"),
            "account_id": account_id,
            "email": f"{tag}-{index}@example.com",
            "first_name": f"Lead{index}",
            "last_name": None,
            "company": "Acme",
            "custom_fields": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        for index in range(count)
    ]
    async with database.write() as conn:
        for start in range(0, count, 1000):
            await conn.execute(insert(t.contacts), rows[start : start + 1000])
    return [row["id"] for row in rows]


async def campaign_with(harness: Harness, mailbox: dict[str, Any], contact_ids: list[str]) -> dict[str, Any]:
    campaign = await harness.campaign(mailbox, [], start=False)
    for start in range(0, len(contact_ids), 1000):
        chunk = contact_ids[start : start + 1000]
        ok(await harness.client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": chunk}))
    return ok_object(await harness.client.post(f"/campaigns/{campaign['id']}/start"))


async def message_rows(database: Database, campaign_ids: list[str]) -> list[Any]:
    async with database.read() as conn:
        query = select(t.messages).where(t.messages.c.campaign_id.in_(campaign_ids))
        return list((await conn.execute(query)).all())


async def lead_states(database: Database, campaign_ids: list[str]) -> Counter[str]:
    async with database.read() as conn:
        query = (
            select(t.campaign_contacts.c.status, func.count())
            .where(t.campaign_contacts.c.campaign_id.in_(campaign_ids))
            .group_by(t.campaign_contacts.c.status)
        )
        return Counter({str(status): int(count) for status, count in (await conn.execute(query)).all()})


async def wait_until(condition: Any, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_kill_9_of_a_worker_under_load_then_restart_loses_and_duplicates_nothing(
    harness: Harness, login_sink: SmtpSink, database_url: str, tmp_path: Path
) -> None:
    sink = login_sink
    sink.slow("data", 0.005)
    mailboxes = [await harness.mailbox(sink) for _ in range(2)]
    campaigns = []
    for index, mailbox in enumerate(mailboxes):
        ids = await insert_contacts(harness.database, harness.account_id, 200, f"kill{index}-{new_id('t')}")
        campaigns.append(await campaign_with(harness, mailbox, ids))
    campaign_ids = [c["id"] for c in campaigns]
    log = tmp_path / "worker.log"

    worker = start_worker(database_url, log)
    try:
        await wait_until(lambda: _at_least(sink, 80), seconds=60, what="80 messages before the kill")
        worker.send_signal(signal.SIGKILL)  # mid-batch: conversations and claims left behind
        worker.wait()
        killed_at = len(sink.messages)
        worker = start_worker(database_url, log)

        async def settled() -> bool:
            states = await lead_states(harness.database, campaign_ids)
            in_flight = [
                m for m in await message_rows(harness.database, campaign_ids) if m.status == "sending"
            ]
            return states.get("active", 0) == 0 and not in_flight

        try:
            await wait_until(settled, seconds=60, what="every lead to finish after the restart")
        except AssertionError:
            states = await lead_states(harness.database, campaign_ids)
            rows = Counter(m.status for m in await message_rows(harness.database, campaign_ids))
            raise AssertionError(f"{states} {rows} {len(sink.messages)} {log.read_text()[-3000:]}") from None
    finally:
        stop(worker)

    received = sink.message_ids()
    duplicates = [mid for mid, count in Counter(received).items() if count > 1]
    assert duplicates == [], f"sent twice: {duplicates[:5]}"
    rows = {row.message_id: row for row in await message_rows(harness.database, campaign_ids)}
    assert set(received) <= set(rows), "the sink received a message the database does not know"
    sent = {mid for mid, row in rows.items() if row.status == "sent"}
    assert sent <= set(received), "a message recorded as sent never arrived"
    # Whatever the kill cut short is visible: `unknown` (maybe delivered, never resent), its lead `failed`.
    assert {row.status for row in rows.values()} <= {"sent", "unknown"}
    states = await lead_states(harness.database, campaign_ids)
    assert states["completed"] + states["failed"] == 400
    assert states["completed"] == len(sent) and states["failed"] == len(rows) - len(sent)
    assert killed_at < 400


async def _at_least(sink: SmtpSink, count: int) -> bool:
    return len(sink.messages) >= count


@pytest.mark.slow
async def test_three_workers_on_postgresql_5000_leads_5_mailboxes_no_duplicate_none_lost_limits_held(
    harness: Harness, login_sink: SmtpSink, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share the work through PostgreSQL (SQLite: one process)")
    sink = login_sink
    limits = [2000, 2000, 2000, 2000, 600]  # the last mailbox has more leads than its daily limit
    mailboxes = [await harness.mailbox(sink, dailyLimit=limit) for limit in limits]
    campaigns = []
    for index, mailbox in enumerate(mailboxes):
        ids = await insert_contacts(harness.database, harness.account_id, 1000, f"w{index}-{new_id('t')}")
        campaigns.append(await campaign_with(harness, mailbox, ids))
    campaign_ids = [c["id"] for c in campaigns]
    expected = sum(min(limit, 1000) for limit in limits)

    extra = {"FLUENZR_ENGINE_LEASE_SECONDS": "30", "FLUENZR_SMTP_TIMEOUT_SECONDS": "5"}
    workers = [start_worker(database_url, tmp_path / f"worker{n}.log", **extra) for n in range(3)]

    async def done() -> bool:
        rows = await message_rows(harness.database, campaign_ids)
        return len(rows) >= expected and not any(r.status in ("sending", "retrying") for r in rows)

    try:
        await wait_until(done, seconds=300, what=f"{expected} messages sent and recorded")
        await asyncio.sleep(2)  # anything beyond the limits would be claimed now
    finally:
        for worker in workers:
            stop(worker)

    logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(3))
    received = sink.message_ids()
    assert len(received) == len(set(received)), "a message was sent twice"
    rows = await message_rows(harness.database, campaign_ids)
    by_id = {r.message_id: r for r in rows}
    assert len(rows) == expected, "a mailbox went over its limit, or a lead was lost"
    assert set(received) <= set(by_id), "the sink received a message the database does not know"
    sent = {r.message_id for r in rows if r.status == "sent"}
    assert sent <= set(received), "a message recorded as sent never arrived"
    # A reply lost after the data (a timeout on this shared machine) is `unknown`: visible, never resent.
    statuses = Counter(r.status for r in rows)
    assert set(statuses) <= {"sent", "unknown"}, (statuses, logs[-3000:])
    assert statuses["unknown"] <= 10, (statuses, logs[-3000:])
    per_mailbox = Counter(r.email_account_id for r in rows)
    for mailbox, limit in zip(mailboxes, limits, strict=True):
        assert per_mailbox[mailbox["id"]] == min(limit, 1000)
        account = ok_object(await harness.client.get(f"/email-accounts/{mailbox['id']}"))
        assert account["sentToday"] == min(limit, 1000)
    states = await lead_states(harness.database, campaign_ids)
    expected_states = {
        "completed": statuses["sent"],
        "failed": statuses["unknown"],
        "active": 5000 - expected,
    }
    assert states == Counter({k: v for k, v in expected_states.items() if v})  # none lost
    limited = campaigns[-1]["id"]
    status = ok_object(await harness.client.get(f"/campaigns/{limited}/sending-status"))
    assert "daily_limit_reached" in [r["code"] for r in status["reasons"]]
    assert "Traceback" not in logs, logs[-3000:]
