"""Where a worker's CPU goes per email: the engine's tasks in this process, under cProfile, on a bounded run.

    .venv/bin/python -m bench.engine_profile [--leads 2000] [--mailboxes 2] [--database postgresql|sqlite]
                                             [--no-profile] [--top 30]
    .venv/bin/python -m bench.engine_profile --phases [--leads 2000] [--database ...]

Seeds a fresh database as `bench.engine` does, starts one `fluenzr-server smtp-sink` process, then runs the
worker's tasks (`engine/tasks.default_tasks`, as `fluenzr-server worker` does) in this process until every
lead is sent. Prints CPU ms per email of this process (`time.process_time`, profiler included unless
`--no-profile`) and of the sink, then the profile: the engine's phases (inclusive CPU per email) and the
hottest functions. `--phases` measures the database side alone, without SMTP: claims of 100
(`sending.claim`) and records of 50 accepted messages (`sending.record`), as the sender batches them, and
the build of each claimed message (`Job.build` and its wire bytes), each as CPU ms per email. CPU time,
not wall clock: the machine is shared, and CPU per email is what a change
moves. The phases' figures include the profiler's own overhead, so compare them with each other and
across runs, not with `bench.engine`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import tempfile
import time
from pathlib import Path

from bench.engine import SECRET, _proc_cpu, _seed
from bench.procs import ROOT, free_port, python

# (label, (file suffix, function name)) of the engine's phases, measured inclusively.
PHASES = (
    ("claim (sending.claim)", ("engine/sending.py", "claim")),
    ("  of which picking leads", ("engine/sending.py", "_pick_leads")),
    ("  of which rendering", ("engine/sending.py", "_render")),
    ("build (Job.build)", ("engine/sending.py", "build")),
    ("  of which tracking HTML", ("tracking/html.py", "track")),
    ("  of which build_message", ("engine/message.py", "build_message")),
    ("SMTP (pool.send)", ("engine/smtp.py", "send")),
    ("  of which as_bytes", ("engine/smtp.py", "data_payload")),
    ("record (sending.record)", ("engine/sending.py", "record")),
    ("campaign re-checks (sending.running)", ("engine/sending.py", "running")),
    ("webhook dispatcher tick", ("engine/webhooks.py", "tick")),
    ("IMAP poller tick", ("engine/poller.py", "tick")),
)


async def _run(url: str, leads: int) -> tuple[float, float, int]:
    from pydantic import SecretStr
    from sqlalchemy import func, select

    from fluenzr_server.engine.process import close_tasks
    from fluenzr_server.engine.runner import run_tasks
    from fluenzr_server.engine.tasks import default_tasks
    from fluenzr_server.resources import Resources
    from fluenzr_server.settings import Settings
    from fluenzr_server.store import tables as t

    count = select(func.count()).select_from(t.messages).where(t.messages.c.status == "sent")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        secret_key=SecretStr(SECRET),
        environment="test",
        allow_private_hosts=True,
    )
    resources = Resources.open(settings)
    tasks = default_tasks(resources)
    stop = asyncio.Event()

    async def sent() -> int:
        async with resources.database.read() as conn:
            return int((await conn.execute(count)).scalar_one())

    async def watch() -> None:
        while await sent() < leads:  # noqa: ASYNC110 (the database is what is polled)
            await asyncio.sleep(0.1)
        stop.set()

    started, wall = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(run_tasks(tasks, resources, stop), watch())
    finally:
        used, wall = time.process_time() - started, time.perf_counter() - wall
        total = await sent()
        await close_tasks(list(tasks))
        await resources.close()
    return used, wall, total


async def _db_phases(url: str, leads: int) -> dict[str, float]:
    """CPU seconds of claiming, building and recording every lead (every send accepted), no SMTP."""
    from pydantic import SecretStr

    from fluenzr_server.engine import sending, smtp
    from fluenzr_server.engine.sender import RECORD_BATCH, worker_id
    from fluenzr_server.resources import Resources
    from fluenzr_server.services.common import now
    from fluenzr_server.settings import Settings
    from fluenzr_server.tracking.links import Links

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, secret_key=SecretStr(SECRET), environment="test"
    )
    resources = Resources.open(settings)
    links = Links(settings.public_url, resources.tokens)
    owner = worker_id()
    spent = {"claim": 0.0, "build": 0.0, "record": 0.0, "emails": 0.0}
    accepted = smtp.SendOutcome("sent", 250, "250 2.0.0 Ok: queued as ABC123", "")
    try:
        while True:
            started = time.process_time()
            jobs = await sending.claim(
                resources.database,
                now=now(),
                owner=owner,
                limit=100,
                lease_seconds=300,
                smtp_timeout=30,
                secret_box=resources.secret_box,
                links=links,
            )
            spent["claim"] += time.process_time() - started
            if not jobs:
                break
            started = time.process_time()
            for job in jobs:
                smtp.data_payload(job.build(date=now()))
            spent["build"] += time.process_time() - started
            for start in range(0, len(jobs), RECORD_BATCH):
                batch = [(job, accepted) for job in jobs[start : start + RECORD_BATCH]]
                started = time.process_time()
                await sending.record(resources.database, batch, now=now())
                spent["record"] += time.process_time() - started
            spent["emails"] += len(jobs)
    finally:
        await resources.close()
    return spent


def _phases(stats: pstats.Stats, emails: int) -> list[str]:
    lines = []
    table = stats.stats  # type: ignore[attr-defined]
    for label, (suffix, name) in PHASES:
        total = sum(
            cumulative
            for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in table.items()
            if file.endswith(suffix) and function == name
        )
        lines.append(f"{label:40} {1000 * total / emails:7.3f} CPU ms/email")
    return lines


def main() -> None:
    from fluenzr_server.store.migrate import upgrade
    from tests.conftest import drop_postgres_database, fresh_postgres_database

    parser = argparse.ArgumentParser(prog="bench.engine_profile")
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--mailboxes", type=int, default=2)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--phases", action="store_true", help="database phases alone, no SMTP")
    parser.add_argument("--dump", help="write the raw profile here (pstats format)")
    args = parser.parse_args()

    port = free_port()
    sink = subprocess.Popen(
        [python(), "-m", "fluenzr_server.cli", "smtp-sink", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    admin = os.environ.get("FLUENZR_TEST_POSTGRES_URL")
    name = f"fluenzr_bench_engine_profile_{os.getpid()}"
    try:
        time.sleep(1.5)
        if args.database == "postgresql":
            if not admin:
                raise SystemExit('set FLUENZR_TEST_POSTGRES_URL (eval "$(bash .ci/services.sh)")')
            url = fresh_postgres_database(admin, name)
        else:
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='fluenzr-engine-profile-')) / 'bench.db'}"
        upgrade(url)
        asyncio.run(_seed(url, port, args.leads, args.mailboxes))
        # CPU time, not wall clock: waiting on the sink or the database is not this process's cost.
        if args.phases:
            spent = asyncio.run(_db_phases(url, args.leads))
            emails = max(spent.pop("emails"), 1)
            print(
                f"{args.database}, {emails:.0f} emails, no SMTP: "
                + ", ".join(f"{name} {1000 * cpu / emails:.3f}" for name, cpu in spent.items())
                + f" CPU ms/email; load average {os.getloadavg()[0]:.2f}"
            )
            return
        profiler = None if args.no_profile else cProfile.Profile(time.process_time)
        sink_cpu = _proc_cpu(sink.pid)
        if profiler is not None:
            profiler.enable()
        cpu, wall, sent = asyncio.run(_run(url, args.leads))
        if profiler is not None:
            profiler.disable()
        sink_used = _proc_cpu(sink.pid) - sink_cpu
        print(
            f"{args.database}: {sent} sent, {sent / wall:.0f}/s (this process busy {100 * cpu / wall:.0f}%); "
            f"worker {1000 * cpu / sent:.3f} CPU ms/email"
            f"{' (profiled)' if profiler else ''}; sink {1000 * sink_used / sent:.3f} CPU ms/email; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        if profiler is not None:
            stats = pstats.Stats(profiler)
            if args.dump:
                stats.dump_stats(args.dump)
            print("\n".join(_phases(stats, sent)))
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        if args.database == "postgresql" and admin:
            drop_postgres_database(admin, name)


if __name__ == "__main__":
    main()
