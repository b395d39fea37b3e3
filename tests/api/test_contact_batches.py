"""POST /contacts/batch: per-row validation as createContact, create/upsert, groups, outbox events, replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.services import contact_batches
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.api.conftest import AppFactory, api_client
from tests.conftest import Tenant
from tests.utils.assertions import assert_id, assert_sortable_id, error, ok, ok_object
from tests.utils.factories import create_contact, create_group, unique_email

# Bodies createContact refuses, each for a different rule (schema, read-only fields, the service's check).
BAD_ROWS: list[Any] = [
    None,
    "ada@example.com",
    [],
    42,
    {},
    {"firstName": "Ada"},
    {"email": "not-an-email"},
    {"email": "ada@example.com", "id": "ctc_x", "createdAt": "2025-01-01T00:00:00Z"},
    {"email": "ada@example.com", "nickname": "Ada"},
    {"email": "ada@example.com", "firstName": "A" * 101},
    {"email": "ada@example.com", "firstName": 7},
    {"email": "ada@example.com", "customFields": {"tags": ["a"]}},
    {"email": "ada@example.com", "customFields": {"bad key\n": 1}},  # a rule outside the schema
    {"email": "ada@example.com", "customFields": {f"f{i}": i for i in range(51)}},
    {"email": f"{'a' * 65}@example.com"},  # the service's RFC 5321 local-part limit, not the schema's
    {"email": "ada@exa_mple.com"},
    # Each field rule of ContactCreate once more, at the edges the fast pre-check must see as the schema does.
    {"email": "ada@example.com\n"},  # ECMA `$`: a trailing newline does not match
    {"email": None},
    {"email": "a@b"},
    {"email": "ada@example.com", "firstName": "Ada\n"},
    {"email": "ada@example.com", "lastName": "\u2028"},
    {"email": "ada@example.com", "lastName": "😀" * 101},
    {"email": "ada@example.com", "company": "C" * 201},
    {"email": "ada@example.com", "company": True},
    {"email": "ada@example.com", "customFields": []},
    {"email": "ada@example.com", "customFields": {"note": "x" * 1001}},
    {"email": "ada@example.com", "customFields": {"note": "a\x85b"}},
    {"email": "ada@example.com", "customFields": {"n": None}},
]


async def batch(client: httpx.AsyncClient, contacts: list[Any], **fields: Any) -> dict[str, Any]:
    return ok_object(await client.post("/contacts/batch", json={"contacts": contacts, **fields}))


async def events_of(db: Database, account_id: str) -> list[Any]:
    async with db.read() as conn:
        query = select(t.events).where(t.events.c.account_id == account_id).order_by(t.events.c.id)
        return list((await conn.execute(query)).all())


async def count_contacts(db: Database, account_id: str) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(t.contacts).where(t.contacts.c.account_id == account_id)
        return int((await conn.execute(query)).scalar_one())


async def test_each_bad_row_gets_exactly_create_contacts_error(client: httpx.AsyncClient) -> None:
    good = {"email": unique_email()}
    result = await batch(client, [*BAD_ROWS, good])
    assert result["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "error": len(BAD_ROWS)}
    for index, row in enumerate(BAD_ROWS):
        single = (await client.post("/contacts", json=row)).json()
        assert single["success"] is False, row
        assert result["results"][index] == {"index": index, "status": "error", "error": single["error"]}, row
    last = result["results"][-1]
    assert last["status"] == "created" and last["index"] == len(BAD_ROWS)
    assert ok(await client.get(f"/contacts/{last['id']}"))["email"] == good["email"]


async def test_create_mode_stores_rows_as_create_contact_would(client: httpx.AsyncClient) -> None:
    rows = [
        {"email": "Ada.Batch@Example.COM", "firstName": "Ada", "customFields": {"title": "CTO", "n": 4.5}},
        {"email": unique_email()},
    ]
    result = await batch(client, rows)
    assert result["mode"] == "create" and result["groupId"] is None
    assert [r["status"] for r in result["results"]] == ["created", "created"]
    assert [r["index"] for r in result["results"]] == [0, 1]
    for row in result["results"]:
        assert_id(row["id"], "ctc")
        # The same id format as createContact: creation second first (`ids.new_sortable_ids`).
        assert_sortable_id(row["id"], "ctc", ok(await client.get(f"/contacts/{row['id']}"))["createdAt"])
    first = ok(await client.get(f"/contacts/{result['results'][0]['id']}"))
    assert first["email"] == "ada.batch@example.com"
    assert (first["firstName"], first["lastName"], first["company"]) == ("Ada", None, None)
    assert first["customFields"] == {"title": "CTO", "n": 4.5}
    assert first["groupIds"] == [] and first["createdAt"] == first["updatedAt"]


async def test_create_mode_reports_an_existing_email_like_create_contact(client: httpx.AsyncClient) -> None:
    existing = await create_contact(client, email=unique_email("taken"))
    single = (await client.post("/contacts", json={"email": existing["email"].upper()})).json()["error"]
    result = await batch(client, [{"email": existing["email"].upper(), "firstName": "New"}])
    assert result["results"] == [{"index": 0, "status": "error", "error": single}]
    assert single["code"] == "CONFLICT" and single["details"]["existingId"] == existing["id"]
    assert ok(await client.get(f"/contacts/{existing['id']}"))["firstName"] is None


@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_duplicates_in_one_batch_first_wins(client: httpx.AsyncClient, mode: str) -> None:
    email = unique_email("dup")
    rows = [
        {"email": email, "firstName": "First"},
        {"email": email.upper(), "firstName": "Second"},
        {"email": email},
    ]
    result = await batch(client, rows, mode=mode)
    assert result["results"][0]["status"] == "created"
    for index in (1, 2):
        assert result["results"][index] == {
            "index": index,
            "status": "error",
            "error": {
                "code": "CONFLICT",
                "message": "The email is given by an earlier row of this batch",
                "details": {"email": email, "firstIndex": 0},
            },
        }
    assert ok(await client.get(f"/contacts/{result['results'][0]['id']}"))["firstName"] == "First"


async def test_upsert_matches_case_insensitively_and_changes_only_given_fields(
    client: httpx.AsyncClient,
) -> None:
    ada = await create_contact(
        client, firstName="Ada", lastName="Lovelace", company="Engines", customFields={"a": 1, "b": "x"}
    )
    grace = await create_contact(client, firstName="Grace", company="Navy")
    alan = await create_contact(client, firstName="Alan")
    new_email = unique_email("new")
    rows = [
        {"email": ada["email"].upper(), "company": "Babbage & Co", "customFields": {"c": True}},
        {"email": grace["email"], "firstName": "Grace"},  # same value: nothing changes
        {"email": new_email, "lastName": "Turing"},
        {"email": alan["email"], "firstName": None},
    ]
    result = await batch(client, rows, mode="upsert")
    assert result["mode"] == "upsert"
    assert result["counts"] == {"created": 1, "updated": 2, "unchanged": 1, "error": 0}
    statuses = [(r["status"], r.get("id")) for r in result["results"]]
    assert statuses[0] == ("updated", ada["id"])
    assert statuses[1] == ("unchanged", grace["id"])
    assert statuses[2][0] == "created"
    assert statuses[3] == ("updated", alan["id"])

    after_ada = ok(await client.get(f"/contacts/{ada['id']}"))
    assert after_ada["email"] == ada["email"]
    assert (after_ada["firstName"], after_ada["lastName"]) == ("Ada", "Lovelace")  # not given: kept
    assert after_ada["company"] == "Babbage & Co"
    assert after_ada["customFields"] == {"c": True}  # given: replaces the whole map, as updateContact
    assert after_ada["createdAt"] == ada["createdAt"] and after_ada["updatedAt"] > ada["updatedAt"]
    assert ok(await client.get(f"/contacts/{grace['id']}")) == grace  # unchanged: not even updatedAt
    assert ok(await client.get(f"/contacts/{alan['id']}"))["firstName"] is None
    created = ok(await client.get(f"/contacts/{statuses[2][1]}"))
    assert (created["email"], created["lastName"], created["firstName"]) == (new_email, "Turing", None)


async def test_group_membership_for_every_stored_row(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    member = await create_contact(client)
    existing = await create_contact(client, firstName="Old")
    rows = [
        {"email": unique_email()},
        {"email": existing["email"], "firstName": "New"},
        {"email": member["email"]},
        {"email": "bad"},
    ]
    ok(await client.post(f"/groups/{group['id']}/contacts", json={"contactIds": [member["id"]]}))
    result = await batch(client, rows, mode="upsert", groupId=group["id"])
    assert result["groupId"] == group["id"]
    assert [r["status"] for r in result["results"]] == ["created", "updated", "unchanged", "error"]
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 3
    for row in result["results"][:3]:
        assert ok(await client.get(f"/contacts/{row['id']}"))["groupIds"] == [group["id"]]
    listed = await client.get("/contacts", params={"group": group["id"], "perPage": 100})
    assert listed.json()["meta"]["total"] == 3  # the cached total saw the batch's version bump


async def test_suppressed_emails_are_stored_and_reported_as_suppressed(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    bounced, fresh = unique_email(), unique_email()
    async with database.write() as conn:
        await conn.execute(
            t.suppressions.insert().values(
                account_id=tenant.account_id, email=bounced, reason="bounced", created_at=datetime.now(UTC)
            )
        )
    result = await batch(client, [{"email": bounced.upper()}, {"email": fresh}, {"email": "bad"}])
    first, second, third = result["results"]
    assert (first["status"], first.get("suppressed")) == ("created", True)
    assert ok(await client.get(f"/contacts/{first['id']}"))["email"] == bounced
    assert second["status"] == "created" and "suppressed" not in second
    assert third["status"] == "error" and "suppressed" not in third


async def test_suppressed_by_domain_and_by_address_among_many_rows(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The batch's one lookup applies the engine's rule (`Matches.get`): an address entry, or the `@domain`
    entry of exactly that domain (not its subdomains); another account's entries do not count."""
    domain = f"blocked-{unique_email().split('@')[0]}.example"
    address, elsewhere = unique_email(), unique_email()
    entries = [
        (tenant.account_id, f"@{domain}"),
        (tenant.account_id, address),
        (other_tenant.account_id, elsewhere),
    ]
    async with database.write() as conn:
        for account_id, key in entries:
            await conn.execute(
                t.suppressions.insert().values(
                    account_id=account_id, email=key, reason="manual", created_at=datetime.now(UTC)
                )
            )
    rows = [{"email": unique_email()} for _ in range(300)]
    rows[10] = {"email": f"Someone@{domain.upper()}"}
    rows[20] = {"email": f"someone@mail.{domain}"}  # a subdomain: not suppressed
    rows[30] = {"email": address}
    rows[40] = {"email": elsewhere}  # suppressed for the other account only
    result = await batch(client, rows, mode="upsert")
    flagged = [row["index"] for row in result["results"] if row.get("suppressed")]
    assert flagged == [10, 30]
    assert result["counts"]["created"] == 300


