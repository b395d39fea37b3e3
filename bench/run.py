"""`make bench`: the real server vs a bare-Starlette ceiling, the mock vs Prism, and 1 vs 2 workers.

Run `.venv/bin/python -m bench.run` (or `python bench/run.py`) from the repository root. Options are
environment variables; see bench/README.md. Writes bench/results/latest.md and prints the same document.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.procs import ROOT, VENV_BIN, Server, free_port, python, running
from bench.report import Measured, Report
from bench.wrk import Load, Request, Result, measure, wrk_available

SECTIONS = ("ceiling", "floor", "postgresql", "prism", "scale")
WORKLOAD_KEYS = ("list", "filter", "page500", "get", "stats", "post")
SPEC = ROOT / "openapi" / "fluenzr-v1.yaml"
RESULTS = ROOT / "bench" / "results" / "latest.md"
NPM_QUIET = ("--no-audit", "--no-fund", "--loglevel=error")


@dataclass(frozen=True, slots=True)
class Options:
    duration: float
    warmup: float
    sizes: tuple[int, ...]
    skip: frozenset[str]
    workloads: tuple[str, ...]
    connections: int
    threads: int
    timeout: int
    campaign_contacts: int
    scale_size: int
    rate_limit: str
    prism_dir: Path
    prism_args: tuple[str, ...]
    results: Path
    postgres_url: str | None
    redis_url: str | None

    @property
    def load(self) -> Load:
        return Load(
            connections=self.connections,
            threads=self.threads,
            duration=self.duration,
            warmup=self.warmup,
            timeout_s=self.timeout,
        )


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def options_from_env(env: dict[str, str] | None = None) -> Options:
    env = dict(os.environ if env is None else env)
    duration = float(env.get("BENCH_DURATION", "10"))
    skip = frozenset(_csv(env.get("BENCH_SKIP", "")))
    unknown = skip - set(SECTIONS)
    if unknown:
        raise SystemExit(f"BENCH_SKIP: unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    workloads = tuple(_csv(env.get("BENCH_WORKLOADS", ",".join(WORKLOAD_KEYS))))
    if set(workloads) - set(WORKLOAD_KEYS):
        raise SystemExit(f"BENCH_WORKLOADS: known workloads are {', '.join(WORKLOAD_KEYS)}")
    return Options(
        duration=duration,
        warmup=float(env.get("BENCH_WARMUP", str(min(2.0, duration)))),
        sizes=tuple(int(size.replace("_", "")) for size in _csv(env.get("BENCH_SIZES", "10000,1000000"))),
        skip=skip,
        workloads=workloads,
        connections=int(env.get("BENCH_CONNECTIONS", "32")),
        threads=int(env.get("BENCH_THREADS", "2")),
        timeout=int(env.get("BENCH_TIMEOUT", "10")),
        campaign_contacts=int(env.get("BENCH_CAMPAIGN_CONTACTS", "10000")),
        scale_size=int(env.get("BENCH_SCALE_SIZE", "10000")),
        # Per second, not per minute: the moving window keeps one entry per request in the window, and the
        # in-memory limiter copies that list on every hit; a minute at bench rates would be 100k+ entries,
        # a cost production (1000/minute) never pays. A one-second window holds about one second of hits.
        rate_limit=env.get("BENCH_RATE_LIMIT", "100000000/second"),
        prism_dir=Path(
            env.get("BENCH_PRISM_DIR", os.path.join(tempfile.gettempdir(), "fluenzr-bench-prism"))
        ),
        prism_args=tuple(shlex.split(env.get("BENCH_PRISM_ARGS", ""))),
        results=Path(env.get("BENCH_RESULTS", str(RESULTS))),
        postgres_url=env.get("BENCH_POSTGRES_URL") or env.get("FLUENZR_TEST_POSTGRES_URL"),
        redis_url=env.get("BENCH_REDIS_URL") or env.get("FLUENZR_TEST_REDIS_URL"),
    )


# --- workloads ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    key: str
    label: str
    build: Callable[[seed.Dataset], Request]


WORKLOADS = {
    workload.key: workload
    for workload in (
        Workload("list", "GET /contacts", lambda ds: Request("GET", ("/v1/contacts",), ds.api_key)),
        Workload(
            "filter",
            "GET /contacts?email=example.com",
            lambda ds: Request("GET", ("/v1/contacts?email=example.com",), ds.api_key),
        ),
        Workload(
            "page500",
            "GET /contacts?page=500",
            lambda ds: Request("GET", ("/v1/contacts?page=500",), ds.api_key),
        ),
        Workload(
            "get",
            "GET /contacts/{id}",
            lambda ds: Request("GET", tuple(f"/v1/contacts/{cid}" for cid in ds.contact_ids), ds.api_key),
        ),
        Workload(
            "stats",
            "GET /campaigns/{id}/stats",
            lambda ds: Request("GET", (f"/v1/campaigns/{ds.campaign_id}/stats",), ds.api_key),
        ),
        # Last: it grows the table; its rows are deleted after each run.
        Workload("post", "POST /contacts", lambda ds: Request("POST", ("/v1/contacts",), ds.api_key)),
    )
}


def probe(base_url: str, request: Request) -> tuple[int, str]:
    """One request as wrk would send it (the first path; a unique body for POST): (status, body head)."""
    headers = {"Accept": "application/json"}
    if request.token:
        headers["Authorization"] = f"Bearer {request.token}"
    data = None
    if request.method == "POST":
        headers["Content-Type"] = "application/json"
        body = request.body or json.dumps(
            {"email": f"probe-{secrets.token_hex(6)}@{seed.BENCH_EMAIL_DOMAIN}"}
        )
        data = body.encode()
    http = urllib.request.Request(  # noqa: S310 (loopback http only)
        base_url + request.paths[0], data=data, headers=headers, method=request.method
    )
    try:
        with urllib.request.urlopen(http, timeout=30) as response:  # noqa: S310 (loopback only)
            return response.status, response.read(300).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(300).decode(errors="replace")
    except OSError as exc:
        return 0, repr(exc)


def checked_measure(server: Server, request: Request, load: Load) -> Result:
    status, body = probe(server.base_url, request)
    if not 200 <= status < 300:
        return Result(failure=f"probe {request.method} {request.paths[0]} answered {status}: {body[:160]}")
    return measure(server.base_url, request, load, server.cpu_seconds)


# --- servers --------------------------------------------------------------------------------------------


# One random key per run: the servers need one in production mode; the loader seals the SMTP password with it.
SECRET_KEY = secrets.token_urlsafe(32)


def server_env(database_url: str, rate_limit: str, redis_url: str | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLUENZR_")}
    env.update(
        FLUENZR_DATABASE_URL=database_url,
        FLUENZR_ENVIRONMENT="production",
        FLUENZR_PUBLIC_URL="https://t.acme.example",
        FLUENZR_VALIDATE_RESPONSES="false",
        FLUENZR_RATE_LIMIT=rate_limit,
        FLUENZR_LOG_LEVEL="warning",
        FLUENZR_ENGINE="off",
        FLUENZR_SECRET_KEY=SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["FLUENZR_REDIS_URL"] = redis_url
    return env


def fluenzr_server() -> str:
    candidate = VENV_BIN / "fluenzr-server"
    return str(candidate) if candidate.exists() else "fluenzr-server"


def fluenzr_mock() -> str:
    candidate = VENV_BIN / "fluenzr-mock"
    return str(candidate) if candidate.exists() else "fluenzr-mock"


def real_server(env: dict[str, str], log_dir: Path, workers: int = 1) -> Server:
    port = free_port()
    argv = [fluenzr_server(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    name = "server" if workers == 1 else f"server-{workers}w"
    return Server(name, argv, port=port, env=env, log_dir=log_dir)


def ceiling_server(env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    argv = [
        python(),
        "-m",
        "uvicorn",
        "bench.ceiling:asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return Server("ceiling", argv, port=port, env=env, log_dir=log_dir)


def floor_server(env: dict[str, str], log_dir: Path) -> Server:
    """bench/floor.py: the same SQL through the raw driver, the same JSON bytes, nothing else."""
    port = free_port()
    argv = [
        python(),
        "-m",
        "uvicorn",
        "bench.floor:asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return Server("floor", argv, port=port, env=env, log_dir=log_dir)


# The routes bench/floor.py serves (the others have no floor).
FLOOR_WORKLOADS = frozenset({"list", "get", "stats", "post"})


# --- sections -------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _record(report: Report, row: Measured) -> None:
    report.add(row)
    result = row.result
    where = f"{row.label} [{row.target}{f' @ {row.size:,}' if row.size else ''}]"
    if result.ok:
        extra = f", errors: {result.errors}" if result.error_count else ""
        if result.cpu_ms_per_request is not None:
            extra += f", {result.cpu_ms_per_request:.2f} CPU ms/req"
        log(
            f"{where}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms{extra}"
        )
    else:
        log(f"{where}: FAILED {result.failure}")
        report.notes.append(f"{where} failed: {(result.failure or '')[:300]}")


def _compare(
    options: Options,
    report: Report,
    work: Path,
    *,
    section: str,
    size: int,
    dataset: seed.Dataset,
    env: dict[str, str],
    clean_up: Callable[[], int],
) -> None:
    """The server, the ceiling and the floor on one database, alternating per workload."""
    targets = [real_server(env, work)]
    if "ceiling" not in options.skip:
        targets.append(ceiling_server(env, work))
    if "floor" not in options.skip:
        targets.append(floor_server(env, work))
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(running(target, "/v1/health"))
        for key in options.workloads:
            workload = WORKLOADS[key]
            request = workload.build(dataset)
            for target in targets:
                if target.name == "floor" and key not in FLOOR_WORKLOADS:
                    continue
                result = checked_measure(target, request, options.load)
                _record(report, Measured(section, key, workload.label, target.name, size, result))
                if key == "post":
                    log(f"removed {clean_up():,} contacts created by POST")


def server_section(options: Options, report: Report, work: Path) -> None:
    """Per size: load a SQLite file, start the server, the ceiling and the floor on it."""
    for size in options.sizes:
        path = work / f"contacts-{size}.db"
        log(f"loading {size:,} contacts into {path}")
        dataset = seed.load_sqlite(str(path), size, options.campaign_contacts, secret_key=SECRET_KEY)
        log(f"loaded {size:,} contacts in {dataset.load_seconds:.1f}s")
        report.notes.append(
            f"{size:,} contacts (+ {dataset.campaign_contacts:,} campaign send records) loaded in "
            f"{dataset.load_seconds:.1f} s; SQLite file {path.stat().st_size / 1e6:,.0f} MB"
        )
        env = server_env(f"sqlite:///{path}", options.rate_limit)
        _compare(
            options,
            report,
            work,
            section="server",
            size=size,
            dataset=dataset,
            env=env,
            clean_up=partial(seed.delete_bench_contacts_sqlite, str(path), dataset.account_id),
        )
        path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def postgres_section(options: Options, report: Report, work: Path) -> None:
    """The server, the ceiling and the floor on PostgreSQL (in-memory rate limiter, as on SQLite)."""
    if not options.postgres_url:
        report.notes.append("PostgreSQL server/ceiling/floor skipped: no BENCH_POSTGRES_URL")
        log(report.notes[-1])
        return
    size = options.scale_size
    name = f"fluenzr_bench_{secrets.token_hex(4)}"
    url = seed.create_pg_database(options.postgres_url, name)
    try:
        log(f"loading {size:,} contacts into PostgreSQL database {name}")
        dataset = seed.load_postgres(url, size, options.campaign_contacts, secret_key=SECRET_KEY)
        report.notes.append(
            f"PostgreSQL: {size:,} contacts (COPY, {dataset.load_seconds:.1f} s) for server/ceiling/floor"
        )
        _compare(
            options,
            report,
            work,
            section="server-postgresql",
            size=size,
            dataset=dataset,
            env=server_env(url, options.rate_limit),
            clean_up=partial(seed.delete_bench_contacts_postgres, url, dataset.account_id),
        )
    finally:
        seed.drop_pg_database(options.postgres_url, name)


def _mock_import_error() -> str | None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "mock"), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [python(), "-c", "import fluenzr_mock.server as s; s.run_mock"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode == 0:
        return None
    return (completed.stderr.strip().splitlines() or ["unknown error"])[-1]


def _prism_bin(options: Options) -> Path | None:
    binary = options.prism_dir / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary
    if shutil.which("npm") is None:
        return None
    options.prism_dir.mkdir(parents=True, exist_ok=True)
    log(f"installing @stoplight/prism-cli@5 into {options.prism_dir}")
    subprocess.run(
        ["npm", "install", "--prefix", str(options.prism_dir), *NPM_QUIET, "@stoplight/prism-cli@5"],
        timeout=600,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return binary if binary.exists() else None


def _prism_version(binary: Path) -> str:
    completed = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return completed.stdout.strip() or "5"


def _api_prefix(server: Server, token: str) -> str | None:
    """Where the contract's paths live: `/v1` (servers: [{url: /v1}]) or the root (Prism ignores it)."""
    for prefix in ("/v1", ""):
        status, _ = probe(server.base_url, Request("GET", (f"{prefix}/contacts",), token))
        if status == 200:
            return prefix
    return None


