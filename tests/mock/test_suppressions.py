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
