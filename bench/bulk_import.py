"""`make bench-import` (and the last part of `make bench`): bulk import of contacts, SDK helper vs ceiling.

For each database (SQLite always; PostgreSQL when `FLUENZR_TEST_POSTGRES_URL` or `BENCH_POSTGRES_URL` is
set), on a fresh database:

* **server**: `AsyncFluenzrClient.contacts.import_all(rows, mode="upsert")` of `BENCH_IMPORT_ROWS` (100,000)
  new contacts against the real server (`fluenzr-server serve`, one process, the Pro plan's rate limit),
  i.e. 100 requests of 1,000 rows with per-row validation, the upsert lookup, outbox events and the
  contacts-version bump;
* **ceiling**: the same rows (ids and timestamps made up front) written by raw multi-row `INSERT … VALUES
  (…), (…)` statements in one transaction through the same async driver (aiosqlite / psycopg), each
  statement as many rows as the driver's bound-parameter limit allows — no HTTP, no validation, no events.

Prints and writes `bench/results/bulk-import.md`: wall time, rows/s, and server/ceiling.
Run: `.venv/bin/python -m bench.bulk_import` (with `eval "$(bash .ci/services.sh)"` for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bulk_import.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fluenzr import AsyncFluenzrClient
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.procs import ROOT, Server, free_port, python, running
from fluenzr_server.ids import new_sortable_ids
from fluenzr_server.store.engine import async_url, sync_url

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
CONCURRENCY = int(os.environ.get("BENCH_IMPORT_CONCURRENCY", "4"))
RESULTS = ROOT / "bench" / "results" / "bulk-import.md"
TARGET_ROWS_PER_SECOND = 5000  # on SQLite (issue 17)
TARGET_CEILING_SHARE = 0.5
COLUMNS = (
    "id",
    "account_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "custom_fields",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Figure:
    database: str
    target: str
    seconds: float
    cpu_seconds: float | None = None  # the server process group's user + system CPU during the import
    client_cpu_seconds: float | None = None  # this process's CPU: the SDK client, or the raw INSERTs

    @property
    def rate(self) -> float:
        return ROWS / self.seconds


def crm_rows(tag: str) -> list[dict[str, Any]]:
    return [
        {
            "email": f"person.{i}@{tag}.example.com",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "company": f"Company {i % 997}",
            "custom_fields": {"crmId": i, "tier": "gold" if i % 3 else "silver"},
        }
        for i in range(ROWS)
    ]


def settle(server: Server, *, window: float = 0.5, busy: float = 0.05, limit: float = 30.0) -> None:
    """Wait until the server's process group has been idle (under `busy` of a core) for `window` seconds:
    `serve` answers /health before its engine child process has finished starting (about 0.5 s of CPU),
    which is start-up, not import work."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(window)
        after = server.cpu_seconds()
        if before is None or after is None or after - before < busy * window:
            return
    raise SystemExit(f"the server did not settle within {limit:.0f} s")


