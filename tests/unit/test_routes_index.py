"""`IndexedRouter` routes every request exactly as Starlette's `Router` does (same route, same path
parameters, same 405 for a known path with another method, same fallback), for the contract's routes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.exceptions import HTTPException
from starlette.routing import Route, Router

from fluenzr_server.connexion_once import IndexedRouting
from fluenzr_server.routes_index import IndexedRouter
from fluenzr_server.spec import load_spec

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]


class Hit:
    def __init__(self, name: str, seen: list[Any]) -> None:
        self.name, self.seen = name, seen

    async def __call__(self, scope: dict[str, Any], _receive: Any, _send: Any) -> None:
        self.seen.append((self.name, dict(scope.get("path_params", {}))))


def _contract_routes() -> list[Route]:
    """The routes Connexion builds from the contract (paths starlettified, one route per method)."""
    from connexion.frameworks.starlette import starlettify_path

    routes = []
    for path, methods in load_spec()["paths"].items():
        types = {
            p["name"]: "path"
            if p.get("schema", {}).get("format") == "path"
            else p.get("schema", {}).get("type")
            for operation in methods.values()
            if isinstance(operation, dict)
            for p in operation.get("parameters", [])
            if p.get("in") == "path"
        }
        for method in methods:
            if method.upper() in METHODS:
                routes.append((starlettify_path(path, types), method.upper()))
    return [Route(path, Hit(f"{method} {path}", []), methods=[method]) for path, method in routes]


def _request_paths(routes: list[Route]) -> list[str]:
    paths = {"/", "", "//", "/nothing", "/nothing/here", "/contacts/", "/contacts//x", "/a/b/c/d/e/f"}
    for route in routes:
        for value in ("x", "ctc_1", "12", "a/b", "é", ""):
            concrete = re.sub(r"\{[^}]+\}", value, route.path)
            paths |= {concrete, concrete + "/", concrete + "/more", concrete.upper()}
    return sorted(paths)


async def _route(router: Router, path: str, method: str, seen: list[Any]) -> Any:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "query_string": b"",
        "scheme": "http",
        "server": ("testserver", 80),
        "app": object(),
    }
    seen.clear()

    async def send(message: dict[str, Any]) -> None:  # a redirect (Starlette's slash fallback)
        seen.append((message["type"], message.get("status"), dict(message.get("headers", []))))

    try:
        await router.app(scope, None, send)  # type: ignore[arg-type]
    except HTTPException as exc:
        return ("http", exc.status_code, dict(exc.headers or {}))
    return list(seen)


@pytest.mark.parametrize("method", METHODS)
async def test_every_request_is_routed_as_starlette_routes_it(method: str) -> None:
    seen: list[Any] = []
    routes = _contract_routes()
    for route in routes:
        assert isinstance(route.app, Hit)
        route.app.seen = seen
    default = Hit("default", seen)
    plain = Router(routes=routes, default=default)
    indexed = IndexedRouter(routes, default=default)
    assert len(routes) > 40
    routed = 0
    for path in _request_paths(routes):
        expected = await _route(plain, path, method, seen)
        assert await _route(indexed, path, method, seen) == expected, (method, path)
        routed += expected != [("default", {})]
        # The route Starlette picks is among the few the index offers (not found by the fallback).
        chosen = [
            route
            for route in routes
            if route.matches({"type": "http", "method": method, "path": path})[0].value
        ]
        candidates = indexed.candidates(path)
        assert len(candidates) <= 10
        if chosen:
            assert chosen[0] in candidates, (method, path)
    assert routed > 40  # the paths mostly reach a route (or its 405), not the fallback


def test_the_server_routes_with_the_index() -> None:
    from fluenzr_server.stack import middlewares

    assert IndexedRouting in middlewares(
        resources=None, edge=object, idempotency=None, validate_responses=False
    )
