"""Authentication: Bearer API keys only, 401 for anything else, 403 PLAN_REQUIRED off the Pro plan."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fluenzr_server.ids import KEY_DISPLAY_CHARS
from fluenzr_server.services import accounts
from fluenzr_server.store.database import Database
from tests.api.conftest import api_client
from tests.conftest import Tenant, make_tenant
from tests.utils.assertions import error, ok

MISSING = "Missing API key: send Authorization: Bearer <key>"


async def test_no_header_is_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/contacts")
    assert error(response, 401, "UNAUTHORIZED") == {}
    assert response.json()["error"]["message"] == MISSING


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Basic x",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Token fz_live_abc",
        "fz_live_abc",
        "Bearer fz_live_",
        "Bearer fz_live_" + "a" * 200,
        "Bearer not_a_fluenzr_key",
    ],
)
async def test_malformed_or_unknown_keys_are_401(app: Any, header: str) -> None:
    async with api_client(app, Authorization=header) as client:
        for response in (
            await client.get("/contacts"),
            await client.post("/contacts", json={"email": "a@b.co"}),
        ):
            error(response, 401, "UNAUTHORIZED")


async def test_unknown_well_formed_key_is_401(app: Any, tenant: Tenant) -> None:
    forged = tenant.api_key[:-4] + ("AAAA" if not tenant.api_key.endswith("AAAA") else "BBBB")
    async with api_client(app, forged) as client:
        response = await client.get("/contacts")
    assert error(response, 401, "UNAUTHORIZED") == {}
    assert response.json()["error"]["message"] == "Invalid API key"


async def test_scheme_is_case_insensitive(app: Any, tenant: Tenant) -> None:
    async with api_client(app, Authorization=f"bearer {tenant.api_key}") as client:
        assert ok(await client.get("/contacts")) == []


async def test_revoked_key_is_401_on_the_next_request(app: Any, database: Database) -> None:
    # One client, one context: the key cache must not outlive a request (it once did, in a ContextVar).
    tenant = await make_tenant(database)
    async with api_client(app, tenant.api_key) as client:
        assert ok(await client.get("/contacts")) == []
        assert await accounts.revoke_keys(database, key_prefix=tenant.api_key) == 1
        error(await client.get("/contacts"), 401, "UNAUTHORIZED")


async def test_revoking_by_display_prefix(app: Any, database: Database) -> None:
    tenant = await make_tenant(database)
    spare = await accounts.create_key(database, account_id=tenant.account_id)
    async with api_client(app, tenant.api_key) as client, api_client(app, spare.plaintext) as spare_client:
        assert await accounts.revoke_keys(database, key_prefix=tenant.api_key[:KEY_DISPLAY_CHARS]) == 1
        error(await client.get("/contacts"), 401, "UNAUTHORIZED")
        # The account's other key still works.
        assert ok(await spare_client.get("/contacts")) == []


@pytest.mark.parametrize("plan", ["starter", "free"])
async def test_plans_other_than_pro_are_403(app: Any, database: Database, plan: str) -> None:
    tenant = await make_tenant(database, plan=plan)
    async with api_client(app, tenant.api_key) as client:
        details = error(await client.get("/contacts"), 403, "PLAN_REQUIRED")
        assert details == {"plan": plan, "requiredPlan": "pro"}
        error(await client.post("/contacts", json={"email": "a@b.co"}), 403, "PLAN_REQUIRED")
        assert ok(await client.get("/health"))["status"] == "ok"


async def test_downgrade_and_upgrade_take_effect_on_the_next_request(app: Any, database: Database) -> None:
    tenant = await make_tenant(database)
    async with api_client(app, tenant.api_key) as client:
        assert ok(await client.get("/contacts")) == []
        await accounts.set_plan(database, account_id=tenant.account_id, plan="starter")
        error(await client.get("/contacts"), 403, "PLAN_REQUIRED")
        await accounts.set_plan(database, account_id=tenant.account_id, plan="pro")
        assert ok(await client.get("/contacts")) == []


@pytest.mark.parametrize("param", ["api_key", "apiKey", "access_token", "key", "token"])
async def test_key_in_query_string_is_never_accepted(
    anonymous: httpx.AsyncClient, tenant: Tenant, param: str
) -> None:
    response = await anonymous.get("/contacts", params={param: tenant.api_key})
    assert response.status_code in (400, 401), response.text
    assert response.json()["success"] is False
    assert tenant.api_key not in response.text


async def test_key_in_query_string_is_an_unknown_parameter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    details = error(
        await client.get("/contacts", params={"api_key": tenant.api_key}), 400, "VALIDATION_ERROR"
    )
    assert details == {"api_key": "is not a known query parameter"}


async def test_errors_never_echo_the_key(app: Any) -> None:
    key = "fz_live_" + "S3cr3t" * 6
    async with api_client(app, key) as client:
        response = await client.get("/contacts")
    error(response, 401, "UNAUTHORIZED")
    assert key not in response.text
