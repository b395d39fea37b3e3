"""Email accounts' IMAP settings: create, update with PATCH semantics, remove; the write-only password,
encrypted at rest; the one host policy (400s) and `security: none` only with FLUENZR_ALLOW_PRIVATE_HOSTS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fluenzr_server.resources import Resources
from fluenzr_server.store import tables as t
from tests.conftest import client_for, resources_for
from tests.conftest import test_settings as settings_for
from tests.utils.assertions import error, ok_object, timestamp
from tests.utils.factories import create_email_account, email_account_body

IMAP = {"host": "imap.acme.example", "port": 993, "username": "sales@acme.example", "password": "imap-pw-1"}


async def _imap_row(resources: Resources, email_account_id: str) -> Any:
    async with resources.database.read() as conn:
        query = select(t.imap_mailboxes).where(t.imap_mailboxes.c.id == email_account_id)
        return (await conn.execute(query)).first()


async def test_create_with_imap_returns_settings_without_password_and_stores_it_encrypted(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    created = await create_email_account(client, imap=IMAP)
    imap = created["imap"]
    assert imap == {
        "host": "imap.acme.example",
        "port": 993,
        "username": "sales@acme.example",
        "security": "tls",  # the default
        "status": "active",
        "lastError": None,
        "lastPolledAt": None,
    }
    row = await _imap_row(resources, created["id"])
    assert "imap-pw-1" not in row.password
    assert resources.secret_box.decrypt(row.password) == "imap-pw-1"
    assert (row.uid_validity, row.last_uid, row.next_poll_at is not None) == (None, 0, True)
    listed = ok_object(await client.get(f"/email-accounts/{created['id']}"))
    assert listed["imap"] == imap
    page = (await client.get("/email-accounts", params={"perPage": 100})).json()["data"]
    assert next(a for a in page if a["id"] == created["id"])["imap"] == imap


async def test_without_imap_the_member_is_null(client: httpx.AsyncClient) -> None:
    assert (await create_email_account(client))["imap"] is None


async def test_update_changes_only_the_settings_sent_and_null_removes_them(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    created = await create_email_account(client)
    path = f"/email-accounts/{created['id']}"

    incomplete = await client.put(path, json={"imap": {"host": "imap.acme.example"}})
    error(incomplete, 400, "VALIDATION_ERROR", fields=("imap.port", "imap.username", "imap.password"))

    added = ok_object(await client.put(path, json={"imap": {**IMAP, "security": "starttls", "port": 143}}))
    assert (added["imap"]["port"], added["imap"]["security"]) == (143, "starttls")
    changed = ok_object(await client.put(path, json={"imap": {"password": "imap-pw-2"}}))
    assert changed["imap"]["port"] == 143 and changed["imap"]["host"] == "imap.acme.example"
    row = await _imap_row(resources, created["id"])
    assert resources.secret_box.decrypt(row.password) == "imap-pw-2"
    assert changed["smtp"] == created["smtp"]  # untouched

    removed = ok_object(await client.put(path, json={"imap": None}))
    assert removed["imap"] is None
    assert await _imap_row(resources, created["id"]) is None


async def test_an_update_clears_the_error_and_a_new_host_restarts_the_cursor(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    from sqlalchemy import update

    created = await create_email_account(client, imap=IMAP)
    async with resources.database.write() as conn:
        await conn.execute(
            update(t.imap_mailboxes)
            .where(t.imap_mailboxes.c.id == created["id"])
            .values(status="error", last_error="login refused", uid_validity=7, last_uid=42)
        )
    path = f"/email-accounts/{created['id']}"
    fixed = ok_object(await client.put(path, json={"imap": {"password": "right"}}))
    assert (fixed["imap"]["status"], fixed["imap"]["lastError"]) == ("active", None)
    assert (await _imap_row(resources, created["id"])).last_uid == 42  # same mailbox: cursor kept
    ok_object(await client.put(path, json={"imap": {"host": "imap2.acme.example"}}))
    row = await _imap_row(resources, created["id"])
    assert (row.uid_validity, row.last_uid) == (None, 0)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.0.0.5", "169.254.169.254", "[::1]", "imap.internal", "2130706433"]
)
async def test_imap_host_pointing_at_a_private_place_is_400(client: httpx.AsyncClient, host: str) -> None:
    created = await client.post("/email-accounts", json=email_account_body(imap={**IMAP, "host": host}))
    error(created, 400, "VALIDATION_ERROR", fields=("imap.host",))
    account = await create_email_account(client)
    updated = await client.put(f"/email-accounts/{account['id']}", json={"imap": {**IMAP, "host": host}})
    error(updated, 400, "VALIDATION_ERROR", fields=("imap.host",))
    assert ok_object(await client.get(f"/email-accounts/{account['id']}"))["imap"] is None


async def test_security_none_is_400_without_the_private_hosts_setting(client: httpx.AsyncClient) -> None:
    created = await client.post("/email-accounts", json=email_account_body(imap={**IMAP, "security": "none"}))
    details = error(created, 400, "VALIDATION_ERROR", fields=("imap.security",))
    assert "FLUENZR_ALLOW_PRIVATE_HOSTS" in details["imap.security"]
    account = await create_email_account(client, imap=IMAP)
    path = f"/email-accounts/{account['id']}"
    error(await client.put(path, json={"imap": {"security": "none"}}), 400, "VALIDATION_ERROR")
    assert ok_object(await client.get(path))["imap"]["security"] == "tls"


async def test_security_none_and_loopback_are_allowed_with_the_setting(
    resources: Resources, database_url: str, tenant: Any
) -> None:
    from fluenzr_server.app import build_app

    local = resources_for(resources, settings_for(database_url, allow_private_hosts=True))
    async with client_for(build_app(local), tenant.api_key) as client:
        body = email_account_body(imap={**IMAP, "host": "127.0.0.1", "port": 1143, "security": "none"})
        created = ok_object(await client.post("/email-accounts", json=body), 201)
    assert (created["imap"]["host"], created["imap"]["security"]) == ("127.0.0.1", "none")
    timestamp(created["updatedAt"])


@pytest.mark.parametrize(
    "imap",
    [
        {**IMAP, "password": "line\r\nA1 DELETE INBOX"},
        {**IMAP, "username": "a\nb"},
        {**IMAP, "port": 0},
        {**IMAP, "security": "ssl"},
        {**IMAP, "extra": 1},
        {"host": "imap.acme.example"},
        {},
    ],
)
async def test_bad_imap_settings_are_400(client: httpx.AsyncClient, imap: dict[str, Any]) -> None:
    error(await client.post("/email-accounts", json=email_account_body(imap=imap)), 400, "VALIDATION_ERROR")


async def test_another_accounts_email_account_is_404(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    mine = await create_email_account(client, imap=IMAP)
    response = await other_client.put(f"/email-accounts/{mine['id']}", json={"imap": None})
    error(response, 404, "NOT_FOUND")
    assert ok_object(await client.get(f"/email-accounts/{mine['id']}"))["imap"]["host"] == IMAP["host"]
