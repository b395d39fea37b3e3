"""Secrets: encrypted at rest (also existing ones, by migration 0009), and the 24-hour rotation overlap."""

from __future__ import annotations

import os
import secrets as random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from fluenzr import verify_webhook
from sqlalchemy import create_engine, select, text

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources, secret_box_for
from fluenzr_server.settings import Settings
from fluenzr_server.store import tables as t
from fluenzr_server.store.migrate import alembic_config
from fluenzr_server.webhooks.secrets import unseal
from tests.utils.factories import create_contact
from tests.utils.migration_db import empty_database_url
from tests.webhooks.conftest import Clock, drain, subscribe
from tests.webhooks.receiver import Receiver


async def test_secrets_are_stored_encrypted(
    api: httpx.AsyncClient, receiver: Receiver, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    async with hook_resources.database.read() as conn:
        stored = (
            await conn.execute(select(t.webhooks.c.secret).where(t.webhooks.c.id == hook["id"]))
        ).scalar_one()
    assert "whsec_" not in stored and hook["secret"].removeprefix("whsec_") not in stored
    assert unseal(hook_resources.secret_box, stored) == hook["secret"]


async def test_rotation_signs_with_both_secrets_for_24_hours(
    api: httpx.AsyncClient,
    receiver: Receiver,
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    clock: Clock,
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    old = hook["secret"]
    response = await api.post(f"/webhooks/{hook['id']}/rotate-secret")
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    assert "secret" not in (await api.get(f"/webhooks/{hook['id']}")).json()["data"]

    await create_contact(api)
    await drain(dispatcher, hook_resources)
    (during,) = receiver.received
    assert during.signatures == 2
    for secret in (old, new):  # a receiver on either secret accepts it: the package and the SDK agree
        receiver.secrets = [secret]
        assert receiver._verify(during.body, during.headers)
        assert verify_webhook(during.body, during.headers, secret)["type"] == "contact.created"

    clock.advance(timedelta(hours=24, seconds=1))
    receiver.strict_time = False
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    after = receiver.received[-1]
    assert after.signatures == 1
    receiver.secrets = [new]
    assert receiver._verify(after.body, after.headers)
    receiver.secrets = [old]
    assert not receiver._verify(after.body, after.headers)


async def test_a_legacy_plaintext_secret_still_signs(
    api: httpx.AsyncClient, receiver: Receiver, dispatcher: WebhookDispatcher, hook_resources: Resources
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])
    async with hook_resources.database.write() as conn:
        await conn.execute(
            t.webhooks.update().where(t.webhooks.c.id == hook["id"]).values(secret=hook["secret"])
        )
    await create_contact(api)
    await drain(dispatcher, hook_resources)
    assert [r.verified for r in receiver.received] == [True]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from empty_database_url(request.param, tmp_path, f"fluenzr_hooks_migrate_{os.getpid()}")


def test_migration_0009_encrypts_existing_secrets_and_downgrade_restores_them(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0006")
    plaintext = "whsec_" + random.token_urlsafe(24)
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        accounts = "INSERT INTO accounts (id, name, plan, created_at) VALUES ('org_m', 'M', 'pro', :at)"
        conn.execute(text(accounts), {"at": "2026-01-01 00:00:00"})
        hooks = (
            "INSERT INTO webhooks (id, account_id, url, events, active, secret, created_at) "
            "VALUES ('whk_m', 'org_m', 'https://hooks.example.com/x', :events, true, :s, :at)"
        )
        conn.execute(
            text(hooks), {"s": plaintext, "events": '["contact.created"]', "at": "2026-01-01 00:00:00"}
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret FROM webhooks WHERE id = 'whk_m'")).scalar_one()
    assert stored != plaintext and secret_box_for(Settings(_env_file=None)).decrypt(stored) == plaintext
    command.downgrade(config, "0006")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhooks WHERE id = 'whk_m'")).scalar_one() == plaintext
    engine.dispose()
