"""The bench's floor (bench/floor.py) answers the four floor routes with the server's exact bytes.

Both apps run in-process on the session database (SQLite and PostgreSQL); the server is the real app with
response validation on. A floor that drifted from the server (a field, a format, an ordering) would make
server/floor compare different work, so each route is compared byte for byte, including a contact the
floor itself wrote (proving it stores what the server stores).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bench.floor import build
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant, client_for
from tests.utils.factories import add_to_group, create_campaign, create_contact, create_group, unique_email


@pytest.fixture
async def floor(database_url: str, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    app = build(database_url)
    async with app.router.lifespan_context(app), client_for(app, tenant.api_key) as client:
        yield client


async def _same(server: httpx.AsyncClient, floor: httpx.AsyncClient, path: str, status: int = 200) -> bytes:
    expected, actual = await server.get(path), await floor.get(path)
    assert expected.status_code == actual.status_code == status, (expected.text, actual.text)
    assert actual.content == expected.content
    assert actual.headers["content-type"] == expected.headers["content-type"]
    return actual.content


async def _contacts(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    made = [
        await create_contact(
            client,
            firstName="Zoë",
            lastName="O'Brien",
            company="Ünicode “Ltd”",
            customFields={"tier": n, "vip": True, "note": "ü"},
        )
        for n in range(count - 1)
    ]
    made.append(await create_contact(client))  # names and fields absent: nulls and {}
    return made


async def test_contact_list_and_one_contact_are_the_servers_bytes(
    client: httpx.AsyncClient, floor: httpx.AsyncClient
) -> None:
    contacts = await _contacts(client, 5)
    first, second = await create_group(client), await create_group(client)
    await add_to_group(client, first["id"], [c["id"] for c in contacts[:3]])
    await add_to_group(client, second["id"], [contacts[0]["id"]])

    body = await _same(client, floor, "/contacts")
    assert b'"groupIds":["' in body and "Zoë".encode() in body
    await _same(client, floor, "/contacts?perPage=2")  # a total from the count query
    await _same(client, floor, "/contacts?perPage=2")  # and from the count cache
    await _same(client, floor, "/contacts?page=3&perPage=2")
    await _same(client, floor, f"/contacts/{contacts[0]['id']}")  # two groups
    await _same(client, floor, f"/contacts/{contacts[-1]['id']}")
    await _same(client, floor, "/contacts/ctc_doesnotexist000", 404)


async def test_other_tenants_and_bad_keys_are_refused_alike(
    app: Any,
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    floor: httpx.AsyncClient,
    database_url: str,
) -> None:
    theirs = await create_contact(other_client)
    await _same(client, floor, f"/contacts/{theirs['id']}", 404)
    unknown = "fz_live_" + "x" * 40
    floor_app = build(database_url)
    async with (
        floor_app.router.lifespan_context(floor_app),
        client_for(floor_app, unknown) as stranger,
        client_for(app, unknown) as server,
    ):
        await _same(server, stranger, "/contacts", 401)


async def test_created_contact_is_the_servers_bytes_but_for_its_id_and_times(
    client: httpx.AsyncClient, floor: httpx.AsyncClient
) -> None:
    body = {
        "email": unique_email().upper(),
        "firstName": "Ada",
        "company": "Analytical",
        "customFields": {"a": 1.5, "b": "x"},
    }
    made = await floor.post("/contacts", json=body)
    assert made.status_code == 201
    created = made.json()["data"]
    # What the floor stored reads back through the server as the floor rendered it.
    assert (await _same(client, floor, f"/contacts/{created['id']}")) == made.content

    await client.delete(f"/contacts/{created['id']}")
    expected = await client.post("/contacts", json=body)
    assert expected.status_code == 201
    theirs = expected.json()["data"]
    rendered = made.content
    for field in ("id", "createdAt", "updatedAt"):
        rendered = rendered.replace(created[field].encode(), theirs[field].encode())
    assert rendered == expected.content
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", created["createdAt"])

    conflict_server = await client.post("/contacts", json=body)
    conflict_floor = await floor.post("/contacts", json=body)
    assert conflict_floor.status_code == conflict_server.status_code == 409
    assert conflict_floor.content == conflict_server.content


async def test_campaign_stats_are_the_servers_bytes(
    client: httpx.AsyncClient, floor: httpx.AsyncClient, database: Database
) -> None:
    campaign = await create_campaign(client)
    await _same(client, floor, f"/campaigns/{campaign['id']}/stats")  # no records: zero rates
    contacts = [(await create_contact(client))["id"] for _ in range(3)]
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    columns = ("sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at", "unsubscribed_at")
    flags = [(1, 1, 1, 0, 0, 0), (1, 0, 0, 0, 1, 0), (1, 1, 0, 1, 0, 1)]
    rows = [
        {
            "campaign_id": campaign["id"],
            "contact_id": contact_id,
            "current_step": 1,
            "added_at": start,
            **{
                column: start + timedelta(hours=1) if flag else None
                for column, flag in zip(columns, row, strict=True)
            },
        }
        for contact_id, row in zip(contacts, flags, strict=True)
    ]
    # `sent` and `bounced` count messages (what the SMTP servers answered); the second lead's step 1 bounced.
    outcomes = [
        (contacts[0], 0, "sent"),
        (contacts[1], 0, "sent"),
        (contacts[1], 1, "bounced"),
        (contacts[2], 0, "sent"),
    ]
    async with database.write() as conn:
        await conn.execute(t.campaign_contacts.insert(), rows)
        account_id = (
            await conn.execute(select(t.campaigns.c.account_id).where(t.campaigns.c.id == campaign["id"]))
        ).scalar_one()
        await conn.execute(
            t.messages.insert(),
            [
                {
                    "id": f"msg_{campaign['id'][4:]}{n}",
                    "account_id": account_id,
                    "campaign_id": campaign["id"],
                    "contact_id": contact_id,
                    "step": step,
                    "to_email": f"lead{n}@example.com",
                    "message_id": f"<{n}.{campaign['id']}@acme.example>",
                    "status": status,
                    "attempts": 1,
                    "created_at": start,
                    "updated_at": start,
                    "sent_at": start if status == "sent" else None,
                }
                for n, (contact_id, step, status) in enumerate(outcomes)
            ],
        )
    body = await _same(client, floor, f"/campaigns/{campaign['id']}/stats")
    assert b'"sent":3' in body and b'"openRate":66.7' in body and b'"bounceRate":25.0' in body
    await _same(client, floor, "/campaigns/cmp_doesnotexist000/stats", 404)
