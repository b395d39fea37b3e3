"""Where a PostgreSQL request waits under wrk (issue 12's tail): the server with timing probes, on a fresh
database, one workload at a time.

    .venv/bin/python -m bench.pg_tail run list [get ...]     # needs FLUENZR_TEST_POSTGRES_URL and wrk

For each workload: seed `BENCH_SCALE_SIZE` contacts (10,000), start `fluenzr-server serve` (1 worker, engine
off, as `bench.run` does) under the probes below, warm up 2 s, reset the probes, run wrk for
`PG_TAIL_SECONDS` (12) at 32 connections, and print one JSON line: wrk's req/s and percentiles beside the
server's own, per request (uvicorn's request cycle, from the parsed request to the app's return), per pool
checkout (SQLAlchemy `QueuePool._do_get`: the wait for a connection, or the time to open one) and per wait
at the checkout gate (`store/checkout_gate.py`), with log2 histograms (counts per bucket "≤ N ms") and the
connections opened. `PG_TAIL_NO_GATE=1` takes the gate away (the pool alone, as before the fix);
`FLUENZR_DATABASE_POOL_SIZE` / `FLUENZR_DATABASE_MAX_OVERFLOW` in the environment size the pool.

wrk's percentiles are corrected for coordinated omission (wrk.c `stats_correct`, applied before the
script's `done()`): each request slower than the mean interval per connection adds synthetic samples, so a
few requests stalled for seconds move wrk's p90 and p99 far more than the server's own percentiles.

The probes patch SQLAlchemy and uvicorn internals (pinned versions): a diagnostic, never the product.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SERIES = ("request", "checkout", "gate")


class Probes:
    """Durations (seconds) per series, the gate's queue length at each entry, connections opened."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {name: [] for name in SERIES}
        self.gate_waiting: list[int] = []
        self.opened = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"connections_opened": self.opened}
        for name, values in self.samples.items():
            ordered = sorted(values)

            def pct(p: float, ordered: list[float] = ordered) -> float:
                return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)

            histogram: dict[int, int] = {}
            for value in ordered:
                bucket = 2 ** int(value * 1000).bit_length()  # ≤ bucket ms
                histogram[bucket] = histogram.get(bucket, 0) + 1
            out[name] = (
                {
                    "n": len(ordered),
                    "p50_ms": pct(50),
                    "p90_ms": pct(90),
                    "p99_ms": pct(99),
                    "p99.9_ms": pct(99.9),
                    "max_ms": round(ordered[-1] * 1000, 2),
                    "over_100ms": sum(1 for value in ordered if value > 0.1),
                    "over_1s": sum(1 for value in ordered if value > 1.0),
                    "histogram_le_ms": dict(sorted(histogram.items())),
                }
                if ordered
                else {"n": 0}
            )
        waiting = self.gate_waiting
        out["gate_queue_at_entry"] = {
            "mean": round(sum(waiting) / len(waiting), 2) if waiting else 0,
            "max": max(waiting, default=0),
        }
        return out


