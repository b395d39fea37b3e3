"""A `DriverStatement` answers what SQLAlchemy answers for the same statement, on both databases, inside a
request's read scope and outside one."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from fluenzr_server.ids import hash_api_key
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


def test_columns_the_driver_would_hand_back_differently_are_refused() -> None:
    with pytest.raises(TypeError, match="not a plain string or integer"):
        DriverStatement(select(t.accounts.c.id, t.accounts.c.created_at))