MOCK_CONTACT = '{"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","company":"Acme Inc"}'
MOCK_REQUESTS = (
    ("list", "GET /contacts", "GET", "/contacts", None),
    ("get", "GET /contacts/ctc_x", "GET", "/contacts/ctc_x", None),
    ("post", "POST /contacts", "POST", "/contacts", MOCK_CONTACT),
)


def mock_section(options: Options, report: Report, work: Path) -> None:
    """`fluenzr-mock` and `prism mock` on the same contract, same requests, one after the other."""
    problem = _mock_import_error()
    if problem:
        report.notes.append(f"mock vs Prism skipped: the mock server is not ready ({problem})")
        log(report.notes[-1])
        return
    prism = _prism_bin(options)
    if prism is None:
        report.notes.append("mock vs Prism skipped: could not install @stoplight/prism-cli@5 (npm)")
        log(report.notes[-1])
        return
    token = "fz_live_bench_mock_token"  # noqa: S105 (any non-empty token; not a secret)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "mock"), os.environ.get("PYTHONPATH", "")]),
    }
    mock_port, prism_port = free_port(), free_port()
    servers = [
        Server(
            "mock",
            [fluenzr_mock(), "--host", "127.0.0.1", "--port", str(mock_port)],
            port=mock_port,
            env=env,
            log_dir=work,
        ),
        # As documented (`prism mock SPEC -p PORT`); BENCH_PRISM_ARGS adds flags, e.g. "-v warn".
        Server(
            "prism",
            [str(prism), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(prism_port), *options.prism_args],
            port=prism_port,
            env=dict(os.environ),
            log_dir=work,
        ),
    ]
    with contextlib.ExitStack() as stack:
        prefixes: dict[str, str] = {}
        for server in servers:
            stack.enter_context(running(server, "/", timeout=120))
            prefix = _api_prefix(server, token)
            if prefix is None:
                report.notes.append(
                    f"mock vs Prism: {server.name} answers no GET /contacts (tried /v1 and /)"
                )
                log(report.notes[-1])
                return
            prefixes[server.name] = prefix
        report.notes.append(
            "mock vs Prism: paths served at "
            + ", ".join(f"{name} `{prefix or '/'}`" for name, prefix in prefixes.items())
            + f"; Prism {_prism_version(prism)} run as `prism mock {SPEC.relative_to(ROOT)} -p PORT"
            + "".join(f" {arg}" for arg in options.prism_args)
            + "`"
        )
        for key, label, method, path, body in MOCK_REQUESTS:
            for server in servers:
                request = Request(method, (prefixes[server.name] + path,), token, body)
                result = checked_measure(server, request, options.load)
                _record(report, Measured("mock", key, label, server.name, None, result))


