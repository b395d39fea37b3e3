"""The `X-RateLimit-*` figures of the last response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx


@dataclass(frozen=True)
class RateLimit:
    """Figures from the last response's headers; each is `None` until a response carried it."""

    limit: int | None = None
    """Requests allowed per window (`X-RateLimit-Limit`)."""
    remaining: int | None = None
    """Requests left in the current window (`X-RateLimit-Remaining`)."""
    reset: int | None = None
    """When the window frees up again, in Unix epoch seconds (`X-RateLimit-Reset`)."""

    @property
    def reset_at(self) -> datetime | None:
        """`reset` as an aware UTC datetime."""
        return None if self.reset is None else datetime.fromtimestamp(self.reset, tz=UTC)

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit:
        return cls(
            limit=_int(headers.get("x-ratelimit-limit")),
            remaining=_int(headers.get("x-ratelimit-remaining")),
            reset=_int(headers.get("x-ratelimit-reset")),
        )


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
