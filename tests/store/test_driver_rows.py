"""A `DriverStatement` answers what SQLAlchemy answers for the same statement, on both databases, inside a
request's read scope and outside one."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from fluenzr_server.ids import hash_api_key
from fluenzr_server.services import contacts, groups
from fluenzr_server.services.contacts import _load_query
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.driver_rows import DriverStatement
from tests.conftest import Tenant

_ACCOUNT = select(t.accounts.c.id, t.accounts.c.plan, t.accounts.c.contacts_version).where(
    t.accounts.c.id == bindparam("account")
)
_KEYS = select(t.api_keys.c.id, t.api_keys.c.account_id).where(
    t.api_keys.c.key_hash == bindparam("key_hash"), t.api_keys.c.account_id == bindparam("account")
)


async def _through_sqlalchemy(database: Database, statement: object, params: dict[str, str]) -> object:
    async with database.read() as conn:
        row = (await conn.execute(statement, params)).first()  # type: ignore[call-overload]
    return tuple(row) if row is not None else None


@pytest.mark.parametrize("in_request", [False, True])
async def test_rows_are_sqlalchemys(database: Database, tenant: Tenant, in_request: bool) -> None:
    cases = [
        (_ACCOUNT, {"account": tenant.account_id}),
        (_ACCOUNT, {"account": "org_missing"}),
        (_KEYS, {"key_hash": hash_api_key(tenant.api_key), "account": tenant.account_id}),  # two binds
        (_KEYS, {"key_hash": hash_api_key(tenant.api_key), "account": "org_other"}),
    ]
    for statement, params in cases:
        expected = await _through_sqlalchemy(database, statement, params)
        if in_request:
            async with database.request_scope():
                found = await DriverStatement(statement).first(database, params)
        else:
            found = await DriverStatement(statement).first(database, params)
        assert found == expected
    assert await DriverStatement(_ACCOUNT).first(database, {"account": tenant.account_id}) == (
        tenant.account_id,
        "pro",
        0,
    )


@pytest.mark.parametrize("in_request", [False, True])
async def test_timestamps_json_and_held_values_are_sqlalchemys_too(
    database: Database, tenant: Tenant, in_request: bool
) -> None:
    """Columns SQLAlchemy processes (a timestamp, a JSON document) and a value the statement holds itself
    (group_concat's separator): `GET /contacts/{id}`'s statement."""
    account = tenant.account_id
    created = await contacts.create_contact(
        database,
        account_id=account,
        body={"email": "ada@example.com", "customFields": {"n": 1, "f": 0.5, "l": ["x"], "b": False}},
    )
    for name in ("B", "A"):
        group = await groups.create_group(database, account_id=account, body={"name": name})
        await groups.add_contacts(
            database, account_id=account, group_id=group["id"], contact_ids=[created["id"]]
        )
    cases = [
        (
            select(t.accounts.c.id, t.accounts.c.created_at).where(t.accounts.c.id == bindparam("account")),
            {"account": account},
        ),
        (_load_query(database.dialect), {"account": account, "contact": created["id"]}),
        (_load_query(database.dialect), {"account": account, "contact": "ctc_missing"}),
    ]
    for statement, params in cases:
        expected = await _through_sqlalchemy(database, statement, params)
        if in_request:
            async with database.request_scope():
                found = await DriverStatement(statement).first(database, params)
        else:
            found = await DriverStatement(statement).first(database, params)
        assert found == expected
        assert [type(value) for value in found or ()] == [type(value) for value in expected or ()]  # type: ignore[attr-defined]
