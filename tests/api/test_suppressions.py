"""The suppression list API: add addresses and domains, list (paged, filtered), delete; tenant isolation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from fluenzr_server.services import suppressions
from fluenzr_server.services.common import now
from fluenzr_server.services.unsubscribes import unsubscribe_lead
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant
from tests.utils.assertions import error, ok, timestamp, utcnow
from tests.utils.factories import create_campaign, create_contact, ready_campaign, unique_email

FIELDS = {"entry", "email", "domain", "reason", "detail", "campaignId", "createdAt"}


def entry_path(entry: str) -> str:
    return "/suppressions/" + quote(entry, safe="@")


async def entries(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await client.get("/suppressions", params={"perPage": 100, **params})))


async def test_add_addresses_and_domains_then_list_them_newest_first(client: httpx.AsyncClient) -> None:
    body = {
        "emails": ["Ada@Example.com", "grace@example.com"],
        "domains": ["Competitor.example", "@bücher.example"],
        "detail": "Asked by phone",
    }
    added = ok(await client.post("/suppressions", json=body))
    assert added["existing"] == []
    assert [item["entry"] for item in added["added"]] == [
        "ada@example.com",
        "grace@example.com",
        "@competitor.example",
        "@xn--bcher-kva.example",
    ]
    ada, _grace, domain, idn = added["added"]
    assert set(ada) == FIELDS
    assert (ada["email"], ada["domain"], ada["reason"], ada["detail"], ada["campaignId"]) == (
        "ada@example.com",
        None,
        "manual",
        "Asked by phone",
        None,
    )
    assert (domain["email"], domain["domain"]) == (None, "competitor.example")
    assert idn["domain"] == "xn--bcher-kva.example"
    timestamp(ada["createdAt"], near=utcnow())

    later = ok(await client.post("/suppressions", json={"domains": ["later.example"]}))["added"]
    listed = await entries(client)
    # newest first; one request's entries share a timestamp: ties by entry (code points), same direction
    assert [item["entry"] for item in listed] == [
        later[0]["entry"],
        "grace@example.com",
        "ada@example.com",
        "@xn--bcher-kva.example",
        "@competitor.example",
    ]
    assert listed[1:] == sorted(added["added"], key=lambda item: item["entry"], reverse=True)
    oldest = await entries(client, order="asc")
    assert oldest == listed[1:][::-1] + listed[:1]
    by_entry = [item["entry"] for item in await entries(client, sort="entry", order="asc")]
    assert by_entry == sorted(item["entry"] for item in listed)
    error(
        await client.get("/suppressions", params={"sort": "reason"}),
        400,
        "VALIDATION_ERROR",
        fields=("sort",),
    )


async def test_an_existing_entry_is_reported_and_keeps_its_reason(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    bounced = unique_email("bounced")
    async with database.write() as conn:
        await suppressions.suppress(
            conn, account_id=tenant.account_id, email=bounced, reason="bounced", now=now(), detail="550 5.1.1"
        )
    fresh = unique_email("fresh")
    answer = ok(await client.post("/suppressions", json={"emails": [bounced.upper(), fresh]}))
    assert [item["entry"] for item in answer["added"]] == [fresh]
    (existing,) = answer["existing"]
    assert (existing["entry"], existing["reason"], existing["detail"]) == (bounced, "bounced", "550 5.1.1")
    again = ok(await client.post("/suppressions", json={"emails": [fresh], "detail": "other note"}))
    assert again["added"] == [] and again["existing"] == answer["added"]  # unchanged, detail included


async def test_paging_reason_filter_and_search(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    async with database.write() as conn:
        for index in range(3):
            await suppressions.suppress(
                conn,
                account_id=tenant.account_id,
                email=f"u{index}@unsub.example",
                reason="unsubscribed",
                now=now(),
            )
    for index in range(4):
        ok(await client.post("/suppressions", json={"emails": [f"m{index}@manual.example"]}))
    ok(await client.post("/suppressions", json={"domains": ["manual.example"]}))

    everything = await entries(client)
    assert len(everything) == 8
    seen: list[str] = []
    for page in (1, 2, 3):
        response = await client.get("/suppressions", params={"page": page, "perPage": 3})
        body = response.json()
        assert body["meta"] == {"page": page, "perPage": 3, "total": 8}
        seen.extend(item["entry"] for item in body["data"])
    assert seen == [item["entry"] for item in everything]  # no repeat, no gap
    assert ok(await client.get("/suppressions", params={"page": 4, "perPage": 3})) == []

    assert {item["entry"] for item in await entries(client, reason="unsubscribed")} == {
        f"u{index}@unsub.example" for index in range(3)
    }
    assert len(await entries(client, reason="manual")) == 5
    assert await entries(client, reason="bounced") == []
    # `manual.example` finds the domain entry and every address at it; case-insensitive
    found = {item["entry"] for item in await entries(client, search="MANUAL.example")}
    assert found == {"@manual.example"} | {f"m{index}@manual.example" for index in range(4)}
    assert [item["entry"] for item in await entries(client, search="m2@")] == ["m2@manual.example"]
    assert await entries(client, search="%") == []  # LIKE wildcards are literal
    error(
        await client.get("/suppressions", params={"reason": "spam"}),
        400,
        "VALIDATION_ERROR",
        fields=("reason",),
    )


async def test_delete_by_address_or_domain_in_every_spelling(client: httpx.AsyncClient) -> None:
    slash = "a/b+c@example.com"  # '/' is legal in a local part: percent-encoded in the path
    ok(
        await client.post(
            "/suppressions",
            json={
                "emails": [slash, "Ada@Example.com"],
                "domains": ["one.example", "two.example", "bücher.example"],
            },
        )
    )
    for spelling in (slash, "ADA@example.com", "@one.example", "TWO.example", "@Bücher.example"):
        response = await client.delete(entry_path(spelling))
        assert response.status_code == 204, response.text
        assert (response.content, response.headers.get("content-type")) == (b"", None)
    assert await entries(client) == []
    for spelling in (slash, "@one.example", "two.example"):
        details = error(await client.delete(entry_path(spelling)), 404, "NOT_FOUND")
        assert details["entry"] in (slash, "@one.example", "@two.example")


async def test_deleting_a_domain_keeps_the_addresses_at_it(client: httpx.AsyncClient) -> None:
    ok(await client.post("/suppressions", json={"emails": ["ada@keep.example"], "domains": ["keep.example"]}))
    assert (await client.delete(entry_path("@keep.example"))).status_code == 204
    assert [item["entry"] for item in await entries(client)] == ["ada@keep.example"]


async def unsubscribed_lead(
    client: httpx.AsyncClient, database: Database, *, source: Any = "one-click"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A campaign and its one lead's contact, the contact unsubscribed as the `/t/u` routes do it."""
    campaign = await ready_campaign(client)
    (lead,) = ok(await client.get(f"/campaigns/{campaign['id']}/contacts"))
    contact = ok(await client.get(f"/contacts/{lead['contactId']}"))
    async with database.write() as conn:
        done = await unsubscribe_lead(
            conn, campaign_id=campaign["id"], contact_id=contact["id"], source=source, now=now()
        )
    assert done
    return campaign, contact


