"""Each app serves with its own `Resources`: settings, database and secret box never leak between apps,
and nothing is read from the environment once the app is built (DESIGN.md "Resources, not globals")."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import create_engine, select
from starlette.testclient import TestClient

from fluenzr_server.app import build_app
from fluenzr_server.resources import Resources, secret_box_for
from fluenzr_server.services import email_accounts
from fluenzr_server.settings import Settings
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.engine import sync_url
from tests.api.conftest import api_client
from tests.conftest import Tenant
from tests.conftest import test_settings as settings_for
from tests.utils.assertions import error, ok_object
from tests.utils.factories import email_account_body

KEY_A = "app-a-secret-key-0123456789abcdef0123456789"
KEY_B = "app-b-secret-key-fedcba9876543210fedcba9876"
ENVIRONMENT_KEY = "environment-secret-key-00000000000000000000"


async def _create_mailbox(app: Any, tenant: Tenant) -> tuple[str, str]:
    body = email_account_body()
    async with api_client(app, tenant.api_key) as client:
        created = ok_object(await client.post("/email-accounts", json=body), 201)
    return created["id"], body["smtp"]["password"]


async def _password(resources: Resources, tenant: Tenant, email_account_id: str) -> str:
    return await email_accounts.smtp_password(
        resources.database,
        account_id=tenant.account_id,
        email_account_id=email_account_id,
        secret_box=resources.secret_box,
    )


async def test_two_apps_with_two_secret_keys_each_decrypt_only_their_own_smtp_passwords(
    database_url: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment names a third key: an app that read it (the old cached global did) would use it.
    monkeypatch.setenv("FLUENZR_SECRET_KEY", ENVIRONMENT_KEY)
    first = Resources.open(settings_for(database_url, secret_key=KEY_A))
    second = Resources.open(settings_for(database_url, secret_key=KEY_B))
    try:
        id_a, password_a = await _create_mailbox(build_app(first), tenant)
        id_b, password_b = await _create_mailbox(build_app(second), tenant)

        assert await _password(first, tenant, id_a) == password_a
        assert await _password(second, tenant, id_b) == password_b
        with pytest.raises(InvalidToken):
            await _password(first, tenant, id_b)
        with pytest.raises(InvalidToken):
            await _password(second, tenant, id_a)

        from_environment = Resources.open(Settings(_env_file=None), database=first.database)  # type: ignore[call-arg]
        for email_account_id in (id_a, id_b):
            with pytest.raises(InvalidToken):
                await _password(from_environment, tenant, email_account_id)
    finally:
        await first.close()
        await second.close()


async def test_an_old_key_still_decrypts_after_rotation(database_url: str, tenant: Tenant) -> None:
    before = Resources.open(settings_for(database_url, secret_key=KEY_A))
    after = Resources.open(settings_for(database_url, secret_key=KEY_B, old_secret_keys=[KEY_A]))
    try:
        email_account_id, password = await _create_mailbox(build_app(before), tenant)
        assert await _password(after, tenant, email_account_id) == password
    finally:
        await before.close()
        await after.close()


def _stored_token(database_url: str, email_account_id: str) -> str:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            query = select(t.email_accounts.c.smtp_password).where(t.email_accounts.c.id == email_account_id)
            return str(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_an_app_built_from_settings_opens_its_resources_in_its_lifespan_and_closes_them(
    database_url: str, tenant: Tenant
) -> None:
    settings = settings_for(database_url, secret_key=KEY_A)
    seen: list[Resources] = []

    @asynccontextmanager
    async def probe(resources: Resources) -> AsyncIterator[None]:
        seen.append(resources)
        yield

    app = build_app(settings, lifespan=probe)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    body = email_account_body()
    with TestClient(app, base_url="http://testserver/v1", headers=headers) as http:
        created = http.post("/email-accounts", json=body)
        assert created.status_code == 201, created.text
    assert len(seen) == 1 and seen[0].settings is settings
    token = _stored_token(database_url, created.json()["data"]["id"])
    assert secret_box_for(settings).decrypt(token) == body["smtp"]["password"]
    with pytest.raises(InvalidToken):
        secret_box_for(settings_for(database_url, secret_key=KEY_B)).decrypt(token)

    # Served again, the app opens fresh resources: the first ones were closed with the first lifespan.
    with TestClient(app, base_url="http://testserver/v1", headers=headers) as http:
        assert http.get("/email-accounts").status_code == 200
    assert len(seen) == 2 and seen[1] is not seen[0]


async def test_an_app_that_owns_its_resources_refuses_requests_outside_its_lifespan(
    database_url: str,
) -> None:
    app = build_app(settings_for(database_url))
    async with api_client(app) as client:  # httpx runs no lifespan
        error(await client.get("/health"), 500, "INTERNAL_ERROR")


class _RecordingDatabase(Database):
    disposed = False

    async def dispose(self) -> None:
        self.disposed = True
        await super().dispose()


async def test_an_app_given_resources_leaves_them_open_for_their_owner(database_url: str) -> None:
    database = _RecordingDatabase(database_url)
    borrowed = Resources.open(settings_for(database_url), database=database)
    with TestClient(build_app(borrowed), base_url="http://testserver/v1") as http:
        assert http.get("/health").status_code == 200  # public: no database connection is opened
    assert not database.disposed, "the app closed resources it was lent"
    await borrowed.close()
    assert database.disposed


def test_an_app_that_owns_its_resources_freezes_what_start_up_built(database_url: str) -> None:
    gc.unfreeze()
    app = build_app(settings_for(database_url))
    assert gc.get_freeze_count() == 0
    with TestClient(app, base_url="http://testserver/v1"):
        assert gc.get_freeze_count() > 0  # the collector's full passes no longer rescan start-up's objects
    gc.unfreeze()
