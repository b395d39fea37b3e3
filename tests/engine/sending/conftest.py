"""The sending engine end to end: the real API in-process, the real send task, a real SMTP sink (aiosmtpd).

Tests drive the engine one tick at a time (`Harness.drain`), so what happens is deterministic; the pause
and fault tests run it in the background or in other processes as production does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from fluenzr_server.app import build_app
from fluenzr_server.engine.sender import SendTask
from fluenzr_server.engine.smtp_sink import SmtpSink
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant, client_for, resources_for, test_settings
from tests.utils.assertions import ok, ok_object
from tests.utils.factories import unique_email


@pytest.fixture(scope="session")
def engine_resources(resources: Resources, database_url: str) -> Resources:
    """The session's database with settings that let mailboxes point at loopback and use SMTP
    `security: none` (FLUENZR_ALLOW_PRIVATE_HOSTS), as a local sink needs."""
    return resources_for(resources, engine_settings(database_url))


@pytest.fixture(scope="session")
def engine_app(engine_resources: Resources) -> Any:
    """The API as `serve` runs it (the engine itself is driven by the tests, not by the app)."""
    return build_app(engine_resources)


@dataclass
class Harness:
    client: httpx.AsyncClient
    database: Database
    resources: Resources
    task: SendTask
    account_id: str
    sinks: list[SmtpSink] = field(default_factory=list)

    # --- objects through the public API ------------------------------------------------------------

    async def mailbox(self, sink: SmtpSink, **overrides: Any) -> dict[str, Any]:
        smtp = {
            "host": "127.0.0.1",
            "port": sink.port,
            "username": "sales",
            "password": "sink-password",
            "security": "none",
            **overrides.pop("smtp", {}),
        }
        body = {
            "fromEmail": unique_email("sales", "acme.example"),
            "fromName": "Sam from Acme",
            "smtp": smtp,
            "dailyLimit": 2000,
            "minIntervalSeconds": 0,
            **overrides,
        }
        return ok_object(await self.client.post("/email-accounts", json=body), 201)

    async def contacts(self, count: int, **fields: Any) -> list[dict[str, Any]]:
        made = []
        for index in range(count):
            body = {
                "email": unique_email(f"lead{index}"),
                "firstName": f"Ada{index}",
                "company": "Acme",
                **fields,
            }
            made.append(ok_object(await self.client.post("/contacts", json=body), 201))
        return made

    async def campaign(
        self,
        mailbox: dict[str, Any],
        contacts: list[dict[str, Any]],
        *,
        steps: list[dict[str, Any]] | None = None,
        schedule: dict[str, Any] | None = None,
        start: bool = True,
    ) -> dict[str, Any]:
        body = {
            "name": "Campaign " + secrets.token_hex(3),
            "emailAccountId": mailbox["id"],
            "steps": steps or [{"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}!"}],
            "schedule": schedule or ALWAYS_OPEN,
        }
        campaign = ok_object(await self.client.post("/campaigns", json=body), 201)
        if contacts:
            ids = [contact["id"] for contact in contacts]
            for chunk in range(0, len(ids), 500):
                added = await self.client.post(
                    f"/campaigns/{campaign['id']}/contacts", json={"contactIds": ids[chunk : chunk + 500]}
                )
                ok(added)
        if start:
            campaign = ok_object(await self.client.post(f"/campaigns/{campaign['id']}/start"))
        return campaign

    # --- the engine --------------------------------------------------------------------------------

    async def tick(self) -> int:
        """One claim, waited for until its batch is sent and recorded."""
        handled = await self.task.tick(self.resources)
        await self.task.wait_idle()
        return handled

    async def drain(self, *, max_ticks: int = 200, seconds: float = 30.0) -> int:
        """Tick until a tick finds nothing to do; the number of messages handled."""
        handled, deadline = 0, time.monotonic() + seconds
        for _ in range(max_ticks):
            count = await self.tick()
            handled += count
            if count == 0 or time.monotonic() > deadline:
                break
        return handled

    # --- what happened ----------------------------------------------------------------------------

    async def leads(self, campaign_id: str, status: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"perPage": 100}
        if status:
            params["status"] = status
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await self.client.get(
                f"/campaigns/{campaign_id}/contacts", params={**params, "page": page}
            )
            data = ok(response)
            found.extend(data)
            if len(data) < 100:
                return found
            page += 1

    async def stats(self, campaign_id: str) -> dict[str, Any]:
        return ok_object(await self.client.get(f"/campaigns/{campaign_id}/stats"))

    async def status(self, campaign_id: str) -> dict[str, Any]:
        return ok_object(await self.client.get(f"/campaigns/{campaign_id}"))

    async def sending_status(self, campaign_id: str) -> dict[str, Any]:
        return ok_object(await self.client.get(f"/campaigns/{campaign_id}/sending-status"))

    async def messages(self, campaign_id: str) -> list[Any]:
        async with self.database.read() as conn:
            query = (
                select(t.messages)
                .where(t.messages.c.campaign_id == campaign_id)
                .order_by(t.messages.c.contact_id, t.messages.c.step)
            )
            return list((await conn.execute(query)).all())

    async def events(self, type_: str | None = None) -> list[Any]:
        async with self.database.read() as conn:
            query = select(t.events).where(t.events.c.account_id == self.account_id)
            if type_:
                query = query.where(t.events.c.type == type_)
            return list((await conn.execute(query.order_by(t.events.c.created_at))).all())

    async def make_due(self, campaign_id: str) -> None:
        """Time passes: every scheduled step of the campaign (retry back-off, follow-up delay) is due now."""
        async with self.database.write() as conn:
            leads = t.campaign_contacts.c
            await conn.execute(
                update(t.campaign_contacts)
                .where(leads.campaign_id == campaign_id, leads.next_send_at.is_not(None))
                .values(next_send_at=now() - timedelta(seconds=1))
            )


SINK_LOGIN = ("sales", "sink-password")  # what `Harness.mailbox` logs in with
ALWAYS_OPEN = {
    "timezone": "UTC",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "startHour": 0,
    "endHour": 24,
}


def engine_settings(database_url: str, **overrides: Any) -> Any:
    return test_settings(database_url, allow_private_hosts=True, **overrides)


@pytest.fixture
async def harness(engine_app: Any, engine_resources: Resources, tenant: Tenant) -> AsyncIterator[Harness]:
    task = SendTask(engine_resources, batch=50)
    async with client_for(engine_app, tenant.api_key) as client:
        yield Harness(client, engine_resources.database, engine_resources, task, tenant.account_id)
    await task.aclose()
