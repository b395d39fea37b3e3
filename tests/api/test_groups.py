"""Groups: CRUD, exact member counts, idempotent and atomic member adds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.utils.assertions import assert_id, error, ok, timestamp, utcnow
from tests.utils.factories import add_to_group, create_contact, create_group

GROUP_FIELDS = {"id", "name", "description", "contactCount", "createdAt", "updatedAt"}


async def test_create_get_list(client: httpx.AsyncClient) -> None:
    created = ok(await client.post("/groups", json={"name": "Q1 prospects", "description": "CTOs"}), 201)
    assert set(created) == GROUP_FIELDS
    assert_id(created["id"], "grp")
    assert (created["name"], created["description"], created["contactCount"]) == ("Q1 prospects", "CTOs", 0)
    assert timestamp(created["createdAt"], near=utcnow()) == timestamp(created["updatedAt"])
    assert ok(await client.get(f"/groups/{created['id']}")) == created
    response = await client.get("/groups")
    assert ok(response) == [created]
    assert response.json()["meta"] == {"page": 1, "perPage": 20, "total": 1}


async def test_description_defaults_to_null(client: httpx.AsyncClient) -> None:
    assert ok(await client.post("/groups", json={"name": "Bare"}), 201)["description"] is None


async def test_list_name_filter_sort_and_paging(client: httpx.AsyncClient) -> None:
    names = ["Bravo team", "Alpha TEAM", "Charlie", "Delta team"]
    created = {name: await create_group(client, name=name) for name in names}
    found = ok(await client.get("/groups", params={"name": "Team", "sort": "name", "order": "asc"}))
    assert [g["name"] for g in found] == ["Alpha TEAM", "Bravo team", "Delta team"]
    response = await client.get(
        "/groups", params={"sort": "createdAt", "order": "asc", "perPage": 3, "page": 2}
    )
    assert [g["id"] for g in ok(response)] == [created["Delta team"]["id"]]
    assert response.json()["meta"] == {"page": 2, "perPage": 3, "total": 4}
    error(
        await client.get("/groups", params={"sort": "contactCount"}),
        400,
        "VALIDATION_ERROR",
        fields=("sort",),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "description": "x" * 501}, "description"),
        ({"name": "ok", "contactCount": 3}, "contactCount"),
        ({"name": "ok", "id": "grp_mine"}, "id"),
    ],
)
async def test_create_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error(await client.post("/groups", json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert ok(await client.get("/groups")) == []


async def test_put_is_a_partial_update(client: httpx.AsyncClient) -> None:
    created = await create_group(client, name="Before", description="Kept")
    updated = ok(await client.put(f"/groups/{created['id']}", json={"name": "After"}))
    assert (updated["name"], updated["description"]) == ("After", "Kept")
    assert updated["createdAt"] == created["createdAt"]
    assert timestamp(updated["updatedAt"]) > timestamp(created["updatedAt"])
    cleared = ok(await client.put(f"/groups/{created['id']}", json={"description": None}))
    assert (cleared["name"], cleared["description"]) == ("After", None)
    assert ok(await client.get(f"/groups/{created['id']}")) == cleared


async def test_put_rejects_empty_and_read_only_bodies(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    error(await client.put(f"/groups/{group['id']}", json={}), 400, "VALIDATION_ERROR")
    details = error(
        await client.put(f"/groups/{group['id']}", json={"contactCount": 9}), 400, "VALIDATION_ERROR"
    )
    assert "read-only" in details["contactCount"]


async def test_unknown_group_is_404_everywhere(client: httpx.AsyncClient) -> None:
    contact = await create_contact(client)
    error(await client.get("/groups/grp_nope"), 404, "NOT_FOUND")
    error(await client.put("/groups/grp_nope", json={"name": "x"}), 404, "NOT_FOUND")
    error(await client.delete("/groups/grp_nope"), 404, "NOT_FOUND")
    error(
        await client.post("/groups/grp_nope/contacts", json={"contactIds": [contact["id"]]}), 404, "NOT_FOUND"
    )


async def test_delete_keeps_the_contacts(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    contact = await create_contact(client)
    await add_to_group(client, group["id"], [contact["id"]])
    assert ok(await client.delete(f"/groups/{group['id']}")) == {"id": group["id"], "deleted": True}
    error(await client.get(f"/groups/{group['id']}"), 404, "NOT_FOUND")
    assert ok(await client.get(f"/contacts/{contact['id']}"))["groupIds"] == []


async def test_add_contacts_is_idempotent_with_exact_counts(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    a, b, c = [(await create_contact(client))["id"] for _ in range(3)]
    assert await add_to_group(client, group["id"], [a, b]) == {
        "groupId": group["id"],
        "added": 2,
        "contactCount": 2,
    }
    # One already there, one new, one repeated within the request.
    assert await add_to_group(client, group["id"], [b, c, c]) == {
        "groupId": group["id"],
        "added": 1,
        "contactCount": 3,
    }
    assert await add_to_group(client, group["id"], [a, b, c]) == {
        "groupId": group["id"],
        "added": 0,
        "contactCount": 3,
    }
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 3
    listed = ok(await client.get("/groups"))
    assert [g["contactCount"] for g in listed if g["id"] == group["id"]] == [3]
    assert ok(await client.get(f"/contacts/{a}"))["groupIds"] == [group["id"]]


async def test_add_contacts_is_atomic(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    a, b = [(await create_contact(client))["id"] for _ in range(2)]
    await add_to_group(client, group["id"], [a])
    response = await client.post(
        f"/groups/{group['id']}/contacts", json={"contactIds": [b, "ctc_ghost1", a, "ctc_ghost2"]}
    )
    details = error(response, 400, "VALIDATION_ERROR", fields=("contactIds", "unknownIds"))
    assert details["unknownIds"] == ["ctc_ghost1", "ctc_ghost2"]
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 1
    assert ok(await client.get(f"/contacts/{b}"))["groupIds"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "contactIds"),
        ({"contactIds": []}, "contactIds"),
        ({"contactIds": "ctc_1"}, "contactIds"),
        ({"contactIds": [""]}, "contactIds.0"),
        ({"contactIds": [f"ctc_{i}" for i in range(1001)]}, "contactIds"),
        ({"contactIds": ["ctc_1"], "groupId": "grp_1"}, "groupId"),
    ],
)
async def test_add_contacts_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    group = await create_group(client)
    error(
        await client.post(f"/groups/{group['id']}/contacts", json=body),
        400,
        "VALIDATION_ERROR",
        fields=(field,),
    )