async def test_an_unsubscribe_cannot_be_deleted_and_the_409_says_when_how_and_where(
    client: httpx.AsyncClient, database: Database
) -> None:
    campaign, contact = await unsubscribed_lead(client, database)
    (listed,) = await entries(client, search=contact["email"])
    assert (listed["reason"], listed["detail"], listed["campaignId"]) == (
        "unsubscribed",
        "unsubscribed (one-click)",
        campaign["id"],
    )

    for spelling in (contact["email"], contact["email"].upper()):
        response = await client.delete(entry_path(spelling))
        details = error(response, 409, "INVALID_STATE")
        assert details == {
            "entry": contact["email"],
            "reason": "unsubscribed",
            "unsubscribedAt": listed["createdAt"],
            "source": "one-click",
            "campaignId": campaign["id"],
        }
        message = response.json()["error"]["message"]
        assert message == (
            f"{contact['email']} unsubscribed at {listed['createdAt']} with the one-click unsubscribe"
            f" (List-Unsubscribe, RFC 8058), from campaign {campaign['id']}; only the recipient can opt"
            " in again, so the entry cannot be removed"
        )
    assert await entries(client, search=contact["email"]) == [listed]  # still there, unchanged


@pytest.mark.parametrize(
    ("source", "how"),
    [
        ("page", " on the unsubscribe page, from campaign "),
        ("mailto", " by email to the List-Unsubscribe address, from campaign "),
    ],
)
async def test_the_409_names_each_way_of_unsubscribing(
    client: httpx.AsyncClient, database: Database, source: str, how: str
) -> None:
    campaign, contact = await unsubscribed_lead(client, database, source=source)
    response = await client.delete(entry_path(contact["email"]))
    assert error(response, 409, "INVALID_STATE")["source"] == source
    assert how + campaign["id"] + ";" in response.json()["error"]["message"]


