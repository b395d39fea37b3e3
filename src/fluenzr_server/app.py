"""The app factory: Connexion AsyncApp on the contract, envelope errors, edge middleware, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.options import SwaggerUIOptions
from connexion.validators import VALIDATOR_MAP
from starlette.exceptions import HTTPException

from fluenzr_server import envelope
from fluenzr_server.auth import SECURITY_MAP
from fluenzr_server.concrete_paths import ConcretePathMethods
from fluenzr_server.edge import EdgeMiddleware
from fluenzr_server.errors import ApiError, UnknownPath, code_for_status
from fluenzr_server.idempotency import IdempotencyMiddleware
from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.settings import Settings, get_settings
from fluenzr_server.spec import AllowedMethods, base_path, load_spec
from fluenzr_server.store.database import Database, set_database
from fluenzr_server.validation import (
    EnvelopeJSONBodyValidator,
    EnvelopeParameterValidator,
    register_read_only_fields,
)
from handlers.resolver import TagResolver

log = logging.getLogger("fluenzr")

VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": EnvelopeParameterValidator,
    "body": MediaTypeDict({"*/*json": EnvelopeJSONBodyValidator}),
}

# Headers the edge middleware adds outside the response validator, which therefore cannot see them.
_EDGE_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"}


class _EdgeAwareValidationOperation(ResponseValidationOperation):  # type: ignore[misc]
    @staticmethod
    def validate_required_headers(
        headers: list[tuple[bytes, bytes]], response_definition: dict[str, Any]
    ) -> None:
        defined = response_definition.get("headers", {})
        inner = {name: value for name, value in defined.items() if name.lower() not in _EDGE_HEADERS}
        ResponseValidationOperation.validate_required_headers(
            headers, {**response_definition, "headers": inner}
        )


class _EdgeAwareValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> Any:
        if not self.validate_responses:
            return self.next_app
        return _EdgeAwareValidationOperation(
            self.next_app, operation=operation, validator_map=self.validator_map
        )


class EdgeAwareResponseValidation(ResponseValidationMiddleware):  # type: ignore[misc]
    """Validates responses, except the required headers that the edge middleware adds further out."""

    api_cls = _EdgeAwareValidationAPI


def middlewares(*, validate_responses: bool) -> list[Any]:
    """Connexion's stack for one app (a fresh list: Connexion inserts added middlewares into it).

    Without response validation its middleware is left out altogether: it would still route every
    request (one more pass over the routes) only to hand it on.
    """
    return [m for m in MIDDLEWARES if validate_responses or m is not EdgeAwareResponseValidation]


MIDDLEWARES = [
    EdgeAwareResponseValidation if middleware is ResponseValidationMiddleware else middleware
    for middleware in ConnexionMiddleware.default_middlewares
]


def _json(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: Any = None
) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        mimetype=envelope.JSON,
        content_type=envelope.JSON,
        body=envelope.dumps(envelope.error(code, message, details)),
        headers=dict(headers or {}),
    )


def error_handlers(
    spec: dict[str, Any], *, expose_internal: bool
) -> dict[type[Exception], Callable[..., Any]]:
    """Every failure rendered as the envelope (Connexion renders problem+json by default)."""
    allowed = AllowedMethods(spec)

    async def api_error(_request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
        return _json(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        status = exc.status or 500
        if status == 401:
            has_header = bool(request.headers.get("authorization"))
            message = "Invalid API key" if has_header else "Missing API key: send Authorization: Bearer <key>"
            return _json(401, "UNAUTHORIZED", message)
        if status == 415:
            content_type = request.headers.get("content-type", "")
            return _json(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type must be application/json",
                {"contentType": content_type[:100]},
            )
        if status >= 500:
            log.error("server problem: %s %s", exc.title, exc.detail)
            details = {"detail": str(exc.detail)[:2000]} if expose_internal else {}
            return _json(500, "INTERNAL_ERROR", "Internal server error", details)
        detail = str(exc.detail or exc.title or "Invalid request")[:300]
        return _json(status, code_for_status(status), detail)

    async def http_error(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        path = request.url.path
        if exc.status_code == 405:
            methods = allowed.for_path(path)
            return _json(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {path}",
                {"allowed": methods},
                {"Allow": ", ".join(methods)},
            )
        if exc.status_code == 404:
            unknown = UnknownPath(path)
            return _json(unknown.status, unknown.code, unknown.message, unknown.details)
        return _json(exc.status_code, code_for_status(exc.status_code), str(exc.detail)[:300])

    async def unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        request_id = request.scope.get("state", {}).get("request_id", "")
        log.exception(
            "unhandled error in %s %s (%s)", request.method, request.url.path, request_id, exc_info=exc
        )
        details: dict[str, Any] = {"requestId": request_id}
        if expose_internal:
            details["detail"] = repr(exc)[:2000]
        return _json(500, "INTERNAL_ERROR", "Internal server error", details)

    return {ApiError: api_error, ProblemException: problem, HTTPException: http_error, Exception: unexpected}


def build_app(
    settings: Settings | None = None,
    *,
    spec: dict[str, Any] | None = None,
    lifespan: Callable[[Any], Any] | None = None,
    limiter: RateLimiter | None = None,
) -> AsyncApp:
    settings = settings or get_settings()
    spec = spec if spec is not None else load_spec()
    register_read_only_fields(spec)

    @asynccontextmanager
    async def database_lifespan(_app: Any) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        set_database(database)
        try:
            yield
        finally:
            await database.dispose()
            set_database(None)

    app = AsyncApp(
        __name__,
        lifespan=lifespan or database_lifespan,
        middlewares=middlewares(validate_responses=settings.validate_responses),
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path="/ui"),
    )
    app.add_api(
        spec,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=VALIDATORS,
        resolver=TagResolver(),
        security_map=SECURITY_MAP,
    )
    for exc_class, handler in error_handlers(spec, expose_internal=settings.environment == "test").items():
        app.add_error_handler(exc_class, handler)
    app.add_middleware(ConcretePathMethods, position=MiddlewarePosition.BEFORE_ROUTING, spec=spec)
    app.add_middleware(IdempotencyMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION)
    app.add_middleware(
        EdgeMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        limiter=limiter or RateLimiter(settings.rate_limit, settings.redis_url),
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded_for=settings.trust_forwarded_for,
        docs_prefix=base_path(spec) + "/ui",
        settings=settings,
    )
    return app


def asgi() -> AsyncApp:
    """uvicorn factory entry point: `uvicorn --factory fluenzr_server.app:asgi`."""
    return build_app()
