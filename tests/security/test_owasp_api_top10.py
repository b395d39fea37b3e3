"""The OWASP API Security Top 10 (2023), item by item, against the real app.

In-process tests use the shared `client`/`other_client`/`anonymous` fixtures, so they run on SQLite and on
PostgreSQL. Tests that need their own app (rate limits, production settings, a failing dependency) build it
with `isolated_app`; each app must carry only its own edge middleware
(`test_api8_each_app_has_only_its_own_edge_middleware`).

Not applicable today:
- API10 Unsafe consumption of APIs: the server consumes no third-party API yet. SMTP sending and webhook
  delivery (the workers) are not implemented; when they are, test here that delivery re-checks the resolved
  address, follows no redirect, bounds response size and time, and never trusts the receiver's reply.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncASGIApp
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from sqlalchemy import select
from starlette.routing import Mount, Route

from fluenzr_server.app import build_app
from fluenzr_server.ids import API_KEY_PREFIX
from fluenzr_server.ratelimit import Decision, RateLimiter
from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts
from fluenzr_server.services import contacts as contacts_service
from fluenzr_server.settings import Settings
from fluenzr_server.spec import HTTP_METHODS, base_path, load_spec
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests import conftest
from tests.conftest import LiveServer, Tenant, cli, client_for, make_tenant

SPEC = load_spec()
BASE = base_path(SPEC)  # "/v1"

# Every (METHOD, path template) of the contract, e.g. ("GET", "/contacts/{contactId}").
OPERATIONS: list[tuple[str, str]] = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in item
    if method in HTTP_METHODS
]

# Words that must never reach a client: stack traces, framework and library names, the forced error text.
LEAK_MARKERS = (
    "traceback",
    'file "',
    "connexion",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "jsonschema",
    "problem+json",
    "secret internals",
)

EMAIL_ACCOUNT_PASSWORD = "app-password-SHOULD-NEVER-LEAK-123"


# --- helpers ----------------------------------------------------------------------------------------------


def concrete(path: str, value: str = "zz_doesNotExist0") -> str:
    """A contract path template with every parameter filled in."""
    return re.sub(r"\{[^}]+\}", value, path)


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error envelope with this status and code; returns `error`."""
    assert response.status_code == status, response.text
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert body["success"] is False, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    error: dict[str, Any] = body["error"]
    return error


def assert_no_leak(response: httpx.Response) -> None:
    text = (response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())).lower()
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{marker!r} leaked in {response.status_code}: {response.text[:500]}"


def scrub(payload: Any, *ids: str) -> Any:
    """The payload with the given ids replaced by a placeholder, to compare two error responses."""
    text = json.dumps(payload, sort_keys=True)
    for object_id in ids:
        text = text.replace(object_id, "<id>")
    return json.loads(text)


def missing_id(prefix: str) -> str:
    return f"{prefix}_ZzNotThere00000"


@pytest.fixture
def isolated_app(resources: Resources) -> Callable[..., AsyncApp]:
    """A separately built app on the session database (its own settings, limiter and middleware)."""

    def build(settings: Settings, **kwargs: Any) -> AsyncApp:
        return build_app(conftest.resources_for(resources, settings), **kwargs)

    return build


def rate_limited_settings(database_url: str, rate_limit: str) -> Settings:
    return conftest.test_settings(database_url, rate_limit=rate_limit)


def production_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None,
        environment="production",
        database_url=database_url,
        rate_limit="100000/minute",
        secret_key="production-test-secret-key-0123456789abcdef",
        public_url="https://t.acme.example",
        **overrides,
    )