def scale_section(options: Options, report: Report, work: Path) -> None:
    """The server on PostgreSQL + Redis, 1 worker then 2 workers, on a fresh database."""
    if not options.postgres_url or not options.redis_url:
        report.notes.append(
            "scaling skipped: set FLUENZR_TEST_POSTGRES_URL and FLUENZR_TEST_REDIS_URL "
            "(`source /tmp/svc.env`) or BENCH_POSTGRES_URL / BENCH_REDIS_URL"
        )
        log(report.notes[-1])
        return
    name = f"fluenzr_bench_{secrets.token_hex(4)}"
    url = seed.create_pg_database(options.postgres_url, name)
    try:
        log(f"loading {options.scale_size:,} contacts into PostgreSQL database {name}")
        dataset = seed.load_postgres(
            url, options.scale_size, options.campaign_contacts, secret_key=SECRET_KEY
        )
        report.notes.append(
            f"scaling: {options.scale_size:,} contacts in PostgreSQL (COPY, {dataset.load_seconds:.1f} s), "
            "rate-limit windows in Redis"
        )
        env = server_env(url, options.rate_limit, options.redis_url)
        for workers in (1, 2):
            server = real_server(env, work, workers)
            target = "1 worker" if workers == 1 else f"{workers} workers"
            with running(server, "/v1/health"):
                for key in ("list", "get"):
                    workload = WORKLOADS[key]
                    result = checked_measure(server, workload.build(dataset), options.load)
                    _record(report, Measured("scale", key, workload.label, target, None, result))
    finally:
        seed.drop_pg_database(options.postgres_url, name)


