"""Paging on every list: identical sort values are ordered by id, so pages never repeat or skip a row."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, select, update

from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant
from tests.utils.assertions import ok
from tests.utils.factories import (
    create_campaign,
    create_contact,
    create_email_account,
    create_group,
    create_webhook,
)

Factory = Callable[[httpx.AsyncClient], Awaitable[dict[str, Any]]]
LISTS: list[tuple[str, Table, Factory, list[str]]] = [
    ("/contacts", t.contacts, create_contact, ["createdAt", "updatedAt"]),
    ("/groups", t.groups, create_group, ["createdAt", "updatedAt"]),
    ("/email-accounts", t.email_accounts, create_email_account, ["createdAt", "updatedAt"]),
    ("/campaigns", t.campaigns, create_campaign, ["createdAt", "updatedAt", "status"]),
    ("/webhooks", t.webhooks, create_webhook, ["createdAt"]),
]
ROWS = 5
SAME = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)


async def _pages(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for page in itertools.count(1):
        response = await client.get(path, params={**params, "page": page, "perPage": 2})
        data = ok(response)
        assert response.json()["meta"] == {"page": page, "perPage": 2, "total": ROWS}
        if not data:
            return ids
        ids.extend(item["id"] for item in data)
    raise AssertionError("unreachable")


@pytest.mark.parametrize(("path", "table", "factory", "sorts"), LISTS, ids=[case[0] for case in LISTS])
async def test_ties_are_broken_by_id(
    client: httpx.AsyncClient,
    tenant: Tenant,
    database: Database,
    path: str,
    table: Table,
    factory: Factory,
    sorts: list[str],
) -> None:
    created = [await factory(client) for _ in range(ROWS)]
    # Every row gets the same timestamps (and campaigns the same status): only the id can order them.
    stamps = {column: SAME for column in ("created_at", "updated_at") if column in table.c}
    async with database.write() as conn:
        await conn.execute(update(table).where(table.c.account_id == tenant.account_id).values(stamps))
        query = select(table.c.id).where(table.c.account_id == tenant.account_id).order_by(table.c.id)
        by_id = list((await conn.execute(query)).scalars())  # the database's own collation order
    assert sorted(by_id) == sorted(item["id"] for item in created)
    for sort, order in itertools.product(sorts, ("asc", "desc")):
        expected = by_id if order == "asc" else by_id[::-1]
        assert await _pages(client, path, {"sort": sort, "order": order}) == expected, (sort, order)
    assert await _pages(client, path, {}) == by_id[::-1]  # default: createdAt desc
