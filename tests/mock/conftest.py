"""Fixtures for the mock server and the sandbox: in-process apps, clients and the contract they serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fluenzr_mock.contract import Contract
from fluenzr_mock.server import build_mock_app, mock_spec

TOKEN = "any-token-works"


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(mock_spec())


@pytest.fixture(scope="session")
def mock_app() -> Any:
    # Response validation on: every answer the tests provoke is also checked against the contract.
    return build_mock_app(validate_responses=True)


def mock_client(app: Any, token: str | None = TOKEN, **headers: str) -> httpx.AsyncClient:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver/v1", headers=headers
    )


@pytest.fixture
async def client(mock_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with mock_client(mock_app) as c:
        yield c


@pytest.fixture
async def anonymous(mock_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with mock_client(mock_app, token=None) as c:
        yield c


@pytest.fixture
def client_for() -> Callable[..., httpx.AsyncClient]:
    """A client on a freshly built mock with other options (seed, CORS origins)."""

    def make(**options: Any) -> httpx.AsyncClient:
        headers = options.pop("headers", {})
        return mock_client(build_mock_app(validate_responses=True, **options), **headers)

    return make
