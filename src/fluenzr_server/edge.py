"""The edge middleware: request ids, rate limits with their headers, and the body-size limit.

It sits outside Connexion's exception middleware so that its headers reach every response, errors
included; for the same reason it renders its own responses (429, 413, 404, 500) instead of raising.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluenzr_server import envelope
from fluenzr_server.auth import bearer_token, key_cache, resolve_key
from fluenzr_server.errors import ApiError, NotFound, PayloadTooLarge, RateLimited, ValidationFailed
from fluenzr_server.ratelimit import Decision, RateLimiter

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
        self.max_body_bytes = max_body_bytes
        self.trust_forwarded_for = trust_forwarded_for
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            with key_cache():
                await self._handle(scope, receive, send_tracked, request_id)
        except Exception:
            # Connexion's exception middleware renders everything raised inside it; this is the last
            # resort for failures in this middleware itself (a database or Redis outage, say).
            log.exception("edge failure (%s)", request_id)
            if not started:
                details = {"requestId": request_id}
                headers = {REQUEST_ID_HEADER: request_id}
                response = envelope.error_response(
                    500, "INTERNAL_ERROR", "Internal server error", details, headers
                )
                await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        headers = Headers(scope=scope)
        decision = await self._decide(scope, headers)
        extra_headers = {**decision.headers(), REQUEST_ID_HEADER: request_id}

        async def reply(error: ApiError) -> None:
            response = envelope.error_response(
                error.status, error.code, error.message, error.details, {**extra_headers, **error.headers}
            )
            await response(scope, receive, send)

        if not decision.allowed:
            message = f"Rate limit of {self.limiter.item} exceeded; retry after Retry-After seconds"
            await reply(RateLimited(message, {"limit": decision.limit, "retryAfter": decision.retry_after}))
            return
        path: str = scope["path"]
        if path.endswith("/") and not path.startswith(self.docs_prefix):
            # Starlette would answer with a redirect built from the Host header; a path is exact here.
            await reply(NotFound(message=f"No such path: {path}"))
            return

        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await reply(ValidationFailed("Content-Length must be a number", {"Content-Length": length[:40]}))
            return
        if length is not None and int(length) > self.max_body_bytes:
            await reply(self._too_large())
            return
        if length is None and "chunked" in headers.get("transfer-encoding", "").lower():
            # Connexion reads a body without Content-Length as empty: buffer it (bounded) and say its length.
            try:
                body = await self._read_bounded(receive)
            except PayloadTooLarge as error:
                await reply(error)
                return
            scope = _with_content_length(scope, len(body))
            receive = _replay(body, receive)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in extra_headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, self._bounded(receive), send_with_headers)

    async def _decide(self, scope: Scope, headers: Headers) -> Decision:
        identity = await self._identity(scope, headers)
        try:
            return await self.limiter.hit(identity)
        except Exception:
            # Fail open: a rate-limit store outage must not take the API down with it.
            log.exception("rate limiter unavailable; request allowed")
            limit = self.limiter.item.amount
            return Decision(allowed=True, limit=limit, remaining=limit, reset_at=time.time() + 60)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"Request body exceeds {self.max_body_bytes} bytes", {"maxBytes": self.max_body_bytes}
        )

    async def _read_bounded(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _bounded(self, receive: Receive) -> Receive:
        """Count streamed body bytes too; past the limit the request fails with 413."""
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise self._too_large()
            return message

        return bounded_receive

    async def _identity(self, scope: Scope, headers: Headers) -> str:
        token = bearer_token(headers.get("authorization"))
        if token is not None:
            principal = await resolve_key(token)
            if principal is not None:
                return f"account:{principal.account_id}"
        return f"ip:{self._client_address(scope, headers)}"

    def _client_address(self, scope: Scope, headers: Headers) -> str:
        if self.trust_forwarded_for and (forwarded := headers.get("x-forwarded-for")):
            return forwarded.split(",")[0].strip()
        client: Any = scope.get("client")
        return str(client[0]) if client else "unknown"


def _with_content_length(scope: Scope, length: int) -> Scope:
    kept = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-length", b"transfer-encoding")]
    return {**scope, "headers": [*kept, (b"content-length", str(length).encode())]}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
