"""The edge middleware: request ids, rate limits with their headers, the body-size limit.

It sits outside Connexion's exception middleware so that its headers reach every response, errors
included; for the same reason it renders its own responses (429, 413, 404, 500) instead of raising.
API keys are resolved with the database of the app's resources (`request_resources`).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from fluenzr_server.asgi import answer_or_500, with_headers
from fluenzr_server.auth import bearer_token, key_cache, resolve_key
from fluenzr_server.bodies import BodyLimit
from fluenzr_server.errors import ApiError, RateLimited, UnknownPath
from fluenzr_server.failures import render
from fluenzr_server.ratelimit import Decision, RateLimiter
from fluenzr_server.request_resources import request_resources

REQUEST_ID_HEADER = "X-Request-Id"
log = logging.getLogger("fluenzr.edge")


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        max_body_bytes: int,
        trust_forwarded_for: bool = False,
        docs_prefix: str = "/v1/ui",
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.body_limit = BodyLimit(max_body_bytes)
        self.trust_forwarded_for = trust_forwarded_for
        self.docs_prefix = docs_prefix
        self.api_root = docs_prefix.removesuffix("/ui") + "/"  # GET /v1/ (getApiIndex)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def handle(tracked_send: Send) -> None:
            # One read connection for the request: the API-key lookup's, reused by the handler's reads.
            with key_cache():
                async with request_resources(scope).database.request_scope():
                    await self._handle(scope, receive, tracked_send, request_id)

        await answer_or_500(
            handle,
            scope,
            receive,
            send,
            log=log,
            details={"requestId": request_id},
            headers={REQUEST_ID_HEADER: request_id},
        )

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        headers = Headers(scope=scope)
        decision = await self._decide(scope, headers)
        extra_headers = {**decision.headers(), REQUEST_ID_HEADER: request_id}

        async def reply(error: ApiError) -> None:
            await render(error, extra_headers)(scope, receive, send)

        if not decision.allowed:
            message = f"Rate limit of {self.limiter.item} exceeded; retry after Retry-After seconds"
            await reply(RateLimited(message, {"limit": decision.limit, "retryAfter": decision.retry_after}))
            return
        path: str = scope["path"]
        if path.endswith("/") and not path.startswith(self.docs_prefix) and path != self.api_root:
            # Starlette would answer with a redirect built from the Host header; a path is exact here.
            await reply(UnknownPath(path))
            return

        try:
            scope, receive = await self.body_limit.prepare(scope, receive)
        except ApiError as error:
            await reply(error)
            return

        await self.app(scope, receive, with_headers(send, lambda _status: extra_headers))

    async def _decide(self, scope: Scope, headers: Headers) -> Decision:
        identity = await self._identity(scope, headers)
        try:
            return await self.limiter.hit(identity)
        except Exception:
            # Fail open: a rate-limit store outage must not take the API down with it.
            log.exception("rate limiter unavailable; request allowed")
            limit = self.limiter.item.amount
            return Decision(allowed=True, limit=limit, remaining=limit, reset_at=time.time() + 60)

    async def _identity(self, scope: Scope, headers: Headers) -> str:
        token = bearer_token(headers.get("authorization"))
        if token is not None:
            principal = await resolve_key(request_resources(scope).database, token)
            if principal is not None:
                return f"account:{principal.account_id}"
        return f"ip:{self._client_address(scope, headers)}"

    def _client_address(self, scope: Scope, headers: Headers) -> str:
        if self.trust_forwarded_for and (forwarded := headers.get("x-forwarded-for")):
            return forwarded.split(",")[0].strip()
        client: Any = scope.get("client")
        return str(client[0]) if client else "unknown"
