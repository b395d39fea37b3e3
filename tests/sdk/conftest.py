"""Fixtures for the SDK's unit tests: sync and async clients wired to a `StubAPI`, with sleeping recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fluenzr import AsyncFluenzrClient, FluenzrClient
from sdk_stub import API_KEY, BASE_URL, StubAPI


@pytest.fixture
def stub() -> StubAPI:
    return StubAPI()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for, instead of sleeping."""
    return []


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUENZR_API_KEY", raising=False)
    monkeypatch.delenv("FLUENZR_BASE_URL", raising=False)


@pytest.fixture
def client(stub: StubAPI, sleeps: list[float]) -> Iterator[FluenzrClient]:
    with FluenzrClient(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(stub)) as c:
        c._sleep = sleeps.append
        c._random = lambda: 0.0
        c._now = lambda: 1_700_000_000.0
        yield c


@pytest.fixture
async def async_client(stub: StubAPI, sleeps: list[float]) -> AsyncIterator[AsyncFluenzrClient]:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncFluenzrClient(
        api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(stub)
    ) as c:
        c._sleep = fake_sleep
        c._random = lambda: 0.0
        c._now = lambda: 1_700_000_000.0
        yield c
