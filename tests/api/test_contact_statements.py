"""A contacts page or one contact is one statement: the group ids are folded into the contacts query
(`services.contacts._group_ids_column`), sorted as before, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from fluenzr_server.store.database import Database


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    def trace(dbapi_connection: Any, *_args: Any) -> None:
        # SQLite's reads on the loop: every statement of the connection, SQLAlchemy's and those a
        # `DriverStatement` sends to the driver itself
        dbapi_connection.set_trace_callback(lambda statement: seen.append(" ".join(statement.split())))

    def untrace(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    loop = database.loop_engine.sync_engine if database.loop_engine is not None else None
    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    if loop is not None:
        event.listen(loop, "checkout", trace)
        event.listen(loop, "checkin", untrace)
    yield seen
    event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    if loop is not None:
        event.remove(loop, "checkout", trace)
        event.remove(loop, "checkin", untrace)


async def _contact_in_groups(client: httpx.AsyncClient, email: str, groups: int) -> tuple[str, list[str]]:
    contact = (await client.post("/contacts", json={"email": email})).json()["data"]["id"]
    group_ids = []
    for n in range(groups):
        group = (await client.post("/groups", json={"name": f"{email} {n}"})).json()["data"]["id"]
        added = await client.post(f"/groups/{group}/contacts", json={"contactIds": [contact]})
        assert added.status_code == 200, added.text
        group_ids.append(group)
    return contact, sorted(group_ids)


async def test_a_page_and_a_contact_are_one_statement_each_with_sorted_group_ids(
    client: httpx.AsyncClient, statements: list[str]
) -> None:
    in_three, three = await _contact_in_groups(client, "three@example.com", 3)
    in_one, one = await _contact_in_groups(client, "one@example.com", 1)
    await client.post("/contacts", json={"email": "none@example.com"})

    statements.clear()
    page = await client.get("/contacts", params={"sort": "email", "order": "asc"})
    assert page.status_code == 200
    by_email = {contact["email"]: contact["groupIds"] for contact in page.json()["data"]}
    assert by_email == {"none@example.com": [], "one@example.com": one, "three@example.com": three}
    contact_queries = [s for s in statements if "FROM contacts" in s and "api_keys" not in s]
    assert len(contact_queries) == 1  # the page, with its group ids
    assert not [s for s in statements if s.startswith("SELECT group_members")]

    statements.clear()
    single = await client.get(f"/contacts/{in_three}")
    assert single.json()["data"]["groupIds"] == three
    assert len([s for s in statements if "FROM contacts" in s]) == 1
    assert not [s for s in statements if s.startswith("SELECT group_members")]
    assert (await client.get(f"/contacts/{in_one}")).json()["data"]["groupIds"] == one


async def test_hot_statements_are_built_once(client: httpx.AsyncClient, database: Database) -> None:
    """The list's version and its page, and a contact's load reuse their statement objects (building one
    and its cache key cost several times what running these indexed ones costs). The key lookup, the
    list's version and on SQLite the contact's load do not pass through SQLAlchemy's execution at all:
    their SQL is compiled once (`store/driver_rows.py`)."""
    contact = (await client.post("/contacts", json={"email": "built@example.com"})).json()["data"]["id"]
    executed: list[Any] = []

    def record(_conn: Any, clause: Any, *_args: Any) -> None:
        executed.append(clause)

    engines = [database.engine.sync_engine]
    if database.loop_engine is not None:
        engines.append(database.loop_engine.sync_engine)
    for engine in engines:
        event.listen(engine, "before_execute", record)
    try:
        rounds = []
        for _ in range(2):
            executed.clear()
            assert (await client.get("/contacts")).status_code == 200
            assert (await client.get(f"/contacts/{contact}")).status_code == 200
            rounds.append([id(clause) for clause in executed])
    finally:
        for engine in engines:
            event.remove(engine, "before_execute", record)
    # the page; the contact, except on SQLite (the list's version everywhere and the contact on SQLite are
    # sent by a `DriverStatement` to the driver, not through here)
    assert len(rounds[0]) >= (1 if database.dialect == "sqlite" else 2)
    assert rounds[0] == rounds[1]
