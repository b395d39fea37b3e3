"""One request, one read connection on PostgreSQL (`Database.request_scope`): the API-key lookup and the
handler's reads share it; a write releases it first, so a request never holds two. Keys are not cached: a
key revoked through another process's database handle stops working on the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from fluenzr_server.app import build_app
from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts
from fluenzr_server.store.database import Database
from tests.conftest import Tenant, client_for, resources_for
from tests.conftest import test_settings as settings_for


class Checkouts:
    def __init__(self) -> None:
        self.total = 0
        self.open = 0
        self.most_open = 0

    def out(self, *_args: Any) -> None:
        self.total += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)

    def back(self, *_args: Any) -> None:
        self.open -= 1


@pytest.fixture
def checkouts(database: Database) -> Iterator[Checkouts]:
    seen = Checkouts()
    engines = {database.engine.sync_engine, database.write_engine.sync_engine}
    for extra in (database.loop_engine, database.hop_write_engine):
        if extra is not None:
            engines.add(extra.sync_engine)
    for engine in engines:
        event.listen(engine.pool, "checkout", seen.out)
        event.listen(engine.pool, "checkin", seen.back)
    yield seen
    for engine in engines:
        event.remove(engine.pool, "checkout", seen.out)
        event.remove(engine.pool, "checkin", seen.back)


async def test_a_read_request_checks_out_one_connection(
    client: httpx.AsyncClient, checkouts: Checkouts, database: Database
) -> None:
    contact = (await client.post("/contacts", json={"email": "one@example.com"})).json()["data"]["id"]
    await client.get("/contacts")  # counts are cached from here on
    checkouts.total = checkouts.most_open = 0
    assert (await client.get(f"/contacts/{contact}")).status_code == 200
    assert (await client.get("/contacts")).status_code == 200
    if database.dialect == "postgresql":
        assert checkouts.total == 2  # one per request: the key lookup's, reused by the handler
    else:
        # SQLite: each read checks a loop connection out and in within one step (nothing to share): the
        # key and the contact; the key, the list's version (a DriverStatement) and the page.
        assert checkouts.total == 5 and checkouts.most_open == 1
    assert checkouts.open == 0


async def test_a_write_request_never_holds_two_connections(
    client: httpx.AsyncClient, checkouts: Checkouts
) -> None:
    created = await client.post(
        "/contacts", json={"email": "two@example.com"}, headers={"Idempotency-Key": "request-connection-1"}
    )
    assert created.status_code == 201
    assert checkouts.most_open == 1
    assert checkouts.open == 0


async def test_a_failed_read_leaves_the_request_usable(client: httpx.AsyncClient) -> None:
    assert (await client.get("/contacts/ctc_doesnotexist00")).status_code == 404
    assert (await client.get("/contacts")).status_code == 200


async def test_a_key_revoked_by_another_process_stops_working_at_once(
    resources: Resources, database_url: str, tenant: Tenant
) -> None:
    other_process = Database(database_url)  # its own pools, as another worker's
    try:
        app = build_app(resources_for(resources, settings_for(database_url)))
        async with client_for(app, tenant.api_key) as client:
            assert (await client.get("/contacts")).status_code == 200
            assert await accounts.revoke_keys(other_process, key_prefix=tenant.api_key) == 1
            refused = await client.get("/contacts")
        assert refused.status_code == 401
    finally:
        await other_process.dispose()


async def test_a_plan_changed_by_another_process_applies_at_once(
    resources: Resources, database_url: str, tenant: Tenant
) -> None:
    other_process = Database(database_url)
    try:
        app = build_app(resources_for(resources, settings_for(database_url)))
        async with client_for(app, tenant.api_key) as client:
            assert (await client.get("/contacts")).status_code == 200
            await accounts.set_plan(other_process, account_id=tenant.account_id, plan="starter")
            refused = await client.get("/contacts")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "PLAN_REQUIRED"
    finally:
        await other_process.dispose()


async def test_a_read_request_opens_no_transaction_on_postgresql(
    client: httpx.AsyncClient, database: Database
) -> None:
    # Reads run in autocommit (`Database.read_engine`): at READ COMMITTED a statement sees the same data
    # inside a transaction as outside one, and BEGIN and ROLLBACK would each cost a round trip.
    if database.dialect != "postgresql":
        pytest.skip("SQLite reads run on the event loop without a transaction of their own")
    from psycopg.pq import TransactionStatus

    contact = (await client.post("/contacts", json={"email": "notx@example.com"})).json()["data"]["id"]
    after: list[tuple[str, TransactionStatus]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        status = conn.connection.driver_connection.info.transaction_status
        after.append((statement.split(None, 1)[0].upper(), status))

    sync_engine = database.engine.sync_engine
    event.listen(sync_engine, "after_cursor_execute", record)
    try:
        assert (await client.get(f"/contacts/{contact}")).status_code == 200
        assert (await client.get("/contacts")).status_code == 200
    finally:
        event.remove(sync_engine, "after_cursor_execute", record)
    # the reads that pass through SQLAlchemy: the contact and the page (the key lookups and the list's
    # version go to the driver on the same connection, whose status every later statement shows)
    assert len(after) >= 2
    assert set(after) == {("SELECT", TransactionStatus.IDLE)}
