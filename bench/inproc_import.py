"""CPU per row of `POST /contacts/batch`, in process, side by side with the raw-INSERT ceiling (issue 17).

    .venv/bin/python -m bench.inproc_import [--db sqlite|postgresql] [--batches N] [--shape new|mixed]
                                            [--mode upsert|create] [--profile] [--rounds N]

Each batch is one ASGI call through the real app (edge, security, idempotency with an `Idempotency-Key`
as the SDK sends, validation, handler, service, envelope), 1,000 rows, in the same process as the
measurement: the figure is `time.process_time` (every thread: aiosqlite's and `to_thread`'s work counts)
divided by the rows. `--shape new` sends only new contacts (what `make bench-import` sends); `--shape
mixed` sends half new and half existing contacts with a changed field (the acceptance test's CRM sync).
The ceiling is the same number of rows written by raw multi-row INSERTs through the same driver, in the
same run, so the two are compared under the same machine load. The best of `--rounds` rounds is kept
(other work on a shared machine only ever adds CPU time). `--profile` prints a cProfile of one round
(main thread and the worker threads a `@one_hop` service runs in) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.bulk_import import COLUMNS
from bench.inproc import ASGIApp, Call, lifespan, request, server_app

ROWS_PER_BATCH = 1000
WALLS: list[float] = []  # wall µs per row of each server round, beside its CPU


def wire_row(i: int, tag: str, version: int = 0) -> dict[str, Any]:
    """The bench's CRM row (`bench.bulk_import.crm_rows`) in its wire form; `version` changes a field."""
    return {
        "email": f"person.{i}@{tag}.example.com",
        "firstName": f"First{i}" + (f" v{version}" if version else ""),
        "lastName": f"Last{i}",
        "company": f"Company {i % 997}",
        "customFields": {"crmId": i, "tier": "gold" if i % 3 else "silver"},
    }


class Batches:
    """The request bodies, `shape` new (every row new) or mixed (half new, half existing and changed)."""

    def __init__(self, shape: str, mode: str) -> None:
        self.shape, self.mode = shape, mode
        self.run = secrets.token_hex(3)
        self.next_new = 0
        self.existing: list[int] = []  # rows stored so far, to be changed by mixed batches
        self.version = 0

    def body(self) -> bytes:
        new = ROWS_PER_BATCH if self.shape == "new" else ROWS_PER_BATCH // 2
        changed = ROWS_PER_BATCH - new
        if len(self.existing) < changed:
            raise RuntimeError("not enough stored rows to change: warm up first")
        self.version += 1
        rows = [wire_row(i, self.run, self.version) for i in self.existing[:changed]]
        self.existing = self.existing[changed:] + self.existing[:changed]
        fresh = list(range(self.next_new, self.next_new + new))
        self.next_new += new
        rows += [wire_row(i, self.run) for i in fresh]
        self.existing += fresh
        return json.dumps({"contacts": rows, "mode": self.mode}).encode()


async def post_batch(app: ASGIApp, body: bytes, token: str) -> tuple[int, bytes]:
    """One `POST /v1/contacts/batch` through the ASGI app, with an Idempotency-Key as the SDK sends."""
    key = (b"idempotency-key", secrets.token_hex(16).encode())
    return await request(app, Call("POST", "/v1/contacts/batch", body=body), token, [key])


async def send(app: ASGIApp, body: bytes, token: str) -> dict[str, Any]:
    status, answer = await post_batch(app, body, token)
    if status != 200:
        raise SystemExit(f"batch answered {status}: {answer[:300]!r}")
    data: dict[str, Any] = orjson.loads(answer)["data"]
    if data["counts"]["error"]:
        raise SystemExit(f"batch had errors: {data['counts']}")
    return data


class ThreadProfiles:
    """cProfile of the main thread plus every worker thread started meanwhile (asyncio.to_thread's)."""

    def __init__(self) -> None:
        self.main = cProfile.Profile(time.process_time)
        self.others: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _thread_hook(self, *_args: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self.lock:
            self.others.append(profile)
        threading.setprofile(None)
        sys.setprofile(None)
        profile.enable()

    @contextmanager
    def active(self) -> Iterator[None]:
        threading.setprofile(self._thread_hook)
        self.main.enable()
        try:
            yield
        finally:
            self.main.disable()
            threading.setprofile(None)

    def report(self) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.main, stream=out)
        for other in self.others:
            stats.add(other)
        stats.sort_stats("tottime").print_stats(50)
        stats.sort_stats("cumulative").print_stats(80)
        return out.getvalue()