async def test_an_unsubscribe_without_a_known_campaign_or_source_is_a_409_all_the_same(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    address = unique_email("old")
    async with database.write() as conn:
        await suppressions.suppress(
            conn, account_id=tenant.account_id, email=address, reason="unsubscribed", now=now()
        )
    response = await client.delete(entry_path(address))
    details = error(response, 409, "INVALID_STATE")
    assert (details["source"], details["campaignId"]) == (None, None)
    assert response.json()["error"]["message"] == (
        f"{address} unsubscribed at {details['unsubscribedAt']}; only the recipient can opt in again,"
        " so the entry cannot be removed"
    )
    assert [item["entry"] for item in await entries(client, search=address)] == [address]


async def test_the_409_reads_the_stored_source_not_the_detail_text(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    address = unique_email("stored")
    async with database.write() as conn:
        await suppressions.suppress(
            conn,
            account_id=tenant.account_id,
            email=address,
            reason="unsubscribed",
            now=now(),
            detail="Asked us by phone to stop",  # free text that names no source
            source="manual",
        )
    response = await client.delete(entry_path(address))
    assert error(response, 409, "INVALID_STATE")["source"] == "manual"
    assert " as recorded for the account;" in response.json()["error"]["message"]


async def test_a_source_given_with_another_reason_is_not_stored(database: Database, tenant: Tenant) -> None:
    address = unique_email("bounce")
    async with database.write() as conn:
        await suppressions.suppress(
            conn, account_id=tenant.account_id, email=address, reason="bounced", now=now(), source="page"
        )
        query = select(t.suppressions.c.source).where(
            t.suppressions.c.account_id == tenant.account_id, t.suppressions.c.email == address
        )
        assert (await conn.execute(query)).scalar_one() is None


async def test_an_unsubscribe_turns_a_manual_or_bounced_entry_into_one_that_stays(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await ready_campaign(client, contacts=2)
    leads = ok(await client.get(f"/campaigns/{campaign['id']}/contacts"))
    manual, bounced = [ok(await client.get(f"/contacts/{lead['contactId']}")) for lead in leads]
    ok(await client.post("/suppressions", json={"emails": [manual["email"]], "detail": "by phone"}))
    async with database.write() as conn:
        await suppressions.suppress(
            conn, account_id=tenant.account_id, email=bounced["email"], reason="bounced", now=now()
        )
    for contact in (manual, bounced):
        async with database.write() as conn:
            await unsubscribe_lead(
                conn, campaign_id=campaign["id"], contact_id=contact["id"], source="page", now=now()
            )
        (entry,) = await entries(client, search=contact["email"])
        assert (entry["reason"], entry["detail"], entry["campaignId"]) == (
            "unsubscribed",
            "unsubscribed (page)",
            campaign["id"],
        )
        assert (
            error(await client.delete(entry_path(contact["email"])), 409, "INVALID_STATE")["source"] == "page"
        )
    # A later bounce or manual add leaves the unsubscribe as it is.
    async with database.write() as conn:
        added = await suppressions.suppress(
            conn, account_id=tenant.account_id, email=manual["email"], reason="bounced", now=now()
        )
    assert added is False
    answer = ok(await client.post("/suppressions", json={"emails": [manual["email"]]}))
    assert [item["reason"] for item in answer["existing"]] == ["unsubscribed"]


async def test_manual_and_bounced_entries_are_still_deleted(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    bounced = unique_email("bounced")
    async with database.write() as conn:
        await suppressions.suppress(
            conn, account_id=tenant.account_id, email=bounced, reason="bounced", now=now(), detail="550"
        )
    ok(
        await client.post(
            "/suppressions", json={"emails": ["manual@gone.example"], "domains": ["gone.example"]}
        )
    )
    for entry in (bounced, "manual@gone.example", "@gone.example"):
        response = await client.delete(entry_path(entry))
        assert (response.status_code, response.content) == (204, b""), response.text
    assert await entries(client) == []


async def test_another_accounts_unsubscribe_is_a_404_not_a_409(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, database: Database
) -> None:
    _campaign, contact = await unsubscribed_lead(client, database)
    details = error(await other_client.delete(entry_path(contact["email"])), 404, "NOT_FOUND")
    assert details == {"entry": contact["email"]}
    assert [item["reason"] for item in await entries(client, search=contact["email"])] == ["unsubscribed"]


@pytest.mark.parametrize(
    "entry", ["not-an-entry", "@", "com", "@com", "a@@b.example", "@-bad-.example", "a@b"]
)
async def test_delete_with_a_malformed_entry_is_400(client: httpx.AsyncClient, entry: str) -> None:
    error(await client.delete(entry_path(entry)), 400, "VALIDATION_ERROR", fields=("entry",))


async def test_another_accounts_entries_are_invisible_and_404(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    ok(await client.post("/suppressions", json={"emails": ["ada@iso.example"], "domains": ["iso.example"]}))
    assert await entries(other_client) == []
    assert await entries(other_client, search="iso.example") == []
    for entry in ("ada@iso.example", "@iso.example"):
        error(await other_client.delete(entry_path(entry)), 404, "NOT_FOUND")
    assert len(await entries(client)) == 2  # untouched
    # the same entry on the other account is its own
    theirs = ok(await other_client.post("/suppressions", json={"emails": ["ada@iso.example"]}))
    assert [item["entry"] for item in theirs["added"]] == ["ada@iso.example"]
    assert (await other_client.delete(entry_path("ada@iso.example"))).status_code == 204
    assert len(await entries(client)) == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"emails": ["ada@example.com", "not-an-email"]}, ("emails.1",)),
        ({"emails": ["ada@localhost"]}, ("emails.0",)),
        ({"emails": [("x" * 65) + "@example.com"]}, ("emails.0",)),
        ({"domains": ["com"]}, ("domains.0",)),
        (
            {"domains": ["ok.example", "bad..example", "-x-.example", "a b.example", "@"]},
            ("domains.1", "domains.2", "domains.3", "domains.4"),
        ),
        ({"domains": ["x" * 64 + ".example"]}, ("domains.0",)),
        ({"domains": ["xn--zz-.example", "xn--bcher-kva.example"]}, ("domains.0",)),
        ({"emails": ["ada@example.com", "ADA@example.com"]}, ("emails.1",)),
        ({"domains": ["dup.example", "@DUP.example."]}, ("domains.1",)),
        ({"domains": ["bücher.example", "xn--bcher-kva.example"]}, ("domains.1",)),
        (
            {
                "emails": [f"u{i}@example.com" for i in range(600)],
                "domains": [f"d{i}.example" for i in range(401)],
            },
            ("body",),
        ),
        ({"emails": [f"u{i}@example.com" for i in range(1001)]}, ("emails",)),
        ({"emails": []}, ("body",)),
        ({}, ("body",)),
        ({"emails": ["ada@example.com"], "reason": "bounced"}, ("reason",)),
        ({"emails": ["ada@example.com"], "detail": "x" * 1001}, ("detail",)),
        ({"emails": "ada@example.com"}, ("emails",)),
    ],
)
async def test_bad_input_is_a_clear_400_and_adds_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], fields: tuple[str, ...]
) -> None:
    response = await client.post("/suppressions", json=body)
    details = error(response, 400, "VALIDATION_ERROR", fields=fields)
    message = response.json()["error"]["message"]
    assert message.startswith(next(iter(details))), message
    assert await entries(client) == []


