"""Email accounts: CRUD, the write-only SMTP password, unique fromEmail, delete rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from fluenzr_server.resources import Resources
from fluenzr_server.services import email_accounts
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant
from tests.utils.assertions import assert_id, error, ok, timestamp, utcnow
from tests.utils.factories import (
    STEP,
    create_campaign,
    create_email_account,
    email_account_body,
    running_campaign,
    unique_email,
)

ACCOUNT_FIELDS = {
    "id",
    "fromEmail",
    "fromName",
    "smtp",
    "imap",
    "dailyLimit",
    "minIntervalSeconds",
    "status",
    "lastError",
    "sentToday",
    "createdAt",
    "updatedAt",
}
SMTP_FIELDS = {"host", "port", "username", "security"}


async def _stored_password(resources: Resources, account_id: str, email_account_id: str) -> str:
    """The password the sender would use; the column itself must hold it encrypted, not in clear."""
    async with resources.database.read() as conn:
        query = select(t.email_accounts.c.smtp_password).where(t.email_accounts.c.id == email_account_id)
        column = str((await conn.execute(query)).scalar_one())
    password = await email_accounts.smtp_password(
        resources.database,
        account_id=account_id,
        email_account_id=email_account_id,
        secret_box=resources.secret_box,
    )
    assert password not in column
    return password


async def test_create_never_returns_the_password(
    client: httpx.AsyncClient, resources: Resources, tenant: Tenant
) -> None:
    body = email_account_body(fromEmail="Sales@Acme.Example")
    response = await client.post("/email-accounts", json=body)
    created = ok(response, 201)
    password = body["smtp"]["password"]
    assert password not in response.text
    assert set(created) == ACCOUNT_FIELDS
    assert set(created["smtp"]) == SMTP_FIELDS
    assert_id(created["id"], "acc")
    assert created["fromEmail"] == "sales@acme.example"
    assert created["fromName"] == body["fromName"]
    assert created["smtp"] == {k: v for k, v in body["smtp"].items() if k != "password"}
    assert created["dailyLimit"] == 200
    timestamp(created["createdAt"], near=utcnow())
    assert await _stored_password(resources, tenant.account_id, created["id"]) == password  # accepted, stored

    got = await client.get(f"/email-accounts/{created['id']}")
    assert ok(got) == created
    assert password not in got.text
    listed = await client.get("/email-accounts")
    assert ok(listed) == [created]
    assert password not in listed.text and "password" not in listed.text


async def test_defaults(client: httpx.AsyncClient) -> None:
    body = email_account_body()
    del body["dailyLimit"]
    del body["smtp"]["security"]
    created = ok(await client.post("/email-accounts", json=body), 201)
    assert (created["dailyLimit"], created["smtp"]["security"]) == (200, "starttls")


async def test_put_is_partial_also_inside_smtp(
    client: httpx.AsyncClient, resources: Resources, tenant: Tenant
) -> None:
    created = await create_email_account(client)
    response = await client.put(
        f"/email-accounts/{created['id']}", json={"smtp": {"password": "rotated-secret-1", "port": 465}}
    )
    updated = ok(response)
    assert "rotated-secret-1" not in response.text
    assert await _stored_password(resources, tenant.account_id, created["id"]) == "rotated-secret-1"
    assert updated["smtp"] == {**created["smtp"], "port": 465}
    assert {k: v for k, v in updated.items() if k not in ("smtp", "updatedAt")} == {
        k: v for k, v in created.items() if k not in ("smtp", "updatedAt")
    }
    assert timestamp(updated["updatedAt"]) > timestamp(created["updatedAt"])
    limited = ok(await client.put(f"/email-accounts/{created['id']}", json={"dailyLimit": 400}))
    assert limited["dailyLimit"] == 400 and limited["smtp"] == updated["smtp"]
    assert ok(await client.get(f"/email-accounts/{created['id']}")) == limited


async def test_from_email_is_unique(client: httpx.AsyncClient) -> None:
    address = unique_email("sales", "acme.example")
    first = await create_email_account(client, fromEmail=address)
    details = error(
        await client.post("/email-accounts", json=email_account_body(fromEmail=address.upper())),
        409,
        "CONFLICT",
    )
    assert details["fromEmail"] == address
    second = await create_email_account(client)
    error(await client.put(f"/email-accounts/{second['id']}", json={"fromEmail": address}), 409, "CONFLICT")
    assert ok(await client.get(f"/email-accounts/{second['id']}"))["fromEmail"] == second["fromEmail"]
    assert len(ok(await client.get("/email-accounts"))) == 2
    assert ok(await client.put(f"/email-accounts/{first['id']}", json={"fromEmail": address}))


async def test_list_sorts_by_from_email(client: httpx.AsyncClient) -> None:
    for local in ("bravo", "alpha", "charlie"):
        await create_email_account(client, fromEmail=f"{local}@acme.example")
    found = ok(await client.get("/email-accounts", params={"sort": "fromEmail", "order": "asc"}))
    assert [a["fromEmail"] for a in found] == [
        "alpha@acme.example",
        "bravo@acme.example",
        "charlie@acme.example",
    ]
    response = await client.get(
        "/email-accounts", params={"sort": "fromEmail", "order": "desc", "perPage": 1}
    )
    assert [a["fromEmail"] for a in ok(response)] == ["charlie@acme.example"]
    assert response.json()["meta"] == {"page": 1, "perPage": 1, "total": 3}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fromEmail": "nope"}, "fromEmail"),
        ({"fromName": ""}, "fromName"),
        ({"dailyLimit": 0}, "dailyLimit"),
        ({"dailyLimit": 2001}, "dailyLimit"),
        ({"smtp": {"host": "h", "port": 587, "username": "u"}}, "smtp.password"),
        ({"smtp": {"host": "h", "port": 70000, "username": "u", "password": "p"}}, "smtp.port"),
        (
            {"smtp": {"host": "h", "port": 25, "username": "u", "password": "p", "security": "ssl"}},
            "smtp.security",
        ),
        ({"smtp": {"host": "h", "port": 25, "username": "u", "password": "p", "tls": True}}, "smtp.tls"),
        ({"id": "acc_mine"}, "id"),
    ],
)
async def test_create_rejects_invalid_bodies(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    body = email_account_body(**change)
    error(await client.post("/email-accounts", json=body), 400, "VALIDATION_ERROR", fields=(field,))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"smtp": {}}, "smtp"),
        ({"smtp": {"password": ""}}, "smtp.password"),
        ({"createdAt": "x"}, "createdAt"),
    ],
)
async def test_put_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create_email_account(client)
    error(
        await client.put(f"/email-accounts/{created['id']}", json=body),
        400,
        "VALIDATION_ERROR",
        fields=(field,),
    )


async def test_unknown_email_account_is_404(client: httpx.AsyncClient) -> None:
    error(await client.get("/email-accounts/acc_nope"), 404, "NOT_FOUND")
    error(await client.put("/email-accounts/acc_nope", json={"dailyLimit": 5}), 404, "NOT_FOUND")
    error(await client.delete("/email-accounts/acc_nope"), 404, "NOT_FOUND")


async def test_delete(client: httpx.AsyncClient) -> None:
    created = await create_email_account(client)
    assert ok(await client.delete(f"/email-accounts/{created['id']}")) == {
        "id": created["id"],
        "deleted": True,
    }
    error(await client.get(f"/email-accounts/{created['id']}"), 404, "NOT_FOUND")
    assert await create_email_account(client, fromEmail=created["fromEmail"])  # the address is free again


@pytest.mark.parametrize("state", ["running", "paused"])
async def test_delete_is_refused_while_an_active_campaign_uses_it(
    client: httpx.AsyncClient, state: str
) -> None:
    campaign = await running_campaign(client)
    if state == "paused":
        ok(await client.post(f"/campaigns/{campaign['id']}/pause"))
    account_id = campaign["emailAccountId"]
    details = error(await client.delete(f"/email-accounts/{account_id}"), 409, "CONFLICT")
    assert details["campaignIds"] == [campaign["id"]]
    assert ok(await client.get(f"/email-accounts/{account_id}"))["id"] == account_id
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["emailAccountId"] == account_id


async def test_delete_detaches_draft_and_completed_campaigns(
    client: httpx.AsyncClient, database: Database
) -> None:
    account = await create_email_account(client)
    draft = await create_campaign(client, emailAccountId=account["id"], steps=[STEP])
    assert draft["emailAccountId"] == account["id"]
    completed = await create_campaign(client, emailAccountId=account["id"], steps=[STEP])
    async with database.write() as conn:
        await conn.execute(
            update(t.campaigns).where(t.campaigns.c.id == completed["id"]).values(status="completed")
        )
    ok(await client.delete(f"/email-accounts/{account['id']}"))
    after = ok(await client.get(f"/campaigns/{draft['id']}"))
    assert (after["emailAccountId"], after["status"]) == (None, "draft")
    after = ok(await client.get(f"/campaigns/{completed['id']}"))
    assert (after["emailAccountId"], after["status"]) == (None, "completed")