async def round_cpu(app: ASGIApp, batches: Batches, token: str, count: int, concurrency: int = 1) -> float:
    """CPU µs per row of `count` batches, `concurrency` of them in flight at a time (as `import_all`)."""
    bodies = [batches.body() for _ in range(count)]
    began, wall = time.process_time(), time.perf_counter()
    pending = iter(bodies)

    async def worker() -> None:  # `import_all`'s shape: each of `concurrency` slots sends its next batch
        for body in pending:
            await send(app, body, token)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu = (time.process_time() - began) / (count * ROWS_PER_BATCH) * 1e6
    WALLS.append((time.perf_counter() - wall) / (count * ROWS_PER_BATCH) * 1e6)
    return cpu


async def ceiling_cpu(url: str, account_id: str, rows: int) -> float:
    """CPU µs/row of `bench.bulk_import.raw_insert`'s multi-row INSERTs of `rows` new rows."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from fluenzr_server.ids import new_sortable_ids
    from fluenzr_server.store.engine import async_url

    engine = create_async_engine(async_url(url))
    per_statement = (32766 if engine.dialect.name == "sqlite" else 65535) // len(COLUMNS)
    tag = secrets.token_hex(3)
    source = [wire_row(i, f"ceiling-{tag}") for i in range(rows)]
    cpu = time.process_time()
    stamp = datetime.now(UTC)
    values = [
        (
            contact_id,
            account_id,
            row["email"],
            row["firstName"],
            row["lastName"],
            row["company"],
            json.dumps(row["customFields"]),
            stamp,
            stamp,
        )
        # The server's own id format (`ids.new_sortable_ids`), from one read as the server makes them.
        for contact_id, row in zip(new_sortable_ids("ctc", len(source)), source, strict=True)
    ]
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    one = "(" + ", ".join([marker] * len(COLUMNS)) + ")"
    async with engine.begin() as conn:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = f"INSERT INTO contacts ({', '.join(COLUMNS)}) VALUES " + ", ".join([one] * len(chunk))  # noqa: S608
            await conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))
    spent = time.process_time() - cpu
    await engine.dispose()
    return spent / rows * 1e6


@contextmanager
def database(db: str) -> Iterator[str]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory() as work:
            yield f"sqlite:///{os.path.join(work, 'import.db')}"
        return
    admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("FLUENZR_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit('--db postgresql needs FLUENZR_TEST_POSTGRES_URL (eval "$(bash .ci/services.sh)")')
    name = f"fluenzr_inproc_import_{secrets.token_hex(4)}"
    url = seed.create_pg_database(admin, name)
    try:
        yield url
    finally:
        seed.drop_pg_database(admin, name)


async def account(url: str) -> tuple[str, str]:
    from fluenzr_server.services import accounts
    from fluenzr_server.store.database import Database
    from fluenzr_server.store.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        account_id = await accounts.create_account(db, name="Import", plan="pro")
        key = await accounts.create_key(db, account_id=account_id)
        ceiling = await accounts.create_account(db, name="Ceiling", plan="pro")
    finally:
        await db.dispose()
    return key.plaintext, ceiling


async def main_async(args: argparse.Namespace, url: str) -> None:
    token, ceiling_account = await account(url)
    app = server_app(url)
    batches = Batches(args.shape, args.mode)
    async with lifespan(app):
        # Warm-up: imports, caches, and the stored rows a mixed batch changes.
        warm = Batches("new", "upsert")
        warm.run = batches.run
        for _ in range(3):
            await send(app, warm.body(), token)
        batches.existing, batches.next_new = warm.existing, warm.next_new
        if args.profile:
            profiles = ThreadProfiles()
            with profiles.active():
                await round_cpu(app, batches, token, args.batches, args.concurrency)
            print(profiles.report())
            return
        server, ceiling = [], []
        for _ in range(args.rounds):
            server.append(await round_cpu(app, batches, token, args.batches, args.concurrency))
            if not args.no_ceiling:
                ceiling.append(await ceiling_cpu(url, ceiling_account, args.batches * ROWS_PER_BATCH))
    best_server, best_ceiling = min(server), min(ceiling, default=float("nan"))
    print(
        f"{args.db} {args.mode} {args.shape}: server {best_server:.1f} µs/row "
        f"(rounds {', '.join(f'{x:.1f}' for x in server)}); ceiling {best_ceiling:.1f} µs/row "
        f"(rounds {', '.join(f'{x:.1f}' for x in ceiling)}); ratio ceiling/server "
        f"{best_ceiling / best_server:.0%}; server wall µs/row {', '.join(f'{x:.1f}' for x in WALLS)}; "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shape", choices=("new", "mixed"), default="new")
    parser.add_argument("--mode", choices=("upsert", "create"), default="upsert")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-ceiling", action="store_true", help="the server only (e.g. to count syscalls)")
    args = parser.parse_args(argv)
    if args.mode == "create" and args.shape == "mixed":
        parser.error("create mode only takes new rows")
    with database(args.db) as url:
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
