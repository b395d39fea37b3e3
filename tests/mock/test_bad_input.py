"""The kinds of bad input of issue 10 on the mock: refused (or understood) exactly as the real server does
(tests/api/test_bad_input.py), plus the mock's paging: `meta.page`/`meta.perPage` and dynamic `perPage`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.test_bad_input import (
    BLANK,
    CONTROL,
    JSON_SPELLINGS,
    NOT_ASCII_INTEGERS,
    NOT_URIS,
    PRIVATE_HOSTS,
)
from tests.mock.helpers import envelope_error
from tests.utils.factories import email_account_body

CONTACT = "/contacts/ctc_7Hq2LmX9pR4s"


def details(response: httpx.Response, *fields: str) -> dict[str, Any]:
    found = envelope_error(response, 400, "VALIDATION_ERROR")
    for field in fields:
        assert field in found, (field, found)
    return found


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
async def test_media_type_any_spelling_of_application_json_is_validated(
    client: httpx.AsyncClient, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    assert (await client.post("/groups", content=b'{"name":"x"}', headers=headers)).status_code == 201
    details(await client.post("/groups", content=b"garbage", headers=headers), "body")
    details(await client.post("/groups", content=b'{"nome":"x"}', headers=headers), "nome", "name")


async def test_a_body_without_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/groups", content=b'{"name":"x"}')
    assert envelope_error(response, 415, "UNSUPPORTED_MEDIA_TYPE") == {"contentType": ""}


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
async def test_integer_query_parameters_take_ascii_digits_only(client: httpx.AsyncClient, value: str) -> None:
    assert set(details(await client.get("/contacts", params={"page": value}), "page")) == {"page"}


async def test_scalar_query_parameter_given_twice_is_400(client: httpx.AsyncClient) -> None:
    found = details(await client.get("/contacts?email=a@x.com&email=b@x.com"), "email")
    assert found["email"] == "must be given at most once"


@pytest.mark.parametrize("url", NOT_URIS)
async def test_webhook_url_that_is_not_an_rfc3986_uri_is_400(client: httpx.AsyncClient, url: str) -> None:
    found = details(await client.post("/webhooks", json={"url": url, "events": ["email.sent"]}), "url")
    assert "RFC 3986" in found["url"]


@pytest.mark.parametrize("value", CONTROL)
async def test_header_bound_fields_refuse_control_characters(client: httpx.AsyncClient, value: str) -> None:
    details(await client.post("/email-accounts", json=email_account_body(fromName=value)), "fromName")
    details(await client.put("/email-accounts/acc_123", json={"fromName": value}), "fromName")
    steps = [{"subject": value, "body": "Hi"}]
    details(await client.post("/campaigns", json={"name": "c", "steps": steps}), "steps.0.subject")
    for field in ("firstName", "lastName", "company"):
        details(await client.post("/contacts", json={"email": "a@example.com", field: value}), field)
    body = {"email": "a@example.com", "customFields": {"title": value}}
    details(await client.post("/contacts", json=body), "customFields.title")


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_smtp_host_pointing_at_a_private_place_is_400(client: httpx.AsyncClient, host: str) -> None:
    body = email_account_body()
    body["smtp"]["host"] = host
    details(await client.post("/email-accounts", json=body), "smtp.host")
    details(await client.put("/email-accounts/acc_123", json={"smtp": {"host": host}}), "smtp.host")


async def test_authorization_parser_is_the_servers(anonymous: httpx.AsyncClient) -> None:
    for header in ("Bearer\tany-token", "bearer  any-token", "BEARER any-token "):
        assert (await anonymous.get("/groups", headers={"Authorization": header})).status_code == 200, header
    for header in ("Bearer a b", "Bearer,x", "Token x"):
        envelope_error(await anonymous.get("/groups", headers={"Authorization": header}), 401, "UNAUTHORIZED")


async def test_error_messages_name_the_real_reason(client: httpx.AsyncClient) -> None:
    body = {"email": "a@example.com", "customFields": {"bio": "x" * 1001}}
    assert details(await client.post("/contacts", json=body))["customFields.bio"] == (
        "must be at most 1000 characters"
    )
    response = await client.post("/contacts", json={"email": "añ@example.com"})
    assert details(response)["email"] == "must be a valid email address"
    assert "[A-Za-z" not in response.text
    response = await client.post("/groups/grp_456/contacts", json={"contactIds": [""]})
    assert response.json()["error"]["message"] == "contactIds.0 must not be empty"


@pytest.mark.parametrize("name", BLANK)
async def test_blank_names_are_400(client: httpx.AsyncClient, name: str) -> None:
    details(await client.post("/groups", json={"name": name}), "name")
    details(await client.post("/campaigns", json={"name": name}), "name")
    details(await client.post("/email-accounts", json=email_account_body(fromName=name)), "fromName")


@pytest.mark.parametrize("key", ["", "9lives", "has space", "a" * 65, "ключ"])
async def test_custom_field_keys_outside_the_alphabet_are_400(client: httpx.AsyncClient, key: str) -> None:
    body = {"email": "a@example.com", "customFields": {key: "v"}}
    details(await client.post("/contacts", json=body), f"customFields.{key}")


async def test_nul_is_400_as_the_pattern_says(client: httpx.AsyncClient) -> None:
    found = details(
        await client.post("/groups", json={"name": "x", "description": "a\u0000b"}), "description"
    )
    assert found["description"] == "must not contain NUL characters"


async def test_api_root_points_at_the_docs_and_the_contract(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["docs"] == "/v1/ui/"
    assert response.json()["data"]["openapi"] == "/v1/openapi.json"


# --- paging -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "per_page"), [(1, 1), (3, 5), (2, 100)])
async def test_meta_page_and_per_page_reflect_the_request(
    client: httpx.AsyncClient, page: int, per_page: int
) -> None:
    for path in ("/contacts", "/groups", "/email-accounts", "/campaigns", "/webhooks"):
        body = (await client.get(path, params={"page": page, "perPage": per_page})).json()
        assert body["meta"]["page"] == page and body["meta"]["perPage"] == per_page, (path, body["meta"])
        assert len(body["data"]) <= per_page
        assert body["meta"]["total"] >= (page - 1) * per_page + len(body["data"])


@pytest.mark.parametrize("per_page", [1, 7, 100])
async def test_dynamic_lists_honour_per_page(client: httpx.AsyncClient, per_page: int) -> None:
    response = await client.get(
        "/contacts", params={"perPage": per_page, "page": 2}, headers={"Prefer": "dynamic=true, seed=3"}
    )
    body = response.json()
    assert len(body["data"]) == per_page
    assert body["meta"]["page"] == 2 and body["meta"]["perPage"] == per_page
    assert body["meta"]["total"] >= 2 * per_page
    assert json.loads(response.text) == body
