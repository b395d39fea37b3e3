"""Domain errors. Each carries the envelope's code, message and details; `failures.render` renders them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class InternalError(ApiError):
    status = 500
    code = "INTERNAL_ERROR"


class ValidationFailed(ApiError):
    status = 400
    code = "VALIDATION_ERROR"


class Unauthorized(ApiError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(ApiError):
    status = 403
    code = "FORBIDDEN"


class PlanRequired(ApiError):
    status = 403
    code = "PLAN_REQUIRED"


class NotFound(ApiError):
    status = 404
    code = "NOT_FOUND"

    def __init__(self, object_id: str | None = None, message: str = "No such object") -> None:
        super().__init__(message, {"id": object_id} if object_id else {})


class UnknownPath(ApiError):
    status = 404
    code = "NOT_FOUND"

    def __init__(self, path: str) -> None:
        super().__init__(f"No such path: {path[:300]}", {"path": path[:300]})


class MethodNotAllowed(ApiError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class Conflict(ApiError):
    status = 409
    code = "CONFLICT"


class InvalidState(ApiError):
    status = 409
    code = "INVALID_STATE"


class PayloadTooLarge(ApiError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(ApiError):
    status = 429
    code = "RATE_LIMITED"


def code_for_status(status: int) -> str:
    """The envelope code for a bare HTTP status raised by a framework layer."""
    return {
        400: "VALIDATION_ERROR",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        409: "CONFLICT",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
        429: "RATE_LIMITED",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR")
