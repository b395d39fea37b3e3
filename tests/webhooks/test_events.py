"""Events from real API calls reach a subscribed receiver, signed (verified with `standardwebhooks`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.store import tables as t
from tests.conftest import Tenant
from tests.utils.assertions import assert_sortable_id
from tests.utils.factories import STEP, create_contact, email_account_body
from tests.webhooks.conftest import drain, subscribe
from tests.webhooks.receiver import Receiver

CONTACT_EVENTS = ["contact.created", "contact.updated", "contact.deleted"]
CAMPAIGN_EVENTS = ["campaign.started", "campaign.paused"]


def payloads(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received]


async def test_contact_events_arrive_signed_with_the_api_representation(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    await subscribe(api, receiver, CONTACT_EVENTS)
    created = await create_contact(api, firstName="Ada")
    updated = (await api.put(f"/contacts/{created['id']}", json={"company": "Analytical Engines"})).json()[
        "data"
    ]
    assert (await api.delete(f"/contacts/{created['id']}")).status_code == 200

    assert await drain(dispatcher, hook_resources) == 3
    arrived = payloads(receiver)
    assert all(r.verified for r in receiver.received)
    by_type = {p["type"]: p for p in arrived}
    assert sorted(by_type) == sorted(CONTACT_EVENTS)
    assert by_type["contact.created"]["data"] == created
    assert by_type["contact.updated"]["data"] == updated
    assert by_type["contact.deleted"]["data"] == updated  # the contact as it was
    for payload, request in zip(arrived, receiver.received, strict=True):
        assert set(payload) == {"id", "type", "createdAt", "data"}
        assert payload["id"].startswith("evt_") and request.webhook_id == payload["id"]
        assert_sortable_id(payload["id"], "evt", payload["createdAt"])
        assert request.headers["user-agent"] == "FluenzR-Webhooks/1"
        assert request.headers["content-type"] == "application/json"
        assert "cookie" not in request.headers


async def test_a_batch_import_emits_time_ordered_event_ids(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    """`emit_many`'s events (a batch) carry the same id format as `emit`'s: creation second first, so the
    outbox's primary key is written in order (`ids.new_sortable_ids`)."""
    await subscribe(api, receiver, ["contact.created"])
    rows = [{"email": f"batch{n}@example.org"} for n in range(3)]
    assert (await api.post("/contacts/batch", json={"contacts": rows, "mode": "create"})).status_code == 200
    assert await drain(dispatcher, hook_resources) == 3
    for payload in payloads(receiver):
        assert_sortable_id(payload["id"], "evt", payload["createdAt"])


async def test_campaign_events_arrive(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    await subscribe(api, receiver, CAMPAIGN_EVENTS)
    mailbox = (await api.post("/email-accounts", json=email_account_body())).json()["data"]
    contact = await create_contact(api)
    body = {"name": "Q1", "emailAccountId": mailbox["id"], "steps": [STEP]}
    campaign = (await api.post("/campaigns", json=body)).json()["data"]
    await api.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [contact["id"]]})
    started = (await api.post(f"/campaigns/{campaign['id']}/start")).json()["data"]
    await api.post(f"/campaigns/{campaign['id']}/start")  # already running: no second event
    paused = (await api.post(f"/campaigns/{campaign['id']}/pause")).json()["data"]

    assert await drain(dispatcher, hook_resources) == 2
    by_type = {p["type"]: p["data"] for p in payloads(receiver)}
    assert by_type == {"campaign.started": started, "campaign.paused": paused}
    assert all(r.verified for r in receiver.received)


async def test_only_subscribed_types_of_active_endpoints_of_the_account_are_delivered(
    api: httpx.AsyncClient,
    other_api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
) -> None:
    await subscribe(api, receiver, ["contact.deleted"])
    paused_hook = await subscribe(api, receiver, ["contact.created"])
    await api.put(f"/webhooks/{paused_hook['id']}", json={"active": False})
    await create_contact(other_api)  # another account's event
    contact = await create_contact(api)  # contact.created: only the paused endpoint wanted it
    await api.delete(f"/contacts/{contact['id']}")

    assert await drain(dispatcher, hook_resources) == 1
    assert [p["type"] for p in payloads(receiver)] == ["contact.deleted"]


async def test_a_failed_change_emits_nothing(
    api: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, hook_resources: Resources
) -> None:
    await subscribe(api, receiver, ["contact.created"])
    contact = await create_contact(api)
    duplicate = await api.post("/contacts", json={"email": contact["email"]})
    assert duplicate.status_code == 409
    async with hook_resources.database.read() as conn:
        count = select(func.count()).select_from(t.events).where(t.events.c.account_id == tenant.account_id)
        deliveries = (
            select(func.count())
            .select_from(t.webhook_deliveries)
            .where(t.webhook_deliveries.c.account_id == tenant.account_id)
        )
        assert (await conn.execute(count)).scalar_one() == 1
        assert (await conn.execute(deliveries)).scalar_one() == 1
