"""The in-process rate-limit storage: no thread hop per hit, and expiry still frees memory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from limits.aio.storage import MemoryStorage

from fluenzr_server.ratelimit import EXPIRY_PASS_INTERVAL, LoopMemoryStorage, RateLimiter


def test_the_overridden_upstream_pass_exists() -> None:
    # A `limits` upgrade renaming the private pass would silently bring the thread hop back.
    assert callable(getattr(MemoryStorage, "_MemoryStorage__expire_events", None))
    assert LoopMemoryStorage._MemoryStorage__expire_events is not MemoryStorage._MemoryStorage__expire_events  # type: ignore[attr-defined]
    # ... or the task it schedules after every hit.
    assert callable(getattr(MemoryStorage, "_MemoryStorage__schedule_expiry", None))
    assert (
        LoopMemoryStorage._MemoryStorage__schedule_expiry is not MemoryStorage._MemoryStorage__schedule_expiry
    )  # type: ignore[attr-defined]


async def test_hits_never_go_to_a_thread_and_expired_windows_are_freed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hops: list[Any] = []
    real = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    limiter = RateLimiter("3/second")
    assert isinstance(limiter.storage, LoopMemoryStorage)
    decisions = [await limiter.hit("org_a") for _ in range(4)]
    await asyncio.sleep(0)  # let the scheduled expiry pass run
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert hops == []
    assert limiter.storage.events  # the window's entries are held ...

    await asyncio.sleep(1.1)
    assert (await limiter.hit("org_b")).allowed
    await asyncio.sleep(0.05)
    # ... and once expired, the pass dropped org_a's (org_b's are still live).
    assert [key for key in limiter.storage.events if "org_a" in key] == []
    assert (await limiter.hit("org_a")).remaining == 2
    assert hops == []


async def test_the_expiry_pass_is_scheduled_at_most_once_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks: list[Any] = []
    real = asyncio.create_task

    def counting(coroutine: Any, **kwargs: Any) -> Any:
        tasks.append(coroutine)
        return real(coroutine, **kwargs)

    monkeypatch.setattr(asyncio, "create_task", counting)
    limiter = RateLimiter("1000/second")
    for _ in range(50):
        await limiter.hit("org_a")
        await asyncio.sleep(0)  # each pass done before the next hit: upstream would schedule one per hit
    assert len(tasks) == 1
    await asyncio.sleep(EXPIRY_PASS_INTERVAL + 0.05)
    await limiter.hit("org_a")
    assert len(tasks) == 2
