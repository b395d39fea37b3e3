"""Per-account rate limits (moving window, `limits` library), shared through Redis when configured."""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # when the window frees up again, Unix epoch seconds

    @property
    def reset(self) -> int:
        return math.ceil(self.reset_at)

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        values = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            values["Retry-After"] = str(self.retry_after)
        return values


# How often at most the storage's expiry pass runs (seconds).
EXPIRY_PASS_INTERVAL = 1.0


class LoopMemoryStorage(MemoryStorage):
    """`limits`' in-process storage without its thread hop per hit, and one expiry pass a second.

    Upstream (limits 5.8, `aio/storage/memory.py`) schedules an expiry pass after nearly every hit, and the
    pass runs one `asyncio.to_thread` per key for a `bisect` of a few microseconds: a thread round trip per
    request. Expiry only frees memory (every read checks expiry times itself), so the same pass runs here
    in place, on the loop, and is scheduled at most once per `EXPIRY_PASS_INTERVAL` instead of as a new
    task after every hit (a task per request: about a third of the rate limit's CPU, issue 12).
    """

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        self._expiry_scheduled_at = -math.inf

    async def _MemoryStorage__schedule_expiry(self) -> None:  # overrides the name-mangled upstream hook
        moment = time.monotonic()
        if moment - self._expiry_scheduled_at < EXPIRY_PASS_INTERVAL:
            return
        if self.timer is None or self.timer.done():
            self._expiry_scheduled_at = moment
            self.timer = asyncio.create_task(self._MemoryStorage__expire_events())

    async def _MemoryStorage__expire_events(self) -> None:  # overrides the name-mangled upstream pass
        try:
            now = time.time()
            for key in list(self.events.keys()):
                async with self.locks[key]:
                    events = self.events.get(key, [])
                    cutoff = bisect.bisect_left(events, -now, key=lambda event: -event.expiry)
                    if events:
                        self.events[key] = events[:cutoff]
                    if not self.events.get(key):
                        self.events.pop(key, None)
                        self.locks.pop(key, None)
            for key in list(self.expirations.keys()):
                if self.expirations[key] <= time.time():
                    self.storage.pop(key, None)
                    self.expirations.pop(key, None)
                    self.locks.pop(key, None)
        except asyncio.CancelledError:
            return


class RateLimiter:
    def __init__(self, rate: str, redis_url: str | None = None) -> None:
        self.item: RateLimitItem = parse(rate)
        self.storage: Storage = (
            cast(Storage, storage_from_string(_async_redis_uri(redis_url), implementation="redispy"))
            if redis_url
            else LoopMemoryStorage()
        )
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, identity: str) -> Decision:
        allowed = await self.strategy.hit(self.item, "fluenzr", identity)
        stats = await self.strategy.get_window_stats(self.item, "fluenzr", identity)
        return Decision(
            allowed=allowed,
            limit=self.item.amount,
            remaining=max(0, stats.remaining),
            reset_at=stats.reset_time,
        )

    async def reset(self) -> None:
        await self.storage.reset()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
