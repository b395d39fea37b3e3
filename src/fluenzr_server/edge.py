"""The edge middleware: request ids, rate limits with their headers, and the body-size limit.

It sits outside Connexion's exception middleware so that its headers reach every response, errors
included; for the same reason it renders its own 429 and 413 responses instead of raising.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluenzr_server import envelope
from fluenzr_server.auth import bearer_token, resolve_key
from fluenzr_server.errors import PayloadTooLarge, ValidationFailed
from fluenzr_server.ratelimit import RateLimiter

REQUEST_ID_HEADER = "X-Request-Id"


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, max_body_bytes: int, trust_forwarded_for: bool = False
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes
        self.trust_forwarded_for = trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        decision = await self.limiter.hit(await self._identity(scope, headers))
        extra_headers = {**decision.headers(), REQUEST_ID_HEADER: request_id}

        if not decision.allowed:
            details = {"limit": decision.limit, "retryAfter": decision.retry_after}
            message = f"Rate limit of {self.limiter.item} exceeded; retry after Retry-After seconds"
            response = envelope.error_response(429, "RATE_LIMITED", message, details, extra_headers)
            await response(scope, receive, send)
            return

        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                error = ValidationFailed("Content-Length must be a number", {"Content-Length": length[:40]})
                await _render(error, extra_headers, scope, receive, send)
                return
            if int(length) > self.max_body_bytes:
                await _render(self._too_large(), extra_headers, scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in extra_headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, self._bounded(receive), send_with_headers)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"Request body exceeds {self.max_body_bytes} bytes", {"maxBytes": self.max_body_bytes}
        )

    def _bounded(self, receive: Receive) -> Receive:
        """Count streamed (chunked) body bytes too; past the limit the request fails with 413."""
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


async def _render(
    error: PayloadTooLarge | ValidationFailed,
    headers: dict[str, str],
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    response = envelope.error_response(error.status, error.code, error.message, error.details, headers)
    await response(scope, receive, send)
