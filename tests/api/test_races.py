"""Races: concurrent requests through the in-process app keep uniqueness and counts exact on both backends."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.services import campaigns as campaign_service
from fluenzr_server.services import groups as group_service
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.utils.assertions import error, ok
from tests.utils.factories import (
    create_campaign,
    create_contact,
    create_group,
    email_account_body,
    ready_campaign,
)

CONCURRENCY = 50
ExistingIds = Callable[..., Awaitable[set[str]]]


async def test_concurrent_creates_of_one_email_make_one_contact(client: httpx.AsyncClient) -> None:
    local = f"race-{secrets.token_hex(4)}"
    # Every spelling normalises to the same address: uniqueness must hold case-insensitively too.
    spellings = [f"{local}@example.com", f"{local.upper()}@EXAMPLE.COM", f"{local}@Example.Com"]
    responses = await asyncio.gather(
        *(client.post("/contacts", json={"email": spellings[i % 3]}) for i in range(CONCURRENCY))
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: CONCURRENCY - 1}, {s: n for s, n in statuses.items()}
    winner = next(r for r in responses if r.status_code == 201).json()["data"]
    for response in responses:
        if response.status_code == 409:
            details = error(response, 409, "CONFLICT")
            assert details["existingId"] == winner["id"]
    listed = await client.get("/contacts", params={"email": local})
    assert [c["id"] for c in ok(listed)] == [winner["id"]]
    assert listed.json()["meta"]["total"] == 1


async def test_concurrent_creates_of_one_from_email_make_one_email_account(client: httpx.AsyncClient) -> None:
    address = f"race-{secrets.token_hex(4)}@acme.example"
    responses = await asyncio.gather(
        *(client.post("/email-accounts", json=email_account_body(fromEmail=address)) for _ in range(20))
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert len(ok(await client.get("/email-accounts"))) == 1


async def test_concurrent_adds_to_a_group_keep_the_count_exact(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    contact_ids = [(await create_contact(client))["id"] for _ in range(10)]
    # Overlapping batches of the same contacts, all at once.
    batches = [contact_ids[i % 5 : i % 5 + 6] for i in range(20)]
    responses = await asyncio.gather(
        *(client.post(f"/groups/{group['id']}/contacts", json={"contactIds": batch}) for batch in batches)
    )
    results = [ok(r) for r in responses]
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 10
    assert all(result["contactCount"] <= 10 for result in results)
    # `added` counts only the contacts this call made members: across all calls, each contact once.
    assert sum(result["added"] for result in results) == 10
    members = ok(await client.get("/contacts", params={"group": group["id"], "perPage": 100}))
    assert sorted(c["id"] for c in members) == sorted(contact_ids)


async def test_concurrent_adds_in_opposite_orders_do_not_deadlock(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    campaign = await create_campaign(client)
    contact_ids = [(await create_contact(client))["id"] for _ in range(30)]
    orders = [contact_ids if i % 2 else contact_ids[::-1] for i in range(12)]
    responses = await asyncio.gather(
        *(client.post(f"/groups/{group['id']}/contacts", json={"contactIds": ids}) for ids in orders),
        *(client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": ids}) for ids in orders),
    )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200][
        :1
    ]
    assert sum(ok(r)["added"] for r in responses[: len(orders)]) == 30
    assert sum(ok(r)["added"] for r in responses[len(orders) :]) == 30
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 30
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 30


async def test_concurrent_adds_to_a_campaign_keep_the_count_exact(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    contact_ids = [(await create_contact(client))["id"] for _ in range(8)]
    responses = await asyncio.gather(
        *(
            client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": contact_ids[i % 4 :]})
            for i in range(16)
        )
    )
    results = [ok(r) for r in responses]
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 8
    assert sum(result["added"] for result in results) == 8
    assert ok(await client.get(f"/campaigns/{campaign['id']}/stats"))["contacts"] == 8


async def test_concurrent_start_and_pause_leave_a_consistent_state(client: httpx.AsyncClient) -> None:
    campaign = await ready_campaign(client)
    base = f"/campaigns/{campaign['id']}"
    responses = await asyncio.gather(*(client.post(f"{base}/start") for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["data"]["status"] for r in responses} == {"running"}
    responses = await asyncio.gather(*(client.post(f"{base}/{('pause', 'start')[i % 2]}") for i in range(10)))
    assert {r.status_code for r in responses} == {200}
    final = ok(await client.get(base))
    assert final["status"] in ("running", "paused")


# --- a contact deleted between an add's checks and its insert -----------------------------------------


def _only_where_writes_interleave(database: Database) -> None:
    if database.dialect == "sqlite":
        pytest.skip("SQLite write transactions are serialised (BEGIN IMMEDIATE): no delete can interleave")


def _delete_after_check(database: Database, victim: str, check: ExistingIds) -> ExistingIds:
    """`existing_ids` that, once it has seen the contact, lets a concurrent request delete it."""

    async def racing(conn: AsyncConnection, *, account_id: str, contact_ids: list[str]) -> set[str]:
        found = await check(conn, account_id=account_id, contact_ids=contact_ids)
        async with database.write() as other:
            await other.execute(delete(t.contacts).where(t.contacts.c.id == victim))
        return found

    return racing


@pytest.mark.parametrize("target", ["group", "campaign"])
async def test_contact_deleted_during_an_add_is_an_unknown_id(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    _only_where_writes_interleave(database)
    keep, victim = (await create_contact(client))["id"], (await create_contact(client))["id"]
    if target == "group":
        container = await create_group(client)
        url, module = f"/groups/{container['id']}/contacts", group_service
    else:
        container = await create_campaign(client)
        url, module = f"/campaigns/{container['id']}/contacts", campaign_service
    monkeypatch.setattr(module, "existing_ids", _delete_after_check(database, victim, module.existing_ids))
    response = await client.post(url, json={"contactIds": [keep, victim]})
    details = error(response, 400, "VALIDATION_ERROR")
    assert details["unknownIds"] == [victim]
    monkeypatch.undo()
    path = f"/groups/{container['id']}" if target == "group" else f"/campaigns/{container['id']}"
    assert ok(await client.get(path))["contactCount"] == 0  # nothing was added


async def test_group_deleted_during_an_add_is_404(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_where_writes_interleave(database)
    group = await create_group(client)
    contact = (await create_contact(client))["id"]
    check = group_service.existing_ids

    async def racing(conn: AsyncConnection, *, account_id: str, contact_ids: list[str]) -> set[str]:
        found = await check(conn, account_id=account_id, contact_ids=contact_ids)
        async with database.write() as other:
            await other.execute(delete(t.groups).where(t.groups.c.id == group["id"]))
        return found

    monkeypatch.setattr(group_service, "existing_ids", racing)
    response = await client.post(f"/groups/{group['id']}/contacts", json={"contactIds": [contact]})
    assert error(response, 404, "NOT_FOUND") == {"id": group["id"]}
    assert ok(await client.get(f"/contacts/{contact}"))["groupIds"] == []
