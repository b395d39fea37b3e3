"""Contacts: CRUD, unique case-insensitive emails, filters, sorting and paging, validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from fluenzr_server import ids
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant
from tests.utils.assertions import assert_id, assert_sortable_id, error, ok, timestamp, utcnow
from tests.utils.factories import add_to_group, create_contact, create_group, unique_email

CONTACT_FIELDS = {
    "id",
    "email",
    "firstName",
    "lastName",
    "company",
    "customFields",
    "groupIds",
    "createdAt",
    "updatedAt",
}
SORT_FIELDS = ("createdAt", "updatedAt", "email", "firstName", "lastName", "company")


async def test_create_returns_the_full_contact(client: httpx.AsyncClient) -> None:
    body = {
        "email": "Ada.Lovelace@Example.COM",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Analytical Engines Ltd",
        "customFields": {"title": "CTO", "employees": 42, "customer": False, "score": 9.5},
    }
    response = await client.post("/contacts", json=body)
    created = ok(response, 201)
    assert set(created) == CONTACT_FIELDS
    assert_id(created["id"], "ctc")
    assert created["email"] == "ada.lovelace@example.com"
    assert created["firstName"] == "Ada"
    assert created["lastName"] == "Lovelace"
    assert created["company"] == "Analytical Engines Ltd"
    assert created["customFields"] == body["customFields"]
    assert created["groupIds"] == []
    assert timestamp(created["createdAt"], near=utcnow()) == timestamp(created["updatedAt"])
    # The stored contact reads back exactly as created.
    assert ok(await client.get(f"/contacts/{created['id']}")) == created


async def test_contact_ids_lead_with_their_creation_second(client: httpx.AsyncClient) -> None:
    first = await create_contact(client)
    assert_sortable_id(first["id"], "ctc", first["createdAt"])
    later = [await create_contact(client) for _ in range(3)]
    for contact in later:
        assert_sortable_id(contact["id"], "ctc", contact["createdAt"])
        # Ids of a later second sort after (byte order); within one second their order is random.
        if ids.time_of(contact["id"][4:10]) > ids.time_of(first["id"][4:10]):
            assert contact["id"] > first["id"]


async def test_create_with_only_an_email_defaults_the_rest(client: httpx.AsyncClient) -> None:
    created = ok(await client.post("/contacts", json={"email": "grace@example.com"}), 201)
    assert {k: created[k] for k in ("firstName", "lastName", "company", "customFields", "groupIds")} == {
        "firstName": None,
        "lastName": None,
        "company": None,
        "customFields": {},
        "groupIds": [],
    }


async def test_email_is_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    first = await create_contact(client, email="Dup@Example.com")
    assert first["email"] == "dup@example.com"
    for spelling in ("dup@example.com", "DUP@EXAMPLE.COM", "dUp@eXample.Com"):
        details = error(
            await client.post("/contacts", json={"email": spelling}), 409, "CONFLICT", fields=("existingId",)
        )
        assert details["existingId"] == first["id"]
        assert details["email"] == "dup@example.com"
    listed = ok(await client.get("/contacts", params={"email": "dup@"}))
    assert [c["id"] for c in listed] == [first["id"]]


async def test_same_email_in_another_account_is_fine(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    email = unique_email()
    mine = await create_contact(client, email=email)
    theirs = await create_contact(other_client, email=email.upper())
    assert mine["id"] != theirs["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": 42}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"email": "ok@example.com", "firstName": "x" * 101}, "firstName"),
        ({"email": "ok@example.com", "company": 7}, "company"),
        ({"email": "ok@example.com", "customFields": {"nested": {"a": 1}}}, "customFields.nested"),
        ({"email": "ok@example.com", "customFields": {"list": [1]}}, "customFields.list"),
        ({"email": "ok@example.com", "customFields": "flat"}, "customFields"),
        ({"email": "ok@example.com", "nickname": "Ada"}, "nickname"),
    ],
)
async def test_create_rejects_invalid_bodies_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error(await client.post("/contacts", json=body), 400, "VALIDATION_ERROR", fields=(field,))


async def test_create_rejects_more_than_50_custom_fields(client: httpx.AsyncClient) -> None:
    fields = {f"f{i}": i for i in range(51)}
    body = {"email": unique_email(), "customFields": fields}
    error(await client.post("/contacts", json=body), 400, "VALIDATION_ERROR", fields=("customFields",))
    fields.pop("f50")
    assert (
        ok(await client.post("/contacts", json=body | {"customFields": fields}), 201)["customFields"]
        == fields
    )


async def test_missing_field_message_names_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", json={"firstName": "Ada"})
    assert error(response, 400, "VALIDATION_ERROR") == {"email": "is required"}
    assert response.json()["error"]["message"] == "email is required"


async def test_get_unknown_contact_is_404(client: httpx.AsyncClient) -> None:
    details = error(await client.get("/contacts/ctc_doesNotExist"), 404, "NOT_FOUND")
    assert details == {"id": "ctc_doesNotExist"}


async def test_put_is_a_partial_update(client: httpx.AsyncClient) -> None:
    created = await create_contact(
        client, firstName="Ada", lastName="Lovelace", company="AE", customFields={"title": "CTO"}
    )
    updated = ok(await client.put(f"/contacts/{created['id']}", json={"company": "Babbage & Co"}))
    assert updated["company"] == "Babbage & Co"
    unchanged = {k: v for k, v in created.items() if k not in ("company", "updatedAt")}
    assert {k: v for k, v in updated.items() if k not in ("company", "updatedAt")} == unchanged
    assert timestamp(updated["updatedAt"]) > timestamp(created["updatedAt"])
    assert ok(await client.get(f"/contacts/{created['id']}")) == updated


async def test_put_replaces_custom_fields_and_clears_nullable_fields(client: httpx.AsyncClient) -> None:
    created = await create_contact(client, firstName="Ada", customFields={"title": "CTO", "age": 36})
    updated = ok(
        await client.put(f"/contacts/{created['id']}", json={"firstName": None, "customFields": {"x": True}})
    )
    assert updated["firstName"] is None
    assert updated["customFields"] == {"x": True}


async def test_put_lower_cases_and_checks_the_email(client: httpx.AsyncClient) -> None:
    taken = await create_contact(client)
    mine = await create_contact(client)
    renamed = ok(await client.put(f"/contacts/{mine['id']}", json={"email": "New.Address@Example.com"}))
    assert renamed["email"] == "new.address@example.com"
    # Re-sending its own address (in another case) is not a conflict.
    assert ok(await client.put(f"/contacts/{mine['id']}", json={"email": "NEW.address@example.com"}))
    details = error(
        await client.put(f"/contacts/{mine['id']}", json={"email": taken["email"].upper()}), 409, "CONFLICT"
    )
    assert details["existingId"] == taken["id"]
    assert ok(await client.get(f"/contacts/{mine['id']}"))["email"] == "new.address@example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"email": "nope"}, "email"),
        ({"lastName": "x" * 101}, "lastName"),
        ({"groupIds": ["grp_x"]}, "groupIds"),
        ({"updatedAt": "2025-01-01T00:00:00Z"}, "updatedAt"),
    ],
)
async def test_put_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create_contact(client)
    error(await client.put(f"/contacts/{created['id']}", json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert ok(await client.get(f"/contacts/{created['id']}")) == created


async def test_put_unknown_contact_is_404(client: httpx.AsyncClient) -> None:
    error(await client.put("/contacts/ctc_nope", json={"company": "X"}), 404, "NOT_FOUND")


async def test_delete_then_get_is_404(client: httpx.AsyncClient) -> None:
    created = await create_contact(client)
    assert ok(await client.delete(f"/contacts/{created['id']}")) == {"id": created["id"], "deleted": True}
    error(await client.get(f"/contacts/{created['id']}"), 404, "NOT_FOUND")
    error(await client.delete(f"/contacts/{created['id']}"), 404, "NOT_FOUND")
    # The email is free again.
    assert await create_contact(client, email=created["email"])


async def test_delete_removes_group_memberships(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    keep, drop = await create_contact(client), await create_contact(client)
    assert (await add_to_group(client, group["id"], [keep["id"], drop["id"]]))["contactCount"] == 2
    ok(await client.delete(f"/contacts/{drop['id']}"))
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 1
    members = ok(await client.get("/contacts", params={"group": group["id"]}))
    assert [c["id"] for c in members] == [keep["id"]]


async def test_contact_shows_its_groups(client: httpx.AsyncClient) -> None:
    contact = await create_contact(client)
    groups = [await create_group(client) for _ in range(2)]
    for group in groups:
        await add_to_group(client, group["id"], [contact["id"]])
    found = ok(await client.get(f"/contacts/{contact['id']}"))
    assert sorted(found["groupIds"]) == sorted(g["id"] for g in groups)
    listed = ok(await client.get("/contacts", params={"email": contact["email"]}))
    assert sorted(listed[0]["groupIds"]) == sorted(g["id"] for g in groups)


# --- listing ------------------------------------------------------------------------------------------


async def test_list_shape_and_default_order(client: httpx.AsyncClient) -> None:
    created = [await create_contact(client) for _ in range(3)]
    response = await client.get("/contacts")
    body = response.json()
    assert body["success"] is True
    assert body["meta"] == {"page": 1, "perPage": 20, "total": 3}
    # Default: newest first.
    assert [c["id"] for c in body["data"]] == [c["id"] for c in reversed(created)]
    assert all(set(c) == CONTACT_FIELDS for c in body["data"])


async def test_email_filter_is_a_case_insensitive_substring(client: httpx.AsyncClient) -> None:
    tag = unique_email("x").split("@")[0].split("-")[1]
    domain = f"{tag}.example.com"
    a = await create_contact(client, email=f"ada@{domain}")
    b = await create_contact(client, email=f"Bob@{domain.upper()}")
    other = await create_contact(client, email=f"carol@{tag}.example.org")
    found = ok(
        await client.get("/contacts", params={"email": domain.upper(), "sort": "email", "order": "asc"})
    )
    assert [c["id"] for c in found] == [a["id"], b["id"]]
    found = ok(await client.get("/contacts", params={"email": "BOB@"}))
    assert [c["id"] for c in found] == [b["id"]]
    response = await client.get("/contacts", params={"email": tag})
    assert {c["id"] for c in ok(response)} == {a["id"], b["id"], other["id"]}
    assert response.json()["meta"]["total"] == 3


async def test_email_filter_treats_wildcards_literally(client: httpx.AsyncClient) -> None:
    underscored = await create_contact(client, email=unique_email("a_b"))
    await create_contact(client, email=unique_email("axb"))
    await create_contact(client, email=unique_email("a%b"))
    found = ok(await client.get("/contacts", params={"email": "a_b"}))
    assert [c["id"] for c in found] == [underscored["id"]]
    assert ok(await client.get("/contacts", params={"email": "%"}))[0]["email"].startswith("a%b")
    assert len(ok(await client.get("/contacts", params={"email": "%"}))) == 1


async def test_group_filter(client: httpx.AsyncClient) -> None:
    group, empty = await create_group(client), await create_group(client)
    members = [await create_contact(client) for _ in range(3)]
    await create_contact(client)  # not a member
    await add_to_group(client, group["id"], [m["id"] for m in members])
    response = await client.get(
        "/contacts", params={"group": group["id"], "sort": "createdAt", "order": "asc"}
    )
    assert [c["id"] for c in ok(response)] == [m["id"] for m in members]
    assert response.json()["meta"]["total"] == 3
    assert ok(await client.get("/contacts", params={"group": empty["id"]})) == []
    assert ok(await client.get("/contacts", params={"group": "grp_doesNotExist"})) == []
    both = ok(await client.get("/contacts", params={"group": group["id"], "email": members[1]["email"]}))
    assert [c["id"] for c in both] == [members[1]["id"]]


async def _pin_timestamps(database: Database, ids: list[str], column: str, values: list[datetime]) -> None:
    async with database.write() as conn:
        for contact_id, value in zip(ids, values, strict=True):
            await conn.execute(
                update(t.contacts).where(t.contacts.c.id == contact_id).values({column: value})
            )


async def _id_order(database: Database, account_id: str) -> list[str]:
    """Ids in the database's own collation order (the tie-break the API must use)."""
    async with database.read() as conn:
        query = select(t.contacts.c.id).where(t.contacts.c.account_id == account_id).order_by(t.contacts.c.id)
        return list((await conn.execute(query)).scalars())


