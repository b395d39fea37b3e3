"""`make bench` (engine part): sending throughput against a bare aiosmtplib loop over the same connections.

    .venv/bin/python -m bench.engine [--leads 2000] [--mailboxes 2]

Three measurements against one `fluenzr-server smtp-sink` process (aiosmtpd, no TLS, AUTH accepted):

1. ceiling: a bare `aiosmtplib` loop, one connection per mailbox, sending the messages the worker sends,
   built beforehand by the worker's own code (`sending.Job.build`: campaigns track opens and clicks by
   default, so an HTML part with the open pixel, and List-Unsubscribe) — SMTP and nothing else; and the
   same loop with plain one-part messages (what the ceiling sent before tracking landed; it also
   serialised them inside the loop then, with `send_message`), for comparison;
2. PostgreSQL: one `fluenzr-server worker` process sending the campaigns' leads (claims, rendering,
   building, recording, events: everything);
3. SQLite: `fluenzr-server serve` with the engine embedded (in the child process `serve` supervises,
   engine/process.py), while 8 API clients keep reading (`GET /contacts`, `GET /campaigns/{id}/stats`) —
   the API's req/s and p99 during the send are reported, and the API process's CPU beside the engine's.

For each: emails/s (from the first message to the last), CPU ms per email (user + system of the sending
process, from /proc) and, in the same window, of the sink process, peak memory (VmHWM). The issue's
targets: PostgreSQL >= 50% of the ceiling, SQLite >= 35% with the API under load. Writes
`bench/results/engine.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procs import ROOT, free_port, python

RESULTS = ROOT / "bench" / "results" / "engine.md"
STEPS = [
    {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}, is {{company}} hiring engineers?"}
]
ALL_WEEK = {
    "timezone": "UTC",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "startHour": 0,
    "endHour": 24,
}
SECRET = "bench-engine-secret-key-0123456789abcdef"  # noqa: S105 (a throwaway benchmark database)
PLAIN_CEILING = "bare aiosmtplib loop, plain one-part messages (the messages of the ceiling before tracking)"


@dataclass
class Result:
    name: str
    emails: int
    seconds: float
    cpu_ms_per_email: float
    peak_mb: float
    sink_ms_per_email: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.emails / self.seconds if self.seconds else 0.0


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text()
    rest = fields[fields.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUENZR_")}
    env.update(
        FLUENZR_DATABASE_URL=database_url,
        FLUENZR_ENVIRONMENT="test",
        FLUENZR_ALLOW_PRIVATE_HOSTS="1",
        FLUENZR_SECRET_KEY=SECRET,
        FLUENZR_RATE_LIMIT="100000000/minute",
        FLUENZR_LOG_LEVEL="warning",
    )
    return env


# --- the ceiling: run in a child process (`python -m bench.engine ceiling ...`) ------------------------


def _worker_message(index: int, sender: str, links: Any) -> Any:
    """Lead `index`'s message as the worker builds it (`sending.Job.build`): the campaign tracks opens and
    clicks by default, so an HTML alternative with the open pixel, and List-Unsubscribe."""
    from fluenzr_server.engine import sending, templates
    from fluenzr_server.engine.message import new_message_id
    from fluenzr_server.ids import new_id

    contact = {"firstName": f"Lead{index}", "company": "Acme", "email": f"c{index}@example.com"}
    row_id = new_id("msg")
    job = sending.Job(
        id=row_id,
        account_id="org_bench",
        campaign_id="cmp_bench",
        contact_id=f"ctc_{index}",
        step=0,
        attempt=1,
        mailbox_id="acc_bench",
        smtp=None,  # type: ignore[arg-type]  (not used to build)
        sender=sender,
        from_name="Sam",
        to_name=contact["firstName"],
        subject=templates.render(STEPS[0]["subject"], contact),
        body=templates.render(STEPS[0]["body"], contact),
        thread_message_id=None,
        to_email=contact["email"],
        message_id=new_message_id(sender),
        claimed_day=datetime.now(UTC).date(),
        lease_owner="bench",
        next_delay_days=None,
        timezone="UTC",
        unsubscribe_url=links.unsubscribe_url(row_id),
        track_opens=True,
        track_clicks=True,
        links=links,
    )
    return job.build(date=datetime.now(UTC))


async def _ceiling(port: int, leads: int, mailboxes: int, plain: bool = False) -> dict[str, float]:
    """The bare loop sending the worker's messages, built beforehand (`plain`: the one-part text messages
    this ceiling sent before tracking landed, without HTML part or List-Unsubscribe)."""
    import aiosmtplib

    from fluenzr_server.engine import templates
    from fluenzr_server.engine.message import build_message, new_message_id
    from fluenzr_server.tracking.links import Links
    from fluenzr_server.tracking.tokens import TokenBox

    links = Links("http://127.0.0.1:8000", TokenBox([SECRET]))
    prepared = [[] for _ in range(mailboxes)]  # type: list[list[Any]]
    for index in range(leads):
        contact = {"firstName": f"Lead{index}", "company": "Acme", "email": f"c{index}@example.com"}
        sender = f"sales{index % mailboxes}@acme.example"
        if not plain:
            prepared[index % mailboxes].append(_worker_message(index, sender, links))
            continue
        prepared[index % mailboxes].append(
            build_message(
                from_email=sender,
                from_name="Sam",
                to_email=contact["email"],
                to_name=contact["firstName"],
                subject=templates.render(STEPS[0]["subject"], contact),
                body_text=templates.render(STEPS[0]["body"], contact),
                message_id=new_message_id(sender),
                in_reply_to=None,
                references=[],
                date=datetime.now(UTC),
            )
        )

    # Prepared down to their bytes: the loop pays for SMTP alone, not for writing the messages.
    envelopes = [
        [
            (str(m["From"].addresses[0].addr_spec), str(m["To"].addresses[0].addr_spec), m.as_bytes())
            for m in box
        ]
        for box in prepared
    ]

    async def one(messages: list[tuple[str, str, bytes]]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
        await client.connect()
        await client.login("bench", "bench")
        for sender, recipient, data in messages:
            await client.sendmail(sender, [recipient], data)
        await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(messages) for messages in envelopes))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "peak_mb": _peak_mb(os.getpid())}


# --- seeding ---------------------------------------------------------------------------------------------


async def _seed(database_url: str, port: int, leads: int, mailboxes: int) -> tuple[str, list[str]]:
    from pydantic import SecretStr
    from sqlalchemy import insert

    from fluenzr_server.ids import new_id
    from fluenzr_server.resources import Resources
    from fluenzr_server.services import accounts, campaigns, email_accounts
    from fluenzr_server.services.common import now
    from fluenzr_server.settings import Settings
    from fluenzr_server.store import tables as t

    settings = Settings(_env_file=None, database_url=database_url, secret_key=SecretStr(SECRET))  # type: ignore[call-arg]
    resources = Resources.open(settings)
    db = resources.database
    try:
        account = await accounts.create_account(db, name="Bench", plan="pro")
        campaign_ids = []
        stamp = now()
        for box in range(mailboxes):
            mailbox = await email_accounts.create_email_account(
                db,
                account_id=account,
                body={
                    "fromEmail": f"sales{box}@acme.example",
                    "fromName": "Sam",
                    "smtp": {
                        "host": "127.0.0.1",
                        "port": port,
                        "username": "bench",
                        "password": "bench",
                        "security": "none",
                    },
                    "dailyLimit": 2000,
                    "minIntervalSeconds": 0,
                },
                secret_box=resources.secret_box,
                allow_private=True,
            )
            rows = [
                {
                    "id": new_id("ctc"),
                    "account_id": account,
                    "email": f"lead{box}-{index}@example.com",
                    "first_name": f"Lead{index}",
                    "company": "Acme",
                    "custom_fields": {},
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for index in range(leads // mailboxes)
            ]
            async with db.write() as conn:
                await conn.execute(insert(t.contacts), rows)
            campaign = await campaigns.create_campaign(
                db,
                account_id=account,
                body={
                    "name": f"Bench {box}",
                    "emailAccountId": mailbox["id"],
                    "steps": STEPS,
                    "schedule": ALL_WEEK,
                },
            )
            ids = [row["id"] for row in rows]
            for start in range(0, len(ids), 1000):
                await campaigns.add_contacts(
                    db,
                    account_id=account,
                    campaign_id=campaign["id"],
                    body={"contactIds": ids[start : start + 1000]},
                )
            campaign_ids.append(campaign["id"])
        for campaign_id in campaign_ids:
            await campaigns.start_campaign(db, account_id=account, campaign_id=campaign_id)
        return account, campaign_ids
    finally:
        await resources.close()


async def _sent(database_url: str) -> int:
    from sqlalchemy import func, select

    from fluenzr_server.store import tables as t
    from fluenzr_server.store.database import Database

    db = Database(database_url)
    try:
        async with db.read() as conn:
            query = select(func.count()).select_from(t.messages).where(t.messages.c.status == "sent")
            return int((await conn.execute(query)).scalar_one())
    finally:
        await db.dispose()


def _engine_child(server: int) -> int | None:
    """The engine process `serve` spawned (engine/process.py), if it has started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if (
                int(stat[stat.rindex(")") + 2 :].split()[1]) == server
                and b"spawn_main" in (entry / "cmdline").read_bytes()
            ):
                return int(entry.name)
        except (OSError, ValueError):
            continue
    return None