async def create(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def get_data(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def total(client: httpx.AsyncClient, path: str) -> int:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return int(response.json()["meta"]["total"])


def email_account_body(from_email: str = "sales@acme.example") -> dict[str, Any]:
    return {
        "fromEmail": from_email,
        "fromName": "Acme Sales",
        "smtp": {
            "host": "smtp.acme.example",
            "port": 587,
            "username": from_email,
            "password": EMAIL_ACCOUNT_PASSWORD,
            "security": "starttls",
        },
        "dailyLimit": 100,
    }


async def seed_tenant(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """One object of every kind, linked together: contact ∈ group, campaign ∋ contact, sending account."""
    contact = await create(
        client, "/contacts", {"email": "ada@example.com", "firstName": "Ada", "company": "Engines"}
    )
    group = await create(client, "/groups", {"name": "Q1 prospects"})
    added = await client.post(f"/groups/{group['id']}/contacts", json={"contactIds": [contact["id"]]})
    assert added.status_code == 200, added.text
    account = await create(client, "/email-accounts", email_account_body())
    campaign = await create(
        client,
        "/campaigns",
        {
            "name": "Automatizada Q1 2025",
            "emailAccountId": account["id"],
            "steps": [{"subject": "Hola {{firstName}}", "body": "¿Hablamos?"}],
        },
    )
    joined = await client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [contact["id"]]})
    assert joined.status_code == 200, joined.text
    webhook = await create(
        client, "/webhooks", {"url": "https://hooks.example.com/fluenzr", "events": ["email.replied"]}
    )
    return {
        "contact": await get_data(client, f"/contacts/{contact['id']}"),
        "group": await get_data(client, f"/groups/{group['id']}"),
        "email_account": await get_data(client, f"/email-accounts/{account['id']}"),
        "campaign": await get_data(client, f"/campaigns/{campaign['id']}"),
        "webhook": webhook,
    }


# --- API1:2023 Broken Object Level Authorization ------------------------------------------------------------

# (kind, id prefix, method, path under the object, body)
FOREIGN_OBJECT_CALLS = [
    ("contact", "ctc", "GET", "/contacts/{id}", None),
    ("contact", "ctc", "PUT", "/contacts/{id}", {"firstName": "Mallory"}),
    ("contact", "ctc", "DELETE", "/contacts/{id}", None),
    ("group", "grp", "GET", "/groups/{id}", None),
    ("group", "grp", "PUT", "/groups/{id}", {"name": "owned"}),
    ("group", "grp", "DELETE", "/groups/{id}", None),
    ("group", "grp", "POST", "/groups/{id}/contacts", {"contactIds": ["ctc_whatever"]}),
    ("email_account", "acc", "GET", "/email-accounts/{id}", None),
    ("email_account", "acc", "PUT", "/email-accounts/{id}", {"fromName": "owned"}),
    ("email_account", "acc", "DELETE", "/email-accounts/{id}", None),
    ("campaign", "cmp", "GET", "/campaigns/{id}", None),
    ("campaign", "cmp", "PUT", "/campaigns/{id}", {"name": "owned"}),
    ("campaign", "cmp", "POST", "/campaigns/{id}/start", None),
    ("campaign", "cmp", "POST", "/campaigns/{id}/pause", None),
    ("campaign", "cmp", "POST", "/campaigns/{id}/contacts", {"contactIds": ["ctc_whatever"]}),
    ("campaign", "cmp", "GET", "/campaigns/{id}/stats", None),
    ("webhook", "whk", "DELETE", "/webhooks/{id}", None),
]

READ_BACK = {
    "contact": "/contacts/{id}",
    "group": "/groups/{id}",
    "email_account": "/email-accounts/{id}",
    "campaign": "/campaigns/{id}",
}


async def test_api1_bola_foreign_objects_are_not_found_and_untouched(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    """API1:2023 BOLA — tenant B cannot read, update, delete or act on any of tenant A's objects.

    Each call is a 404 NOT_FOUND identical (but for the id) to the answer for an id that does not exist,
    and A's object is unchanged afterwards.
    """
    objects = await seed_tenant(client)
    for kind, prefix, method, template, body in FOREIGN_OBJECT_CALLS:
        foreign_id = objects[kind]["id"]
        foreign = await other_client.request(method, template.format(id=foreign_id), json=body)
        error = assert_envelope(foreign, 404, "NOT_FOUND")
        assert error["details"] == {"id": foreign_id}, (method, template, error)
        absent_id = missing_id(prefix)
        absent = await other_client.request(method, template.format(id=absent_id), json=body)
        assert absent.status_code == 404, absent.text
        assert scrub(foreign.json(), foreign_id) == scrub(absent.json(), absent_id), (method, template)

    for kind, template in READ_BACK.items():
        assert await get_data(client, template.format(id=objects[kind]["id"])) == objects[kind], kind
    webhooks = (await client.get("/webhooks")).json()["data"]
    assert [w["id"] for w in webhooks] == [objects["webhook"]["id"]]
    stats = await get_data(client, f"/campaigns/{objects['campaign']['id']}/stats")
    assert stats["contacts"] == 1


async def test_api1_bola_lists_and_filters_never_show_foreign_objects(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    """API1:2023 BOLA — B's lists hold none of A's objects, even when filtering on A's group id."""
    objects = await seed_tenant(client)
    await seed_tenant(other_client)  # B has look-alike objects of its own (same emails, same names)
    foreign_ids = {obj["id"] for obj in objects.values()}
    for path in ("/contacts", "/groups", "/email-accounts", "/campaigns", "/webhooks"):
        listed = (await other_client.get(path, params={"perPage": 100})).json()
        assert listed["meta"]["total"] == 1, (path, listed)
        assert not foreign_ids & {item["id"] for item in listed["data"]}, path
    by_group = await other_client.get("/contacts", params={"group": objects["group"]["id"]})
    assert by_group.status_code == 200, by_group.text
    assert by_group.json()["data"] == []
    assert by_group.json()["meta"]["total"] == 0


async def test_api1_bola_unique_fields_reveal_nothing_across_tenants(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    """API1:2023 BOLA — uniqueness is per account: B reusing A's contact email or fromEmail is a 201,
    so a 409 can never reveal that another tenant has that address."""
    await seed_tenant(client)
    contact = await other_client.post("/contacts", json={"email": "ADA@example.com"})
    assert contact.status_code == 201, contact.text
    account = await other_client.post("/email-accounts", json=email_account_body())
    assert account.status_code == 201, account.text


async def _compare_foreign_and_missing(
    call: Callable[[str], Any], foreign_id: str, absent_id: str, status: int
) -> dict[str, Any]:
    foreign = await call(foreign_id)
    absent = await call(absent_id)
    error = assert_envelope(foreign, status, "VALIDATION_ERROR" if status == 400 else "NOT_FOUND")
    assert absent.status_code == status, absent.text
    assert scrub(foreign.json(), foreign_id) == scrub(absent.json(), absent_id)
    return error


async def test_api1_bola_foreign_ids_inside_bodies(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    """API1:2023 BOLA — A's ids inside B's request bodies are refused exactly like ids that do not exist:
    A's contact ids in B's group and campaign, A's group in B's campaign, A's emailAccountId in B's
    campaign create and update. Nothing is added or created on either side."""
    objects = await seed_tenant(client)
    a_contact, a_group = objects["contact"]["id"], objects["group"]["id"]
    a_account = objects["email_account"]["id"]
    b_group = await create(other_client, "/groups", {"name": "mine"})
    b_campaign = await create(other_client, "/campaigns", {"name": "mine"})

    async def add_to_group(contact_id: str) -> httpx.Response:
        return await other_client.post(f"/groups/{b_group['id']}/contacts", json={"contactIds": [contact_id]})

    error = await _compare_foreign_and_missing(add_to_group, a_contact, missing_id("ctc"), 400)
    assert error["details"]["unknownIds"] == [a_contact]

    async def add_ids_to_campaign(contact_id: str) -> httpx.Response:
        path = f"/campaigns/{b_campaign['id']}/contacts"
        return await other_client.post(path, json={"contactIds": [contact_id]})

    await _compare_foreign_and_missing(add_ids_to_campaign, a_contact, missing_id("ctc"), 400)

    async def add_group_to_campaign(group_id: str) -> httpx.Response:
        return await other_client.post(f"/campaigns/{b_campaign['id']}/contacts", json={"groupId": group_id})

    error = await _compare_foreign_and_missing(add_group_to_campaign, a_group, missing_id("grp"), 400)
    assert "groupId" in error["details"]

    async def create_campaign(account_id: str) -> httpx.Response:
        return await other_client.post("/campaigns", json={"name": "steal", "emailAccountId": account_id})

    error = await _compare_foreign_and_missing(create_campaign, a_account, missing_id("acc"), 400)
    assert "emailAccountId" in error["details"]

    async def update_campaign(account_id: str) -> httpx.Response:
        return await other_client.put(f"/campaigns/{b_campaign['id']}", json={"emailAccountId": account_id})

    await _compare_foreign_and_missing(update_campaign, a_account, missing_id("acc"), 400)

    assert (await get_data(other_client, f"/groups/{b_group['id']}"))["contactCount"] == 0
    assert await get_data(other_client, f"/campaigns/{b_campaign['id']}") == b_campaign
    assert await total(other_client, "/campaigns") == 1
    assert await get_data(client, f"/contacts/{a_contact}") == objects["contact"]
    assert await get_data(client, f"/groups/{a_group}") == objects["group"]


# --- API2:2023 Broken Authentication ------------------------------------------------------------------------

BAD_AUTHORIZATION: list[Any] = [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty-header"),
    pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic"),
    pytest.param("Bearer", id="bearer-no-token"),
    pytest.param("Bearer ", id="bearer-empty"),
    pytest.param("Bearer    ", id="bearer-blank"),
    pytest.param("Bearer fz_live_ñandú€" + "a" * 32, id="non-ascii"),
    pytest.param("Bearer fz_live_" + "A" * 10 * 1024, id="10KB-token"),
    pytest.param("Bearer fz_live_" + "x" * 40, id="unknown-key"),
    pytest.param("Bearer sk_live_" + "x" * 40, id="foreign-format"),
    pytest.param("Bearer null", id="null"),
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
async def test_api2_bad_credentials_are_401(anonymous: httpx.AsyncClient, authorization: str | None) -> None:
    """API2:2023 Broken authentication — missing, malformed, oversized and unknown keys are 401."""
    headers = {} if authorization is None else {"Authorization": authorization.encode("utf-8")}
    response = await anonymous.get("/contacts", headers=headers)
    error = assert_envelope(response, 401, "UNAUTHORIZED")
    assert error["details"] == {}
    assert "fz_live_" not in response.text  # the token is never echoed


@pytest.mark.parametrize(
    "template", ["Token {key}", "{key}", "Bearer {key} {key}", "Bearer {key}x", "Basic {key}"]
)
async def test_api2_a_valid_key_in_the_wrong_shape_is_401(
    anonymous: httpx.AsyncClient, tenant: Tenant, template: str
) -> None:
    """API2:2023 Broken authentication — a real key under another scheme, or altered, is refused."""
    response = await anonymous.get(
        "/contacts", headers={"Authorization": template.format(key=tenant.api_key)}
    )
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert tenant.api_key not in response.text


@pytest.mark.parametrize("name", ["api_key", "access_token", "apiKey", "key", "token", "authorization"])
async def test_api2_key_in_query_string_is_never_accepted(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, tenant: Tenant, name: str
) -> None:
    """API2:2023 Broken authentication — keys in URLs end up in logs: `?api_key=` never authenticates."""
    response = await anonymous.get("/contacts", params={name: tenant.api_key})
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert tenant.api_key not in response.text
    # Even next to a valid header the parameter is refused (unknown query parameter), never a 200.
    with_header = await client.get("/contacts", params={name: tenant.api_key})
    error = assert_envelope(with_header, 400, "VALIDATION_ERROR")
    assert name in error["details"]
    assert tenant.api_key not in with_header.text


async def test_api2_revoked_key_is_401_like_an_unknown_one(
    anonymous: httpx.AsyncClient, database: Database
) -> None:
    """API2:2023 Broken authentication — a revoked key is refused, indistinguishably from an unknown key."""
    tenant = await make_tenant(database)
    assert await accounts.revoke_keys(database, key_prefix=tenant.api_key) == 1
    revoked = await anonymous.get("/contacts", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert_envelope(revoked, 401, "UNAUTHORIZED")
    unknown_key = API_KEY_PREFIX + "Q" * 40
    unknown = await anonymous.get("/contacts", headers={"Authorization": f"Bearer {unknown_key}"})
    assert revoked.json() == unknown.json()


async def test_api2_key_revoked_after_use_is_refused_in_process(app: Any, database: Database) -> None:
    """API2:2023 Broken authentication — revocation takes effect on the very next request."""
    tenant = await make_tenant(database)
    async with client_for(app, tenant.api_key) as client:
        assert (await client.get("/contacts")).status_code == 200
        await accounts.revoke_keys(database, key_prefix=tenant.api_key)
        response = await client.get("/contacts")
    assert_envelope(response, 401, "UNAUTHORIZED")


def test_api2_key_revoked_after_use_is_refused_over_http(live_server: LiveServer) -> None:
    """API2:2023 Broken authentication — over HTTP, `keys revoke` takes effect on the next request."""
    env = {**os.environ, "FLUENZR_DATABASE_URL": live_server.database_url, "FLUENZR_ENVIRONMENT": "test"}
    key = cli(env, "accounts", "create", "--name", "Revoked", "--plan", "pro").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=10) as http:
        assert http.get("/contacts").status_code == 200
        cli(env, "keys", "revoke", key)
        assert_envelope(http.get("/contacts"), 401, "UNAUTHORIZED")


async def test_api2_only_a_sha256_hash_of_the_key_is_stored(database: Database, tenant: Tenant) -> None:
    """API2:2023 Broken authentication — the api_keys row holds the key's SHA-256, never the key."""
    async with database.read() as conn:
        rows = (
            await conn.execute(select(t.api_keys).where(t.api_keys.c.account_id == tenant.account_id))
        ).all()
    assert len(rows) == 1
    row = rows[0]._mapping
    for column, value in row.items():
        assert tenant.api_key not in str(value), f"plaintext key stored in api_keys.{column}"
        assert tenant.api_key[len(API_KEY_PREFIX) :] not in str(value), f"key body stored in {column}"
    assert row["key_hash"] == hashlib.sha256(tenant.api_key.encode()).hexdigest()


async def test_api2_keys_are_long_random_and_prefixed(database: Database, tenant: Tenant) -> None:
    """API2:2023 Broken authentication — keys are `fz_live_` + at least 32 random alphanumerics."""
    issued = [await accounts.create_key(database, account_id=tenant.account_id) for _ in range(20)]
    keys = [tenant.api_key, *(key.plaintext for key in issued)]
    for key in keys:
        assert re.fullmatch(r"fz_live_[A-Za-z0-9]{32,}", key), key
    assert len(set(keys)) == len(keys)
    assert len({key[len(API_KEY_PREFIX) :][:8] for key in keys}) == len(keys)  # no shared stem


# --- API3:2023 Broken Object Property Level Authorization ---------------------------------------------------

# (label, create path, create body, read-only field, value)
MASS_ASSIGNMENT_CREATE = [
    ("contact", "/contacts", {"email": "eve@example.com"}, "id", "ctc_chosenByClient"),
    ("contact", "/contacts", {"email": "eve@example.com"}, "groupIds", ["grp_x"]),
    ("contact", "/contacts", {"email": "eve@example.com"}, "createdAt", "2000-01-01T00:00:00Z"),
    ("group", "/groups", {"name": "g"}, "contactCount", 1000),
    ("group", "/groups", {"name": "g"}, "id", "grp_chosenByClient"),
    ("campaign", "/campaigns", {"name": "c"}, "status", "running"),
    ("campaign", "/campaigns", {"name": "c"}, "contactCount", 5),
    (
        "webhook",
        "/webhooks",
        {"url": "https://hooks.example.com/x", "events": ["email.sent"]},
        "secret",
        "whsec_AAAA",
    ),
    ("email_account", "/email-accounts", email_account_body("x@acme.example"), "id", "acc_chosenByClient"),
]

# (object kind, read-only field, value) sent as a PUT to A's own object
MASS_ASSIGNMENT_UPDATE = [
    ("contact", "id", "ctc_other"),
    ("contact", "groupIds", ["grp_x"]),
    ("contact", "createdAt", "2000-01-01T00:00:00Z"),
    ("contact", "updatedAt", "2000-01-01T00:00:00Z"),
    ("group", "contactCount", 1000),
    ("campaign", "status", "running"),
    ("campaign", "contactCount", 5),
    ("campaign", "id", "cmp_other"),
    ("email_account", "id", "acc_other"),
]

LIST_OF = {
    "contact": "/contacts",
    "group": "/groups",
    "campaign": "/campaigns",
    "webhook": "/webhooks",
    "email_account": "/email-accounts",
}


async def test_api3_mass_assignment_on_create_is_refused(client: httpx.AsyncClient) -> None:
    """API3:2023 BOPLA — read-only fields in a create body are a 400 naming the field; nothing is created."""
    for kind, path, body, field, value in MASS_ASSIGNMENT_CREATE:
        response = await client.post(path, json={**body, field: value})
        error = assert_envelope(response, 400, "VALIDATION_ERROR")
        assert field in error["details"], (kind, field, error)
        assert field.lower() in error["message"].lower(), error
    for path in LIST_OF.values():
        assert await total(client, path) == 0, path


async def test_api3_mass_assignment_on_update_is_refused(client: httpx.AsyncClient) -> None:
    """API3:2023 BOPLA — read-only fields in a PUT are a 400 naming the field; the object is unchanged,
    even when the body also carries a legitimate change."""
    objects = await seed_tenant(client)
    legit = {"contact": {"firstName": "Changed"}, "group": {"name": "Changed"}}
    legit |= {"campaign": {"name": "Changed"}, "email_account": {"fromName": "Changed"}}
    for kind, field, value in MASS_ASSIGNMENT_UPDATE:
        path = READ_BACK[kind].format(id=objects[kind]["id"])
        response = await client.put(path, json={**legit[kind], field: value})
        error = assert_envelope(response, 400, "VALIDATION_ERROR")
        assert field in error["details"], (kind, field, error)
        assert await get_data(client, path) == objects[kind], (kind, field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param("/contacts", {"email": "a@example.com", "id": "ctc_x"}, "id", id="contact.id"),
        pytest.param(
            "/contacts", {"email": "a@example.com", "groupIds": []}, "groupIds", id="contact.groupIds"
        ),
        pytest.param("/groups", {"name": "g", "contactCount": 1}, "contactCount", id="group.contactCount"),
        pytest.param("/campaigns", {"name": "c", "status": "running"}, "status", id="campaign.status"),
        pytest.param(
            "/contacts",
            {"email": "a@example.com", "createdAt": "2000-01-01T00:00:00Z"},
            "createdAt",
            id="contact.createdAt",
        ),
        pytest.param(
            "/webhooks",
            {"url": "https://hooks.example.com/x", "events": ["email.sent"], "secret": "whsec_AAAA"},
            "secret",
            id="webhook.secret",
        ),
    ],
)
async def test_api3_read_only_fields_are_reported_as_read_only(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    """API3:2023 BOPLA — the 400 says the field is read-only (contract: 'a 400 that names it')."""
    error = assert_envelope(await client.post(path, json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {field: "is read-only and set by the server"}


def _assert_no_password(payload: Any) -> None:
    text = json.dumps(payload)
    assert EMAIL_ACCOUNT_PASSWORD not in text
    assert '"password"' not in text


async def test_api3_smtp_password_is_never_returned(client: httpx.AsyncClient) -> None:
    """API3:2023 BOPLA — the write-only SMTP password is in no create, get, list or update response."""
    created = await client.post("/email-accounts", json=email_account_body())
    assert created.status_code == 201, created.text
    _assert_no_password(created.json())
    account_id = created.json()["data"]["id"]
    _assert_no_password((await client.get(f"/email-accounts/{account_id}")).json())
    _assert_no_password((await client.get("/email-accounts")).json())
    for body in ({"dailyLimit": 150}, {"smtp": {"password": EMAIL_ACCOUNT_PASSWORD + "-rotated"}}):
        updated = await client.put(f"/email-accounts/{account_id}", json=body)
        assert updated.status_code == 200, updated.text
        _assert_no_password(updated.json())
    _assert_no_password((await client.delete(f"/email-accounts/{account_id}")).json())


async def test_api3_smtp_password_is_encrypted_at_rest(client: httpx.AsyncClient, database: Database) -> None:
    """API3:2023 BOPLA / API8 — a database dump does not reveal mailbox passwords."""
    account = await create(client, "/email-accounts", email_account_body())
    async with database.read() as conn:
        query = select(t.email_accounts.c.smtp_password).where(t.email_accounts.c.id == account["id"])
        stored = (await conn.execute(query)).scalar_one()
    assert EMAIL_ACCOUNT_PASSWORD not in stored


async def test_api3_webhook_secret_is_returned_once(client: httpx.AsyncClient) -> None:
    """API3:2023 BOPLA — the signing secret is in the create response only, never in a list or delete."""
    created = await create(
        client, "/webhooks", {"url": "https://hooks.example.com/a", "events": ["contact.created"]}
    )
    secret = created["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{32,}", secret), secret
    second = await create(
        client, "/webhooks", {"url": "https://hooks.example.com/b", "events": ["email.sent"]}
    )
    assert second["secret"] != secret
    listed = await client.get("/webhooks")
    assert listed.status_code == 200
    assert secret not in listed.text
    assert all("secret" not in item for item in listed.json()["data"])
    deleted = await client.delete(f"/webhooks/{created['id']}")
    assert deleted.status_code == 200
    assert secret not in deleted.text


# --- API4:2023 Unrestricted Resource Consumption ------------------------------------------------------------

LIST_PATHS = [
    path
    for path, item in SPEC["paths"].items()
    if {"$ref": "#/components/parameters/perPage"} in item.get("get", {}).get("parameters", [])
]


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("per_page", ["101", "1000000", "0", "-1"])
async def test_api4_page_size_is_bounded(client: httpx.AsyncClient, path: str, per_page: str) -> None:
    """API4:2023 Unrestricted resource consumption — perPage outside 1..100 is a 400, never clamped."""
    error = assert_envelope(await client.get(path, params={"perPage": per_page}), 400, "VALIDATION_ERROR")
    assert "perPage" in error["details"]


async def test_api4_body_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    """API4:2023 Unrestricted resource consumption — a body over 1 MiB is 413 and nothing is stored."""
    body = json.dumps({"email": "big@example.com", "company": "x" * (1024 * 1024)})
    response = await client.post("/contacts", content=body, headers={"Content-Type": "application/json"})
    error = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"maxBytes": 1024 * 1024}
    assert await total(client, "/contacts") == 0


async def test_api4_chunked_body_over_1_mib_is_refused(client: httpx.AsyncClient) -> None:
    """API4:2023 Unrestricted resource consumption — a streamed body with no Content-Length cannot slip
    past the limit."""
    payload = json.dumps({"email": "big@example.com", "company": "x" * (2 * 1024 * 1024)}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    response = await client.post("/contacts", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413), response.text
    assert response.json()["success"] is False
    assert await total(client, "/contacts") == 0


async def test_api4_small_chunked_body_is_accepted(client: httpx.AsyncClient) -> None:
    """Companion to the test above: streaming is refused by size, not because it is streamed."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "streamed@'
        yield b'example.com"}'

    response = await client.post("/contacts", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


async def test_api4_contact_ids_are_bounded(client: httpx.AsyncClient) -> None:
    """API4:2023 Unrestricted resource consumption — at most 1000 contactIds per call, for groups and
    campaigns alike."""
    group = await create(client, "/groups", {"name": "g"})
    campaign = await create(client, "/campaigns", {"name": "c"})
    ids = [f"ctc_{n:06d}" for n in range(1001)]
    for path in (f"/groups/{group['id']}/contacts", f"/campaigns/{campaign['id']}/contacts"):
        error = assert_envelope(await client.post(path, json={"contactIds": ids}), 400, "VALIDATION_ERROR")
        assert error["details"] == {"contactIds": "must have at most 1000 items"}, path


async def test_api4_custom_fields_are_bounded(client: httpx.AsyncClient) -> None:
    """API4:2023 Unrestricted resource consumption — at most 50 custom fields, on create and update."""
    fields = {f"field{n}": n for n in range(51)}
    created = await client.post("/contacts", json={"email": "cf@example.com", "customFields": fields})
    error = assert_envelope(created, 400, "VALIDATION_ERROR")
    assert error["details"] == {"customFields": "must have at most 50 properties"}
    contact = await create(client, "/contacts", {"email": "cf@example.com"})
    updated = await client.put(f"/contacts/{contact['id']}", json={"customFields": fields})
    assert_envelope(updated, 400, "VALIDATION_ERROR")
    assert (await get_data(client, f"/contacts/{contact['id']}"))["customFields"] == {}


async def test_api4_deeply_nested_json_is_400(client: httpx.AsyncClient) -> None:
    """API4:2023 Unrestricted resource consumption — a pathologically nested body is a 400, not a 500."""
    body = "[" * 200_000 + "]" * 200_000
    response = await client.post("/contacts", content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, "VALIDATION_ERROR")


async def test_api4_rate_limit_is_429_with_retry_after(
    isolated_app: Callable[..., AsyncApp], database: Database, database_url: str
) -> None:
    """API4:2023 Unrestricted resource consumption — past the limit: 429 RATE_LIMITED with Retry-After;
    the window is per account (another tenant is unaffected) and per address without a key."""
    app = isolated_app(rate_limited_settings(database_url, "3/minute"))
    first, second = await make_tenant(database), await make_tenant(database)
    async with client_for(app, first.api_key) as limited, client_for(app, second.api_key) as other:
        remaining = [int((await limited.get("/contacts")).headers["X-RateLimit-Remaining"]) for _ in range(3)]
        assert remaining == [2, 1, 0]
        response = await limited.get("/contacts")
        error = assert_envelope(response, 429, "RATE_LIMITED")
        retry_after = int(response.headers["Retry-After"])
        assert 1 <= retry_after <= 61  # a one-minute window; Reset is rounded up to whole seconds first
        assert error["details"] == {"limit": 3, "retryAfter": retry_after}
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert (await limited.post("/contacts", json={"email": "late@example.com"})).status_code == 429
        assert (await other.get("/contacts")).status_code == 200
    async with client_for(app, None) as anonymous:
        statuses = [(await anonymous.get("/contacts")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


async def test_api4_rate_limit_is_shared_between_workers_through_redis(
    isolated_app: Callable[..., AsyncApp], database: Database, database_url: str
) -> None:
    """API4:2023 Unrestricted resource consumption — with Redis, two app instances (workers, hosts)
    share one window per account instead of granting the limit once each."""
    redis_url = conftest.require_service(conftest.REDIS_URL, "Redis")
    settings = rate_limited_settings(database_url, "3/minute")
    worker_a = isolated_app(settings, limiter=RateLimiter("3/minute", redis_url))
    worker_b = isolated_app(settings, limiter=RateLimiter("3/minute", redis_url))
    tenant = await make_tenant(database)
    async with client_for(worker_a, tenant.api_key) as a, client_for(worker_b, tenant.api_key) as b:
        statuses = [(await c.get("/contacts")).status_code for c in (a, b, a, b)]
    assert statuses == [200, 200, 200, 429]


# --- API5:2023 Broken Function Level Authorization ----------------------------------------------------------


@pytest.mark.parametrize("plan", ["starter", "free"])
async def test_api5_non_pro_plans_get_plan_required_everywhere_but_health(
    app: Any, database: Database, plan: str
) -> None:
    """API5:2023 Broken function level authorization — a valid key of a starter/free account is 403
    PLAN_REQUIRED on every operation of the contract; only GET / and GET /health answer."""
    tenant = await make_tenant(database, plan)
    failures = []
    async with client_for(app, tenant.api_key) as client:
        for method, path in OPERATIONS:
            body = {} if method in ("POST", "PUT") else None
            response = await client.request(method, concrete(path), json=body)
            if path in ("/", "/health"):
                assert response.status_code == 200, response.text
                continue
            try:
                error = assert_envelope(response, 403, "PLAN_REQUIRED")
                assert error["details"] == {"plan": plan, "requiredPlan": "pro"}
            except AssertionError as exc:
                failures.append(f"{method} {path}: {exc}")
    assert failures == []


async def test_api5_plan_gate_blocks_writes_before_they_happen(app: Any, database: Database) -> None:
    """API5:2023 Broken function level authorization — a refused non-pro call changes nothing: a valid
    create from a starter key stores no contact."""
    starter = await make_tenant(database, "starter")
    async with client_for(app, starter.api_key) as client_starter:
        response = await client_starter.post("/contacts", json={"email": "x@example.com"})
    assert_envelope(response, 403, "PLAN_REQUIRED")
    async with database.read() as conn:
        query = select(t.contacts.c.id).where(t.contacts.c.account_id == starter.account_id)
        assert (await conn.execute(query)).all() == []


# --- API6:2023 Unrestricted Access to Sensitive Business Flows ----------------------------------------------


async def test_api6_sending_flow_is_bounded(client: httpx.AsyncClient) -> None:
    """API6:2023 Sensitive business flows — mass sending is the flow to protect: a mailbox sends at most
    2000 a day, a campaign has at most 20 steps, and adding the same contacts twice never queues them
    twice."""
    too_many_per_day = {**email_account_body(), "dailyLimit": 2001}
    error = assert_envelope(
        await client.post("/email-accounts", json=too_many_per_day), 400, "VALIDATION_ERROR"
    )
    assert "dailyLimit" in error["details"]
    account = await create(client, "/email-accounts", email_account_body())
    raised = await client.put(f"/email-accounts/{account['id']}", json={"dailyLimit": 100_000})
    assert_envelope(raised, 400, "VALIDATION_ERROR")
    steps = [{"subject": f"s{n}", "body": "b"} for n in range(21)]
    error = assert_envelope(
        await client.post("/campaigns", json={"name": "spam", "steps": steps}), 400, "VALIDATION_ERROR"
    )
    assert "steps" in error["details"]

    contact = await create(client, "/contacts", {"email": "once@example.com"})
    campaign = await create(client, "/campaigns", {"name": "once"})
    path = f"/campaigns/{campaign['id']}/contacts"
    first = await client.post(path, json={"contactIds": [contact["id"], contact["id"]]})
    again = await client.post(path, json={"contactIds": [contact["id"]]})
    nothing_suppressed = {"suppressed": 0, "suppressedContactIds": []}
    assert first.json()["data"] == {
        "campaignId": campaign["id"],
        "added": 1,
        "contactCount": 1,
        **nothing_suppressed,
    }
    assert again.json()["data"] == {
        "campaignId": campaign["id"],
        "added": 0,
        "contactCount": 1,
        **nothing_suppressed,
    }


# --- API7:2023 Server Side Request Forgery ------------------------------------------------------------------

SSRF_REFUSED = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[::1]/hook",
    "https://0.0.0.0/hook",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://017700000001/hook",
    "http://example.com/hook",
    "https://user:pw@example.com/hook",
    # other spellings of the same places
    "http://127.0.0.1/hook",
    "HTTPS://127.0.0.1/hook",
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://127.000.000.001/hook",
    "https://0/hook",
    "https://[::]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://localhost./hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://example.com@127.0.0.1/hook",
    "https://127.0.0.1:443/hook",
    "https://198.18.0.1/hook",
    "https://224.0.0.1/hook",
    "ftp://example.com/hook",
    "file:///etc/passwd",
]

SSRF_BYPASSES = [
    pytest.param("https://169.254。169.254/latest/meta-data/", id="U+3002-metadata"),
    pytest.param("https://10。0.0.5/hook", id="U+3002-private"),
    pytest.param("https://127．0.0.1/hook", id="U+FF0E-loopback"),
    pytest.param("https://127｡0.0.1/hook", id="U+FF61-loopback"),
    pytest.param("https://%31%32%37.0.0.1/hook", id="percent-encoded"),
    pytest.param("https://①②⑦.0.0.1/hook", id="enclosed-digits"),
]


@pytest.mark.parametrize("url", [*SSRF_REFUSED, *SSRF_BYPASSES])
async def test_api7_webhook_urls_to_internal_places_are_refused(client: httpx.AsyncClient, url: str) -> None:
    """API7:2023 SSRF — webhook URLs aimed at loopback, private, link-local, metadata or otherwise internal
    hosts, in any spelling, non-https or with credentials are a 400 on `url` and nothing is created.
    (Judged at creation; nothing connects anywhere.)"""
    response = await client.post("/webhooks", json={"url": url, "events": ["email.replied"]})
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert "url" in error["details"]
    assert await total(client, "/webhooks") == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/fluenzr",
        "https://crm.acme.example:8443/in?src=fluenzr",
        "https://8.8.8.8/x",
    ],
)
async def test_api7_public_https_webhook_is_created(client: httpx.AsyncClient, url: str) -> None:
    """API7:2023 SSRF — the policy is not a blanket refusal: an https URL on a public host is a 201."""
    created = await create(client, "/webhooks", {"url": url, "events": ["email.replied"]})
    assert created["url"] == url
    assert created["secret"].startswith("whsec_")


# --- API8:2023 Security Misconfiguration --------------------------------------------------------------------

ERROR_CASES = [
    pytest.param("GET", "/nothing-here", None, {}, 404, "NOT_FOUND", id="unknown-path"),
    pytest.param("GET", "/../../etc/passwd", None, {}, 404, "NOT_FOUND", id="traversal"),
    pytest.param("PATCH", "/contacts", None, {}, 405, "METHOD_NOT_ALLOWED", id="405"),
    pytest.param("GET", "/contacts?perPage=abc", None, {}, 400, "VALIDATION_ERROR", id="bad-parameter"),
    pytest.param("GET", "/contacts?sort=password", None, {}, 400, "VALIDATION_ERROR", id="bad-enum"),
    pytest.param(
        "POST",
        "/contacts",
        b"{not json",
        {"Content-Type": "application/json"},
        400,
        "VALIDATION_ERROR",
        id="bad-json",
    ),
    pytest.param(
        "POST",
        "/contacts",
        b"\xff\xfe{}",
        {"Content-Type": "application/json"},
        400,
        "VALIDATION_ERROR",
        id="not-utf8",
    ),
    pytest.param(
        "POST",
        "/contacts",
        b"email=a",
        {"Content-Type": "text/plain"},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        id="415",
    ),
    pytest.param("GET", "/contacts/ctc_nope", None, {}, 404, "NOT_FOUND", id="unknown-object"),
]


@pytest.mark.parametrize(("method", "path", "content", "headers", "status", "code"), ERROR_CASES)
async def test_api8_errors_are_envelopes_without_internals(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    content: bytes | None,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    """API8:2023 Security misconfiguration — framework errors come out as the JSON envelope, with no stack
    trace, schema dump or framework name, and with the rate-limit headers."""
    response = await client.request(method, path, content=content, headers=headers)
    assert_envelope(response, status, code)
    assert_no_leak(response)
    assert "'type'" not in response.text and "schema" not in response.text.lower()
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)


async def test_api8_405_allow_header_comes_from_the_contract(client: httpx.AsyncClient) -> None:
    """API8:2023 Security misconfiguration — Allow lists exactly the contract's methods for the path
    (Starlette alone would list only the first route's)."""
    response = await client.delete("/contacts")
    error = assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "GET, POST"
    assert error["details"] == {"allowed": ["GET", "POST"]}
    response = await client.post("/contacts/ctc_x")
    assert sorted(response.headers["Allow"].split(", ")) == ["DELETE", "GET", "PUT"]


async def test_api8_unexpected_error_in_production_leaks_nothing(
    isolated_app: Callable[..., AsyncApp],
    database_url: str,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """API8:2023 Security misconfiguration — in production an unexpected exception is a bare 500 envelope:
    no message, exception type or trace, just a request id that matches X-Request-Id."""
    app = isolated_app(production_settings(database_url))

    async def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals: postgresql://admin:hunter2@db/prod")

    monkeypatch.setattr(contacts_service, "list_contacts", explode)
    async with client_for(app, tenant.api_key) as client:
        response = await client.get("/contacts")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "Internal server error"
    assert error["details"] == {"requestId": response.headers["X-Request-Id"]}
    assert_no_leak(response)
    for secret in ("hunter2", "RuntimeError", "postgresql"):
        assert secret not in response.text


class _FailingLimiter(RateLimiter):
    """A rate-limit store that is down (Redis unreachable)."""

    async def hit(self, identity: str) -> Decision:
        raise ConnectionError("secret internals: redis://:hunter2@cache:6379")


async def test_api8_rate_limit_store_outage_fails_open(
    isolated_app: Callable[..., AsyncApp], database_url: str, tenant: Tenant
) -> None:
    """API8:2023 Security misconfiguration — a rate-limit store outage neither takes the API down nor
    leaks the store's address: requests are served (fail open) with the plan's rate-limit headers."""
    app = isolated_app(production_settings(database_url), limiter=_FailingLimiter("10/minute"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/v1", headers=headers) as c:
        response = await c.get("/contacts")
    assert_no_leak(response)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "10"


async def test_api8_failing_dependency_at_the_edge_is_an_envelope(
    isolated_app: Callable[..., AsyncApp], database_url: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API8:2023 Security misconfiguration — a broken dependency in front of the exception middleware
    (the key lookup's database) still yields the 500 envelope, and leaks nothing."""

    async def broken_lookup(_database: Database, token: str) -> None:
        raise ConnectionError("secret internals: postgresql://fluenzr:hunter2@db/fluenzr")

    monkeypatch.setattr("fluenzr_server.edge.resolve_key", broken_lookup)
    app = isolated_app(production_settings(database_url))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/v1", headers=headers) as c:
        response = await c.get("/contacts")
    assert_no_leak(response)
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert response.json()["error"]["details"]["requestId"] == response.headers["X-Request-Id"]


def test_api8_each_app_has_only_its_own_edge_middleware() -> None:
    """API8:2023 Security misconfiguration — an app's limits are its own, whatever was built before."""
    url = "sqlite:///unused.db"
    build_app(rate_limited_settings(url, "1/minute"))
    second = build_app(rate_limited_settings(url, "1000/minute"))
    edges = [
        m
        for m in second.middleware.middlewares
        if isinstance(m, functools.partial) and m.func.__name__ == "EdgeMiddleware"
    ]
    assert len(edges) == 1
    assert edges[0].keywords["limiter"].item.amount == 1000


async def test_api8_trailing_slash_is_not_a_host_controlled_redirect(client: httpx.AsyncClient) -> None:
    """API8:2023 Security misconfiguration — no undocumented redirect pointing at an attacker's host."""
    response = await client.get("/contacts/", headers={"Host": "evil.example"})
    assert "location" not in response.headers, response.headers.get("location")
    assert response.headers.get("content-type", "").startswith("application/json")
    assert response.json()["success"] in (True, False)


async def test_api8_no_permissive_cors(client: httpx.AsyncClient) -> None:
    """API8:2023 Security misconfiguration — the API grants no cross-origin access to browsers."""
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    preflight = await client.options("/contacts", headers=headers)
    actual = await client.get("/contacts", headers={"Origin": "https://evil.example"})
    for response in (preflight, actual):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


def test_api8_live_server_does_not_name_its_stack(live_server: LiveServer) -> None:
    """API8:2023 Security misconfiguration — responses do not advertise the server software."""
    response = httpx.get(f"{live_server.base_url}/health", timeout=10)
    assert response.status_code == 200
    assert_no_leak(response)


def test_api8_live_server_errors_are_envelopes(live_server: LiveServer) -> None:
    """API8:2023 Security misconfiguration — over real HTTP too, 401/404/405 are JSON envelopes."""
    with httpx.Client(base_url=live_server.base_url, timeout=10) as http:
        assert_envelope(http.get("/contacts"), 401, "UNAUTHORIZED")
        auth = {"Authorization": f"Bearer {live_server.api_key}"}
        assert_envelope(http.get("/nope", headers=auth), 404, "NOT_FOUND")
        response = http.request("PATCH", "/campaigns/cmp_x", headers=auth)
        assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["Allow"] == "GET, PUT"
        assert "traceback" not in response.text.lower()


# --- API9:2023 Improper Inventory Management ----------------------------------------------------------------

# Served besides the contract's operations: the interactive docs and the contract itself. Connexion also
# serves the contract as YAML next to openapi.json (same document, so it documents nothing new).
DOC_ROUTES = {
    ("GET", f"{BASE}/openapi.json"),
    ("GET", f"{BASE}/openapi.yaml"),
    ("GET", f"{BASE}/ui"),
    ("GET", f"{BASE}/ui/"),
    ("GET", f"{BASE}/ui/index.html"),
    ("GET", f"{BASE}/ui/*"),  # Swagger UI's static assets
}


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str, Any]]:
    """(METHOD, full path, endpoint) of a Starlette route tree; a static mount is `path/*`. HEAD is
    implied by GET (Starlette adds it to every GET route; RFC 9110 requires it) and left out."""
    found: list[tuple[str, str, Any]] = []
    for route in routes:
        if isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is None:
                found.append(("GET", f"{prefix}{route.path}/*", route.app))
            else:
                found.extend(_routes(inner, prefix + route.path))
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    # `{entry:path}` is the contract's `{entry}` with `format: path` (an encoded '/' inside)
                    path = re.sub(r"\{(\w+):path\}", r"{\1}", prefix + route.path)
                    found.append((method, path, route.endpoint))
        else:
            raise AssertionError(f"unexpected route type {route!r}")
    return found


async def test_api9_served_routes_are_exactly_the_contract(app: Any, anonymous: httpx.AsyncClient) -> None:
    """API9:2023 Improper inventory management — every route the app serves is a contract operation
    (bar the docs), and every contract operation is served by a handler."""
    assert (await anonymous.get("/health")).status_code == 200  # builds the middleware stack
    stack = app.middleware.middleware_stack
    routing = next(m for m in stack if isinstance(m, RoutingMiddleware))
    swagger = next(m for m in stack if isinstance(m, SwaggerUIMiddleware))
    handlers = next(m for m in stack if isinstance(m, AsyncASGIApp))

    contract = {(method, BASE + path) for method, path in OPERATIONS}
    routed = _routes(routing.router.routes)
    assert {(method, path) for method, path, _ in routed} == contract
    assert len(routed) == len(contract)  # no operation routed twice

    # Every routed operation reaches a handler, and no handler is reachable by any other route.
    routed_ids = {endpoint.operation_id for _, _, endpoint in routed}
    handler_ids = {op_id for api in handlers.apis[BASE] for op_id in api.operations}
    contract_ids = {SPEC["paths"][path][method.lower()]["operationId"] for method, path in OPERATIONS}
    assert routed_ids == handler_ids == contract_ids
    assert _routes(handlers.router.routes) == []  # nothing added with add_url_rule

    docs = {(method, path) for method, path, _ in _routes(swagger.router.routes)}
    assert docs == DOC_ROUTES


async def test_api9_served_contract_matches_the_repository(anonymous: httpx.AsyncClient) -> None:
    """API9:2023 Improper inventory management — the published openapi.json documents the same operations
    as the YAML in the repository (no stale or hidden version)."""
    response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["info"]["version"] == SPEC["info"]["version"]
    served_ops = {
        (method.upper(), path)
        for path, item in served["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert served_ops == set(OPERATIONS)


UNDOCUMENTED = [
    (method, path)
    for path, item in SPEC["paths"].items()
    for method in ("GET", "PUT", "POST", "DELETE", "PATCH")
    if method.lower() not in item
]


@pytest.mark.parametrize(("method", "path"), UNDOCUMENTED)
async def test_api9_undocumented_methods_are_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    """API9:2023 Improper inventory management — a method the contract does not define is 405 on every
    path, with Allow naming the contract's methods (no forgotten PATCH or DELETE)."""
    response = await client.request(
        method, concrete(path), json={} if method in ("POST", "PUT", "PATCH") else None
    )
    error = assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    defined = sorted(m.upper() for m in SPEC["paths"][path] if m in HTTP_METHODS)
    assert sorted(response.headers["Allow"].split(", ")) == defined
    assert error["details"] == {"allowed": defined}


async def test_api9_other_versions_and_prefixes_are_not_served(app: Any, tenant: Tenant) -> None:
    """API9:2023 Improper inventory management — no unversioned, older or newer API lives beside /v1."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as root:
        for path in ("/contacts", "/v0/contacts", "/v2/contacts", "/api/v1/contacts", "/internal/contacts"):
            assert_envelope(await root.get(path), 404, "NOT_FOUND")
