"""Counting thread hops (`asyncio.to_thread` calls) in a test."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


def count_thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The functions passed to `asyncio.to_thread` from now on (the list fills as they run)."""
    hops: list[Any] = []
    to_thread = asyncio.to_thread

    async def counted(function: Any, *args: Any) -> Any:
        hops.append(function)
        return await to_thread(function, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    return hops
