"""CPU µs per request, layer by layer: where a request's time goes through the server's ASGI stack.

    .venv/bin/python -m bench.layers [--db sqlite|postgresql] [--size N] [-n N] [--workloads list,get,...]

Each layer of the stack (`stack.py`, outermost first), the edge's two pieces of work (API-key lookup, rate
limit), the handler, its service, the service's statements and the JSON writer are wrapped in a timer that
adds the process CPU time spent inside it (`time.process_time`, every thread) to that layer's total. A
layer's own cost is its total minus the total of the next layer in; the figures are per request, averaged
over `-n` requests after a warm-up, with the same data and requests as `bench.inproc`. The timers add a
microsecond or two per layer; compare rows of one run, not runs of two tools.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import inproc

SPENT: dict[str, float] = {}


INSIDE: set[str] = set()  # the timed names a call is inside of (one request at a time)


def _timed_async(name: str, function: Callable[..., Any], within: str | None = None) -> Callable[..., Any]:
    @functools.wraps(function)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        lifespan = len(args) > 1 and isinstance(args[1], dict) and args[1].get("type") == "lifespan"
        if lifespan or name in INSIDE or (within is not None and within not in INSIDE):
            return await function(*args, **kwargs)  # the app's lifespan / counted further out / not ours
        INSIDE.add(name)
        began = time.process_time()
        try:
            return await function(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.process_time() - began
            INSIDE.discard(name)

    return timed


def _timed_sync(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.process_time() - began

    return timed


def _wrap(owner: Any, attribute: str, name: str, *, sync: bool = False, within: str | None = None) -> None:
    original = getattr(owner, attribute)  # inherited ones too: wrapped on this class only
    wrapped = _timed_sync(name, original) if sync else _timed_async(name, original, within)
    setattr(owner, attribute, wrapped)


# Outermost first: a layer's own cost is its total minus the next deeper one's. The middleware names are
# the server's stack (`stack.middlewares`, filled in by `instrument`); the last three are inside Connexion's
# app: the operation (Connexion's parameter and response decorators), the handler, the service.
INNER = ["operation (Connexion's parameter and response decorators)", "handler", "service"]
STACK: list[str] = [*INNER]


def instrument() -> None:
    """Wrap the layers (before the app is built: Connexion instantiates them at its first request)."""
    from connexion.apps.asynchronous import AsyncASGIApp
    from sqlalchemy.ext.asyncio import AsyncConnection

    import handlers.campaigns
    import handlers.contacts
    from fluenzr_server.concrete_paths import ConcretePathMethods
    from fluenzr_server.edge import EdgeMiddleware
    from fluenzr_server.envelope import EnvelopeJsonifier
    from fluenzr_server.idempotency import IdempotencyMiddleware
    from fluenzr_server.ratelimit import RateLimiter
    from fluenzr_server.request_resources import ResourcesMiddleware
    from fluenzr_server.services import campaigns, contacts
    from fluenzr_server.stack import middlewares
    from fluenzr_server.store.loop_sqlite import LoopConnection
    from fluenzr_server.tracking.routes import TrackingRoutes

    layers: list[Any] = middlewares(
        resources=ResourcesMiddleware,
        edge=EdgeMiddleware,
        idempotency=IdempotencyMiddleware,
        validate_responses=False,
        concrete_paths=ConcretePathMethods,
        tracking=TrackingRoutes,
    )
    STACK[:] = [layer.__name__ for layer in layers] + INNER
    for layer in layers:
        _wrap(layer, "__call__", layer.__name__)
    _wrap(AsyncASGIApp, "__call__", STACK[-3])
    _wrap(EdgeMiddleware, "_identity", "edge: API-key lookup")
    _wrap(RateLimiter, "hit", "edge: rate limit")
    for module, names in (
        (handlers.contacts, ("list_contacts", "get_contact", "create_contact")),
        (handlers.campaigns, ("get_campaign_stats",)),
    ):
        for attribute in names:
            _wrap(module, attribute, "handler")
    for service, names in (
        (contacts, ("list_contacts", "get_contact", "create_contact")),
        (campaigns, ("get_stats",)),
    ):
        for attribute in names:
            _wrap(service, attribute, "service")
    for connection in (LoopConnection, AsyncConnection):
        for attribute in ("execute", "scalar", "scalars"):
            _wrap(connection, attribute, "service: statements (execute)", within="service")
    _wrap(EnvelopeJsonifier, "dumps", "JSON writer (jsonifier)", sync=True)


async def run(args: argparse.Namespace, url: str, data: Any) -> dict[str, dict[str, float]]:
    tables: dict[str, dict[str, float]] = {}
    app = inproc.server_app(url)
    async with inproc.lifespan(app):
        for workload in args.workloads:
            make = inproc.calls("server", workload, data)
            for i in range(args.warmup):
                await inproc.request(app, make(i), data.api_key)
            SPENT.clear()
            began = time.process_time()
            for i in range(args.warmup, args.warmup + args.n):
                status, body = await inproc.request(app, make(i), data.api_key)
                if not 200 <= status < 300:
                    raise SystemExit(f"{make(i)} answered {status}: {body[:300]!r}")
            SPENT["request (whole ASGI call)"] = time.process_time() - began
            tables[workload] = {name: spent / args.n * 1e6 for name, spent in SPENT.items()}
            if workload == "post":
                inproc._clean_up(args.db, url, data)
    return tables


def report(tables: dict[str, dict[str, float]]) -> None:
    workloads = list(tables)
    print("| layer (own CPU µs per request) | " + " | ".join(workloads) + " |")
    print("|---|" + "---:|" * len(workloads))
    rows: list[tuple[str, list[float]]] = []
    chain = ["request (whole ASGI call)", *STACK]
    for outer, inner in zip(chain, [*chain[1:], None], strict=True):
        cells = []
        for workload in workloads:
            spent = tables[workload]
            own = spent.get(outer, 0.0) - (spent.get(inner, 0.0) if inner else 0.0)
            if outer == "EdgeMiddleware":
                own -= spent.get("edge: API-key lookup", 0.0) + spent.get("edge: rate limit", 0.0)
            if outer == "service":
                own -= spent.get("service: statements (execute)", 0.0)
            if outer == STACK[-3]:
                own -= spent.get("JSON writer (jsonifier)", 0.0)
            cells.append(own)
        label = "outside the stack (inproc driver, Connexion's entry)" if outer == chain[0] else outer
        rows.append((label, cells))
        if outer == "EdgeMiddleware":
            for part in ("edge: API-key lookup", "edge: rate limit"):
                rows.append((part, [tables[w].get(part, 0.0) for w in workloads]))
        if outer == STACK[-3]:
            part = "JSON writer (jsonifier)"
            rows.append((part, [tables[w].get(part, 0.0) for w in workloads]))
        if outer == "service":
            part = "service: statements (execute)"
            rows.append((part, [tables[w].get(part, 0.0) for w in workloads]))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(f"{cell:,.0f}" for cell in cells) + " |")
    totals = [tables[w]["request (whole ASGI call)"] for w in workloads]
    print("| **total** | " + " | ".join(f"**{cell:,.0f}**" for cell in totals) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--campaign-contacts", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--workloads", type=lambda v: v.split(","), default=["list", "get", "stats", "post"])
    args = parser.parse_args(argv)
    instrument()
    with inproc.dataset(args.db, args.size, args.campaign_contacts) as (url, data):
        tables = asyncio.run(run(args, url, data))
    print(f"{args.db} @ {args.size:,}, {args.n} requests per workload")
    report(tables)


if __name__ == "__main__":
    main()
