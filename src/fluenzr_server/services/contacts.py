"""Contacts: unique email per account (case-insensitive), custom fields, group memberships."""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.errors import Conflict, NotFound
from fluenzr_server.ids import new_sortable_id
from fluenzr_server.services import events
from fluenzr_server.services.common import escape_like, normalise_email, now, pick, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.driver_rows import DriverStatement
from fluenzr_server.store.one_hop import small_write
from fluenzr_server.store.paging import CachedCount, CountCache, PageRequest, fetch_page
from fluenzr_server.wire.contacts import present

_WRITABLE = {"email": "email", "firstName": "first_name", "lastName": "last_name", "company": "company"}
_SORTS = {
    "createdAt": t.contacts.c.created_at,
    "updatedAt": t.contacts.c.updated_at,
    "email": t.contacts.c.email,
    "firstName": t.contacts.c.first_name,
    "lastName": t.contacts.c.last_name,
    "company": t.contacts.c.company,
}


_TOTALS = CountCache()


# The hot statements are built once (with bound parameters): building a statement and its cache key on
# every call cost several times what running it costs (issue 12, bench/inproc.py).
_BUMP_VERSION = (
    update(t.accounts)
    .where(t.accounts.c.id == bindparam("account"))
    .values(contacts_version=t.accounts.c.contacts_version + 1)
)
_VERSION = DriverStatement(
    select(t.accounts.c.contacts_version).where(t.accounts.c.id == bindparam("account"))
)
_INSERT = t.contacts.insert().returning(*t.contacts.c)
_OF_ACCOUNT = t.contacts.c.account_id == bindparam("account")


async def bump_contacts_version(conn: AsyncConnection, account_id: str) -> None:
    """Mark the account's contacts lists as changed (call inside the write's own transaction)."""
    await conn.execute(_BUMP_VERSION, {"account": account_id})


async def _contacts_version(db: Database, account_id: str) -> int:
    """The account's contacts data version, read before the data it tags (a count cached with it)."""
    row = await _VERSION.first(db, {"account": account_id})
    if row is None:
        raise NotFound(account_id)
    return int(row[0])


