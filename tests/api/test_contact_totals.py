"""`meta.total` of contacts lists stays exact while it is served from the count cache."""

from __future__ import annotations

import httpx

from fluenzr_server.store.paging import CountCache


async def total(client: httpx.AsyncClient, **params: str) -> int:
    # page 2 of 2-item pages: the total needs a count (page 1 short results are counted from the rows)
    response = await client.get("/contacts", params={"perPage": "2", "page": "2", **params})
    assert response.status_code == 200, response.text
    value: int = response.json()["meta"]["total"]
    return value


async def test_totals_follow_every_write(client: httpx.AsyncClient) -> None:
    ids = []
    for n in range(5):
        created = await client.post("/contacts", json={"email": f"p{n}@example.com"})
        ids.append(created.json()["data"]["id"])
    await client.post("/contacts", json={"email": "other@elsewhere.org"})
    assert await total(client) == 6
    assert await total(client) == 6  # served from the cache this time
    assert await total(client, email="example.com") == 5

    await client.post("/contacts", json={"email": "p5@example.com"})
    assert await total(client) == 7
    assert await total(client, email="example.com") == 6

    await client.put(f"/contacts/{ids[0]}", json={"email": "moved@elsewhere.org"})
    assert await total(client, email="example.com") == 5

    assert await total(client) == 7  # cached at the current version...
    await client.delete(f"/contacts/{ids[1]}")
    assert await total(client) == 6  # ... and not served once the delete bumped it

    group = (await client.post("/groups", json={"name": "G"})).json()["data"]["id"]
    assert await total(client, group=group) == 0
    await client.post(f"/groups/{group}/contacts", json={"contactIds": ids[2:5]})
    assert await total(client, group=group) == 3
    await client.delete(f"/groups/{group}")
    assert await total(client, group=group) == 0


async def test_other_tenants_writes_do_not_leak_into_totals(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    for n in range(3):
        await client.post("/contacts", json={"email": f"mine{n}@example.com"})
    assert await total(client) == 3
    for n in range(4):
        await other_client.post("/contacts", json={"email": f"theirs{n}@example.com"})
    assert await total(client) == 3
    assert await total(other_client) == 4


def test_count_cache_serves_only_the_counted_version_and_stays_bounded() -> None:
    cache = CountCache(size=2)
    cache.put("a", 1, 10)
    assert cache.get("a", 1) == 10
    assert cache.get("a", 2) is None
    cache.put("b", 1, 20)
    cache.get("a", 1)  # "a" is now the most recently used
    cache.put("c", 1, 30)
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == 10
    assert cache.get("c", 1) == 30
