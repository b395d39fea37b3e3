"""Kinds of bad input real clients send (issue 10), each refused or understood as a kind, on both databases.

One test (or parametrised family) per kind; the mock's side is tests/mock/test_bad_input.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fluenzr_server.ratelimit import RateLimiter
from tests.api.conftest import AppFactory, api_client
from tests.conftest import Tenant
from tests.utils.assertions import error, ok, ok_object
from tests.utils.factories import (
    STEP,
    create_campaign,
    create_contact,
    create_email_account,
    create_group,
    email_account_body,
    unique_email,
)

# --- 1. media types are case-insensitive ---------------------------------------------------------------

JSON_SPELLINGS = [
    "application/JSON",
    "Application/Json",
    "APPLICATION/JSON; CHARSET=UTF-8",
    "application/json ; charset=utf-8",
    'application/json;charset="utf-8"',
    "application/json\t;\tcharset=utf-8",
]


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
async def test_media_type_any_spelling_of_application_json_is_json(
    client: httpx.AsyncClient, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    group = ok_object(await client.post("/groups", content=b'{"name":"x"}', headers=headers), 201)
    assert group["name"] == "x"
    # ... and validated as JSON: garbage and schema errors are 400s, not 500s or 201s.
    error(await client.post("/groups", content=b"garbage", headers=headers), 400, "VALIDATION_ERROR")
    response = await client.post("/groups", content=b'{"nome":"x"}', headers=headers)
    error(response, 400, "VALIDATION_ERROR", fields=("nome", "name"))
    contact = await create_contact(client)
    response = await client.put(f"/contacts/{contact['id']}", content=b'{"company":"Acme"}', headers=headers)
    assert ok_object(response)["company"] == "Acme"


async def test_media_type_other_than_json_is_still_415(client: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/jsonx", "application/x-www-form-urlencoded"):
        response = await client.post(
            "/groups", content=b'{"name":"x"}', headers={"Content-Type": content_type}
        )
        error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


# --- 2. integer query parameters are ASCII digits --------------------------------------------------------

NOT_ASCII_INTEGERS = ["1_0", "+1", " 1", "1 ", "\uff11", "\u0661", "1.0", "1e1", "0x1", "", "١٠"]


@pytest.mark.parametrize("value", NOT_ASCII_INTEGERS)
@pytest.mark.parametrize("name", ["page", "perPage"])
async def test_integer_query_parameters_take_ascii_digits_only(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    details = error(
        await client.get("/contacts", params={name: value}), 400, "VALIDATION_ERROR", fields=(name,)
    )
    assert set(details) == {name}


async def test_integer_query_parameters_in_ascii_digits_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/groups", params={"page": "02", "perPage": "7"})
    assert response.json()["meta"] == {"page": 2, "perPage": 7, "total": response.json()["meta"]["total"]}


# --- 3. a scalar query parameter is given once ----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["email=a@x.com&email=b@x.com", "page=1&page=2", "sort=email&sort=email", "perPage=5&perPage=5"],
)
async def test_scalar_query_parameter_given_twice_is_400(client: httpx.AsyncClient, query: str) -> None:
    name = query.split("=", 1)[0]
    details = error(await client.get(f"/contacts?{query}"), 400, "VALIDATION_ERROR", fields=(name,))
    assert details[name] == "must be given at most once"


# --- 4. webhook URLs are RFC 3986 absolute URIs ---------------------------------------------------------

NOT_URIS = [
    "https://hooks.example.com/a\r\nX-Injected: 1",
    "https://hooks.example.com/a\n",
    " https://hooks.example.com/a",
    "https://hooks.example.com/a ",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/a\tb",
    "https://hooks.example.com/%zz",
    "https://hooks.example.com/%4",
    "https://hooks.example.com/caf\u00e9",
    "https://hooks.example.com/a\x7f",
    "https://hooks.example.com/a<b>",
    "https://hooks.example.com/{x}",
]


@pytest.mark.parametrize("url", NOT_URIS)
async def test_webhook_url_that_is_not_an_rfc3986_uri_is_400(client: httpx.AsyncClient, url: str) -> None:
    response = await client.post("/webhooks", json={"url": url, "events": ["email.sent"]})
    details = error(response, 400, "VALIDATION_ERROR", fields=("url",))
    assert "RFC 3986" in details["url"]
    assert ok(await client.get("/webhooks")) == []


async def test_webhook_url_with_escapes_and_query_is_accepted(client: httpx.AsyncClient) -> None:
    url = "https://hooks.example.com/a%20b/c?x=1&y=%C3%A9#frag"
    response = await client.post("/webhooks", json={"url": url, "events": ["email.sent"]})
    assert ok_object(response, 201)["url"] == url


# --- 5. values bound for email headers are one line ------------------------------------------------------

CONTROL = [
    "Sam\r\nBcc: victim@example.com",
    "Sam\n",
    "Sam\rX",
    "a\tb",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\x1bb",
]


@pytest.mark.parametrize("value", CONTROL)
async def test_header_bound_fields_refuse_control_characters(client: httpx.AsyncClient, value: str) -> None:
    body = email_account_body(fromName=value)
    error(await client.post("/email-accounts", json=body), 400, "VALIDATION_ERROR", fields=("fromName",))
    account = await create_email_account(client)
    response = await client.put(f"/email-accounts/{account['id']}", json={"fromName": value})
    error(response, 400, "VALIDATION_ERROR", fields=("fromName",))
    steps = [{"subject": value, "body": "Hi"}]
    response = await client.post("/campaigns", json={"name": "c", "steps": steps})
    error(response, 400, "VALIDATION_ERROR", fields=("steps.0.subject",))
    for field in ("firstName", "lastName", "company"):
        response = await client.post("/contacts", json={"email": unique_email(), field: value})
        error(response, 400, "VALIDATION_ERROR", fields=(field,))
    response = await client.post(
        "/contacts", json={"email": unique_email(), "customFields": {"title": value}}
    )
    details = error(response, 400, "VALIDATION_ERROR", fields=("customFields.title",))
    assert details["customFields.title"] == "must not contain line breaks or other control characters"
    contact = await create_contact(client)
    response = await client.put(f"/contacts/{contact['id']}", json={"company": value})
    error(response, 400, "VALIDATION_ERROR", fields=("company",))


async def test_header_bound_fields_keep_ordinary_unicode(client: httpx.AsyncClient) -> None:
    contact = await create_contact(client, firstName="Zoë", lastName="O'Brien-Łukasz", company="株式会社 Ω")
    assert (contact["firstName"], contact["company"]) == ("Zoë", "株式会社 Ω")
    account = await create_email_account(client, fromName="Sam «Acme» 👋")
    assert account["fromName"] == "Sam «Acme» 👋"


# --- 6. SMTP hosts follow the same host policy as webhook URLs -------------------------------------------

PRIVATE_HOSTS = [
    "169.254.169.254",
    "127.0.0.1",
    "localhost",
    "[::1]",
    "::1",
    "10.0.0.5",
    "192.168.1.1",
    "2130706433",
    "127.1",
    "[::ffff:127.0.0.1]",
    "metadata.google.internal",
    "mail.localhost",
    "printer.local",
    "mailserver",
    "0.0.0.0",  # noqa: S104
]


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_smtp_host_pointing_at_a_private_place_is_400(client: httpx.AsyncClient, host: str) -> None:
    body = email_account_body()
    body["smtp"]["host"] = host
    error(await client.post("/email-accounts", json=body), 400, "VALIDATION_ERROR", fields=("smtp.host",))
    account = await create_email_account(client)
    response = await client.put(f"/email-accounts/{account['id']}", json={"smtp": {"host": host}})
    error(response, 400, "VALIDATION_ERROR", fields=("smtp.host",))
    assert (
        ok_object(await client.get(f"/email-accounts/{account['id']}"))["smtp"]["host"] == "smtp.acme.example"
    )


@pytest.mark.parametrize("setting", ["allow_private_hosts", "allow_http_webhooks"])
async def test_smtp_host_may_be_private_only_when_private_hosts_are_allowed(
    make_app: AppFactory, tenant: Tenant, setting: str
) -> None:
    async with api_client(make_app(**{setting: True}), tenant.api_key) as client:
        for host in ("127.0.0.1", "localhost", "[::1]"):
            body = email_account_body()
            body["smtp"]["host"] = host
            assert ok_object(await client.post("/email-accounts", json=body), 201)["smtp"]["host"] == host


async def test_smtp_host_public_names_and_addresses_are_accepted(client: httpx.AsyncClient) -> None:
    for host in ("smtp.gmail.com", "93.184.216.34", "[2606:4700::1111]", "SMTP.Example.COM"):
        body = email_account_body()
        body["smtp"]["host"] = host
        assert ok_object(await client.post("/email-accounts", json=body), 201)["smtp"]["host"] == host


# --- 7. the rate limiter counts every spelling of the header that authenticates ------------------------

SPELLINGS = ["Bearer {key}", "Bearer\t{key}", "bearer  {key}", "BEARER {key} ", "Bearer {key}\t"]


async def test_rate_limit_counts_every_authenticating_spelling_against_the_account(
    make_app: AppFactory, tenant: Tenant
) -> None:
    rate = f"{len(SPELLINGS)}/minute"
    app = make_app(rate_limit=rate, limiter=RateLimiter(rate))
    async with api_client(app) as client:
        for spelling in SPELLINGS:
            response = await client.get(
                "/groups", headers={"Authorization": spelling.format(key=tenant.api_key)}
            )
            assert response.status_code == 200, (spelling, response.text)
        # The account's quota is spent, whichever spelling comes next, from whichever address.
        for spelling in SPELLINGS:
            response = await client.get(
                "/groups", headers={"Authorization": spelling.format(key=tenant.api_key)}
            )
            error(response, 429, "RATE_LIMITED")
    async with api_client(app, address="10.9.9.9") as client:
        response = await client.get("/groups", headers={"Authorization": f"Bearer\t{tenant.api_key}"})
        error(response, 429, "RATE_LIMITED")


@pytest.mark.parametrize(
    "header", ["Bearer {key} extra", "Bearer,{key}", "Token {key}", "Bearer{key}", "Bearer {key}\r\nX: 1"]
)
async def test_authorization_headers_the_parser_refuses_do_not_authenticate(
    anonymous: httpx.AsyncClient, tenant: Tenant, header: str
) -> None:
    response = await anonymous.get("/groups", headers={"Authorization": header.format(key=tenant.api_key)})
    error(response, 401, "UNAUTHORIZED")


# --- 8. error messages name the real reason -------------------------------------------------------------


async def test_error_messages_name_the_real_reason(client: httpx.AsyncClient) -> None:
    body = {"email": unique_email(), "customFields": {"bio": "x" * 1001}}
    response = await client.post("/contacts", json=body)
    details = error(response, 400, "VALIDATION_ERROR", fields=("customFields.bio",))
    assert details["customFields.bio"] == "must be at most 1000 characters"
    body = {"email": unique_email(), "customFields": {"bio": ["a list"]}}
    details = error(await client.post("/contacts", json=body), 400, "VALIDATION_ERROR")
    assert details["customFields.bio"] == "must be a string, a number or a boolean"


async def test_error_messages_never_show_a_regular_expression(client: httpx.AsyncClient) -> None:
    for body in (
        {"email": "añ@example.com"},
        {"email": "a@b"},
        {"email": unique_email(), "firstName": "a\nb"},
    ):
        response = await client.post("/contacts", json=body)
        error(response, 400, "VALIDATION_ERROR")
        text = json.dumps(response.json())
        for regex_piece in ("^", "$", "[A-Za-z", "\\\\u00", "{0,61}"):
            assert regex_piece not in text, text


async def test_error_messages_keep_the_field_names_case(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    response = await client.post(f"/groups/{group['id']}/contacts", json={"contactIds": [""]})
    error(response, 400, "VALIDATION_ERROR", fields=("contactIds.0",))
    assert response.json()["error"]["message"] == "contactIds.0 must not be empty"
    response = await client.post("/contacts", json={})
    assert response.json()["error"]["message"] == "email is required"


# --- 9. names are not blank; custom field keys have an alphabet ------------------------------------------

BLANK = ["   ", "\u200b", "\u3000", " \u00a0 ", "\ufeff", "\u2060", "\u200b \u200d"]


@pytest.mark.parametrize("name", BLANK)
async def test_blank_names_are_400_wherever_a_name_is_required(client: httpx.AsyncClient, name: str) -> None:
    error(await client.post("/groups", json={"name": name}), 400, "VALIDATION_ERROR", fields=("name",))
    error(await client.post("/campaigns", json={"name": name}), 400, "VALIDATION_ERROR", fields=("name",))
    body = email_account_body(fromName=name)
    error(await client.post("/email-accounts", json=body), 400, "VALIDATION_ERROR", fields=("fromName",))
    response = await client.post("/campaigns", json={"name": "c", "steps": [{**STEP, "subject": name}]})
    error(response, 400, "VALIDATION_ERROR", fields=("steps.0.subject",))
    group = await create_group(client)
    response = await client.put(f"/groups/{group['id']}", json={"name": name})
    error(response, 400, "VALIDATION_ERROR", fields=("name",))
    campaign = await create_campaign(client)
    response = await client.put(f"/campaigns/{campaign['id']}", json={"name": name})
    error(response, 400, "VALIDATION_ERROR", fields=("name",))


async def test_names_with_a_visible_character_are_kept_as_sent(client: httpx.AsyncClient) -> None:
    assert (await create_group(client, name="  Q1 \u200b prospects "))["name"] == "  Q1 \u200b prospects "
    assert (await create_campaign(client, name="é"))["name"] == "é"


@pytest.mark.parametrize("key", ["", "9lives", "has space", "a" * 65, "ключ", "a-b", "a.b", "a\nb", "{{x}}"])
async def test_custom_field_keys_outside_the_alphabet_are_400(client: httpx.AsyncClient, key: str) -> None:
    body = {"email": unique_email(), "customFields": {key: "v"}}
    details = error(await client.post("/contacts", json=body), 400, "VALIDATION_ERROR")
    assert details == {
        f"customFields.{key}": "must be 1 to 64 letters (A-Z, a-z), digits or underscores, "
        "not starting with a digit"
    }
    contact = await create_contact(client)
    response = await client.put(f"/contacts/{contact['id']}", json={"customFields": {key: 1}})
    error(response, 400, "VALIDATION_ERROR", fields=(f"customFields.{key}",))


async def test_custom_field_keys_in_the_alphabet_are_accepted(client: httpx.AsyncClient) -> None:
    fields = {"a" * 64: 1, "_x": True, "Title_2": "CTO", "z": "ok"}
    assert (await create_contact(client, customFields=fields))["customFields"] == fields


# --- 11. idempotency compares requests, not bytes -------------------------------------------------------


async def test_idempotency_same_json_in_other_bytes_replays(client: httpx.AsyncClient) -> None:
    email = unique_email()
    headers = {"Idempotency-Key": "harden-" + email, "Content-Type": "application/json"}
    first_body = json.dumps({"email": email, "firstName": "Ada", "customFields": {"a": 1, "b": "x"}})
    first = await client.post("/contacts", content=first_body, headers=headers)
    created = ok_object(first, 201)
    variants = [
        json.dumps({"customFields": {"b": "x", "a": 1}, "firstName": "Ada", "email": email}, indent=4),
        '  {"firstName" :"Ada","email":"' + email + '" , "customFields":{"b":"x","a":1}}\n',
        json.dumps(
            {"email": email, "firstName": "\u0041da", "customFields": {"a": 1, "b": "x"}}, ensure_ascii=True
        ),
    ]
    for variant in variants:
        again = await client.post("/contacts", content=variant, headers=headers)
        assert again.status_code == 201, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["data"]["id"] == created["id"]
    different = json.dumps({"email": email, "firstName": "Ada", "customFields": {"a": 2, "b": "x"}})
    response = await client.post("/contacts", content=different, headers=headers)
    error(response, 400, "VALIDATION_ERROR", fields=("Idempotency-Key",))


# --- 12. the rules live in the schemas: NUL --------------------------------------------------------------


async def test_nul_in_any_string_is_400_as_its_pattern_says(client: httpx.AsyncClient) -> None:
    response = await client.post("/groups", json={"name": "x", "description": "a\u0000b"})
    details = error(response, 400, "VALIDATION_ERROR", fields=("description",))
    assert details["description"] == "must not contain NUL characters"
    response = await client.get("/contacts", params={"email": "a\u0000"})
    error(response, 400, "VALIDATION_ERROR", fields=("email",))


# --- also: GET /v1/ -----------------------------------------------------------------------------------


async def test_api_root_points_at_the_docs_and_the_contract(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/")
    data: dict[str, Any] = ok_object(response)
    assert data["docs"] == "/v1/ui/"
    assert data["openapi"] == "/v1/openapi.json"
    assert (await anonymous.get(data["openapi"].removeprefix("/v1"))).status_code == 200
    assert (await anonymous.get(data["docs"].removeprefix("/v1"))).status_code == 200