def _measure_sender(
    name: str,
    process: subprocess.Popen[bytes],
    database_url: str,
    total: int,
    sink: int,
    api: Any = None,
) -> Result:
    """From the first sent message to the last: rate, and the CPU of the sending process (for `serve`:
    its engine child, with the API process's own CPU in the note) and of the sink in between."""
    deadline = time.monotonic() + 600
    while asyncio.run(_sent(database_url)) == 0:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{name}: nothing sent")
        time.sleep(0.05)
    sender = process.pid
    if api is not None:
        sender = _engine_child(process.pid) or process.pid
    first_count, started = asyncio.run(_sent(database_url)), time.perf_counter()
    cpu, sink_cpu, server_cpu = _proc_cpu(sender), _proc_cpu(sink), _proc_cpu(process.pid)
    if api is not None:
        api.start()
    count = first_count
    while count < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: {count} of {total} sent after the deadline")
        time.sleep(0.1)
        count = asyncio.run(_sent(database_url))
    seconds = time.perf_counter() - started
    used, sink_used = _proc_cpu(sender) - cpu, _proc_cpu(sink) - sink_cpu
    emails = max(count - first_count, 1)
    note = ""
    if api is not None:
        note = api.stop()
        if sender != process.pid:
            api_cpu = _proc_cpu(process.pid) - server_cpu
            note += f"; engine in its own process; the API process used {api_cpu / seconds:.2f} CPU s/s"
    return Result(
        name, emails, seconds, 1000 * used / emails, _peak_mb(sender), 1000 * sink_used / emails, note
    )


