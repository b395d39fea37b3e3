"""Groups: named contact lists with exact member counts and idempotent, atomic member adds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.errors import NotFound, ValidationFailed
from fluenzr_server.ids import new_id
from fluenzr_server.services.common import now, pick, retry_on_integrity_error, unique_ids
from fluenzr_server.services.contacts import bump_contacts_version, existing_ids
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import one_hop
from fluenzr_server.store.paging import PageRequest, counts_by, fetch_page
from fluenzr_server.wire.groups import present

_WRITABLE = {"name": "name", "description": "description"}
_SORTS = {"createdAt": t.groups.c.created_at, "updatedAt": t.groups.c.updated_at, "name": t.groups.c.name}


async def _counts(conn: AsyncConnection, group_ids: list[str]) -> dict[str, int]:
    return await counts_by(conn, t.group_members.c.group_id, group_ids)


async def _load(conn: AsyncConnection, account_id: str, group_id: str) -> dict[str, Any]:
    query = select(t.groups).where(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(group_id)
    return present(row, (await _counts(conn, [group_id])).get(group_id, 0))


async def list_groups(
    db: Database, *, account_id: str, request: PageRequest, name: str | None
) -> tuple[list[dict[str, Any]], int]:
    where = [t.groups.c.account_id == account_id]
    if name:
        where.append(func.lower(t.groups.c.name).contains(name.lower(), autoescape=True))
    async with db.read() as conn:
        rows, total = await fetch_page(
            conn, table=t.groups, where=where, sort_column=_SORTS[request.sort], request=request
        )
        counts = await _counts(conn, [row.id for row in rows])
    return [present(row, counts.get(row.id, 0)) for row in rows], total


async def get_group(db: Database, *, account_id: str, group_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        return await _load(conn, account_id, group_id)


@one_hop
async def create_group(db: Database, *, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    stamp = now()
    values = {
        "id": new_id("grp"),
        "account_id": account_id,
        "description": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    values.update(pick(body, _WRITABLE))
    async with db.write() as conn:
        row = (await conn.execute(t.groups.insert().values(values).returning(*t.groups.c))).one()
    return present(row, 0)


@one_hop
async def update_group(
    db: Database, *, account_id: str, group_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    values = {**pick(body, _WRITABLE), "updated_at": now()}
    async with db.write() as conn:
        scope = and_(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
        if (await conn.execute(update(t.groups).where(scope).values(values))).rowcount == 0:
            raise NotFound(group_id)
        return await _load(conn, account_id, group_id)


@one_hop
async def delete_group(db: Database, *, account_id: str, group_id: str) -> None:
    async with db.write() as conn:
        scope = and_(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
        if (await conn.execute(delete(t.groups).where(scope))).rowcount == 0:
            raise NotFound(group_id)
        await bump_contacts_version(conn, account_id)  # memberships went with it (`group` filter)


@one_hop
async def add_contacts(
    db: Database, *, account_id: str, group_id: str, contact_ids: list[str]
) -> dict[str, Any]:
    """All or nothing: any unknown (or foreign) id rejects the whole call."""
    wanted = unique_ids(contact_ids)
    return await retry_on_integrity_error(lambda: _add_contacts(db, account_id, group_id, wanted))


async def _add_contacts(db: Database, account_id: str, group_id: str, wanted: list[str]) -> dict[str, Any]:
    async with db.write() as conn:
        owner = select(t.groups.c.id).where(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
        if (await conn.execute(owner)).first() is None:
            raise NotFound(group_id)
        found = await existing_ids(conn, account_id=account_id, contact_ids=wanted)
        unknown = [contact_id for contact_id in wanted if contact_id not in found]
        if unknown:
            raise ValidationFailed(
                f"{len(unknown)} contact id(s) are not contacts of this account; nothing was added",
                {"contactIds": "contains unknown contact ids", "unknownIds": unknown},
            )
        stamp = now()
        rows = [{"group_id": group_id, "contact_id": contact_id, "added_at": stamp} for contact_id in wanted]
        # Count the rows this INSERT wrote (RETURNING skips the ignored ones), not a before/after count:
        # concurrent adds commit in between. (rowcount is -1 for this statement on psycopg.)
        inserted = db.insert_ignore(t.group_members, rows).returning(t.group_members.c.contact_id)
        added = len((await conn.execute(inserted)).all())
        if added:
            await bump_contacts_version(conn, account_id)
        after = (await _counts(conn, [group_id])).get(group_id, 0)
    return {"groupId": group_id, "added": added, "contactCount": after}


async def member_ids(conn: AsyncConnection, *, account_id: str, group_id: str) -> list[str]:
    owner = select(t.groups.c.id).where(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
    if (await conn.execute(owner)).first() is None:
        raise ValidationFailed("No such group in this account", {"groupId": "is not a group of this account"})
    query = (
        select(t.group_members.c.contact_id)
        .where(t.group_members.c.group_id == group_id)
        .order_by(t.group_members.c.contact_id)
    )
    return list((await conn.execute(query)).scalars().all())
