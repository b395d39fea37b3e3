"""The mock's suppression operations: examples, a 204 without a body, and the server's input rules."""

from __future__ import annotations

import httpx

from tests.utils.assertions import error, ok


async def test_list_and_add_answer_the_contract_examples(client: httpx.AsyncClient) -> None:
    listed = ok(await client.get("/suppressions", params={"reason": "manual", "search": "example.com"}))
    assert [item["entry"] for item in listed] == [
        "@competitor.example",
        "grace@example.com",
        "alan@example.com",
    ]
    answer = ok(await client.post("/suppressions", json={"domains": ["competitor.example"]}))
    assert {"added", "existing"} == set(answer)
    existing = await client.post(
        "/suppressions", json={"domains": ["competitor.example"]}, headers={"Prefer": "example=allExisting"}
    )
    assert ok(existing)["added"] == []


GRACE_409 = {
    "entry": "grace@example.com",
    "reason": "unsubscribed",
    "unsubscribedAt": "2025-01-07T16:20:00Z",
    "source": "one-click",
    "campaignId": "cmp_9Rt4Ws2Qa7Lm",
}


async def test_deleting_the_listed_unsubscribe_is_the_documented_409(client: httpx.AsyncClient) -> None:
    # `GET /suppressions`'s example lists grace@example.com as unsubscribed: the server would refuse.
    for spelling in ("grace@example.com", "Grace@Example.COM"):
        response = await client.delete(f"/suppressions/{spelling}")
        assert error(response, 409, "INVALID_STATE") == GRACE_409
        assert "only the recipient can opt in again" in response.json()["error"]["message"]
    for entry in ("alan@example.com", "@competitor.example", "ada@example.com"):  # bounced, manual, absent
        response = await client.delete(f"/suppressions/{entry}")
        assert (response.status_code, response.content) == (204, b""), entry
    # an explicit Prefer wins: any entry can show the 409, and the unsubscribe the 204
    other = await client.delete("/suppressions/ada@example.com", headers={"Prefer": "code=409"})
    assert error(other, 409, "INVALID_STATE") == GRACE_409
    named = await client.delete("/suppressions/ada@example.com", headers={"Prefer": "example=unsubscribed"})
    assert error(named, 409, "INVALID_STATE") == GRACE_409
    forced = await client.delete("/suppressions/grace@example.com", headers={"Prefer": "code=204"})
    assert forced.status_code == 204


async def test_deleting_the_listed_unsubscribe_with_dynamic_data_is_a_generated_409(
    client: httpx.AsyncClient,
) -> None:
    for seed in range(20):
        response = await client.delete(
            "/suppressions/grace@example.com", headers={"Prefer": f"dynamic=true, seed={seed}"}
        )
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "INVALID_STATE"
    generated = await client.delete("/suppressions/alan@example.com", headers={"Prefer": "dynamic=true"})
    assert (generated.status_code, generated.content) == (204, b"")


async def test_delete_is_a_204_without_a_body_or_the_documented_404(client: httpx.AsyncClient) -> None:
    response = await client.delete("/suppressions/@competitor.example")
    assert (response.status_code, response.content) == (204, b"")
    missing = await client.delete("/suppressions/ada%2Fb@example.com", headers={"Prefer": "code=404"})
    assert error(missing, 404, "NOT_FOUND") == {"entry": "ada@example.com"}


async def test_the_servers_entry_rules_apply(client: httpx.AsyncClient) -> None:
    duplicate = await client.post("/suppressions", json={"emails": ["a@x.example", "A@x.example"]})
    assert error(duplicate, 400, "VALIDATION_ERROR") == {"emails.1": "repeats emails.0 (a@x.example)"}
    error(
        await client.post("/suppressions", json={"domains": ["com"]}),
        400,
        "VALIDATION_ERROR",
        fields=("domains.0",),
    )
    error(await client.post("/suppressions", json={"emails": []}), 400, "VALIDATION_ERROR", fields=("body",))
    error(await client.delete("/suppressions/not-an-entry"), 400, "VALIDATION_ERROR", fields=("entry",))


async def test_adding_contacts_to_a_campaign_shows_the_suppressed_ones(client: httpx.AsyncClient) -> None:
    url = "/campaigns/cmp_9Rt4Ws2Qa7Lm/contacts"
    answer = ok(
        await client.post(url, json={"groupId": "grp_456"}, headers={"Prefer": "example=someSuppressed"})
    )
    assert (answer["suppressed"], answer["suppressedContactIds"]) == (1, ["ctc_3Vb8NwE5tY1k"])


async def test_generated_entries_are_an_address_or_a_domain_never_both(client: httpx.AsyncClient) -> None:
    kinds = {"address": 0, "domain": 0}
    for seed in range(30):
        for params in ({"perPage": 100}, {}):  # a requested page, and the default body
            response = await client.get(
                "/suppressions", params=params, headers={"Prefer": f"dynamic=true, seed={seed}"}
            )
            for item in ok(response):
                assert (item["email"] is None) != (item["domain"] is None), item
                if item["domain"] is not None:
                    kinds["domain"] += 1
                    assert item["entry"] == "@" + item["domain"], item
                    assert (item["reason"], item["campaignId"]) == ("manual", None), item
                else:
                    kinds["address"] += 1
                    local, _, domain = item["email"].partition("@")
                    assert item["entry"] == item["email"] and local and "." in domain, item
                if item["reason"] == "manual":
                    assert item["campaignId"] is None, item
    assert min(kinds.values()) > 300, kinds  # both kinds, over about 3,000 rows
    for seed in range(30):  # the same rule inside POST's `added` and `existing`
        response = await client.post(
            "/suppressions",
            json={"emails": ["ada@example.com"]},
            headers={"Prefer": f"dynamic=true, seed={seed}"},
        )
        answer = ok(response)
        for item in answer["added"] + answer["existing"]:
            assert (item["email"] is None) != (item["domain"] is None), item
            assert item["entry"] in (item["email"], "@" + str(item["domain"])), item
