"""wrk driving: one generated Lua script per workload, results parsed from the script's `done()` line."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from bench.seed import BENCH_EMAIL_DOMAIN

RESULT_MARK = "BENCH_RESULT"

# Shared by every script: per-thread id (wrk gives each thread its own Lua state), the done() report.
_COMMON = Template("""
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%s {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"status\\": %d, "
    .. "\\"timeout\\": %d}\\n",
    "$mark", summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
""")

_STATIC = Template("""
wrk.method = "GET"
wrk.path = "$path"
$headers
""")

_RANDOM_PATH = Template("""
local paths = {$paths}
local headers = {$headers_table}
function init(args)
  math.randomseed((tid or 1) * 7919)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
""")

# Unique email per request: run nonce (fresh per wrk invocation) + thread id + per-thread counter.
_UNIQUE_POST = Template("""
local counter = 0
local headers = {$headers_table}
function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"bench-$nonce-%d-%d@$domain","firstName":"Load","lastName":"Test",'
    .. '"company":"Bench Ltd","customFields":{"source":"wrk","seq":%d}}', tid or 0, counter, counter)
  return wrk.format("POST", "$path", headers, body)
end
""")

_STATIC_POST = Template("""
wrk.method = "POST"
wrk.path = "$path"
wrk.body = '$body'
$headers
""")


@dataclass(frozen=True, slots=True)
class Request:
    """One workload's requests: a fixed GET, a random GET among `paths`, or a POST."""

    method: str
    paths: tuple[str, ...]
    token: str | None = None
    body: str | None = None  # a fixed POST body; None with POST means "a unique contact per request"

    def lua(self) -> str:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.method == "POST":
            headers["Content-Type"] = "application/json"
        header_lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())
        header_table = ", ".join(f'["{name}"] = "{value}"' for name, value in headers.items())
        common = _COMMON.substitute(mark=RESULT_MARK)
        if self.method == "GET" and len(self.paths) == 1:
            return common + _STATIC.substitute(path=self.paths[0], headers=header_lines)
        if self.method == "GET":
            paths = ", ".join(f'"{path}"' for path in self.paths)
            return common + _RANDOM_PATH.substitute(paths=paths, headers_table=header_table)
        if self.body is not None:
            assert "'" not in self.body
            return common + _STATIC_POST.substitute(path=self.paths[0], body=self.body, headers=header_lines)
        return common + _UNIQUE_POST.substitute(
            path=self.paths[0],
            headers_table=header_table,
            nonce=secrets.token_hex(4),
            domain=BENCH_EMAIL_DOMAIN,
        )


@dataclass(slots=True)
class Result:
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    failure: str | None = None  # why there is no measurement (server down, wrk failed...)
    cpu_seconds: float | None = None  # the server's CPU time (all processes, all threads) during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        """Server CPU per request: steadier than req/s when other work competes for the cores."""
        if self.cpu_seconds is None or not self.requests:
            return None
        return self.cpu_seconds * 1000 / self.requests

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def ok(self) -> bool:
        return self.failure is None and self.requests > 0


@dataclass(frozen=True, slots=True)
class Load:
    connections: int = 32
    threads: int = 2
    duration: float = 10.0
    warmup: float = 2.0
    timeout_s: int = 10  # a request slower than this counts as a timeout, not a latency


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _parse(output: str) -> Result:
    match = re.search(rf"^{RESULT_MARK} (\{{.*\}})$", output, re.MULTILINE)
    if not match:
        return Result(failure="wrk printed no result: " + output.strip()[-300:])
    data = json.loads(match.group(1))
    errors = {
        name: int(data[name]) for name in ("connect", "read", "write", "status", "timeout") if data[name]
    }
    if not int(data["requests"]):
        detail = ", ".join(f"{count:,} {kind}" for kind, count in errors.items()) or "no errors reported"
        return Result(errors=errors, failure=f"no response completed within the run ({detail})")
    return Result(
        requests=int(data["requests"]),
        seconds=int(data["duration_us"]) / 1e6,
        p50_ms=int(data["p50_us"]) / 1000,
        p90_ms=int(data["p90_us"]) / 1000,
        p99_ms=int(data["p99_us"]) / 1000,
        max_ms=int(data["max_us"]) / 1000,
        errors=errors,
    )


def run_wrk(base_url: str, request: Request, seconds: float, load: Load) -> Result:
    """One bounded wrk run; never raises for a failed run (the result says why)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="fluenzr-bench-", delete=False) as script:
        script.write(request.lua())
    duration = max(1, round(seconds))
    argv = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{duration}s",
        f"--timeout={load.timeout_s}s",
        "-s",
        script.name,
        base_url + request.paths[0],
    ]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    except subprocess.TimeoutExpired:
        return Result(failure=f"wrk did not finish within {duration + 60}s")
    finally:
        Path(script.name).unlink(missing_ok=True)
    if completed.returncode != 0:
        return Result(failure=f"wrk exited {completed.returncode}: {completed.stderr.strip()[-300:]}")
    return _parse(completed.stdout)


def measure(
    base_url: str, request: Request, load: Load, cpu: Callable[[], float | None] | None = None
) -> Result:
    """Warm-up (discarded), then the measured run; `cpu` reads the server's CPU seconds so far."""
    if load.warmup > 0:
        warm = run_wrk(base_url, request, load.warmup, load)
        if warm.failure:
            return warm
    before = cpu() if cpu else None
    result = run_wrk(base_url, request, load.duration, load)
    after = cpu() if cpu else None
    if before is not None and after is not None:
        result.cpu_seconds = after - before
    return result
