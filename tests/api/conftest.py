"""Fixtures for the API tests: more app instances with their own settings, clients per client address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fluenzr_server.app import build_app
from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings
from tests.conftest import resources_for, test_settings

AppFactory = Callable[..., Any]


@pytest.fixture
def make_app(resources: Resources, database_url: str) -> AppFactory:
    """Build another app on the session database: `make_app(rate_limit="5/minute", limiter=...)`.

    Keyword arguments override the test settings; `settings=` replaces them (e.g. production settings)."""

    def factory(
        *, limiter: RateLimiter | None = None, settings: Settings | None = None, **overrides: Any
    ) -> Any:
        settings = settings or test_settings(database_url, **overrides)
        return build_app(resources_for(resources, settings), limiter=limiter)

    return factory


def api_client(
    app: Any, api_key: str | None = None, *, address: str = "127.0.0.1", **headers: str
) -> httpx.AsyncClient:
    """An in-process client for `app`, seen by the server as coming from `address`."""
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)),
        base_url="http://testserver/v1",
        headers=headers,
    )
