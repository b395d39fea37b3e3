"""CPU per request, in process: the server, the floor and the mock driven straight through ASGI.

    .venv/bin/python -m bench.inproc [--db sqlite|postgresql] [--size N] [-n N] [--targets server,floor,mock]
                                     [--workloads list,get,stats,post] [--profile TARGET:WORKLOAD]

No sockets, no wrk, no other process: each request is one ASGI call (scope, receive, send) on one event
loop, and the figure is the process's CPU time (`time.process_time`: every thread, so aiosqlite's and
`to_thread`'s work counts) divided by the requests. That is stable on a machine other work shares, which
wall-clock req/s is not, so it is the number to compare before and after a change (issue 12). It is not
the HTTP cost: uvicorn's parsing and the socket are outside it, the same for every target.

The data set is `bench.seed`'s (SQLite temp file, or a fresh PostgreSQL database from
FLUENZR_TEST_POSTGRES_URL / BENCH_POSTGRES_URL), the requests are `bench.run`'s workloads; every answer must
be 2xx. `--profile server:list` prints the top of a cProfile of that workload instead of timing it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed

ASGIApp = Callable[..., Awaitable[None]]
SECRET_KEY = secrets.token_urlsafe(32)
BATCHES = 10
MOCK_CONTACT = b'{"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","company":"Acme Inc"}'


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    query: str = ""
    body: bytes | None = None


async def request(
    app: ASGIApp, call: Call, token: str, extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> tuple[int, bytes]:
    """One HTTP request through the ASGI app: (status, body)."""
    headers = [(b"host", b"127.0.0.1"), (b"accept", b"application/json")]
    headers.append((b"authorization", f"Bearer {token}".encode()))
    headers += extra_headers
    if call.body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(call.body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": call.method,
        "scheme": "http",
        "path": call.path,
        "raw_path": call.path.encode(),
        "query_string": call.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": call.body or b"", "more_body": False}
        await asyncio.Event().wait()  # a client that stays connected
        raise AssertionError("unreachable")

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Runs the app's ASGI lifespan (start-up before the block, shutdown after)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"start-up failed: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


# --- the data and the apps ------------------------------------------------------------------------------


@contextmanager
def dataset(db: str, size: int, campaign_contacts: int) -> Iterator[tuple[str, seed.Dataset]]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "bench.db")
            yield f"sqlite:///{path}", seed.load_sqlite(path, size, campaign_contacts, secret_key=SECRET_KEY)
        return
    admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("FLUENZR_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit('--db postgresql needs FLUENZR_TEST_POSTGRES_URL (eval "$(bash .ci/services.sh)")')
    name = f"fluenzr_inproc_{secrets.token_hex(4)}"
    url = seed.create_pg_database(admin, name)
    try:
        yield url, seed.load_postgres(url, size, campaign_contacts, secret_key=SECRET_KEY)
    finally:
        seed.drop_pg_database(admin, name)


def server_app(url: str) -> ASGIApp:
    from fluenzr_server.app import build_app
    from fluenzr_server.settings import Settings

    settings = Settings(
        database_url=url,
        environment="production",
        public_url="https://t.acme.example",  # production wants https (as bench/run.py sets it)
        validate_responses=False,
        rate_limit="100000000/second",
        engine=False,
        secret_key=SECRET_KEY,
        redis_url=None,
    )
    app: ASGIApp = build_app(settings)  # owns its resources: opened by its lifespan, as under uvicorn
    return app


def floor_app(url: str) -> ASGIApp:
    from bench.floor import build

    app: ASGIApp = build(url)
    return app


def mock_app(_url: str) -> ASGIApp:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mock"))
    from fluenzr_mock.server import build_mock_app

    app: ASGIApp = build_mock_app()
    return app


APPS = {"server": server_app, "floor": floor_app, "mock": mock_app}


def calls(target: str, workload: str, data: seed.Dataset) -> Callable[[int], Call]:
    """The i-th request of a workload (ids rotate through the sample; POST bodies are unique)."""
    if target == "mock":
        return {
            "list": lambda _i: Call("GET", "/v1/contacts"),
            "get": lambda _i: Call("GET", "/v1/contacts/ctc_x"),
            "post": lambda _i: Call("POST", "/v1/contacts", body=MOCK_CONTACT),
        }[workload]
    run = secrets.token_hex(4)
    ids = data.contact_ids
    return {
        "list": lambda _i: Call("GET", "/v1/contacts"),
        "get": lambda i: Call("GET", f"/v1/contacts/{ids[i % len(ids)]}"),
        "stats": lambda _i: Call("GET", f"/v1/campaigns/{data.campaign_id}/stats"),
        "post": lambda i: Call(
            "POST", "/v1/contacts", body=f'{{"email":"ip-{run}-{i}@{seed.BENCH_EMAIL_DOMAIN}"}}'.encode()
        ),
    }[workload]


async def measure(
    app: ASGIApp, make: Callable[[int], Call], token: str, n: int, warmup: int, profile: bool
) -> float:
    """CPU µs per request: the least over `BATCHES` batches of `n` requests in all, after `warmup`
    (with `profile`, also prints a cProfile of them)."""
    for i in range(warmup):
        status, body = await request(app, make(i), token)
        if not 200 <= status < 300:
            raise SystemExit(f"{make(i)} answered {status}: {body[:300]!r}")
    # CPU time, not wall time: on a shared machine waiting for a core is not the code's cost.
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    # The best of several batches: other work on the machine only ever adds CPU time (cache and core
    # sharing), so the least a batch took is the closest to what the requests cost.
    best = float("inf")
    batch = max(1, n // BATCHES)
    for start in range(warmup, warmup + n, batch):
        began = time.process_time()
        for i in range(start, start + batch):
            status, body = await request(app, make(i), token)
            if not 200 <= status < 300:
                raise SystemExit(f"{make(i)} answered {status}: {body[:300]!r}")
        best = min(best, (time.process_time() - began) / batch * 1e6)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(45)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(70)
        print(out.getvalue())
    return best


def _clean_up(db: str, url: str, data: seed.Dataset) -> None:
    if db == "sqlite":
        seed.delete_bench_contacts_sqlite(url.removeprefix("sqlite:///"), data.account_id)
    else:
        seed.delete_bench_contacts_postgres(url, data.account_id)


async def run(args: argparse.Namespace, url: str, data: seed.Dataset) -> dict[tuple[str, str], float]:
    results: dict[tuple[str, str], float] = {}
    only = args.profile.split(":") if args.profile else None
    for target in args.targets:
        app = APPS[target](url)
        async with lifespan(app):
            for workload in args.workloads:
                if target == "mock" and workload == "stats":
                    continue
                if only and (target, workload) != tuple(only):
                    continue
                make = calls(target, workload, data)
                results[(target, workload)] = await measure(
                    app, make, data.api_key, args.n, args.warmup, profile=bool(only)
                )
                if workload == "post" and target != "mock":
                    _clean_up(args.db, url, data)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--campaign-contacts", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--targets", type=lambda v: v.split(","), default=["server", "floor"])
    parser.add_argument("--workloads", type=lambda v: v.split(","), default=["list", "get", "stats", "post"])
    parser.add_argument("--profile", help="TARGET:WORKLOAD: print a cProfile of it instead")
    args = parser.parse_args(argv)
    with dataset(args.db, args.size, args.campaign_contacts) as (url, data):
        results = asyncio.run(run(args, url, data))
    if args.profile:
        return
    title = f"{args.db} @ {args.size:,} (CPU µs/request, best of {BATCHES} batches of {args.n // BATCHES})"
    print(f"| {title} | " + " | ".join(args.targets) + " |")
    print("|---|" + "---:|" * len(args.targets))
    for workload in args.workloads:
        cells = [results.get((target, workload)) for target in args.targets]
        if all(cell is None for cell in cells):
            continue
        print(f"| {workload} | " + " | ".join("—" if c is None else f"{c:,.0f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