async def _group_ids(conn: AsyncConnection, contact_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if contact_ids:
        query = (
            select(t.group_members.c.contact_id, t.group_members.c.group_id)
            .where(t.group_members.c.contact_id.in_(contact_ids))
            .order_by(t.group_members.c.group_id)
        )
        for contact_id, group_id in (await conn.execute(query)).all():
            found[contact_id].append(group_id)
    return found


@functools.cache  # one column object per dialect: a reused page statement is found without building it
def _group_ids_column(dialect: str) -> ColumnElement[Any]:
    """The ids of the groups holding the contact, as a column of the contact's own query (one statement
    per page instead of two): an array sorted by the database (PostgreSQL), or a comma-separated list
    (SQLite, whose group_concat has no order; `_unfold` sorts it by code point, SQLite's BINARY order).
    """
    members = t.group_members.c
    folded = (
        func.array_agg(aggregate_order_by(members.group_id, members.group_id))
        if dialect == "postgresql"
        else func.group_concat(members.group_id, ",")
    )
    return select(folded).where(members.contact_id == t.contacts.c.id).scalar_subquery().label("group_ids")


def _unfold(folded: str | list[str] | None) -> list[str]:
    """The group ids `_group_ids_column` folded into a row (ids never hold a comma: `ids.new_id`)."""
    if not folded:
        return []
    return sorted(folded.split(",")) if isinstance(folded, str) else list(folded)


# A contact row read with its group ids (`_load_query`, the page query): the table's columns in this order,
# then `group_ids`. `_present_read` unpacks it by position: a page of 20 presented through the rows'
# attribute lookups cost 100 CPU µs, unpacked 40 (issue 12).
_READ_LAYOUT = (
    "id",
    "account_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "custom_fields",
    "created_at",
    "updated_at",
)
if tuple(t.contacts.c.keys()) != _READ_LAYOUT:
    raise RuntimeError("contacts' columns changed: update _READ_LAYOUT and _present_read")


def _present_read(row: Any) -> dict[str, Any]:
    """`present(row, _unfold(row.group_ids))` for a row of `_READ_LAYOUT` and its group ids, by position."""
    contact_id, _account, email, first_name, last_name, company, custom_fields, created, updated, folded = row
    return {
        "id": contact_id,
        "email": email,
        "firstName": first_name,
        "lastName": last_name,
        "company": company,
        "customFields": custom_fields,
        "groupIds": _unfold(folded),
        "createdAt": wire_time(created),
        "updatedAt": wire_time(updated),
    }


async def load_contact(conn: AsyncConnection, *, account_id: str, contact_id: str) -> dict[str, Any]:
    """The contact as `GET /contacts/{id}` shows it, read inside `conn`'s transaction; NotFound if absent."""
    return await _load(conn, account_id, contact_id)


@functools.cache
def _load_query(dialect: str) -> Select[Any]:
    return select(t.contacts, _group_ids_column(dialect)).where(
        t.contacts.c.account_id == bindparam("account"), t.contacts.c.id == bindparam("contact")
    )


async def _load(conn: AsyncConnection, account_id: str, contact_id: str) -> dict[str, Any]:
    query = _load_query(conn.dialect.name)
    row = (await conn.execute(query, {"account": account_id, "contact": contact_id})).first()
    if row is None:
        raise NotFound(contact_id)
    return _present_read(row)


async def list_contacts(
    db: Database, *, account_id: str, request: PageRequest, email: str | None, group: str | None
) -> tuple[list[dict[str, Any]], int]:
    where = [_OF_ACCOUNT]
    if email:
        where.append(t.contacts.c.email.like(f"%{escape_like(email.lower())}%", escape="\\"))
    if group:
        membership = exists().where(
            and_(t.group_members.c.group_id == group, t.group_members.c.contact_id == t.contacts.c.id)
        )
        where.append(membership)
    # A substring or group filter may scan many rows: off the event loop (SQLite), as any read was before.
    version = await _contacts_version(db, account_id)
    async with db.read(offload=bool(email or group)) as conn:
        count = CachedCount(_TOTALS, (account_id, email, group), version)
        rows, total = await fetch_page(
            conn,
            table=t.contacts,
            where=where,
            sort_column=_SORTS[request.sort],
            request=request,
            cached_count=count,
            columns=[_group_ids_column(db.dialect)],
            params={"account": account_id},
            # The unfiltered list (the common one) keeps its statement; a filter's text is in its statement.
            reuse=None if email or group else ("contacts", db.dialect),
        )
    return [_present_read(row) for row in rows], total


@functools.cache
def _get_statement(dialect: str) -> DriverStatement:
    return DriverStatement(_load_query(dialect))


async def get_contact(db: Database, *, account_id: str, contact_id: str) -> dict[str, Any]:
    # `_load` through the driver (store/driver_rows.py): the same SQL without SQLAlchemy's execution.
    row = await _get_statement(db.dialect).first(db, {"account": account_id, "contact": contact_id})
    if row is None:
        raise NotFound(contact_id)
    return _present_read(row)


async def _conflict(db: Database, account_id: str, email: str) -> Conflict:
    async with db.read() as conn:
        query = select(t.contacts.c.id).where(
            t.contacts.c.account_id == account_id, t.contacts.c.email == email
        )
        existing = (await conn.execute(query)).scalar()
    return Conflict("A contact with this email already exists", {"email": email, "existingId": existing})


@small_write
async def create_contact(db: Database, *, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    values = pick(body, _WRITABLE)
    values["email"] = normalise_email(body["email"])
    stamp = now()
    values.update(
        id=new_sortable_id("ctc"),
        account_id=account_id,
        custom_fields=body.get("customFields", {}),
        created_at=stamp,
        updated_at=stamp,
    )
    try:
        async with db.write() as conn:
            row = (await conn.execute(_INSERT, values)).one()
            await bump_contacts_version(conn, account_id)
            created = present(row, [])
            await events.emit(conn, account_id=account_id, type="contact.created", data=created)
    except IntegrityError:
        raise await _conflict(db, account_id, values["email"]) from None
    return created


@small_write
async def update_contact(
    db: Database, *, account_id: str, contact_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    values = pick(body, _WRITABLE)
    if "email" in values:
        values["email"] = normalise_email(values["email"])
    if "customFields" in body:
        values["custom_fields"] = body["customFields"]
    values["updated_at"] = now()
    scope = and_(t.contacts.c.account_id == account_id, t.contacts.c.id == contact_id)
    try:
        async with db.write() as conn:
            result = await conn.execute(update(t.contacts).where(scope).values(values))
            if result.rowcount == 0:
                raise NotFound(contact_id)
            await bump_contacts_version(conn, account_id)
            updated = await _load(conn, account_id, contact_id)
            await events.emit(conn, account_id=account_id, type="contact.updated", data=updated)
            return updated
    except IntegrityError:
        raise await _conflict(db, account_id, values["email"]) from None


@small_write
async def delete_contact(db: Database, *, account_id: str, contact_id: str) -> None:
    async with db.write() as conn:
        scope = and_(t.contacts.c.account_id == account_id, t.contacts.c.id == contact_id)
        gone = await _load(conn, account_id, contact_id)  # NotFound for unknown and foreign ids
        # Memberships and send records go with the contact (ON DELETE CASCADE, foreign keys are on).
        result = await conn.execute(delete(t.contacts).where(scope))
        if result.rowcount == 0:
            raise NotFound(contact_id)
        await bump_contacts_version(conn, account_id)
        await events.emit(conn, account_id=account_id, type="contact.deleted", data=gone)


async def existing_ids(conn: AsyncConnection, *, account_id: str, contact_ids: list[str]) -> set[str]:
    """Which of these ids are contacts of the account (foreign ids are simply absent)."""
    found: set[str] = set()
    for start in range(0, len(contact_ids), 500):
        chunk = contact_ids[start : start + 500]
        query = select(t.contacts.c.id).where(
            t.contacts.c.account_id == account_id, t.contacts.c.id.in_(chunk)
        )
        found.update((await conn.execute(query)).scalars().all())
    return found