async def test_events_only_for_changed_rows_with_the_public_representation(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    group = await create_group(client)
    existing = await create_contact(client, firstName="Old")
    same = await create_contact(client, firstName="Same")
    before = {row.id for row in await events_of(database, tenant.account_id)}
    rows = [
        {"email": unique_email(), "firstName": "New"},
        {"email": existing["email"], "firstName": "Changed"},
        {"email": same["email"], "firstName": "Same"},
        {"email": "bad"},
    ]
    result = await batch(client, rows, mode="upsert", groupId=group["id"])
    new = [row for row in await events_of(database, tenant.account_id) if row.id not in before]
    by_contact = {row.data["id"]: row for row in new}
    created_id, updated_id = result["results"][0]["id"], result["results"][1]["id"]
    assert sorted(by_contact) == sorted([created_id, updated_id])  # none for unchanged or error rows
    assert by_contact[created_id].type == "contact.created"
    assert by_contact[updated_id].type == "contact.updated"
    for contact_id, row in by_contact.items():
        assert row.data == ok(await client.get(f"/contacts/{contact_id}"))
        assert_id(row.id, "evt")


async def test_event_data_is_the_stored_contact_for_any_json_values(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    """Events are presented from the values written, not read back: they must still equal GET's answer
    for numbers in any spelling, big integers, non-ASCII text, and fields an upsert leaves as they were."""
    existing = await create_contact(client, firstName="Old", company="Keep", customFields={"x": 1})
    fresh = unique_email()
    raw = (
        '{"mode": "upsert", "contacts": ['
        f'{{"email": "{fresh.upper()}", "lastName": "Ñandú 😀", "customFields": '
        '{"e": 1e2, "f": 1.50, "z": -0.0, "big": 123456789012345678901234567890,'
        ' "b": false, "s": "\\u00e9"}},'
        f'{{"email": "{existing["email"]}", "firstName": "New", "customFields": {{"y": 2E-3}}}}'
        "]}"
    )
    before = {row.id for row in await events_of(database, tenant.account_id)}
    answer = await client.post("/contacts/batch", content=raw, headers={"Content-Type": "application/json"})
    result = ok_object(answer)
    assert [row["status"] for row in result["results"]] == ["created", "updated"]
    new = {
        row.data["id"]: row for row in await events_of(database, tenant.account_id) if row.id not in before
    }
    assert len(new) == 2
    for row in result["results"]:
        stored = ok(await client.get(f"/contacts/{row['id']}"))
        assert new[row["id"]].data == stored
    created = new[result["results"][0]["id"]].data
    assert created["customFields"]["big"] == 123456789012345678901234567890
    assert created["customFields"]["e"] == 100.0 and isinstance(created["customFields"]["e"], float)
    updated = new[existing["id"]].data
    assert (updated["firstName"], updated["company"], updated["customFields"]) == (
        "New",
        "Keep",
        {"y": 0.002},
    )
    assert updated["createdAt"] == existing["createdAt"] and updated["updatedAt"] > existing["updatedAt"]


async def test_a_failing_batch_rolls_back_rows_memberships_and_events(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = await create_group(client)
    existing = await create_contact(client, firstName="Old")
    contacts_before = await count_contacts(database, tenant.account_id)
    events_before = len(await events_of(database, tenant.account_id))

    async def fail_at_the_end(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")  # the last statement of the batch's transaction fails

    monkeypatch.setattr(contact_batches, "bump_contacts_version", fail_at_the_end)
    rows = [{"email": unique_email()}, {"email": existing["email"], "firstName": "Changed"}]
    response = await client.post(
        "/contacts/batch", json={"contacts": rows, "mode": "upsert", "groupId": group["id"]}
    )
    error(response, 500, "INTERNAL_ERROR")
    assert await count_contacts(database, tenant.account_id) == contacts_before
    assert len(await events_of(database, tenant.account_id)) == events_before
    assert ok(await client.get(f"/contacts/{existing['id']}"))["firstName"] == "Old"
    assert ok(await client.get(f"/groups/{group['id']}"))["contactCount"] == 0


async def test_idempotency_key_replays_the_whole_batch(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    headers = {"Idempotency-Key": "crm-sync-batch-1"}
    body = {"contacts": [{"email": unique_email()}, {"email": unique_email()}, {"email": "bad"}]}
    first = await client.post("/contacts/batch", json=body, headers=headers)
    contacts = await count_contacts(database, tenant.account_id)
    events = len(await events_of(database, tenant.account_id))
    again = await client.post("/contacts/batch", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count_contacts(database, tenant.account_id) == contacts
    assert len(await events_of(database, tenant.account_id)) == events


async def test_another_accounts_group_is_a_400_like_an_unknown_one(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    theirs = await create_group(other_client)
    before = await count_contacts(database, tenant.account_id)
    for group_id in (theirs["id"], "grp_doesNotExist"):
        response = await client.post(
            "/contacts/batch", json={"contacts": [{"email": unique_email()}], "groupId": group_id}
        )
        details = error(response, 400, "VALIDATION_ERROR", fields=("groupId",))
        assert details == {"groupId": "is not a group of this account"}
    assert await count_contacts(database, tenant.account_id) == before
    assert ok(await other_client.get(f"/groups/{theirs['id']}"))["contactCount"] == 0


async def test_upsert_never_touches_another_accounts_contact(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    theirs = await create_contact(other_client, firstName="Theirs")
    result = await batch(client, [{"email": theirs["email"], "firstName": "Mine"}], mode="upsert")
    mine = result["results"][0]
    assert mine["status"] == "created" and mine["id"] != theirs["id"]
    assert ok(await other_client.get(f"/contacts/{theirs['id']}")) == theirs
    error(await other_client.get(f"/contacts/{mine['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"email": "a@example.com"}], "body"),
        ({}, "contacts"),
        ({"contacts": {"email": "a@example.com"}}, "contacts"),
        ({"contacts": []}, "contacts"),
        ({"contacts": [{"email": "a@example.com"}] * 1001}, "contacts"),
        ({"contacts": [{"email": "a@example.com"}], "dryRun": True}, "dryRun"),
        ({"contacts": [{"email": "a@example.com"}], "mode": "merge"}, "mode"),
        ({"contacts": [{"email": "a@example.com"}], "groupId": ""}, "groupId"),
        ({"contacts": [{"email": "a@example.com"}], "groupId": 5}, "groupId"),
        # NUL cannot be stored anywhere: refused for the whole body, as by every operation.
        (
            {"contacts": [{"email": "a@example.com"}, {"email": "b@example.com", "company": "A\u0000B"}]},
            "contacts.1.company",
        ),
    ],
)
async def test_a_malformed_body_is_a_400_and_stores_nothing(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, body: Any, field: str
) -> None:
    before = await count_contacts(database, tenant.account_id)
    error(await client.post("/contacts/batch", json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert await count_contacts(database, tenant.account_id) == before


async def test_a_full_batch_of_1000_rows(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    rows = [{"email": unique_email(f"row{i}"), "customFields": {"i": i}} for i in range(1000)]
    result = await batch(client, rows)
    assert result["counts"]["created"] == 1000
    assert [r["index"] for r in result["results"]] == list(range(1000))
    assert len({r["id"] for r in result["results"]}) == 1000
    again = await batch(client, [{**row, "customFields": {"i": -1}} for row in rows], mode="upsert")
    assert again["counts"]["updated"] == 1000
    assert [r["id"] for r in again["results"]] == [r["id"] for r in result["results"]]
    events = await events_of(database, tenant.account_id)
    assert sum(1 for row in events if row.type == "contact.updated") == 1000


async def test_a_batch_is_one_request_for_the_rate_limit(make_app: AppFactory, tenant: Tenant) -> None:
    app = make_app(rate_limit="3/minute", limiter=RateLimiter("3/minute"))
    async with api_client(app, tenant.api_key) as limited:
        rows = [{"email": unique_email()} for _ in range(500)]
        response = await limited.post("/contacts/batch", json={"contacts": rows})
        assert ok(response)["counts"]["created"] == 500
        assert response.headers["X-RateLimit-Remaining"] == "2"


async def test_concurrent_upserts_of_the_same_emails_store_each_once(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    emails = [unique_email(f"race{i}") for i in range(300)]
    bodies = [
        {"mode": "upsert", "contacts": [{"email": email, "company": f"Writer {n}"} for email in order]}
        for n, order in enumerate((emails, list(reversed(emails)), emails[::2] + emails[1::2]))
    ]
    answers = await asyncio.gather(*(client.post("/contacts/batch", json=body) for body in bodies))
    results = [ok(answer)["results"] for answer in answers]
    for email in emails:
        outcomes = [
            next(r for r, row in zip(rows, body["contacts"], strict=True) if row["email"] == email)
            for rows, body in zip(results, bodies, strict=True)
        ]
        assert sorted(o["status"] for o in outcomes)[0] == "created", outcomes
        assert [o["status"] for o in outcomes].count("created") == 1, outcomes
        assert len({o["id"] for o in outcomes}) == 1, outcomes
    async with database.read() as conn:
        query = select(func.count()).select_from(t.contacts).where(t.contacts.c.email.in_(emails))
        assert (await conn.execute(query)).scalar_one() == len(emails)


async def test_earlier_emails_make_a_row_a_duplicate_as_inside_one_batch(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    first, other = unique_email("first"), unique_email("other")
    rows = [
        {"email": first.upper(), "firstName": "Later"},
        {"email": first, "firstName": 7},
        {"email": other},
    ]
    events = len(await events_of(database, tenant.account_id))
    result = await batch(client, rows, mode="upsert", earlierEmails={first.upper(): 1234})
    conflict = {"email": first, "firstIndex": 1234}
    assert result["results"][0] == {
        "index": 0,
        "status": "error",
        "error": {
            "code": "CONFLICT",
            "message": "The email is given by an earlier row of this batch",
            "details": conflict,
        },
    }
    single = (await client.post("/contacts", json=rows[1])).json()["error"]
    assert (
        result["results"][1]["error"] == single and single["code"] == "VALIDATION_ERROR"
    )  # its own checks first
    assert result["results"][2]["status"] == "created"
    assert (await client.get("/contacts", params={"email": first})).json()["meta"]["total"] == 0
    assert len(await events_of(database, tenant.account_id)) == events + 1
    # The same rows in one batch after a first row with that email: the same answers.
    whole = await batch(client, [{"email": first}, *rows[:2]], mode="upsert")
    assert [r["error"]["code"] for r in whole["results"][1:]] == ["CONFLICT", "VALIDATION_ERROR"]
    assert whole["results"][1]["error"]["details"] == {"email": first, "firstIndex": 0}


@pytest.mark.parametrize(
    "earlier", [[], {"a@example.com": -1}, {"a@example.com": "1"}, {f"u{i}@x.io": 0 for i in range(1001)}]
)
async def test_malformed_earlier_emails_are_a_400(client: httpx.AsyncClient, earlier: Any) -> None:
    body = {"contacts": [{"email": unique_email()}], "earlierEmails": earlier}
    details = error(await client.post("/contacts/batch", json=body), 400, "VALIDATION_ERROR")
    assert details and all(field.startswith("earlierEmails") for field in details), details


async def test_rows_are_matched_by_id_when_the_driver_cannot_count_them(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the insert's row count is unknown (-1) or short, the stored rows are looked up: the answer
    names exactly the rows that were stored."""
    real = contact_batches.insert_rows

    async def uncounted(*args: Any, **kwargs: Any) -> int:
        await real(*args, **kwargs)
        return -1

    monkeypatch.setattr(contact_batches, "insert_rows", uncounted)
    taken = await create_contact(client)
    rows = [{"email": unique_email()}, {"email": unique_email()}]
    result = await batch(client, rows)
    assert [row["status"] for row in result["results"]] == ["created", "created"]
    for row, sent in zip(result["results"], rows, strict=True):
        assert ok(await client.get(f"/contacts/{row['id']}"))["email"] == sent["email"]
    assert taken["id"] not in {row["id"] for row in result["results"]}
