"""Where the time goes: py-spy on the server (or the ceiling) while wrk drives one workload.

    .venv/bin/python -m bench.profile [WORKLOAD] [--size N] [--seconds S] [--target server|ceiling]

Loads a SQLite data set as bench.run does, warms up, records the server process with
`py-spy record --format raw --threads` while wrk runs, and prints a summary: share of samples per thread,
the event-loop thread broken down by request phase (inclusive) and by component (innermost frame), and the
hottest leaf functions. Needs py-spy (`.venv/bin/pip install py-spy`). The raw profile is kept if --keep
is given (feed it to flamegraph.pl or speedscope).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.procs import VENV_BIN, Server, running
from bench.run import (
    SECRET_KEY,
    WORKLOADS,
    ceiling_server,
    options_from_env,
    probe,
    real_server,
    server_env,
)
from bench.wrk import Load, Request, Result, run_wrk

# Each event-loop sample goes to the phase of its innermost matching frame (leaf first), so the phases
# partition the thread's busy time even though Connexion's middlewares wrap one another.
PHASES = (
    ("auth: resolve_key (hash + query)", ("resolve_key (",)),
    ("edge: rate limiter", ("RateLimiter.hit (",)),
    ("service: fetch_page (page rows + count)", ("fetch_page (",)),
    ("service: _group_ids", ("_group_ids (",)),
    ("service: present() / wire_time", ("present (", "wire_time (")),
    ("service + handler: the rest", ("fluenzr_server/services", "handlers/", "bench/ceiling.py")),
    ("envelope.dumps (JSON out)", ("fluenzr_server/envelope.py",)),
    ("connexion: parameter decorators", ("connexion/decorators",)),
    ("connexion: request validation", ("connexion/validators", "request_validation")),
    ("connexion: security", ("connexion/security",)),
    ("connexion: routing, other middleware", ("connexion/",)),
    ("edge middleware (own code)", ("fluenzr_server/edge.py",)),
    ("starlette", ("starlette/",)),
    ("uvicorn protocol", ("uvicorn/protocols", "uvicorn/middleware")),
)
# SQLAlchemy's async layer runs statements in greenlets, whose stacks do not show their callers: those
# samples land here along with the event loop's own (native) time.
OUTSIDE = "other: event loop, greenlet-run SQL (no caller)"
# Components, by the innermost matching frame as well.
COMPONENTS = (
    ("SQLAlchemy (compile, execute, result rows)", ("sqlalchemy/",)),
    ("aiosqlite / psycopg driver glue", ("aiosqlite/", "psycopg/")),
    ("limits (rate limiter)", ("limits/",)),
    ("fluenzr_server + handlers code", ("fluenzr_server/", "handlers/", "bench/ceiling.py")),
    ("jsonschema / validators", ("jsonschema", "connexion/validators")),
    ("connexion", ("connexion/",)),
    ("starlette", ("starlette/",)),
    ("uvicorn / httptools", ("uvicorn/protocols", "uvicorn/middleware", "httptools")),
    ("asyncio / uvloop", ("asyncio/", "uvloop")),
)


def _idle_frames() -> set[tuple[str, str]]:
    """(function, file:line) of driver threads waiting for work: py-spy cannot tell that they are idle."""
    import concurrent.futures.thread
    import inspect

    import aiosqlite.core

    idle = set()
    for function, marker in (
        (aiosqlite.core._connection_worker_thread, "tx.get("),
        (concurrent.futures.thread._worker, "work_queue.get("),
    ):
        lines, first = inspect.getsourcelines(function)
        name = Path(inspect.getsourcefile(function) or "").name
        for offset, text in enumerate(lines):
            if marker in text:
                idle.add((f"{function.__qualname__} (", f"/{name}:{first + offset})"))
    return idle


def _is_idle(leaf: str, idle: set[tuple[str, str]]) -> bool:
    return any(leaf.startswith(head) and leaf.endswith(tail) for head, tail in idle)


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def _first_match(frames: list[str], table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    for frame in reversed(frames):
        for name, needles in table:
            if any(needle in frame for needle in needles):
                return name
    return None


def summarise(raw: str, seconds: float, rate: int, result: Result | None) -> str:
    idle = _idle_frames()
    threads: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    components: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    driver_leaves: Counter[str] = Counter()
    main_total = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        main = frames[0].startswith("thread") and frames[0].rstrip().endswith("MainThread")
        leaf = frames[-1]
        if not main:
            if _is_idle(leaf, idle):
                continue
            threads["driver threads (SQL execution)"] += count
            driver_leaves[" <- ".join(reversed(frames[-2:]))] += count
            continue
        threads["MainThread (event loop)"] += count
        main_total += count
        leaves[leaf] += count
        phases[_first_match(frames, PHASES) or OUTSIDE] += count
        components[_first_match(frames, COMPONENTS) or "other (stdlib: json, datetime, re...)"] += count

    possible = seconds * rate
    lines = ["## Profile summary", ""]
    if result is not None and result.ok:
        lines += [
            f"Throughput while profiled: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms (py-spy slows the process a little).",
            "",
        ]
    lines.append("Busy samples per thread (share of one core):")
    for thread, count in threads.most_common():
        lines.append(f"  {thread:<46} {count / possible:6.0%}")
    if main_total:
        lines += ["", "Event-loop thread by phase (innermost frame; % of its busy samples):"]
        for name, count in phases.most_common():
            lines.append(f"  {name:<46} {count / main_total:6.1%}")
        lines += ["", "Event-loop thread by component (innermost frame):"]
        for name, count in components.most_common():
            lines.append(f"  {name:<46} {count / main_total:6.1%}")
        lines += ["", "Hottest leaf functions on the event-loop thread:"]
        for leaf, count in leaves.most_common(15):
            lines.append(f"  {count / main_total:6.1%}  {leaf[:110]}")
    if driver_leaves:
        total = sum(driver_leaves.values())
        lines += ["", "Driver threads, busy samples by frame (leaf <- caller):"]
        for leaf, count in driver_leaves.most_common(6):
            lines.append(f"  {count / total:6.1%}  {leaf[:140]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workload", nargs="?", default="list", choices=sorted(WORKLOADS))
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--target", choices=("server", "ceiling"), default="server")
    parser.add_argument("--keep", type=Path, default=None, help="copy the raw profile here")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="only samples holding the GIL: CPU actually spent in Python, not runnable-but-waiting threads",
    )
    args = parser.parse_args(argv)

    spy = VENV_BIN / "py-spy"
    if not spy.exists() and shutil.which("py-spy") is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    spy_bin = str(spy) if spy.exists() else "py-spy"
    work = Path(tempfile.mkdtemp(prefix="fluenzr-bench-profile-"))
    try:
        path = work / "profile.db"
        dataset = seed.load_sqlite(str(path), args.size, 10_000, secret_key=SECRET_KEY)
        env = server_env(f"sqlite:///{path}", options_from_env().rate_limit)
        server: Server = real_server(env, work) if args.target == "server" else ceiling_server(env, work)
        request: Request = WORKLOADS[args.workload].build(dataset)
        raw_path = work / "profile.raw"
        with running(server, "/v1/health"):
            status, body = probe(server.base_url, request)
            if not 200 <= status < 300:
                print(f"probe failed: {status} {body}", file=sys.stderr)
                return 1
            run_wrk(server.base_url, request, 2, Load())  # warm-up
            outcome: dict[str, Result] = {}
            driver = threading.Thread(
                target=lambda: outcome.setdefault(
                    "result", run_wrk(server.base_url, request, args.seconds + 2, Load())
                )
            )
            driver.start()
            spy_opts = [
                "-r",
                str(args.rate),
                "-f",
                "raw",
                "-t",
                "-o",
                str(raw_path),
                *(["--gil"] if args.gil else []),
            ]
            try:
                assert server.process is not None
                subprocess.run(
                    [
                        spy_bin,
                        "record",
                        "-p",
                        str(server.process.pid),
                        "-d",
                        str(int(args.seconds)),
                        *spy_opts,
                    ],
                    check=False,
                    timeout=args.seconds + 60,
                    stdout=subprocess.DEVNULL,
                )
            finally:
                driver.join()
        raw = raw_path.read_text() if raw_path.exists() else ""
        if args.keep is not None and raw:
            shutil.copyfile(raw_path, args.keep)
        label = WORKLOADS[args.workload].label
        print(f"# {label} on the {args.target}, {args.size:,} contacts\n")
        print(summarise(raw, args.seconds, args.rate, outcome.get("result")))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
