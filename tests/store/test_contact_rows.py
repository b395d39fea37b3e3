"""A contact read by position (`services.contacts._present_read`: the page query and the single read) is
exactly `wire.contacts.present` of the same row, keys in the same order, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from fluenzr_server.services import contacts, groups
from fluenzr_server.services.contacts import _group_ids_column, _present_read
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.wire.contacts import present
from tests.conftest import Tenant


async def test_a_read_by_position_is_present_of_the_row(database: Database, tenant: Tenant) -> None:
    account = tenant.account_id
    full = await contacts.create_contact(
        database,
        account_id=account,
        body={
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Analytical Engines",
            "customFields": {"title": "CTO", "employees": 42, "score": 0.5, "tags": ["a", "b"]},
        },
    )
    bare = await contacts.create_contact(database, account_id=account, body={"email": "bare@example.com"})
    group_ids = [
        (await groups.create_group(database, account_id=account, body={"name": name}))["id"]
        for name in ("B", "A", "C")
    ]
    for group_id in group_ids:
        await groups.add_contacts(database, account_id=account, group_id=group_id, contact_ids=[full["id"]])
    query = select(t.contacts, _group_ids_column(database.dialect)).where(t.contacts.c.account_id == account)
    async with database.read() as conn:
        rows = (await conn.execute(query)).all()
    assert len(rows) == 2
    for row in rows:
        folded = row.group_ids
        expected = present(row, sorted(folded.split(",")) if isinstance(folded, str) else list(folded or []))
        found = _present_read(row)
        assert found == expected and list(found) == list(expected)
    by_id = {row.id: _present_read(row) for row in rows}
    assert by_id[full["id"]]["groupIds"] == sorted(group_ids)
    assert by_id[bare["id"]]["groupIds"] == [] and by_id[bare["id"]]["customFields"] == {}
    # and the services' answers are built the same way
    assert (
        await contacts.get_contact(database, account_id=account, contact_id=full["id"]) == by_id[full["id"]]
    )
