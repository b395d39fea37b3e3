"""One wire mapping per resource: what a create returns is exactly what reading the object back returns
(both come from `fluenzr_server.wire.<resource>.present`), on both databases."""

from __future__ import annotations

import httpx

from tests.utils.assertions import ok, ok_object
from tests.utils.factories import (
    STEP,
    create_campaign,
    create_contact,
    create_email_account,
    create_group,
    create_webhook,
    unique_email,
)


async def test_a_created_contact_reads_back_identically(client: httpx.AsyncClient) -> None:
    full = await create_contact(
        client,
        firstName="Ada",
        lastName="Lovelace",
        company="Analytical Engines",
        customFields={"title": "CTO", "employees": 42, "score": 0.5, "customer": False},
    )
    bare = ok_object(await client.post("/contacts", json={"email": unique_email()}), 201)
    for created in (full, bare):
        assert ok_object(await client.get(f"/contacts/{created['id']}")) == created
    assert (bare["firstName"], bare["customFields"], bare["groupIds"]) == (None, {}, [])


async def test_a_created_group_reads_back_identically(client: httpx.AsyncClient) -> None:
    for created in (
        await create_group(client, description="CTOs in Europe"),
        ok_object(await client.post("/groups", json={"name": "No description"}), 201),
    ):
        assert ok_object(await client.get(f"/groups/{created['id']}")) == created


async def test_a_created_campaign_reads_back_identically(client: httpx.AsyncClient) -> None:
    mailbox = await create_email_account(client)
    created = await create_campaign(client, emailAccountId=mailbox["id"], steps=[STEP])
    assert ok_object(await client.get(f"/campaigns/{created['id']}")) == created


async def test_a_created_email_account_reads_back_identically(client: httpx.AsyncClient) -> None:
    created = await create_email_account(client)
    assert ok_object(await client.get(f"/email-accounts/{created['id']}")) == created


async def test_a_created_webhook_lists_identically_but_for_its_secret(client: httpx.AsyncClient) -> None:
    created = await create_webhook(client, description="CRM sync")
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    listed = {hook["id"]: hook for hook in ok(await client.get("/webhooks", params={"perPage": 100}))}
    assert listed[created["id"]] == created