def _timed_sync(probes: Probes, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            probes.samples[name].append(time.perf_counter() - started)

    return timed


def install(probes: Probes) -> None:
    """Patch the pool, the gate and uvicorn's request cycle to record into `probes`."""
    from sqlalchemy.pool import QueuePool
    from uvicorn.protocols.http import h11_impl, httptools_impl

    from fluenzr_server.store import database as database_module

    QueuePool._do_get = _timed_sync(probes, "checkout", QueuePool._do_get)  # type: ignore[method-assign]
    create = QueuePool._create_connection

    def counted_create(self: QueuePool) -> Any:
        probes.opened += 1
        return create(self)

    QueuePool._create_connection = counted_create  # type: ignore[method-assign,assignment]

    try:
        from fluenzr_server.store.checkout_gate import CheckoutGate
    except ImportError:  # code from before the gate (copy this file into an older checkout to compare)
        pass
    else:
        enter = CheckoutGate.enter

        async def timed_enter(self: CheckoutGate) -> bool:
            probes.gate_waiting.append(self.waiting)
            started = time.perf_counter()
            try:
                return await enter(self)
            finally:
                probes.samples["gate"].append(time.perf_counter() - started)

        CheckoutGate.enter = timed_enter  # type: ignore[method-assign]

    for module in (httptools_impl, h11_impl):
        cycle: Any = module.RequestResponseCycle
        run_asgi = cycle.run_asgi

        async def timed_run(self: Any, app: Any, run_asgi: Any = run_asgi) -> None:
            started = time.perf_counter()
            try:
                await run_asgi(self, app)
            finally:
                probes.samples["request"].append(time.perf_counter() - started)

        cycle.run_asgi = timed_run

    if os.environ.get("PG_TAIL_NO_GATE") == "1":
        init = database_module.Database.__init__

        def without_gate(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            self.checkout_gate = None

        database_module.Database.__init__ = without_gate  # type: ignore[method-assign]


def serve(argv: list[str]) -> None:
    """`fluenzr-server ARGV` with the probes: SIGUSR1 resets them, SIGUSR2 writes them to PG_TAIL_OUT."""
    probes = Probes()
    install(probes)
    out = Path(os.environ["PG_TAIL_OUT"])
    signal.signal(signal.SIGUSR1, lambda *_: probes.reset())
    signal.signal(signal.SIGUSR2, lambda *_: out.write_text(json.dumps(probes.summary())))
    from fluenzr_server.cli import main

    main(argv)


def run(workloads: list[str]) -> None:
    from bench import seed
    from bench.procs import Server, free_port, running
    from bench.run import SECRET_KEY, WORKLOADS, server_env
    from bench.wrk import Load, run_wrk

    admin = os.environ["FLUENZR_TEST_POSTGRES_URL"]
    seconds = float(os.environ.get("PG_TAIL_SECONDS", "12"))
    size = int(os.environ.get("BENCH_SCALE_SIZE", "10000"))
    work = Path(os.environ.get("PG_TAIL_DIR", "/tmp/fluenzr-pg-tail"))
    work.mkdir(parents=True, exist_ok=True)
    load = Load(connections=32, threads=2, duration=seconds, warmup=2.0, timeout_s=10)
    for key in workloads:
        name = f"fluenzr_pg_tail_{secrets.token_hex(4)}"
        url = seed.create_pg_database(admin, name)
        try:
            dataset = seed.load_postgres(url, size, 10_000, secret_key=SECRET_KEY)
            env = server_env(url, "100000000/second")
            for setting in ("FLUENZR_DATABASE_POOL_SIZE", "FLUENZR_DATABASE_MAX_OVERFLOW"):
                if setting in os.environ:
                    env[setting] = os.environ[setting]
            out = work / f"{name}.json"
            env["PG_TAIL_OUT"] = str(out)
            port = free_port()
            argv = [sys.executable, "-m", "bench.pg_tail", "serve", "serve", "--host", "127.0.0.1"]
            server = Server(f"pg-tail-{key}", [*argv, "--port", str(port)], port=port, env=env, log_dir=work)
            request = WORKLOADS[key].build(dataset)
            with running(server, "/v1/health"):
                run_wrk(server.base_url, request, load.warmup, load)
                assert server.process is not None
                os.kill(server.process.pid, signal.SIGUSR1)
                load_average = Path("/proc/loadavg").read_text().split()[:3]
                cpu_before = server.cpu_seconds()
                result = run_wrk(server.base_url, request, seconds, load)
                cpu_after = server.cpu_seconds()
                os.kill(server.process.pid, signal.SIGUSR2)
                time.sleep(1.0)
                probed = json.loads(out.read_text())
            cpu_ms = (
                round((cpu_after - cpu_before) * 1000 / max(1, result.requests), 2)
                if cpu_before is not None and cpu_after is not None
                else None
            )
            wrk = {
                "rps": round(result.rps),
                "p50_ms": result.p50_ms,
                "p90_ms": result.p90_ms,
                "p99_ms": result.p99_ms,
                "max_ms": result.max_ms,
                "errors": result.errors,
                "failure": result.failure,
                "cpu_ms_per_request": cpu_ms,
                "load_average": load_average,
            }
            print(json.dumps({"workload": key, "wrk": wrk, "server": probed}), flush=True)
        finally:
            seed.drop_pg_database(admin, name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif len(sys.argv) > 2 and sys.argv[1] == "run":
        run(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.pg_tail run WORKLOAD [WORKLOAD...]  (list, get, ...)")
