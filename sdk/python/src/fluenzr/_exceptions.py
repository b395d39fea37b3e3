"""Every error the client raises, and the mapping from an HTTP error response to its class."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIServerError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "FluenzrError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ValidationError",
    "WebhookVerificationError",
]


class FluenzrError(Exception):
    """Base class of every error raised by this package."""


class WebhookVerificationError(FluenzrError):
    """A webhook's signature headers are missing, malformed, too old or too new, or do not match."""


class APIError(FluenzrError):
    """A request to the API failed: see `APIStatusError` and `APIConnectionError`."""

    message: str
    request: httpx.Request

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """No response: the connection failed or broke. Retried automatically (see the README)."""

    def __init__(self, *, request: httpx.Request, message: str = "Connection error.") -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, *, request: httpx.Request) -> None:
        super().__init__(request=request, message="Request timed out.")


class APIResponseValidationError(APIError):
    """A successful status whose body is not the documented `{"success": true, "data": ...}` envelope."""

    response: httpx.Response
    status_code: int

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """The API answered with a 4xx or 5xx status.

    Raised as is for statuses without a class of their own (405, 413, 415, …); the subclasses below cover
    the others. Branch on `code` (the contract's closed list, e.g. `"INVALID_STATE"`), not on `message`.
    """

    response: httpx.Response
    status_code: int
    code: str | None
    details: dict[str, Any]
    body: Any
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        code: str | None,
        details: dict[str, Any],
    ) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.details = details
        self.body = body
        self.request_id = response.headers.get("x-request-id") or _str_or_none(details.get("requestId"))

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        request_id = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}{code}: {self.message}{request_id}"


class ValidationError(APIStatusError):
    """400 `VALIDATION_ERROR`: `details` maps each offending field or parameter to the reason."""


class AuthenticationError(APIStatusError):
    """401 `UNAUTHORIZED`: the API key is missing, unknown or revoked."""


class PermissionDeniedError(APIStatusError):
    """403 `PLAN_REQUIRED` (the account is not on Pro) or `FORBIDDEN`."""


class NotFoundError(APIStatusError):
    """404 `NOT_FOUND`: no such object in your account."""


class ConflictError(APIStatusError):
    """409 `CONFLICT` (e.g. a duplicate email) or `INVALID_STATE` (e.g. starting a completed campaign)."""


class RateLimitError(APIStatusError):
    """429 `RATE_LIMITED`, raised once the automatic retries are used up."""

    @property
    def retry_after(self) -> int | None:
        """The `Retry-After` header in seconds, if the response had one."""
        value = self.response.headers.get("retry-after", "")
        return int(value) if value.isdigit() else None


class APIServerError(APIStatusError):
    """5xx: something failed on the server's side."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def make_status_error(response: httpx.Response) -> APIStatusError:
    """The exception for an error response; a body that is not the JSON envelope still maps by status."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    error = body.get("error") if isinstance(body, dict) else None
    code = message = None
    details: dict[str, Any] = {}
    if isinstance(error, dict):
        code = _str_or_none(error.get("code"))
        message = _str_or_none(error.get("message"))
        if isinstance(error.get("details"), dict):
            details = error["details"]
    if not message:
        message = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        if isinstance(body, str) and body.strip():
            message += f": {body.strip()[:200]}"
    if response.status_code >= 500:
        cls: type[APIStatusError] = APIServerError
    else:
        cls = _STATUS_ERRORS.get(response.status_code, APIStatusError)
    return cls(message, response=response, body=body, code=code, details=details)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