class ApiLoad:
    """8 clients reading the API in a loop on a thread of their own while the embedded engine sends."""

    def __init__(self, base_url: str, api_key: str, campaign_id: str) -> None:
        self.base_url, self.api_key, self.campaign_id = base_url, api_key, campaign_id
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = False
        self._thread: Any = None
        self._started = 0.0

    def start(self) -> None:
        import threading

        self._started = time.perf_counter()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"}
        paths = ["/v1/contacts", f"/v1/campaigns/{self.campaign_id}/stats"]
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30) as client:

            async def loop(index: int) -> None:
                while not self._stop:
                    begun = time.perf_counter()
                    response = await client.get(paths[index % 2])
                    self.latencies.append(time.perf_counter() - begun)
                    if response.status_code != 200:
                        self.errors += 1

            await asyncio.gather(*(loop(index) for index in range(8)))

    def stop(self) -> str:
        self._stop = True
        self._thread.join(timeout=30)
        seconds = time.perf_counter() - self._started
        if not self.latencies:
            return "API: no request completed"
        p99 = statistics.quantiles(self.latencies, n=100)[98] * 1000
        return (
            f"API under load meanwhile: {len(self.latencies) / seconds:.0f} req/s, "
            f"p50 {statistics.median(self.latencies) * 1000:.0f} ms, p99 {p99:.0f} ms, {self.errors} errors"
        )


def _api_key(database_url: str, account: str) -> str:
    """A key of the account whose campaigns are sending (its stats are what the API load reads)."""
    from fluenzr_server.services import accounts
    from fluenzr_server.store.database import Database

    async def make() -> str:
        db = Database(database_url)
        try:
            return (await accounts.create_key(db, account_id=account)).plaintext
        finally:
            await db.dispose()

    return asyncio.run(make())