# --- the run --------------------------------------------------------------------------------------------


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (uncommitted changes)" if dirty else "")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (completed.stdout or completed.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def header(options: Options, started: datetime, load_before: tuple[float, ...]) -> list[str]:
    load_after = os.getloadavg()
    return [
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} · commit `{_git_commit()}`",
        f"- Machine: {os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {_wrk_version()}",
        f"- Load: wrk {options.threads} threads, {options.connections} connections, {options.duration:g} s "
        f"measured after {options.warmup:g} s warm-up, per workload and target; wrk runs on the same "
        "machine; p50/p99 as wrk reports them (corrected for coordinated omission: see bench/README.md)",
        f"- Servers: 1 uvicorn worker unless stated, SQLite temp file (WAL), response validation off, "
        f"rate limit {options.rate_limit}; server, ceiling and floor alternate per workload on the same "
        "database",
        "- CPU ms/req: the target's user + system CPU time (all its processes and threads) during the "
        "measured "
        "run divided by the requests it served; steadier than req/s when other work shares the cores",
        f"- Load average 1/5/15 min: {_fmt_load(load_before)} at start, {_fmt_load(load_after)} at end "
        "(other work on the machine makes numbers noisy)",
    ]


def _fmt_load(values: tuple[float, ...]) -> str:
    return "/".join(f"{value:.1f}" for value in values)


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` stops its servers."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(options: Options) -> Report:
    report = Report()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="fluenzr-bench-"))
    sections: list[tuple[str, Callable[[Options, Report, Path], None]]] = [("server", server_section)]
    if "postgresql" not in options.skip:
        sections.append(("server on PostgreSQL", postgres_section))
    if "prism" not in options.skip:
        sections.append(("mock vs Prism", mock_section))
    if "scale" not in options.skip:
        sections.append(("scaling", scale_section))
    try:
        for name, section in sections:
            log(f"section: {name}")
            try:
                section(options, report, work)
            except Exception as exc:  # one broken section must not lose the others
                report.notes.append(f"{name} section aborted: {type(exc).__name__}: {str(exc)[:500]}")
                log(report.notes[-1])
    finally:
        report.header = header(options, started, load_before)
        keep = os.environ.get("BENCH_KEEP_LOGS")
        if keep:
            log(f"server logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return report


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(report.markdown())
    temporary.replace(path)


def main() -> int:
    options = options_from_env()
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    with _terminate_as_exit():
        report = run(options)
    write(report, options.results)
    print(report.markdown())
    log(f"written to {options.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
