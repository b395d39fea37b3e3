"""Every failure as the error envelope: the one place a domain error, a framework error (Connexion's
problems, Starlette's 404/405) or an edge failure becomes a response.

`render()` is the function; the edges call it for their own refusals, and `error_handlers()` hands
Connexion's exception middleware one handler per exception family, each translating to an `ApiError`
and rendering it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from fluenzr_server import envelope
from fluenzr_server.errors import (
    ApiError,
    InternalError,
    MethodNotAllowed,
    Unauthorized,
    UnknownPath,
    UnsupportedMediaType,
    code_for_status,
)
from fluenzr_server.spec import AllowedMethods

log = logging.getLogger("fluenzr")
INTERNAL_MESSAGE = "Internal server error"

ErrorHandler = Callable[[ConnexionRequest, Any], Awaitable[ConnexionResponse]]


def render(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """The error envelope response for `error`: its status, code, message and details, and its own
    headers (`Allow`, `Retry-After`) over `headers` (the edge's `X-RateLimit-*`, `X-Request-Id`)."""
    return envelope.error_response(
        error.status, error.code, error.message, error.details, {**(headers or {}), **error.headers}
    )


class StatusError(ApiError):
    """A bare HTTP status raised by a framework layer, with the envelope code for that status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code_for_status(status)


def from_problem(request: ConnexionRequest, exc: ProblemException, *, expose_internal: bool) -> ApiError:
    """Connexion's problem (security, content type, its own 500s) as a domain error."""
    status = exc.status or 500
    if status == 401:
        has_header = bool(request.headers.get("authorization"))
        return Unauthorized(
            "Invalid API key" if has_header else "Missing API key: send Authorization: Bearer <key>"
        )
    if status == 415:
        content_type = request.headers.get("content-type", "")
        return UnsupportedMediaType(
            "Content-Type must be application/json", {"contentType": content_type[:100]}
        )
    if status >= 500:
        log.error("server problem: %s %s", exc.title, exc.detail)
        return InternalError(INTERNAL_MESSAGE, {"detail": str(exc.detail)[:2000]} if expose_internal else {})
    return StatusError(status, str(exc.detail or exc.title or "Invalid request")[:300])


def from_http(request: ConnexionRequest, exc: HTTPException, *, allowed: AllowedMethods) -> ApiError:
    """Starlette's routing errors: 404 names the path, 405 lists the contract's methods in `Allow`."""
    path = request.url.path
    if exc.status_code == 405:
        methods = allowed.for_path(path)
        return MethodNotAllowed(
            f"{request.method} is not allowed on {path}", {"allowed": methods}, {"Allow": ", ".join(methods)}
        )
    if exc.status_code == 404:
        return UnknownPath(path)
    return StatusError(exc.status_code, str(exc.detail)[:300])


def unexpected(request: ConnexionRequest, exc: Exception, *, expose_internal: bool) -> ApiError:
    """Anything else: logged with the request id; only tests see the exception in `details`."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error in %s %s (%s)", request.method, request.url.path, request_id, exc_info=exc)
    details: dict[str, Any] = {"requestId": request_id}
    if expose_internal:
        details["detail"] = repr(exc)[:2000]
    return InternalError(INTERNAL_MESSAGE, details)


def _connexion(error: ApiError) -> ConnexionResponse:
    # Connexion's exception middleware wants its own response type; the body is render()'s.
    return ConnexionResponse(
        status_code=error.status,
        mimetype=envelope.JSON,
        content_type=envelope.JSON,
        body=render(error).body,
        headers=dict(error.headers),
    )


def error_handlers(spec: dict[str, Any], *, expose_internal: bool) -> dict[type[Exception], ErrorHandler]:
    """Handlers for Connexion's exception middleware (which renders problem+json by default)."""
    allowed = AllowedMethods(spec)

    async def api_error(_request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
        return _connexion(exc)

    async def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        return _connexion(from_problem(request, exc, expose_internal=expose_internal))

    async def http_error(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        return _connexion(from_http(request, exc, allowed=allowed))

    async def other(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        return _connexion(unexpected(request, exc, expose_internal=expose_internal))

    return {ApiError: api_error, ProblemException: problem, HTTPException: http_error, Exception: other}