def cli(env: dict[str, str], *args: str) -> str:
    argv = [python(), "-m", "fluenzr_server.cli", *args]
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'import.db'}"
    admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ["FLUENZR_TEST_POSTGRES_URL"]
    name = f"fluenzr_bench_import_{os.getpid()}"
    engine = create_engine(sync_url(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sync_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(kind: str, url: str) -> None:
    if kind == "postgresql":
        admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ["FLUENZR_TEST_POSTGRES_URL"]
        engine = create_engine(sync_url(admin), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{sync_url(url).database}" WITH (FORCE)'))
        engine.dispose()


async def through_the_server(base_url: str, api_key: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (the SDK client) of the import."""
    async with AsyncFluenzrClient(api_key=api_key, base_url=base_url, timeout=300) as client:
        started, cpu = time.perf_counter(), time.process_time()
        answer = await client.contacts.import_all(rows, mode="upsert", concurrency=CONCURRENCY)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if answer.counts.created != ROWS:
        raise SystemExit(f"server import stored {answer.counts} of {ROWS} rows")
    return seconds, cpu


async def raw_insert(url: str, account_id: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """The ceiling: the rows by multi-row INSERTs in one transaction, same driver, nothing else; its wall
    seconds and CPU seconds (this process: making the values, the driver and, on SQLite, the database)."""
    engine = create_async_engine(async_url(url))
    per_statement = (32766 if engine.dialect.name == "sqlite" else 65535) // len(COLUMNS)
    now = datetime.now(UTC)
    cpu = time.process_time()
    values = [
        (
            contact_id,
            account_id,
            row["email"],
            row["first_name"],
            row["last_name"],
            row["company"],
            json.dumps(row["custom_fields"]),
            now,
            now,
        )
        # The server's own id format (`ids.new_sortable_ids`), from one read as the server makes them.
        for contact_id, row in zip(new_sortable_ids("ctc", len(rows)), rows, strict=True)
    ]
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    one = "(" + ", ".join([marker] * len(COLUMNS)) + ")"
    started = time.perf_counter()
    async with engine.begin() as conn:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            # Only placeholders are formatted in; every value is a bound parameter.
            sql = f"INSERT INTO contacts ({', '.join(COLUMNS)}) VALUES " + ", ".join([one] * len(chunk))  # noqa: S608
            await conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    return seconds, cpu


def measure(kind: str) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="fluenzr-import-") as tmp:
        folder = Path(tmp)
        url = fresh_database(kind, folder)
        env = {
            **os.environ,
            "FLUENZR_DATABASE_URL": url,
            "FLUENZR_ENVIRONMENT": "development",
            "FLUENZR_RATE_LIMIT": "1000/minute",  # the Pro plan's
        }
        try:
            cli(env, "migrate")
            api_key = (
                cli(env, "accounts", "create", "--name", "Import", "--plan", "pro").strip().splitlines()[-1]
            )
            ceiling_account = cli(env, "accounts", "create", "--name", "Ceiling", "--plan", "pro")
            del ceiling_account  # its key is not needed; its id is read below
            engine = create_engine(sync_url(url))
            with engine.connect() as conn:
                account_id = conn.execute(text("SELECT id FROM accounts WHERE name = 'Ceiling'")).scalar_one()
            engine.dispose()
            port = free_port()
            argv = [python(), "-m", "fluenzr_server.cli", "serve", "--port", str(port)]
            server = Server(f"import-{kind}", argv, port=port, env=env, log_dir=folder)
            with running(server, "/v1/health"):
                settle(server)
                cpu_before = server.cpu_seconds()
                served, client_cpu = asyncio.run(
                    through_the_server(f"{server.base_url}/v1", api_key, crm_rows("server"))
                )
                cpu_after = server.cpu_seconds()
            cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
            ceiling, ceiling_cpu = asyncio.run(raw_insert(url, account_id, crm_rows("ceiling")))
        finally:
            drop_database(kind, url)
    return [
        Figure(kind, "server (SDK import_all)", served, cpu, client_cpu),
        Figure(kind, "ceiling (raw multi-row INSERT)", ceiling, None, ceiling_cpu),
    ]


def report(figures: list[Figure]) -> str:
    lines = [
        "# Bulk import: 100,000 contacts through the SDK helper vs raw INSERT",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f'Python {platform.python_version()}; {ROWS:,} rows, `import_all(mode="upsert", '
        f"concurrency={CONCURRENCY})`, one server process, rate limit 1000/minute.",
        "",
        "| database | path | wall time | rows/s | share of ceiling | server CPU (µs/row) "
        "| client CPU (µs/row) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def cpu(seconds: float | None) -> str:
        return f"{seconds:.1f} s ({seconds / ROWS * 1e6:.0f})" if seconds is not None else ""

    for kind in dict.fromkeys(f.database for f in figures):
        served, ceiling = [f for f in figures if f.database == kind]
        lines.append(
            f"| {kind} | {served.target} | {served.seconds:.1f} s | {served.rate:,.0f} | "
            f"{served.rate / ceiling.rate:.0%} | {cpu(served.cpu_seconds) or 'n/a'} | "
            f"{cpu(served.client_cpu_seconds)} |"
        )
        lines.append(
            f"| {kind} | {ceiling.target} | {ceiling.seconds:.1f} s | {ceiling.rate:,.0f} | 100% | | "
            f"{cpu(ceiling.client_cpu_seconds)} |"
        )
    sqlite = [f for f in figures if f.database == "sqlite"]
    if sqlite:
        served, ceiling = sqlite
        lines += [
            "",
            f"- SQLite ≥ {TARGET_ROWS_PER_SECOND:,} rows/s: "
            f"{'met' if served.rate >= TARGET_ROWS_PER_SECOND else 'NOT met'} ({served.rate:,.0f})",
            f"- SQLite ≥ {TARGET_CEILING_SHARE:.0%} of the ceiling: "
            f"{'met' if served.rate >= TARGET_CEILING_SHARE * ceiling.rate else 'NOT met'} "
            f"({served.rate / ceiling.rate:.0%})",
        ]
    lines += [
        "",
        "Server CPU is the server process's own user + system time during the import (the SDK client",
        "and the PostgreSQL server are not in it); client CPU is the benchmark process's: the SDK helper",
        "for the server path; for the ceiling, all the raw INSERTs cost (the values, the driver and, on",
        "SQLite, the database engine itself). On a machine shared with other load, wall time exceeds CPU.",
        "The import starts once the server's process group is idle (`settle`: its engine child process has",
        "finished starting: about 0.5 s of CPU, which runs before 2026-11-30 17:40 UTC counted as import).",
        f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    kinds = ["sqlite"]
    if os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("FLUENZR_TEST_POSTGRES_URL"):
        kinds.append("postgresql")
    figures = [figure for kind in kinds for figure in measure(kind)]
    document = report(figures)
    if ROWS == 100_000:
        RESULTS.write_text(document)
    print(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
