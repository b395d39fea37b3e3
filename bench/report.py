"""The results: measurements, the targets and whether each is met, rendered as one Markdown document."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.wrk import Result

# The targets the issue sets.
MIN_CEILING_SHARE = 0.5  # every workload ≥ 50% of the ceiling's req/s
MAX_P99_MS = 25.0  # p99 < 25 ms at 32 connections
MAX_SIZE_SLOWDOWN = 2.0  # 1M-contact list and filter within 2× of their 10k figures
SIZE_CHECKED = ("list", "filter")
MIN_MOCK_OVER_PRISM = 2.0  # the mock ≥ 2× Prism's req/s
MIN_FLOOR_SHARE = 0.33  # issue 12: every workload ≥ 33% of the raw-driver floor's req/s, on both databases
MAX_FLOOR_P99_MS = 50.0  # issue 12: p99 < 50 ms at 32 connections on SQLite
# The server/ceiling/floor sections: (section, database).
SERVER_SECTIONS = (("server", "SQLite"), ("server-postgresql", "PostgreSQL"))


@dataclass(frozen=True, slots=True)
class Measured:
    section: str  # "server" (SQLite), "server-postgresql", "mock", "scale"
    workload: str  # key, e.g. "list"
    label: str  # e.g. "GET /contacts"
    target: str  # "server", "ceiling", "floor", "mock", "prism", "1 worker", "2 workers"
    size: int | None
    result: Result


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    value: str
    met: bool | None  # None: not measurable in this run


@dataclass(slots=True)
class Report:
    header: list[str] = field(default_factory=list)
    rows: list[Measured] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Measured) -> None:
        self.rows.append(row)

    def find(self, section: str, workload: str, target: str, size: int | None = None) -> Result | None:
        for row in self.rows:
            if (row.section, row.workload, row.target, row.size) == (section, workload, target, size):
                return row.result
        return None

    def _labels(self, section: str) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for row in self.rows:
            if row.section == section:
                seen.setdefault(row.workload, row.label)
        return list(seen.items())

    def _sizes(self, section: str = "server") -> list[int]:
        return sorted({row.size for row in self.rows if row.section == section and row.size is not None})

    # --- targets ------------------------------------------------------------------------------------

    def _floor_checks(self, section: str, database: str) -> list[Check]:
        checks: list[Check] = []
        for size in self._sizes(section):
            for workload, label in self._labels(section):
                ours = self.find(section, workload, "server", size)
                floor = self.find(section, workload, "floor", size)
                if ours is None or not ours.ok or floor is None or not floor.ok:
                    continue
                where = f"{database} {label} @ {size:,}"
                share = ours.rps / floor.rps
                checks.append(
                    Check(
                        f"{where}: ≥ {MIN_FLOOR_SHARE:.0%} of floor req/s",
                        f"{share:.0%}",
                        share >= MIN_FLOOR_SHARE,
                    )
                )
                if section == "server":
                    checks.append(
                        Check(
                            f"{where}: p99 < {MAX_FLOOR_P99_MS:g} ms",
                            f"{ours.p99_ms:.1f} ms",
                            ours.p99_ms < MAX_FLOOR_P99_MS,
                        )
                    )
        return checks

    def checks(self) -> list[Check]:
        checks: list[Check] = []
        for section, database in SERVER_SECTIONS:
            checks += self._floor_checks(section, database)
        sizes = self._sizes()
        for size in sizes:
            for workload, label in self._labels("server"):
                ours = self.find("server", workload, "server", size)
                ceiling = self.find("server", workload, "ceiling", size)
                where = f"{label} @ {size:,}"
                if ours is None or not ours.ok:
                    checks.append(Check(f"{where}: measured", _failure(ours), False))
                    continue
                if ceiling is not None and ceiling.ok:
                    share = ours.rps / ceiling.rps
                    checks.append(
                        Check(
                            f"{where}: ≥ {MIN_CEILING_SHARE:.0%} of ceiling req/s",
                            f"{share:.0%}",
                            share >= MIN_CEILING_SHARE,
                        )
                    )
                checks.append(
                    Check(
                        f"{where}: p99 < {MAX_P99_MS:g} ms", f"{ours.p99_ms:.1f} ms", ours.p99_ms < MAX_P99_MS
                    )
                )
                if ours.error_count:
                    checks.append(Check(f"{where}: no errors", _errors(ours), False))
        if len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            for workload, label in self._labels("server"):
                if workload not in SIZE_CHECKED:
                    continue
                a = self.find("server", workload, "server", small)
                b = self.find("server", workload, "server", large)
                name = f"{label}: {large:,} within {MAX_SIZE_SLOWDOWN:g}× of {small:,} (req/s)"
                if a is None or b is None or not a.ok or not b.ok or not b.rps:
                    checks.append(Check(name, "not measured", None))
                    continue
                slowdown = a.rps / b.rps
                checks.append(Check(name, f"{slowdown:.1f}× slower", slowdown <= MAX_SIZE_SLOWDOWN))
        else:
            checks.append(
                Check(
                    f"list/filter: largest size within {MAX_SIZE_SLOWDOWN:g}× of smallest",
                    "one size run",
                    None,
                )
            )
        for workload, label in self._labels("mock"):
            mock = self.find("mock", workload, "mock")
            prism = self.find("mock", workload, "prism")
            name = f"mock {label}: ≥ {MIN_MOCK_OVER_PRISM:g}× Prism req/s"
            if mock is None or prism is None or not mock.ok or not prism.ok:
                checks.append(Check(name, "not measured", None))
                continue
            ratio = mock.rps / prism.rps
            checks.append(Check(name, f"{ratio:.1f}×", ratio >= MIN_MOCK_OVER_PRISM))
        if not self._labels("mock"):
            checks.append(Check(f"mock ≥ {MIN_MOCK_OVER_PRISM:g}× Prism req/s", "section skipped", None))
        return checks

    # --- rendering ----------------------------------------------------------------------------------

    def _server_table(self, section: str, database: str) -> list[str]:
        sizes = self._sizes(section)
        if not sizes:
            return []
        lines = [
            f"## Server vs ceiling vs floor ({database}, 1 uvicorn worker each)",
            "",
            "| Workload | Contacts | Server req/s | p50 ms | p99 ms | CPU ms/req | Ceiling req/s | p50 ms "
            "| p99 ms | CPU ms/req | Floor req/s | p50 ms | p99 ms | CPU ms/req "
            "| Server/ceiling req/s | Server/floor req/s | Server/floor CPU ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for size in sizes:
            for workload, label in self._labels(section):
                ours = self.find(section, workload, "server", size)
                ceiling = self.find(section, workload, "ceiling", size)
                floor = self.find(section, workload, "floor", size)
                lines.append(
                    f"| {label} | {size:,} | {_cells(ours)} | {_cells(ceiling)} | {_cells(floor)} "
                    f"| {_ratio(ours, ceiling)} | {_ratio(ours, floor)} | {_cpu_ratio(ours, floor)} |"
                )
        return [*lines, ""]

    def _pair_table(self, section: str, title: str, left: str, right: str, ratio_name: str) -> list[str]:
        labels = self._labels(section)
        if not labels:
            return []
        lines = [
            f"## {title}",
            "",
            f"| Request | {left} req/s | p50 ms | p99 ms | CPU ms/req | {right} req/s | p50 ms | p99 ms "
            f"| CPU ms/req | {ratio_name} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for workload, label in labels:
            a = self.find(section, workload, left)
            b = self.find(section, workload, right)
            lines.append(f"| {label} | {_cells(a)} | {_cells(b)} | {_ratio(a, b)} |")
        return [*lines, ""]

    def markdown(self) -> str:
        out = ["# FluenzR API benchmark", "", *self.header, ""]
        for section, database in SERVER_SECTIONS:
            out += self._server_table(section, database)
        out += self._pair_table(
            "mock", "Mock server vs Prism 5 (same contract, same requests)", "mock", "prism", "Mock/Prism"
        )
        out += self._pair_table(
            "scale",
            "Scaling with cores: PostgreSQL + Redis, 1 vs 2 workers",
            "1 worker",
            "2 workers",
            "2w/1w",
        )
        out += ["## Targets", "", "| Target | Result | Met |", "|---|---|:---:|"]
        checks = self.checks()
        for check in checks:
            met = "—" if check.met is None else ("yes" if check.met else "**NO**")
            out.append(f"| {check.name} | {check.value} | {met} |")
        decided = [check for check in checks if check.met is not None]
        passed = sum(1 for check in decided if check.met)
        out += [
            "",
            f"{passed} of {len(decided)} measured targets met. With a closed loop of 32 connections the mean "
            "latency is about 32 / (req/s): p99 < 25 ms needs well over 1,300 req/s from one worker.",
        ]
        errors = [row for row in self.rows if row.result.ok and row.result.error_count]
        if errors or self.notes:
            out += ["", "## Notes", ""]
            out += [f"- {note}" for note in self.notes]
            out += [
                f"- {row.label} ({row.target}{_at(row.size)}): {_errors(row.result)} in "
                f"{row.result.requests:,} requests"
                for row in errors
            ]
        return "\n".join(out) + "\n"


def _at(size: int | None) -> str:
    return f" @ {size:,}" if size is not None else ""


def _cells(result: Result | None) -> str:
    if result is None:
        return "— | — | — | —"
    if not result.ok:
        return "failed | — | — | —"
    cpu = result.cpu_ms_per_request
    cpu_cell = "—" if cpu is None else f"{cpu:.2f}"
    return f"{result.rps:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | {cpu_cell}"


def _ratio(a: Result | None, b: Result | None) -> str:
    if a is None or b is None or not a.ok or not b.ok or not b.rps:
        return "—"
    return f"{a.rps / b.rps:.2f}"


def _cpu_ratio(a: Result | None, b: Result | None) -> str:
    """How many times the floor's CPU per request the server spends."""
    if a is None or b is None or not a.ok or not b.ok:
        return "—"
    if a.cpu_ms_per_request is None or not b.cpu_ms_per_request:
        return "—"
    return f"{a.cpu_ms_per_request / b.cpu_ms_per_request:.1f}×"


def _failure(result: Result | None) -> str:
    if result is None:
        return "not run"
    return (result.failure or "no requests completed")[:120].replace("|", "/").replace("\n", " ")


def _errors(result: Result) -> str:
    return ", ".join(f"{count:,} {kind}" for kind, count in result.errors.items())
