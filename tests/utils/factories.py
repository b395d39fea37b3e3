"""Create objects through the public API (so every factory call is itself a small success-path check)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.utils.assertions import ok_object


def unique_email(local: str = "user", domain: str = "example.com") -> str:
    return f"{local}-{secrets.token_hex(4)}@{domain}"


def email_account_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "fromEmail": unique_email("sales", "acme.example"),
        "fromName": "Sam from Acme",
        "smtp": {
            "host": "smtp.acme.example",
            "port": 587,
            "username": "sales@acme.example",
            "password": "app-password-" + secrets.token_hex(6),
            "security": "starttls",
        },
        "dailyLimit": 200,
    }
    body.update(overrides)
    return body


STEP = {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}, still hiring?", "delayDays": 0}


async def create_contact(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"email": unique_email(), **fields}
    return ok_object(await client.post("/contacts", json=body), 201)


async def create_group(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Group " + secrets.token_hex(3), **fields}
    return ok_object(await client.post("/groups", json=body), 201)


async def add_to_group(client: httpx.AsyncClient, group_id: str, contact_ids: list[str]) -> dict[str, Any]:
    return ok_object(await client.post(f"/groups/{group_id}/contacts", json={"contactIds": contact_ids}))


async def create_email_account(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return ok_object(await client.post("/email-accounts", json=email_account_body(**overrides)), 201)


async def create_campaign(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Campaign " + secrets.token_hex(3), **fields}
    return ok_object(await client.post("/campaigns", json=body), 201)


async def ready_campaign(client: httpx.AsyncClient, contacts: int = 1) -> dict[str, Any]:
    """A draft with an email account, one step and `contacts` contacts: it can start."""
    account = await create_email_account(client)
    campaign = await create_campaign(client, emailAccountId=account["id"], steps=[STEP])
    ids = [(await create_contact(client))["id"] for _ in range(contacts)]
    ok_object(await client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": ids}))
    return campaign


async def running_campaign(client: httpx.AsyncClient) -> dict[str, Any]:
    campaign = await ready_campaign(client)
    return ok_object(await client.post(f"/campaigns/{campaign['id']}/start"))


async def create_webhook(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"url": "https://hooks.acme.example/fluenzr", "events": ["email.replied"], **fields}
    return ok_object(await client.post("/webhooks", json=body), 201)