def run(leads: int, mailboxes: int, databases: tuple[str, ...] = ("postgresql", "sqlite")) -> str:
    from fluenzr_server.store.migrate import upgrade
    from tests.conftest import drop_postgres_database, fresh_postgres_database

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="fluenzr-bench-engine-"))
    port = free_port()
    sink = subprocess.Popen(
        [python(), "-m", "fluenzr_server.cli", "smtp-sink", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results: list[Result] = []
    try:
        time.sleep(2)
        for plain in (False, True):
            print(f"ceiling: bare aiosmtplib loop{', plain messages' if plain else ''}", file=sys.stderr)
            sink_cpu = _proc_cpu(sink.pid)
            out = subprocess.run(
                [
                    python(),
                    "-m",
                    "bench.engine",
                    "ceiling",
                    "--port",
                    str(port),
                    "--leads",
                    str(leads),
                    "--mailboxes",
                    str(mailboxes),
                    *(["--plain"] if plain else []),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            ceiling = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(
                Result(
                    PLAIN_CEILING if plain else "bare aiosmtplib loop, the worker's messages (ceiling)",
                    leads,
                    ceiling["seconds"],
                    1000 * ceiling["cpu"] / leads,
                    ceiling["peak_mb"],
                    1000 * (_proc_cpu(sink.pid) - sink_cpu) / leads,
                )
            )

        admin = os.environ.get("FLUENZR_TEST_POSTGRES_URL")
        if "postgresql" not in databases:
            pass
        elif admin:
            print("PostgreSQL: one worker process", file=sys.stderr)
            name = f"fluenzr_bench_engine_{os.getpid()}"
            url = fresh_postgres_database(admin, name)
            try:
                upgrade(url)
                asyncio.run(_seed(url, port, leads, mailboxes))
                with (work / "worker.log").open("wb") as log:
                    worker = subprocess.Popen(
                        [python(), "-m", "fluenzr_server.cli", "worker"],
                        cwd=ROOT,
                        env=_env(url),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                try:
                    results.append(
                        _measure_sender("PostgreSQL, `fluenzr-server worker`", worker, url, leads, sink.pid)
                    )
                finally:
                    worker.terminate()
                    worker.wait(timeout=30)
            finally:
                drop_postgres_database(admin, name)
        else:
            print("PostgreSQL skipped: set FLUENZR_TEST_POSTGRES_URL", file=sys.stderr)

        if "sqlite" not in databases:
            return report(results, leads, mailboxes, load_before)
        print("SQLite: engine embedded in serve, API under load", file=sys.stderr)
        url = f"sqlite:///{work / 'bench.db'}"
        upgrade(url)
        account, campaign_ids = asyncio.run(_seed(url, port, leads, mailboxes))
        key = _api_key(url, account)
        api_port = free_port()
        with (work / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [python(), "-m", "fluenzr_server.cli", "serve", "--port", str(api_port)],
                cwd=ROOT,
                env=_env(url),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            load = ApiLoad(f"http://127.0.0.1:{api_port}", key, campaign_ids[0])
            results.append(
                _measure_sender(
                    "SQLite, engine embedded in `serve`, API under load",
                    server,
                    url,
                    leads,
                    sink.pid,
                    api=load,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    return report(results, leads, mailboxes, load_before)


def report(results: list[Result], leads: int, mailboxes: int, load_before: float | None = None) -> str:
    ceiling = results[0].rate
    plain = next((result.rate for result in results if result.name == PLAIN_CEILING), 0.0)
    before = "" if load_before is None else f"{load_before:.2f} at the start, "
    lines = [
        "# Sending engine throughput",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {before}{os.getloadavg()[0]:.2f} at the end; "
        f"{leads} personalised one-step emails over {mailboxes} mailboxes (one SMTP connection each) to one "
        "`fluenzr-server smtp-sink` process (aiosmtpd, no TLS). The ceiling sends the messages the worker "
        "sends (tracked: an HTML part with the open pixel, and List-Unsubscribe), built beforehand; the "
        "plain-message loop sends the one-part messages the ceiling sent before tracking landed (then "
        "serialised inside the loop by `send_message`; here prepared to bytes too), for comparison.",
        "",
        "| sender | emails/s | vs ceiling | CPU ms/email | sink CPU ms/email | peak memory | |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    targets = {"PostgreSQL": 50.0, "SQLite": 35.0}
    for result in results:
        share = 100 * result.rate / ceiling if ceiling else 0.0
        target = next((value for key, value in targets.items() if result.name.startswith(key)), None)
        verdict = (
            "" if target is None else (f"target ≥ {target:.0f}%: {'met' if share >= target else 'NOT met'}")
        )
        versus_plain = (
            f"{100 * result.rate / plain:.0f}% of the plain-message loop"
            if target is not None and plain
            else ""
        )
        note = "; ".join(part for part in (verdict, versus_plain, result.note) if part)
        lines.append(
            f"| {result.name} | {result.rate:.0f} | {share:.0f}% | {result.cpu_ms_per_email:.2f} "
            f"| {result.sink_ms_per_email:.2f} | {result.peak_mb:.0f} MB | {note} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.engine")
    parser.add_argument("mode", nargs="?", default="all", choices=["all", "ceiling"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--mailboxes", type=int, default=2)
    parser.add_argument("--databases", default="postgresql,sqlite", help="which senders to measure")
    parser.add_argument("--plain", action="store_true", help="ceiling mode: plain one-part messages")
    args = parser.parse_args()
    if args.mode == "ceiling":
        print(json.dumps(asyncio.run(_ceiling(args.port, args.leads, args.mailboxes, args.plain))))
        return
    databases = tuple(args.databases.split(","))
    text = run(args.leads, args.mailboxes, databases)
    if set(databases) == {"postgresql", "sqlite"}:  # a partial run does not replace the full table
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
