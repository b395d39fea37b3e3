"""The mock's edge: CORS (preflight answered from the contract's methods), the contract's header examples
on every response, and the same 1 MiB body limit as the real server — but no rate limiter.

It sits outside Connexion's exception middleware, as the real edge does, so that error responses carry
the headers too; for the same reason it renders its own 413/400 and preflight responses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fluenzr_mock.contract import Contract
from fluenzr_server.asgi import answer_or_500, with_headers
from fluenzr_server.bodies import BodyLimit
from fluenzr_server.errors import ApiError, Forbidden, UnknownPath
from fluenzr_server.failures import render

log = logging.getLogger("fluenzr.mock")

ALLOW_HEADERS = ("Authorization", "Content-Type", "Prefer", "Idempotency-Key")
PREFLIGHT_MAX_AGE = "600"


class CorsPolicy:
    """Which origins may call the mock, and the CORS headers that tell a browser so."""

    def __init__(self, origins: Sequence[str] | None, *, expose: Sequence[str]) -> None:
        self.any_origin = not origins or "*" in origins
        self.origins = frozenset(origins or ())
        self.expose = ", ".join(expose)

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if self.any_origin:
            return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": self.expose}
        if origin is None or origin not in self.origins:
            return {"Vary": "Origin"}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": self.expose,
            "Vary": "Origin",
        }

    def preflight_headers(self, origin: str, methods: list[str], requested: str | None) -> dict[str, str]:
        allow = list(ALLOW_HEADERS)
        known = {name.lower() for name in allow}
        for name in (requested or "").split(","):
            name = name.strip()
            if name and name.lower() not in known:
                allow.append(name)
                known.add(name.lower())
        headers = self.response_headers(origin)
        headers.pop("Access-Control-Expose-Headers", None)
        return {
            **headers,
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join(allow),
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }


class MockEdgeMiddleware:
    """Mirrors the real edge (exact paths, body limit, chunked bodies, envelope on its own failures) with the
    contract's header examples instead of a rate limiter's figures, and CORS in front."""

    def __init__(self, app: ASGIApp, *, contract: Contract, cors: CorsPolicy, max_body_bytes: int) -> None:
        self.app = app
        self.contract = contract
        self.cors = cors
        self.body_limit = BodyLimit(max_body_bytes)
        self.docs_prefix = f"{contract.base_path}/ui"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def handle(tracked_send: Send) -> None:
            await self._handle(scope, receive, tracked_send)

        await answer_or_500(handle, scope, receive, send, log=log, details={}, headers={})

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        method: str = scope["method"]
        path: str = scope["path"]
        origin = headers.get("origin")
        cors_headers = self.cors.response_headers(origin)

        def decorated(status: int) -> dict[str, str]:
            return {**self.contract.response_headers(method, path, status), **cors_headers}

        async def reply(error: ApiError) -> None:
            await render(error, decorated(error.status))(scope, receive, send)

        if (
            path.endswith("/")
            and not path.startswith(self.docs_prefix)
            and path != f"{self.contract.base_path}/"
        ):
            # As in the real edge: a path is exact (Starlette would redirect, building a URL from Host).
            await reply(UnknownPath(path))
            return
        if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            response = self._preflight(path, origin, headers.get("access-control-request-headers"))
            response.headers.update(self.contract.response_headers(method, path, response.status_code))
            await response(scope, receive, send)
            return

        try:
            scope, receive = await self.body_limit.prepare(scope, receive)
        except ApiError as error:
            await reply(error)
            return

        await self.app(scope, receive, with_headers(send, decorated, overwrite=False))

    def _preflight(self, path: str, origin: str, requested: str | None) -> Response:
        if not self.cors.allows(origin):
            return render(Forbidden(f"Origin {origin[:200]} may not call this API", {"origin": origin[:200]}))
        methods = self.contract.allowed_methods(path)
        if not methods:
            return render(UnknownPath(path), self.cors.response_headers(origin))
        return Response(status_code=204, headers=self.cors.preflight_headers(origin, methods, requested))
