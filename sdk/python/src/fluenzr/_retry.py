"""When to retry and how long to wait: pure functions shared by the sync and async clients.

The policy (also in the README):

* Idempotent requests — GET, PUT, DELETE, and the POSTs the contract documents as idempotent (adding contacts
  to a group or campaign, starting or pausing a campaign) — are retried on any connection error or timeout,
  on 429 and on every 5xx.
* Other POSTs (those that create an object) are retried only when the server cannot have acted on them:
  the connection was never established (connect error or timeout, no free pooled connection), or the answer
  is 429 (refused by the rate limiter before any work) or 503 (not taken in). A read timeout, a dropped
  connection or a 500/502/504 after the request was sent are not retried, because the object may exist.
  Every POST also carries an `Idempotency-Key`, the same across the retries of one call.
* Other 4xx are never retried.
* The wait is `Retry-After` (seconds or an HTTP date) when present, else for a 429 the time until
  `X-RateLimit-Reset` (Unix epoch seconds), else exponential backoff 0.5 s, 1 s, 2 s … up to 8 s, minus up to
  25 % random jitter. Any wait is capped at `MAX_RETRY_DELAY`.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping

import httpx

INITIAL_RETRY_DELAY = 0.5
MAX_BACKOFF_DELAY = 8.0
MAX_RETRY_DELAY = 60.0

# The request never reached the server, so retrying cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def should_retry_status(status_code: int, *, idempotent: bool) -> bool:
    if status_code in (429, 503):
        return True
    return idempotent and status_code >= 500


def should_retry_exception(exc: httpx.TransportError, *, idempotent: bool) -> bool:
    return idempotent or isinstance(exc, _NOT_SENT)


def retry_delay(
    retries_taken: int,
    *,
    random: float,
    now: float,
    status_code: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> float:
    """Seconds to wait before retry number `retries_taken + 1`; `random` is in [0, 1), `now` epoch seconds."""
    server_delay = _server_delay(status_code, headers, now) if headers is not None else None
    if server_delay is not None and math.isfinite(server_delay):
        return min(max(server_delay, 0.0), MAX_RETRY_DELAY)
    backoff = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_BACKOFF_DELAY)
    return backoff * (1.0 - 0.25 * random)


def _server_delay(status_code: int | None, headers: Mapping[str, str], now: float) -> float | None:
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return float(retry_after)
        except ValueError:
            pass
        try:
            return email.utils.parsedate_to_datetime(retry_after).timestamp() - now
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset")
    if status_code == 429 and reset:
        try:
            return float(reset) - now
        except ValueError:
            return None
    return None
