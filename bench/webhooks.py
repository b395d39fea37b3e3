"""`make bench` (webhooks): deliveries per second from one dispatcher to a local endpoint, against a bare
httpx loop posting the same signed payloads with the same concurrency.

`python -m bench.webhooks` from the repository root (PostgreSQL from FLUENZR_TEST_POSTGRES_URL, as
`.ci/services.sh` prints it; SQLite always). The endpoint is `bench/webhook_sink.py` under uvicorn in its own
process. Writes bench/results/webhooks.md and prints it. BENCH_WEBHOOK_DELIVERIES (default 5000) sets the
number of deliveries per run; the target (issue 14) is >= 1,000 deliveries/s on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import create_engine, func, select, text

from bench.procs import ROOT, Server, free_port, python, running
from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts, events, webhooks
from fluenzr_server.services.events import payload
from fluenzr_server.settings import Settings
from fluenzr_server.store import tables as t
from fluenzr_server.store.engine import sync_url
from fluenzr_server.store.migrate import upgrade
from fluenzr_server.webhooks.http import MAX_IN_FLIGHT
from fluenzr_server.webhooks.signing import body_of, signed_headers

RESULTS = ROOT / "bench" / "results" / "webhooks.md"
BATCH = 200  # the dispatcher's batch; both sides keep at most MAX_IN_FLIGHT requests in flight


@dataclass(frozen=True, slots=True)
class Run:
    backend: str
    deliveries: int
    dispatcher_seconds: float
    dispatcher_cpu: float
    bare_seconds: float

    @property
    def rate(self) -> float:
        return self.deliveries / self.dispatcher_seconds

    @property
    def bare_rate(self) -> float:
        return self.deliveries / self.bare_seconds


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fresh_postgres(admin: str, name: str) -> str:
    engine = create_engine(sync_url(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sync_url(admin).set(database=name).render_as_string(hide_password=False)


async def _seed(resources: Resources, url: str, count: int) -> tuple[str, str]:
    db = resources.database
    account_id = await accounts.create_account(db, name="Bench", plan="pro")
    hook = await webhooks.create_webhook(
        db,
        account_id=account_id,
        body={"url": url, "events": ["contact.created"]},
        allow_private=True,
        box=resources.secret_box,
    )
    data = {
        "id": "ctc_bench",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": None,
        "company": "Analytical Engines",
        "customFields": {},
        "groupIds": [],
        "createdAt": "2026-01-01T00:00:00.000000Z",
        "updatedAt": "2026-01-01T00:00:00.000000Z",
    }
    for start in range(0, count, 500):
        async with db.write() as conn:
            for _ in range(min(500, count - start)):
                await events.emit(conn, account_id=account_id, type="contact.created", data=data)
    return account_id, hook["secret"]


async def _pending(resources: Resources, account_id: str) -> int:
    async with resources.database.read() as conn:
        query = (
            select(func.count())
            .select_from(t.webhook_deliveries)
            .where(
                t.webhook_deliveries.c.account_id == account_id, t.webhook_deliveries.c.status != "delivered"
            )
        )
        return int((await conn.execute(query)).scalar_one())


async def measure(backend: str, database_url: str, sink_url: str, count: int) -> Run:
    settings = Settings(
        _env_file=None, environment="test", database_url=database_url, allow_private_hosts=True
    )
    resources = Resources.open(settings)
    try:
        account_id, secret = await _seed(resources, sink_url, count)
        dispatcher = WebhookDispatcher(batch=BATCH, account_ids=[account_id])
        cpu, started = _cpu(), time.perf_counter()
        while await dispatcher.tick(resources):
            pass
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
        await dispatcher.close()
        left = await _pending(resources, account_id)
        if left:
            raise RuntimeError(f"{left} deliveries were not delivered")

        async with resources.database.read() as conn:
            rows = (await conn.execute(select(t.events).where(t.events.c.account_id == account_id))).all()
        now = datetime.now(UTC)
        signed = []
        for row in rows:
            body = body_of(payload(row))
            signed.append((body, signed_headers(message_id=row.id, body=body, secrets=[secret], at=now)))
        limits = httpx.Limits(max_connections=BATCH, max_keepalive_connections=BATCH)
        async with httpx.AsyncClient(limits=limits, timeout=15) as client:
            started = time.perf_counter()
            for start in range(0, len(signed), BATCH):
                chunk = signed[start : start + BATCH]
                answers = await asyncio.gather(
                    *(client.post(sink_url, content=b, headers=h) for b, h in chunk)
                )
                assert all(a.status_code == 204 for a in answers)
            bare = time.perf_counter() - started
        return Run(backend, count, seconds, cpu, bare)
    finally:
        await resources.close()


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip()


def report(runs: list[Run]) -> str:
    machine = f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    lines = [
        "# Webhook delivery benchmark",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- commit: {_commit()}",
        f"- machine: {machine}, load {os.getloadavg()[0]:.2f}",
        f"- one dispatcher (batch {BATCH}, {MAX_IN_FLIGHT} in flight, in this process) -> uvicorn sink"
        " (1 process), all on 127.0.0.1",
        "",
        "| database | deliveries | dispatcher deliveries/s | dispatcher CPU ms/delivery "
        "| bare httpx loop/s | dispatcher / bare |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.backend} | {run.deliveries} | {run.rate:,.0f} "
            f"| {run.dispatcher_cpu * 1000 / run.deliveries:.2f} "
            f"| {run.bare_rate:,.0f} | {run.rate / run.bare_rate:.0%} |"
        )
    postgres = [r for r in runs if r.backend == "postgresql"]
    if postgres:
        verdict = "met" if postgres[0].rate >= 1000 else "NOT met"
        lines += [
            "",
            f"Target >= 1,000 deliveries/s on PostgreSQL: **{verdict}** ({postgres[0].rate:,.0f}/s).",
        ]
    lines += [
        "",
        "The dispatcher's figure includes everything a delivery costs: the claim (one UPDATE … RETURNING",
        "per batch), loading events and endpoints, decrypting the secret and signing, the POST through the",
        "pinned connection pool, and recording each attempt and the delivery's new state (one transaction",
        "per batch).",
        "The bare loop only POSTs pre-signed payloads with httpx, in the same batches, with the same",
        "number of requests in flight.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    count = int(os.environ.get("BENCH_WEBHOOK_DELIVERIES", "5000"))
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        sink = Server(
            "webhook sink",
            [
                python(),
                "-m",
                "uvicorn",
                "bench.webhook_sink:app",
                "--port",
                str(port),
                "--log-level",
                "error",
                "--no-access-log",
            ],
            port=port,
            env=dict(os.environ),
            log_dir=Path(folder),
        )
        runs: list[Run] = []
        with running(sink, "/"):
            sink_url = f"http://127.0.0.1:{port}/hooks"
            sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(sqlite_url)
            print("sqlite ...", file=sys.stderr)
            runs.append(asyncio.run(measure("sqlite", sqlite_url, sink_url, count)))
            admin = os.environ.get("FLUENZR_TEST_POSTGRES_URL")
            if admin:
                url = fresh_postgres(admin, "fluenzr_bench_webhooks")
                upgrade(url)
                print("postgresql ...", file=sys.stderr)
                runs.append(asyncio.run(measure("postgresql", url, sink_url, count)))
            else:
                print("FLUENZR_TEST_POSTGRES_URL not set: PostgreSQL skipped", file=sys.stderr)
    document = report(runs)
    RESULTS.write_text(document)
    print(document)


if __name__ == "__main__":
    main()
