"""Webhooks: the secret shown once, the URL policy (https, public hosts only), list and delete."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import AppFactory, api_client
from tests.conftest import Tenant
from tests.utils.assertions import assert_id, error, ok, timestamp, utcnow
from tests.utils.factories import create_webhook

WEBHOOK_FIELDS = {"id", "url", "events", "description", "active", "disabledReason", "createdAt"}
INTERNAL_HOSTS = [
    "127.0.0.1",
    "127.1",
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "10.0.0.1",
    "192.168.1.20",
    "172.16.0.1",
    "169.254.169.254",
    "[::1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:127.0.0.1]",
    "[fd00::1]",
    "[fe80::1]",
    "0.0.0.0",  # noqa: S104 - a URL to refuse, not a bind address
    "2130706433",
    "0x7f.1",
    "0177.0.0.1",
    "100.64.0.1",
    "metadata.google.internal",
    "printer.local",
    "intranet",
]


async def test_create_returns_the_secret_once(client: httpx.AsyncClient) -> None:
    body = {
        "url": "https://crm.acme.example/hooks/fluenzr?x=1",
        "events": ["email.replied", "contact.unsubscribed"],
        "description": "Sync replies to the CRM",
    }
    created = ok(await client.post("/webhooks", json=body), 201)
    assert set(created) == WEBHOOK_FIELDS | {"secret"}
    assert_id(created["id"], "whk")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{16,}", created["secret"])
    assert (created["url"], created["events"], created["description"]) == (
        body["url"],
        body["events"],
        body["description"],
    )
    assert created["active"] is True
    timestamp(created["createdAt"], near=utcnow())

    response = await client.get("/webhooks")
    listed = ok(response)
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    assert created["secret"] not in response.text and "secret" not in response.text
    second = await create_webhook(client)
    assert second["secret"] != created["secret"]


async def test_inactive_webhook_and_default_description(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client, active=False)
    assert (created["active"], created["description"]) == (False, None)


async def test_list_sorts_and_pages(client: httpx.AsyncClient) -> None:
    urls = ["https://b.example.com/h", "https://a.example.com/h", "https://c.example.com/h"]
    for url in urls:
        await create_webhook(client, url=url)
    found = ok(await client.get("/webhooks", params={"sort": "url", "order": "asc"}))
    assert [w["url"] for w in found] == sorted(urls)
    response = await client.get(
        "/webhooks", params={"sort": "createdAt", "order": "asc", "perPage": 2, "page": 2}
    )
    assert [w["url"] for w in ok(response)] == [urls[2]]
    assert response.json()["meta"] == {"page": 2, "perPage": 2, "total": 3}


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
async def test_internal_addresses_are_refused(client: httpx.AsyncClient, host: str) -> None:
    body = {"url": f"https://{host}/hook", "events": ["email.sent"]}
    error(await client.post("/webhooks", json=body), 400, "VALIDATION_ERROR", fields=("url",))


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.acme.example/h",
        "http://localhost:8080/hook",
        "ftp://hooks.acme.example/h",
        "https://user:pass@hooks.acme.example/h",
        "https://hooks.acme.example:99999/h",
        "not a url at all",
        "https:///nohost",
    ],
)
async def test_insecure_or_invalid_urls_are_refused(client: httpx.AsyncClient, url: str) -> None:
    error(
        await client.post("/webhooks", json={"url": url, "events": ["email.sent"]}),
        400,
        "VALIDATION_ERROR",
        fields=("url",),
    )
    assert ok(await client.get("/webhooks")) == []


@pytest.mark.parametrize(
    "url", ["https://hooks.acme.example/h", "https://8.8.8.8/hook", "https://[2606:4700::1111]/h"]
)
async def test_public_https_urls_are_accepted(client: httpx.AsyncClient, url: str) -> None:
    assert (await create_webhook(client, url=url))["url"] == url


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.acme.example/h"}, "events"),
        ({"url": "https://hooks.acme.example/h", "events": []}, "events"),
        ({"url": "https://hooks.acme.example/h", "events": ["email.exploded"]}, "events.0"),
        ({"url": "https://hooks.acme.example/h", "events": ["email.sent", "email.sent"]}, "events"),
        ({"events": ["email.sent"]}, "url"),
        ({"url": "https://hooks.acme.example/h", "events": ["email.sent"], "secret": "whsec_mine"}, "secret"),
    ],
)
async def test_create_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error(await client.post("/webhooks", json=body), 400, "VALIDATION_ERROR", fields=(field,))


async def test_delete(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client)
    assert ok(await client.delete(f"/webhooks/{created['id']}")) == {"id": created["id"], "deleted": True}
    assert ok(await client.get("/webhooks")) == []
    error(await client.delete(f"/webhooks/{created['id']}"), 404, "NOT_FOUND")
    error(await client.delete("/webhooks/whk_nope"), 404, "NOT_FOUND")


# --- http to localhost, for local development only ----------------------------------------------------

LOCAL_HTTP = [
    "http://localhost:8080/hook",
    "http://127.0.0.1:3000/hook",
    "http://[::1]:9000/h",
    "https://127.0.0.1/hook",
]
PUBLIC_HTTP = ["http://hooks.acme.example/h", "http://93.184.216.34/h"]
# Refused even with FLUENZR_ALLOW_PRIVATE_HOSTS: it opens loopback for local sinks, not the network.
NEVER = [
    "http://10.0.0.1/h",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/h",
    "http://192.168.1.10/h",
    "http://metadata.google.internal/h",
    "http://mailhog/h",
]


@pytest.mark.parametrize("setting", ["allow_private_hosts", "allow_http_webhooks"])
async def test_private_hosts_only_when_enabled_and_public_hosts_still_need_https(
    make_app: AppFactory, tenant: Tenant, setting: str
) -> None:
    app = make_app(**{setting: True})
    async with api_client(app, tenant.api_key) as client:
        for url in LOCAL_HTTP:
            assert (await create_webhook(client, url=url))["url"] == url
        for url in PUBLIC_HTTP + NEVER:
            body = {"url": url, "events": ["email.sent"]}
            error(await client.post("/webhooks", json=body), 400, "VALIDATION_ERROR", fields=("url",))
        assert len(ok(await client.get("/webhooks"))) == len(LOCAL_HTTP)


async def test_the_serving_apps_settings_decide_not_the_environment(
    app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the handler once read the environment's settings instead of the app's.
    monkeypatch.setenv("FLUENZR_ALLOW_HTTP_WEBHOOKS", "true")
    async with api_client(app, tenant.api_key) as client:
        body = {"url": LOCAL_HTTP[0], "events": ["email.sent"]}
        error(await client.post("/webhooks", json=body), 400, "VALIDATION_ERROR", fields=("url",))
