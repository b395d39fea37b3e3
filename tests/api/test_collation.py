"""One collation on SQLite and PostgreSQL (issue 10, item 10): text sorts fold A-Z and then go by code point,
ties by id (code point), NULLs last in both directions; the same request pages the same ids on both."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluenzr_server.services import accounts, contacts
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.migrate import upgrade
from fluenzr_server.store.paging import PageRequest
from tests.conftest import POSTGRES_URL, drop_postgres_database, fresh_postgres_database, require_service
from tests.utils.assertions import ok

# Values whose order differs between SQLite's BINARY, PostgreSQL's locales and a naive lower(): case
# variants (ties by id), punctuation, digits, non-ASCII letters, leading spaces, and NULL.
NAMES: list[str | None] = [
    "ada", "Ada", "ADA", "Zoe", "zoe", "émile", "Émile", "_under", "a.b", "ab", "a b", "10", "9",
    " lead", "Łukasz", "ß", "ss", "Ω", "z", None, None, "AB",
]  # fmt: skip
IDS = ["ctc_B", "ctc_a", "ctc_0", "ctc_Z", "ctc_z", "ctc_A", "ctc_b", "ctc_9", "ctc_aa", "ctc_AA", "ctc_Ab"]


def ascii_fold(value: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value)


def documented_order(rows: list[tuple[str, str | None]], descending: bool) -> list[str]:
    """The contract's "Sorting" rule, computed here: fold A-Z, code points, ties by id, NULLs last."""
    present = [(ascii_fold(value), row_id) for row_id, value in rows if value is not None]
    nulls = sorted((row_id for row_id, value in rows if value is None), reverse=descending)
    return [row_id for _, row_id in sorted(present, reverse=descending)] + nulls


def fixed_rows() -> list[tuple[str, str | None]]:
    ids = [f"ctc_{i:02d}{IDS[i % len(IDS)].removeprefix('ctc_')}" for i in range(len(NAMES))]
    # Same-valued rows get ids whose code point order differs from a case-insensitive order.
    return list(zip(ids, NAMES, strict=True))


async def page_through(db: Database, account_id: str, sort: str, order: str, per_page: int) -> list[str]:
    seen: list[str] = []
    page = 1
    while True:
        request = PageRequest(page=page, per_page=per_page, sort=sort, order=order)
        rows, total = await contacts.list_contacts(
            db, account_id=account_id, request=request, email=None, group=None
        )
        seen += [row["id"] for row in rows]
        if not rows:
            assert len(seen) == total
            return seen
        page += 1


async def seeded(url: str) -> tuple[Database, str]:
    db = Database(url)
    account_id = await accounts.create_account(db, name="Collation", plan="pro")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.write() as conn:
        for i, (row_id, name) in enumerate(fixed_rows()):
            await conn.execute(
                t.contacts.insert().values(
                    id=row_id,
                    account_id=account_id,
                    email=f"c{i}@example.com",
                    first_name=name,
                    last_name=name,
                    company=name,
                    custom_fields={},
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
    return db, account_id


@pytest.fixture(scope="module")
async def both_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, tuple[Database, str]]]:
    admin = require_service(POSTGRES_URL, "PostgreSQL")
    sqlite_url = f"sqlite:///{Path(tmp_path_factory.mktemp('collation')) / 'c.db'}"
    upgrade(sqlite_url)
    name = f"fluenzr_collation_{os.getpid()}"
    postgres_url = fresh_postgres_database(admin, name)
    upgrade(postgres_url)
    opened = {"sqlite": await seeded(sqlite_url), "postgresql": await seeded(postgres_url)}
    yield opened
    for db, _ in opened.values():
        await db.dispose()
    drop_postgres_database(admin, name)


@pytest.mark.postgres
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["firstName", "lastName", "company"])
async def test_same_sorted_paging_gives_the_same_ids_on_sqlite_and_postgresql(
    both_databases: dict[str, tuple[Database, str]], sort: str, order: str
) -> None:
    orders = {
        backend: await page_through(db, account_id, sort, order, per_page=4)
        for backend, (db, account_id) in both_databases.items()
    }
    assert orders["sqlite"] == orders["postgresql"]
    assert orders["sqlite"] == documented_order(fixed_rows(), descending=order == "desc")


@pytest.mark.postgres
async def test_postgresql_collation_does_not_depend_on_the_database_locale(
    both_databases: dict[str, tuple[Database, str]],
) -> None:
    # The same query on a column with a linguistic collation (en-US via ICU when available) still gives
    # code point order: the sort key sets its own collation.
    db, account_id = both_databases["postgresql"]
    async with db.read() as conn:
        collations = (
            (
                await conn.exec_driver_sql(
                    "SELECT collname FROM pg_collation WHERE collname IN ('en-US-x-icu', 'en_US.utf8')"
                )
            )
            .scalars()
            .all()
        )
    if not collations:
        pytest.skip("no linguistic collation installed on this PostgreSQL server")
    collation = collations[0]
    async with db.write() as conn:
        await conn.exec_driver_sql(
            f'ALTER TABLE contacts ALTER COLUMN company TYPE VARCHAR(200) COLLATE "{collation}"'
        )
    try:
        ordered = await page_through(db, account_id, "company", "asc", per_page=5)
        assert ordered == documented_order(fixed_rows(), descending=False)
    finally:
        async with db.write() as conn:
            await conn.exec_driver_sql(
                'ALTER TABLE contacts ALTER COLUMN company TYPE VARCHAR(200) COLLATE "default"'
            )


async def test_sorted_lists_follow_the_documented_collation_through_the_api(
    client: httpx.AsyncClient,
) -> None:
    made: list[tuple[str, str | None]] = []
    for i, name in enumerate(["bob", "Bob", "alice", None, "Éva", "eve", "BOB"]):
        body: dict[str, Any] = {"name": f"g{i}" if name is None else name}
        response = await client.post("/groups", json=body)
        made.append((response.json()["data"]["id"], body["name"]))
    for order in ("asc", "desc"):
        seen: list[str] = []
        for page in (1, 2, 3):
            response = await client.get(
                "/groups", params={"sort": "name", "order": order, "perPage": 3, "page": page}
            )
            seen += [group["id"] for group in ok(response)]
        assert seen == documented_order(made, descending=order == "desc")
