"""GET /health: the one public operation."""

from __future__ import annotations

from typing import Any

import httpx

from fluenzr_server import __version__
from tests.api.conftest import api_client
from tests.utils.assertions import error, is_json, ok


async def test_health_needs_no_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/health")
    assert ok(response) == {"status": "ok", "version": __version__}
    is_json(response)
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id"):
        assert name in response.headers


async def test_health_ignores_a_bad_key(app: Any) -> None:
    async with api_client(app, "fz_live_unknown") as client:
        assert ok(await client.get("/health"))["status"] == "ok"


async def test_health_rejects_unknown_parameters(anonymous: httpx.AsyncClient) -> None:
    details = error(await anonymous.get("/health", params={"verbose": "1"}), 400, "VALIDATION_ERROR")
    assert details == {"verbose": "is not a known query parameter"}


async def test_health_allows_only_get(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/health")
    error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "GET"