async def test_duplicate_messages_name_the_first_place(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/suppressions", json={"emails": ["a@x.example", "b@x.example", "A@X.example"]}
    )
    assert error(response, 400, "VALIDATION_ERROR") == {"emails.2": "repeats emails.0 (a@x.example)"}


async def test_a_thousand_entries_in_one_request_are_added(client: httpx.AsyncClient) -> None:
    body = {
        "emails": [f"u{i}@many.example" for i in range(700)],
        "domains": [f"d{i}.example" for i in range(300)],
    }
    answer = ok(await client.post("/suppressions", json=body))
    assert (len(answer["added"]), answer["existing"]) == (1000, [])
    assert (await client.get("/suppressions", params={"perPage": 1})).json()["meta"]["total"] == 1000


async def test_adding_contacts_to_a_campaign_reports_the_suppressed_ones(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    plain = await create_contact(client, email=unique_email("plain", "fine.example"))
    by_address = await create_contact(client, email=unique_email("addr", "fine.example"))
    by_domain = await create_contact(client, email=unique_email("dom", "blocked.example"))
    sub = await create_contact(client, email=unique_email("sub", "mail.blocked.example"))  # not included
    ok(
        await client.post(
            "/suppressions", json={"emails": [by_address["email"]], "domains": ["blocked.example"]}
        )
    )
    url = f"/campaigns/{campaign['id']}/contacts"
    ids = [plain["id"], by_address["id"], by_domain["id"], sub["id"]]
    answer = ok(await client.post(url, json={"contactIds": ids}))
    assert (answer["added"], answer["contactCount"], answer["suppressed"]) == (4, 4, 2)
    assert answer["suppressedContactIds"] == sorted([by_address["id"], by_domain["id"]])
    again = ok(await client.post(url, json={"contactIds": ids}))  # nothing new added: nothing to report
    assert (again["added"], again["suppressed"], again["suppressedContactIds"]) == (0, 0, [])


async def test_contact_import_flags_rows_suppressed_by_domain(client: httpx.AsyncClient) -> None:
    ok(await client.post("/suppressions", json={"domains": ["imported.example"]}))
    rows = [
        {"email": unique_email("a", "imported.example")},
        {"email": unique_email("b", "sub.imported.example")},
        {"email": unique_email("c", "other.example")},
    ]
    results = ok(await client.post("/contacts/batch", json={"contacts": rows}))["results"]
    assert [result.get("suppressed", False) for result in results] == [True, False, False]
