"""The webhook operations: get, update, test, rotate-secret, deliveries, retry; tenancy and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fluenzr_server.engine.retention import RetentionTask
from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from tests.conftest import Tenant
from tests.utils.assertions import error, ok
from tests.utils.factories import create_contact
from tests.webhooks.conftest import drain, subscribe
from tests.webhooks.receiver import Receiver


async def test_get_and_update(api: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    got = ok(await api.get(f"/webhooks/{hook['id']}"))
    assert got == {k: v for k, v in hook.items() if k != "secret"}
    assert got["disabledReason"] is None

    body = {"events": ["contact.created", "email.bounced"], "description": "CRM", "active": False}
    updated = ok(await api.put(f"/webhooks/{hook['id']}", json=body))
    assert {k: updated[k] for k in body} == body and updated["url"] == hook["url"]
    assert ok(await api.get(f"/webhooks/{hook['id']}")) == updated


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["contact.exploded"]}, "events"),
        ({"secret": "whsec_x"}, None),
        ({"active": "yes"}, "active"),
    ],
)
async def test_update_refuses_bad_input(
    api: httpx.AsyncClient, receiver: Receiver, body: dict[str, Any], field: str | None
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    details = error(await api.put(f"/webhooks/{hook['id']}", json=body), 400, "VALIDATION_ERROR")
    if field:
        assert any(key.startswith(field) for key in details), details


async def test_test_delivers_now_and_returns_the_attempt(api: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    sent = ok(await api.post(f"/webhooks/{hook['id']}/test"))
    assert sent["status"] == "delivered" and sent["event"]["type"] == "webhook.test"
    (attempt,) = sent["attempts"]
    assert (
        attempt["statusCode"] == 200 and attempt["responseBody"] == '{"ok":true}' and attempt["error"] is None
    )
    (request,) = receiver.received
    assert request.verified and request.webhook_id == sent["event"]["id"]

    receiver.answer(500, body=b"nope")
    failed = ok(await api.post(f"/webhooks/{hook['id']}/test"))
    assert failed["status"] == "failed" and failed["nextAttemptAt"] is None  # a test is never retried
    assert failed["attempts"][0]["statusCode"] == 500 and failed["attempts"][0]["responseBody"] == "nope"
    assert ok(await api.get(f"/webhooks/{hook['id']}"))["active"] is True


async def test_deliveries_are_paged_and_filtered(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    receiver.answer(500)
    for _ in range(3):
        await create_contact(api)
    await drain(dispatcher, hook_resources)
    page = await api.get(f"/webhooks/{hook['id']}/deliveries", params={"perPage": 2, "order": "asc"})
    assert page.status_code == 200 and page.json()["meta"] == {"page": 1, "perPage": 2, "total": 3}
    pending = ok(await api.get(f"/webhooks/{hook['id']}/deliveries", params={"status": "pending"}))
    delivered = ok(await api.get(f"/webhooks/{hook['id']}/deliveries", params={"status": "delivered"}))
    assert (len(pending), len(delivered)) == (1, 2)
    error(
        await api.get(f"/webhooks/{hook['id']}/deliveries", params={"status": "lost"}),
        400,
        "VALIDATION_ERROR",
    )
    error(
        await api.get(f"/webhooks/{hook['id']}/deliveries", params={"sort": "url"}), 400, "VALIDATION_ERROR"
    )


async def test_retry_needs_an_active_endpoint_and_a_delivery_of_that_endpoint(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    other = await subscribe(api, receiver, ["contact.updated"])
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    (delivery,) = ok(await api.get(f"/webhooks/{hook['id']}/deliveries"))
    error(await api.post(f"/webhooks/{other['id']}/deliveries/{delivery['id']}/retry"), 404, "NOT_FOUND")
    error(await api.post(f"/webhooks/{hook['id']}/deliveries/dlv_nope/retry"), 404, "NOT_FOUND")
    await api.put(f"/webhooks/{hook['id']}", json={"active": False})
    details = error(
        await api.post(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry"), 409, "INVALID_STATE"
    )
    assert details["active"] is False


async def test_another_accounts_webhook_is_404_everywhere(
    api: httpx.AsyncClient, other_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    sent = ok(await api.post(f"/webhooks/{hook['id']}/test"))
    base = f"/webhooks/{hook['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PUT", base, {"active": False}),
        ("POST", f"{base}/test", None),
        ("POST", f"{base}/rotate-secret", None),
        ("GET", f"{base}/deliveries", None),
        ("POST", f"{base}/deliveries/{sent['id']}/retry", None),
    ]:
        response = await other_api.request(method, path, json=body)
        assert error(response, 404, "NOT_FOUND") == {"id": hook["id"]}, (method, path)
    assert len(receiver.received) == 1  # the foreign test call sent nothing
    assert ok(await api.get(base))["active"] is True


async def test_a_finished_delivery_is_listed_30_days_then_swept_and_its_retry_is_a_404(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    tenant: Tenant,
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    (delivered,) = ok(await api.get(f"/webhooks/{hook['id']}/deliveries"))
    receiver.answer(500)
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    pending = [d for d in ok(await api.get(f"/webhooks/{hook['id']}/deliveries")) if d["status"] == "pending"]
    assert delivered["status"] == "delivered" and len(pending) == 1

    def later(days: float) -> RetentionTask:
        return RetentionTask(
            clock=lambda: datetime.now(UTC) + timedelta(days=days), account_ids=[tenant.account_id]
        )

    await later(29).sweep(hook_resources)
    assert len(ok(await api.get(f"/webhooks/{hook['id']}/deliveries"))) == 2  # both still listed
    swept = await later(31).sweep(hook_resources)
    assert (swept.webhook_deliveries, swept.webhook_attempts) == (1, 1)
    assert [d["id"] for d in ok(await api.get(f"/webhooks/{hook['id']}/deliveries"))] == [pending[0]["id"]]
    error(await api.post(f"/webhooks/{hook['id']}/deliveries/{delivered['id']}/retry"), 404, "NOT_FOUND")
    await later(365).sweep(hook_resources)  # a pending delivery is owed: it stays, and so does its event
    (kept,) = ok(await api.get(f"/webhooks/{hook['id']}/deliveries"))
    assert kept["id"] == pending[0]["id"] and kept["event"]["id"] == pending[0]["event"]["id"]
