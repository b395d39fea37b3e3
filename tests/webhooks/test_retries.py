"""Every retry and disable rule, with the dispatcher's clock driven instead of sleeping (both databases)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
from sqlalchemy import select

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.store import tables as t
from fluenzr_server.webhooks.policy import RETRY_DELAYS
from tests.utils.factories import create_contact
from tests.webhooks.conftest import Clock, drain, subscribe
from tests.webhooks.receiver import Receiver


async def deliveries(api: httpx.AsyncClient, hook_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/webhooks/{hook_id}/deliveries", params={"perPage": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


async def one_delivery(api: httpx.AsyncClient, hook_id: str) -> dict[str, Any]:
    (delivery,) = await deliveries(api, hook_id)
    return delivery


async def test_failures_follow_the_svix_schedule_then_fail_with_the_same_webhook_id(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(500, times=len(RETRY_DELAYS) + 1, body=b"boom " * 400)
    await create_contact(api)

    assert await drain(dispatcher, hook_resources) == 1
    for delay in RETRY_DELAYS:
        delivery = await one_delivery(api, hook["id"])
        assert delivery["status"] == "pending"
        clock.advance(delay - timedelta(seconds=1))
        assert await drain(dispatcher, hook_resources) == 0, "attempted before its time"
        clock.advance(timedelta(seconds=1))
        assert await drain(dispatcher, hook_resources) == 1

    delivery = await one_delivery(api, hook["id"])
    assert delivery["status"] == "failed" and delivery["nextAttemptAt"] is None
    assert delivery["attemptCount"] == len(delivery["attempts"]) == 8
    assert {a["statusCode"] for a in delivery["attempts"]} == {500}
    assert all(len(a["responseBody"]) == 1024 for a in delivery["attempts"])
    assert len(receiver.ids()) == 1 and sum(receiver.ids().values()) == 8  # one webhook-id, 8 times
    assert all(r.verified for r in receiver.received)
    assert (await api.get(f"/webhooks/{hook['id']}")).json()["data"]["active"] is True  # not 5 days yet


async def test_a_2xx_after_failures_delivers(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(502)
    receiver.answer(204)
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    clock.advance(RETRY_DELAYS[0])
    await drain(dispatcher, hook_resources)
    delivery = await one_delivery(api, hook["id"])
    assert delivery["status"] == "delivered"
    assert [a["statusCode"] for a in delivery["attempts"]] == [502, 204]


async def test_a_redirect_is_a_failure_and_is_not_followed(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(307, headers={"Location": receiver.url + "/elsewhere"})
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    delivery = await one_delivery(api, hook["id"])
    assert delivery["status"] == "pending" and delivery["attempts"][0]["statusCode"] == 307
    assert [r.headers["x-path"] for r in receiver.received] == ["/hooks"]


async def test_410_gone_disables_the_endpoint_and_put_re_enables_it(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(410)
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    disabled = (await api.get(f"/webhooks/{hook['id']}")).json()["data"]
    assert disabled["active"] is False
    assert disabled["disabledReason"] == "The endpoint answered 410 Gone"
    assert (await one_delivery(api, hook["id"]))["status"] == "failed"

    await create_contact(api)  # a disabled endpoint gets no new deliveries
    clock.advance(timedelta(hours=1))
    assert await drain(dispatcher, hook_resources) == 0

    enabled = (await api.put(f"/webhooks/{hook['id']}", json={"active": True})).json()["data"]
    assert enabled["active"] is True and enabled["disabledReason"] is None
    await create_contact(api)
    assert await drain(dispatcher, hook_resources) == 1
    assert len(receiver.received) == 2 and all(r.verified for r in receiver.received)


async def test_429_and_503_honour_retry_after(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(429, headers={"Retry-After": "120"})
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    clock.advance(RETRY_DELAYS[0])  # the schedule's 5 s is not enough: the endpoint asked for 120 s
    assert await drain(dispatcher, hook_resources) == 0
    clock.advance(timedelta(seconds=116))
    receiver.answer(
        503, headers={"Retry-After": format_datetime(clock() + timedelta(minutes=42), usegmt=True)}
    )
    assert await drain(dispatcher, hook_resources) == 1
    clock.advance(timedelta(minutes=41))  # past the schedule's 5 min, before the date it asked for
    assert await drain(dispatcher, hook_resources) == 0
    clock.advance(timedelta(minutes=1, seconds=1))
    assert await drain(dispatcher, hook_resources) == 1
    delivery = await one_delivery(api, hook["id"])
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 503, 200]
    assert delivery["status"] == "delivered"


async def test_five_days_of_failures_disable_the_endpoint(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.default.status = 500
    for _day in range(5):  # a new event each day; every attempt fails
        await create_contact(api)
        clock.advance(timedelta(seconds=1))
        await drain(dispatcher, hook_resources)
        assert (await api.get(f"/webhooks/{hook['id']}")).json()["data"]["active"] is True
        clock.advance(timedelta(days=1))
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    disabled = (await api.get(f"/webhooks/{hook['id']}")).json()["data"]
    assert disabled["active"] is False
    assert disabled["disabledReason"] == "Every delivery attempt failed for 5 days"

    receiver.default.status = 200
    await api.put(f"/webhooks/{hook['id']}", json={"active": True})
    await create_contact(api)
    clock.advance(timedelta(days=2))  # whatever was still pending resumes too
    await drain(dispatcher, hook_resources)
    found = await deliveries(api, hook["id"])
    assert all(d["status"] != "pending" for d in found)
    assert found[0]["status"] == "delivered"  # the newest
    assert (await api.get(f"/webhooks/{hook['id']}")).json()["data"]["active"] is True


async def test_a_paused_endpoint_keeps_its_pending_deliveries_until_re_enabled(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(500)
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    await api.put(f"/webhooks/{hook['id']}", json={"active": False})
    clock.advance(timedelta(minutes=1))
    assert await drain(dispatcher, hook_resources) == 0
    assert (await one_delivery(api, hook["id"]))["status"] == "pending"
    await api.put(f"/webhooks/{hook['id']}", json={"active": True})
    assert await drain(dispatcher, hook_resources) == 1
    assert (await one_delivery(api, hook["id"]))["status"] == "delivered"


async def test_a_success_ends_the_run_of_failures(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    receiver.strict_time = False
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(500)
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    async with hook_resources.database.read() as conn:
        query = select(t.webhooks.c.failing_since).where(t.webhooks.c.id == hook["id"])
        assert (await conn.execute(query)).scalar_one() is not None
    clock.advance(RETRY_DELAYS[0])
    await drain(dispatcher, hook_resources)
    async with hook_resources.database.read() as conn:
        assert (await conn.execute(query)).scalar_one() is None


async def test_manual_retry_sends_again_with_the_same_webhook_id(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    delivery = await one_delivery(api, hook["id"])
    assert delivery["status"] == "delivered"
    response = await api.post(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry")
    assert response.status_code == 202, response.text
    assert response.json()["data"]["status"] == "pending"
    await drain(dispatcher, hook_resources)
    assert list(receiver.ids().values()) == [2]
    assert all(r.verified for r in receiver.received)
    again = await one_delivery(api, hook["id"])
    assert again["status"] == "delivered" and again["attemptCount"] == 2
