"""`store.bulk.insert_rows` stores exactly what SQLAlchemy's own executemany stores, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, text

from fluenzr_server.ids import new_id
from fluenzr_server.store import tables as t
from fluenzr_server.store.bulk import insert_rows, update_rows
from fluenzr_server.store.database import Database
from tests.conftest import Tenant

STAMP = datetime(2026, 11, 30, 12, 34, 56, 789012, tzinfo=UTC)
DATA: list[Any] = [
    {"id": "ctc_1", "customFields": {"n": 1e2, "big": 2**70, "neg": -0.0, "s": "ñ 😀 \u2028"}},
    {"nested": [1, 2.5, None, True, {"x": "\\u0000"}]},
    {},
]


def events(account_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id("evt"),
            "account_id": account_id,
            "type": "contact.created",
            "data": data,
            "created_at": STAMP,
        }
        for data in DATA
    ]


async def raw(db: Database, ids: list[str]) -> list[tuple[Any, ...]]:
    """The values as the driver returns them (SQLite: the stored text), in the order of `ids`."""
    async with db.read(offload=True) as conn:
        found = {
            row[0]: tuple(row)
            for row in (
                await conn.exec_driver_sql("SELECT id, account_id, type, data, created_at FROM events")
            ).all()
        }
    return [found[event_id][1:] for event_id in ids]


async def test_insert_rows_stores_what_sqlalchemy_stores(database: Database, tenant: Tenant) -> None:
    mine, theirs = events(tenant.account_id), events(tenant.account_id)
    async with database.write() as conn:
        assert await insert_rows(conn, t.events, mine) == len(mine)
        await conn.execute(insert(t.events), theirs)
    assert await raw(database, [row["id"] for row in mine]) == await raw(
        database, [row["id"] for row in theirs]
    )
    async with database.read() as conn:
        stored = (await conn.execute(t.events.select().where(t.events.c.id == mine[0]["id"]))).one()
    assert stored.data == DATA[0] and stored.data["customFields"]["big"] == 2**70
    assert stored.created_at.replace(tzinfo=UTC) == STAMP


async def test_insert_rows_skips_conflicts_only_when_asked(database: Database, tenant: Tenant) -> None:
    email = f"bulk-{new_id('x')}@example.com".lower()
    row = {
        "id": new_id("ctc"),
        "account_id": tenant.account_id,
        "email": email,
        "first_name": None,
        "last_name": None,
        "company": None,
        "custom_fields": {},
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    async with database.write() as conn:
        assert await insert_rows(conn, t.contacts, [row], skip_conflicts=True) == 1
    again = {**row, "id": new_id("ctc"), "first_name": "Twin"}
    fresh = {**row, "id": new_id("ctc"), "email": "other-" + email}
    async with database.write() as conn:
        assert await insert_rows(conn, t.contacts, [again, fresh], skip_conflicts=True) == 1
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with database.write() as conn:
            await insert_rows(conn, t.contacts, [{**again, "id": new_id("ctc")}])
    async with database.read() as conn:
        query = text("SELECT first_name FROM contacts WHERE email = :email")
        assert (await conn.execute(query, {"email": email})).scalars().all() == [None]


async def test_insert_rows_takes_no_rows_and_refuses_ragged_ones(database: Database, tenant: Tenant) -> None:
    async with database.write() as conn:
        assert await insert_rows(conn, t.events, []) == 0
        with pytest.raises(ValueError, match="same columns"):
            await insert_rows(conn, t.events, [events(tenant.account_id)[0], {"id": new_id("evt")}])


async def test_update_rows_stores_what_sqlalchemy_stores(database: Database, tenant: Tenant) -> None:
    def contact(**fields: Any) -> dict[str, Any]:
        email = f"upd-{new_id('x').lower()}@example.com"
        return {
            "id": new_id("ctc"),
            "account_id": tenant.account_id,
            "email": email,
            "first_name": "Old",
            "last_name": None,
            "company": None,
            "custom_fields": {},
            "created_at": STAMP,
            "updated_at": STAMP,
            **fields,
        }

    mine, theirs, untouched = contact(), contact(), contact()
    later = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)
    changes = {"first_name": "Ñandú 😀", "company": None, "custom_fields": DATA[0], "updated_at": later}
    async with database.write() as conn:
        await conn.execute(insert(t.contacts), [mine, theirs, untouched])
        assert (
            await update_rows(
                conn,
                t.contacts,
                [{"account_id": tenant.account_id, "id": mine["id"], **changes}],
                keys=("account_id", "id"),
            )
            == 1
        )
        statement = (
            t.contacts.update()
            .where(t.contacts.c.account_id == tenant.account_id, t.contacts.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in changes})
        )
        await conn.execute(statement, [{"b_id": theirs["id"], **{f"b_{k}": v for k, v in changes.items()}}])
        # Another account's key picks no row.
        assert (
            await update_rows(
                conn,
                t.contacts,
                [{"account_id": "org_other", "id": untouched["id"], **changes}],
                keys=("account_id", "id"),
            )
            == 0
        )
    # The values as the driver returns them (SQLite: the stored text), compared both ways.
    query = text("SELECT first_name, company, custom_fields, updated_at FROM contacts WHERE id = :id")
    async with database.read(offload=True) as conn:
        raw = {
            row["id"]: tuple((await conn.execute(query, {"id": row["id"]})).one())
            for row in (mine, theirs, untouched)
        }
    assert raw[mine["id"]] == raw[theirs["id"]]
    assert raw[untouched["id"]][0] == "Old"
    async with database.read() as conn:
        stored = (await conn.execute(t.contacts.select().where(t.contacts.c.id == mine["id"]))).one()
    assert (stored.first_name, stored.company, stored.custom_fields) == ("Ñandú 😀", None, DATA[0])
    assert stored.updated_at.replace(tzinfo=UTC) == later and stored.email == mine["email"]
    async with database.write() as conn:
        assert await update_rows(conn, t.contacts, [], keys=("id",)) == 0
