"""Fixtures for webhook delivery: a real receiver, an app that allows loopback URLs, a driven clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from fluenzr_server.app import build_app
from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now
from fluenzr_server.webhooks.http import WebhookClient
from tests.conftest import Tenant, client_for, resources_for, test_settings
from tests.webhooks.receiver import Receiver


@pytest.fixture(scope="session")
def hooks_resources(resources: Resources, database_url: str) -> Resources:
    """The session's database with FLUENZR_ALLOW_PRIVATE_HOSTS on: endpoints may be loopback receivers."""
    return resources_for(resources, test_settings(database_url, allow_private_hosts=True))


@pytest.fixture(scope="session")
def hooks_app(hooks_resources: Resources) -> Any:
    return build_app(hooks_resources)


@pytest.fixture
async def api(hooks_app: Any, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hooks_app, tenant.api_key) as c:
        yield c


@pytest.fixture
def hook_resources(hooks_resources: Resources) -> Resources:
    return hooks_resources


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(strict_time=True).start()
    yield r
    r.stop()


@dataclass
class Clock:
    """The wall clock plus an offset that tests move forward instead of sleeping hours."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return now() + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def dispatcher(tenant: Tenant, clock: Clock) -> AsyncIterator[WebhookDispatcher]:
    """A dispatcher for this test's tenant only (the session database is shared), with a short timeout."""
    d = WebhookDispatcher(
        client=WebhookClient(allow_private=True, timeout=3.0), clock=clock, account_ids=[tenant.account_id]
    )
    yield d
    await d.close()


async def subscribe(api: httpx.AsyncClient, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    """Create a webhook on the receiver through the API; the receiver learns its secret."""
    response = await api.post("/webhooks", json={"url": receiver.url, "events": events})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    receiver.secrets.append(created["secret"])
    return created


async def drain(dispatcher: WebhookDispatcher, hook_resources: Resources, rounds: int = 20) -> int:
    """Tick until nothing is due (at the dispatcher's clock); the number of attempts made."""
    total = 0
    for _ in range(rounds):
        handled = await dispatcher.tick(hook_resources)
        total += handled
        if handled == 0:
            return total
    return total


@pytest.fixture
async def other_api(hooks_app: Any, other_tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hooks_app, other_tenant.api_key) as c:
        yield c
