"""The sandbox: the real app on a throwaway SQLite database, seeded with the demo account and its data."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluenzr_server import sandbox
from fluenzr_server.app import build_app
from fluenzr_server.auth import resolve_key
from fluenzr_server.resources import Resources
from fluenzr_server.sandbox import DEMO_API_KEY, DEMO_CONTACTS, DemoData, seed_demo_data
from fluenzr_server.settings import Settings
from fluenzr_server.store.migrate import upgrade


@pytest.fixture(scope="module")
async def sandbox_resources(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Resources]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sandbox') / 'sandbox.db'}"
    upgrade(url)
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        validate_responses=True,
        rate_limit="100000/minute",
    )
    resources = Resources.open(settings)
    yield resources
    await resources.close()


@pytest.fixture(scope="module")
async def sandbox_app(sandbox_resources: Resources) -> tuple[Any, DemoData]:
    demo = await seed_demo_data(sandbox_resources)
    return build_app(sandbox_resources), demo


def _client(app: Any, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver/v1", headers=headers
    )


@pytest.fixture
async def demo_client(sandbox_app: tuple[Any, DemoData]) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(sandbox_app[0], DEMO_API_KEY) as c:
        yield c


@pytest.fixture
def demo(sandbox_app: tuple[Any, DemoData]) -> DemoData:
    return sandbox_app[1]


def test_demo_key_is_a_well_formed_key() -> None:
    assert DEMO_API_KEY.startswith("fz_live_") and DEMO_API_KEY.isascii() and len(DEMO_API_KEY) <= 128


async def test_demo_key_authenticates_as_the_pro_demo_account(
    sandbox_app: tuple[Any, DemoData], sandbox_resources: Resources, demo: DemoData
) -> None:
    principal = await resolve_key(sandbox_resources.database, DEMO_API_KEY)
    assert principal is not None
    assert (principal.account_id, principal.plan) == (demo.account_id, "pro")
    async with _client(sandbox_app[0], DEMO_API_KEY[:-1] + "1") as wrong:
        assert (await wrong.get("/contacts")).status_code == 401


async def test_demo_data_is_listed(demo_client: httpx.AsyncClient, demo: DemoData) -> None:
    contacts = (await demo_client.get("/contacts", params={"perPage": 100})).json()
    assert contacts["meta"]["total"] >= len(DEMO_CONTACTS)
    ada = next(c for c in contacts["data"] if c["email"] == "ada@example.com")
    assert ada["firstName"] == "Ada" and ada["customFields"]["employees"] == 42
    assert ada["groupIds"] == [demo.group_id]

    groups = (await demo_client.get("/groups")).json()["data"]
    assert [(g["id"], g["contactCount"]) for g in groups] == [(demo.group_id, len(DEMO_CONTACTS))]

    accounts = (await demo_client.get("/email-accounts")).json()["data"]
    assert [a["id"] for a in accounts] == [demo.email_account_id]

    campaigns = {c["id"]: c for c in (await demo_client.get("/campaigns")).json()["data"]}
    assert campaigns[demo.campaign_id]["status"] == "running"
    assert campaigns[demo.campaign_id]["contactCount"] == len(DEMO_CONTACTS)
    assert len(campaigns[demo.campaign_id]["steps"]) == 2
    assert campaigns[demo.draft_campaign_id]["status"] == "draft"

    hooks = (await demo_client.get("/webhooks")).json()["data"]
    assert [h["id"] for h in hooks] == [demo.webhook_id]


async def test_stats_of_the_demo_campaign_are_not_zero(
    demo_client: httpx.AsyncClient, demo: DemoData
) -> None:
    response = await demo_client.get(f"/campaigns/{demo.campaign_id}/stats")
    assert response.status_code == 200, response.text
    stats = response.json()["data"]
    assert stats["contacts"] == stats["sent"] == len(DEMO_CONTACTS)
    assert (stats["opened"], stats["clicked"], stats["replied"], stats["bounced"]) == (6, 2, 2, 1)
    assert (stats["openRate"], stats["replyRate"], stats["bounceRate"]) == (60.0, 20.0, 10.0)


async def test_what_you_create_you_can_read_back(demo_client: httpx.AsyncClient, demo: DemoData) -> None:
    created = await demo_client.post("/contacts", json={"email": "hedy@lamarr.example", "firstName": "Hedy"})
    assert created.status_code == 201, created.text
    contact = created.json()["data"]
    assert (await demo_client.get(f"/contacts/{contact['id']}")).json()["data"] == contact

    await demo_client.post(f"/groups/{demo.group_id}/contacts", json={"contactIds": [contact["id"]]})
    group = (await demo_client.get(f"/groups/{demo.group_id}")).json()["data"]
    assert group["contactCount"] == len(DEMO_CONTACTS) + 1

    updated = await demo_client.put(f"/campaigns/{demo.draft_campaign_id}", json={"name": "Webinar v2"})
    assert updated.status_code == 200, updated.text
    read = (await demo_client.get(f"/campaigns/{demo.draft_campaign_id}")).json()["data"]
    assert read["name"] == "Webinar v2"

    assert (await demo_client.delete(f"/contacts/{contact['id']}")).status_code == 200
    assert (await demo_client.get(f"/contacts/{contact['id']}")).status_code == 404


def test_run_sandbox_migrates_seeds_prints_and_serves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """run_sandbox end to end, with uvicorn.run replaced by a client that drives the app's lifespan."""
    import uvicorn
    from starlette.testclient import TestClient

    seen: dict[str, Any] = {}
    migrate = sandbox.upgrade

    def recording_upgrade(url: str) -> None:
        seen["database"] = url
        migrate(url)

    def fake_run(app: Any, *, host: str, port: int, **_kwargs: Any) -> None:
        with TestClient(app) as http:  # runs the lifespan: it opens the resources and seeds
            headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
            seen["contacts"] = http.get("/v1/contacts", headers=headers).json()
            seen["mailboxes"] = http.get("/v1/email-accounts", headers=headers).json()
        seen["address"] = (host, port)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(sandbox, "upgrade", recording_upgrade)
    previous_handler = signal.getsignal(signal.SIGTERM)
    try:
        sandbox.run_sandbox(host="127.0.0.1", port=4999)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)

    out = capsys.readouterr().out
    assert "http://127.0.0.1:4999/v1" in out and DEMO_API_KEY in out
    assert seen["address"] == ("127.0.0.1", 4999)
    assert seen["contacts"]["meta"]["total"] == len(DEMO_CONTACTS)
    assert seen["mailboxes"]["meta"]["total"] == 1
    database_file = Path(seen["database"].removeprefix("sqlite:///"))
    assert not database_file.parent.exists(), "the throwaway database outlived the sandbox"
