"""Issue 17's done-criterion: the seed's "Sincronizar un CRM" example, rewritten with `import_all`, syncs a
CRM of 100,000 contacts (half new, half changed) against the real server on SQLite and on PostgreSQL.

The seed's loop creates one contact per request (100 minutes at the Pro plan's 1,000 requests a minute, and
a 409 for every contact that already exists); the rewrite is one `import_all(..., mode="upsert")` call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fluenzr import AsyncFluenzrClient
from sqlalchemy import create_engine, func, select

from fluenzr_server.store import tables as t
from fluenzr_server.store.engine import sync_url
from tests.conftest import (
    POSTGRES_URL,
    cli,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
    require_service,
    start_server,
)

pytestmark = pytest.mark.slow

CRM_SIZE = 100_000


class Server:
    def __init__(self, base_url: str, api_key: str, account_id: str, database_url: str) -> None:
        self.base_url, self.api_key, self.account_id, self.database_url = (
            base_url,
            api_key,
            account_id,
            database_url,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"crm-{request.param}")
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'crm.db'}"
    else:
        admin = require_service(POSTGRES_URL, "PostgreSQL")
        url = fresh_postgres_database(admin, f"fluenzr_crm_{os.getpid()}")
    # The Pro plan's real limit: the whole sync must fit in it.
    env = {
        **os.environ,
        "FLUENZR_DATABASE_URL": url,
        "FLUENZR_ENVIRONMENT": "test",
        "FLUENZR_RATE_LIMIT": "1000/minute",
    }
    cli(env, "migrate")
    api_key = cli(env, "accounts", "create", "--name", "CRM", "--plan", "pro").strip().splitlines()[-1]
    port = free_port()
    process = start_server(env, port, Path(folder) / "server.log")
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        account_id = conn.execute(select(t.accounts.c.id).where(t.accounts.c.name == "CRM")).scalar_one()
    engine.dispose()
    try:
        yield Server(f"http://127.0.0.1:{port}/v1", api_key, account_id, url)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if admin is not None:
            drop_postgres_database(admin, f"fluenzr_crm_{os.getpid()}")


def my_crm(version: int) -> Iterator[dict[str, Any]]:
    """`myCRM.getNewContacts()`: the CRM's own snake_case fields. In version 2 the first half has changed
    jobs and the second half is new."""
    count = CRM_SIZE // 2 if version == 1 else CRM_SIZE
    for i in range(count):
        company = f"Company {i % 997}" if version == 1 else f"New Company {i % 991}"
        yield {
            "email": f"Person.{i}@CRM.example.com",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "company": company,
        }


async def sync_crm(fluenzr: AsyncFluenzrClient, version: int) -> Any:
    """The seed's example, rewritten: every CRM contact created or updated, 1,000 per request."""
    crm_contacts = my_crm(version)
    return await fluenzr.contacts.import_all(
        (
            {
                "email": contact["email"],
                "first_name": contact["first_name"],
                "last_name": contact["last_name"],
                "company": contact["company"],
            }
            for contact in crm_contacts
        ),
        mode="upsert",
    )


async def test_crm_sync_of_100000_contacts_half_new_half_changed(server: Server) -> None:
    async with AsyncFluenzrClient(api_key=server.api_key, base_url=server.base_url, timeout=120) as fluenzr:
        first = await sync_crm(fluenzr, version=1)
        assert (first.counts.created, first.counts.error) == (CRM_SIZE // 2, 0)

        started = time.monotonic()
        second = await sync_crm(fluenzr, version=2)
        elapsed = time.monotonic() - started
        print(f"\nCRM sync of {CRM_SIZE:,} contacts: {elapsed:.1f} s, {CRM_SIZE / elapsed:,.0f} contacts/s")

        assert second.counts.created == CRM_SIZE // 2
        assert second.counts.updated == CRM_SIZE // 2
        assert (second.counts.unchanged, second.counts.error) == (0, 0)
        assert [r.index for r in second.results] == list(range(CRM_SIZE))
        half = CRM_SIZE // 2
        assert [r.status for r in second.results[:half]] == ["updated"] * half
        assert [r.status for r in second.results[half:]] == ["created"] * half
        assert [r.id for r in second.results[:half]] == [r.id for r in first.results]
        assert len({r.id for r in second.results}) == CRM_SIZE
        assert (await fluenzr.contacts.list(email="crm.example.com", per_page=1)).total == CRM_SIZE

    # What is stored is exactly the CRM, read back from the database itself.
    engine = create_engine(sync_url(server.database_url))
    with engine.connect() as conn:
        columns = (
            t.contacts.c.id,
            t.contacts.c.email,
            t.contacts.c.first_name,
            t.contacts.c.last_name,
            t.contacts.c.company,
        )
        stored = {
            row.email: row
            for row in conn.execute(select(*columns).where(t.contacts.c.account_id == server.account_id))
        }
        events = dict(
            conn.execute(
                select(t.events.c.type, func.count())
                .where(t.events.c.account_id == server.account_id)
                .group_by(t.events.c.type)
            ).all()
        )
    engine.dispose()
    assert len(stored) == CRM_SIZE
    for index, contact in enumerate(my_crm(version=2)):
        row = stored[contact["email"].lower()]
        assert (row.first_name, row.last_name, row.company) == (
            contact["first_name"],
            contact["last_name"],
            contact["company"],
        ), contact
        assert row.id == second.results[index].id
    assert events == {"contact.created": CRM_SIZE, "contact.updated": CRM_SIZE // 2}
