"""Connexion's per-request set-up is done once (`connexion_once.py`): one routing pass per request, and
no handler signature inspected while serving; the docs paths keep their router."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from tests.conftest import Tenant, client_for


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


async def test_a_request_is_routed_once(app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    async with client_for(app, tenant.api_key) as client:
        await client.get("/contacts")  # the app's stack is built on its first request
        mounts = _count_calls(monkeypatch, Mount, "matches")
        response = await client.get("/contacts")
    assert response.status_code == 200
    # The one router is the routing middleware's: its mount of the API's base path, tried once.
    assert [mount.path for mount in mounts] == ["/v1"]


async def test_no_signature_is_inspected_while_serving(
    app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(app, tenant.api_key) as client:
        await client.get("/contacts")
        inspected = _count_calls(monkeypatch, inspect, "signature")
        listed = await client.get("/contacts")
        created = await client.post("/contacts", json={"email": "once@example.com"})
    assert (listed.status_code, created.status_code) == (200, 201)
    assert inspected == []


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/openapi.json", "application/json"),
        ("/openapi.yaml", "text/yaml"),
        ("/ui/", "text/html"),
        ("/ui/swagger-ui.css", "text/css"),
    ],
)
async def test_the_docs_are_still_served(anonymous: httpx.AsyncClient, path: str, media_type: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