def _sort_value(contact: dict[str, Any], field: str) -> Any:
    value = contact[field]
    return timestamp(value) if value is not None and field.endswith("At") else value


async def _all_pages(
    client: httpx.AsyncClient, params: dict[str, Any], per_page: int, total: int
) -> list[dict[str, Any]]:
    """Every page until the first empty one (past the end), checking `meta` on each."""
    seen: list[dict[str, Any]] = []
    for page in itertools.count(1):
        response = await client.get("/contacts", params={**params, "page": page, "perPage": per_page})
        data = ok(response)
        assert response.json()["meta"] == {"page": page, "perPage": per_page, "total": total}
        assert len(data) <= per_page
        if not data:
            break
        seen.extend(data)
    return seen


async def test_every_sort_field_pages_without_repeats_or_skips(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    # Rows with identical sort values, and nulls, so that only the tie-break on id makes paging stable.
    names = ["Alpha", "Alpha", "Alpha", "Bravo", "Bravo", None, "Charlie"]
    contacts = [
        await create_contact(
            client, email=f"s{i}{unique_email('')[1:]}", firstName=name, lastName=name, company=name
        )
        for i, name in enumerate(names)
    ]
    ids = [c["id"] for c in contacts]
    same = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
    later = datetime(2025, 1, 7, 9, 30, tzinfo=UTC)
    await _pin_timestamps(database, ids, "created_at", [same] * 4 + [later] * 3)
    await _pin_timestamps(database, ids, "updated_at", [later] * 3 + [same] * 4)
    id_rank = {
        contact_id: rank for rank, contact_id in enumerate(await _id_order(database, tenant.account_id))
    }

    for field, order in itertools.product(SORT_FIELDS, ("asc", "desc")):
        params = {"sort": field, "order": order}
        everything = ok(await client.get("/contacts", params={**params, "perPage": 100}))
        paged = await _all_pages(client, params, per_page=2, total=len(ids))
        assert [c["id"] for c in paged] == [c["id"] for c in everything], params
        assert sorted(c["id"] for c in paged) == sorted(ids), params  # no repeats, no skips
        descending = order == "desc"
        for before, after in itertools.pairwise(everything):
            a, b = _sort_value(before, field), _sort_value(after, field)
            if a is not None and b is not None and a != b:
                assert (a > b) if descending else (a < b), (params, a, b)
            if a == b:  # ties (including nulls) broken by id, in the same direction
                rank_a, rank_b = id_rank[before["id"]], id_rank[after["id"]]
                assert (rank_a > rank_b) if descending else (rank_a < rank_b), (params, a)
        nulls = [i for i, c in enumerate(everything) if c[field] is None]
        if nulls:  # nulls sort together (first or last depends on the database)
            assert nulls == list(range(nulls[0], nulls[0] + len(nulls))), params


async def test_page_past_the_end_is_empty_with_the_total(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create_contact(client)
    response = await client.get("/contacts", params={"page": 3, "perPage": 2})
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": [], "meta": {"page": 3, "perPage": 2, "total": 3}}
    response = await client.get("/contacts", params={"page": 2, "perPage": 2})
    assert len(ok(response)) == 1
    assert response.json()["meta"]["total"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortt": "email"}, "sortt"),
        ({"perPage": 101}, "perPage"),
        ({"perPage": 0}, "perPage"),
        ({"page": 0}, "page"),
        ({"page": "one"}, "page"),
        ({"sort": "password"}, "sort"),
        ({"sort": "groupIds"}, "sort"),
        ({"order": "up"}, "order"),
        ({"email": ""}, "email"),
        ({"group": "g" * 65}, "group"),
    ],
)
async def test_invalid_query_parameters_are_400_naming_them(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    details = error(await client.get("/contacts", params=params), 400, "VALIDATION_ERROR", fields=(field,))
    assert isinstance(details[field], str) and details[field]


async def test_unknown_query_parameter_says_so(client: httpx.AsyncClient) -> None:
    details = error(await client.get("/contacts", params={"sortt": "email"}), 400, "VALIDATION_ERROR")
    assert details == {"sortt": "is not a known query parameter"}


async def test_per_page_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    for per_page in (1, 100):
        response = await client.get("/contacts", params={"perPage": per_page})
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["perPage"] == per_page
