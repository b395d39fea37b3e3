"""Idempotency-Key on POST: retries replay the first response instead of acting twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.utils.sqlite_lock import write_lock_held_by_another_process


async def test_retry_replays_the_first_response(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "crm-sync-ada-1"}
    first = await client.post("/contacts", json={"email": "ada@example.com"}, headers=headers)
    again = await client.post("/contacts", json={"email": "ada@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    listed = (await client.get("/contacts")).json()
    assert listed["meta"]["total"] == 1


async def test_without_a_key_a_retry_acts_again(client: httpx.AsyncClient) -> None:
    await client.post("/groups", json={"name": "A"})
    await client.post("/groups", json={"name": "A"})
    assert (await client.get("/groups")).json()["meta"]["total"] == 2


async def test_same_key_different_request_is_400(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-1"}
    assert (await client.post("/groups", json={"name": "A"}, headers=headers)).status_code == 201
    reused = await client.post("/groups", json={"name": "B"}, headers=headers)
    assert reused.status_code == 400
    assert reused.json()["error"]["details"] == {
        "Idempotency-Key": "was used with a different method, path or body"
    }
    other_path = await client.post("/contacts", json={"email": "b@example.com"}, headers=headers)
    assert other_path.status_code == 400


async def test_keys_belong_to_one_account(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    mine = await client.post("/groups", json={"name": "A"}, headers=headers)
    theirs = await other_client.post("/groups", json={"name": "A"}, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]
    assert "Idempotent-Replayed" not in theirs.headers


async def test_errors_below_500_are_replayed_too(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "dup"}
    await client.post("/contacts", json={"email": "c@example.com"})
    first = await client.post("/contacts", json={"email": "c@example.com"}, headers=headers)
    assert first.status_code == 409
    await client.delete(f"/contacts/{first.json()['error']['details']['existingId']}")
    again = await client.post("/contacts", json={"email": "c@example.com"}, headers=headers)
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_in_progress_key_is_409_then_taken_over_when_abandoned(
    client: httpx.AsyncClient, database: Database, tenant: object
) -> None:
    headers = {"Idempotency-Key": "slow-1"}
    body = {"name": "A"}
    assert (await client.post("/groups", json=body, headers=headers)).status_code == 201
    account_id = tenant.account_id  # type: ignore[attr-defined]
    row = and_scope = (t.idempotency_keys.c.account_id == account_id) & (t.idempotency_keys.c.key == "slow-1")
    async with database.write() as conn:  # as if the first request were still running
        await conn.execute(
            update(t.idempotency_keys).where(and_scope).values(status_code=None, response_body=None)
        )
    busy = await client.post("/groups", json=body, headers=headers)
    assert busy.status_code == 409
    async with database.write() as conn:  # ... and then as if its worker had died long ago
        stamp = (await conn.execute(select(t.idempotency_keys.c.created_at).where(row))).scalar_one()
        await conn.execute(
            update(t.idempotency_keys).where(row).values(created_at=stamp - timedelta(hours=1))
        )
    retried = await client.post("/groups", json=body, headers=headers)
    assert retried.status_code == 201


async def test_concurrent_duplicates_create_once(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(client.post("/contacts", json={"email": "burst@example.com"}, headers=headers) for _ in range(10))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    created = {r.json()["data"]["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1  # every 201 is the same contact, replayed
    assert (await client.get("/contacts")).json()["meta"]["total"] == 1


async def test_invalid_key_is_400(client: httpx.AsyncClient) -> None:
    for key in (b"x" * 256, b"", b"a b", "é".encode()):
        response = await client.post("/groups", json={"name": "A"}, headers={"Idempotency-Key": key})
        assert response.status_code == 400, key
        assert list(response.json()["error"]["details"]) == ["Idempotency-Key"], key
    assert (await client.get("/groups")).json()["meta"]["total"] == 0


async def test_a_post_waits_out_another_process_write_lock_and_is_recorded_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    """SQLite: the small write meets the lock taken, takes the threaded path, and the loop serves others."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL has no database-wide write lock")
    headers = {"Idempotency-Key": "locked-out-1"}
    with write_lock_held_by_another_process(database.url):
        posted = asyncio.create_task(
            client.post("/contacts", json={"email": "wait@example.com"}, headers=headers)
        )
        await asyncio.sleep(0.3)
        assert not posted.done()
        assert (await client.get("/contacts")).status_code == 200  # reads are served meanwhile
    first = await posted
    again = await client.post("/contacts", json={"email": "wait@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert (await client.get("/contacts")).json()["meta"]["total"] == 1


async def test_a_key_past_its_24_hours_is_a_new_request_and_other_expired_keys_stay_for_the_sweep(
    client: httpx.AsyncClient, database: Database, tenant: object
) -> None:
    account_id = tenant.account_id  # type: ignore[attr-defined]
    keys = t.idempotency_keys.c
    for key in ("day-old", "other-day-old"):
        assert (
            await client.post("/groups", json={"name": key}, headers={"Idempotency-Key": key})
        ).status_code == 201
    async with database.write() as conn:
        await conn.execute(
            update(t.idempotency_keys)
            .where(keys.account_id == account_id)
            .values(created_at=keys.created_at - timedelta(hours=24, minutes=1))
        )
    # Within 24 hours this would be a 400 (the same key, another body); past them the key is new again.
    again = await client.post("/groups", json={"name": "B"}, headers={"Idempotency-Key": "day-old"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    async with database.read() as conn:
        stored = (await conn.execute(select(keys.key).where(keys.account_id == account_id))).scalars().all()
    # The request deleted only its own expired key; the retention sweep removes the rest in batches.
    assert sorted(stored) == ["day-old", "other-day-old"]
