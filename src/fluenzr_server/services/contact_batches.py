"""Batch import of contacts (`createContactsBatch`): up to 1,000 rows created or upserted by email.

Every row is checked on its own with `createContact`'s rules (the contract's `ContactCreate` schema via
`batch_rows`, then the service's email check), so a row's error is what `createContact` would answer. The
rows that pass are written in ONE transaction with multi-row statements: one SELECT of the emails that
already exist, one INSERT … ON CONFLICT DO NOTHING of the new ones, one batched UPDATE of the changed
ones, one INSERT of the group memberships, one contacts-version bump and one batched INSERT of the
`contact.created` / `contact.updated` outbox events. A rollback therefore leaves no contact, membership
or event behind. On SQLite the whole call is one thread hop (`@one_hop`); each list lookup is one bound
parameter (`store.listed`).

Result per row, in input order: `{"index", "status": created|updated|unchanged|error, "id"?, "error"?,
"suppressed"?}`. A stored row whose email is on the account's suppression list (a hard bounce, an
unsubscribe) is stored all the same and carries `"suppressed": true`: no campaign will email it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.batch_rows import row_validator
from fluenzr_server.errors import ApiError, Conflict, ValidationFailed
from fluenzr_server.ids import new_sortable_ids
from fluenzr_server.services import suppressions
from fluenzr_server.services.common import normalise_email, now, wire_time
from fluenzr_server.services.contacts import bump_contacts_version
from fluenzr_server.services.events import emit_many
from fluenzr_server.store import tables as t
from fluenzr_server.store.bulk import insert_rows, update_rows
from fluenzr_server.store.database import Database
from fluenzr_server.store.listed import one_of
from fluenzr_server.store.one_hop import one_hop
from fluenzr_server.validation import unstorable_text

Mode = Literal["create", "upsert"]
MAX_ROWS = 1000
# Wire field -> column, for the fields a row may give (`email` is the match key and always given).
_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "company": "company",
    "customFields": "custom_fields",
}
_DEFAULTS: dict[str, Any] = {"first_name": None, "last_name": None, "company": None, "custom_fields": {}}
# Values per statement of the lookups (each list is one bound parameter: `store.listed`).
_CHUNK = 1000
# A row whose INSERT lost a race with a concurrent writer is looked up again; this bounds those rounds.
_ROUNDS = 3


@dataclass(slots=True)
class _Row:
    index: int
    email: str
    given: dict[str, Any]  # column -> value, only the fields the row gives


@dataclass
class _Outcome:
    results: list[dict[str, Any] | None]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stored_ids: list[str] = field(default_factory=list)
    changed: bool = False


def _error(index: int, exc: ApiError) -> dict[str, Any]:
    return {
        "index": index,
        "status": "error",
        "error": {"code": exc.code, "message": exc.message, "details": exc.details},
    }


def _check_rows(contacts: Sequence[Any], outcome: _Outcome, earlier: Mapping[str, int]) -> list[_Row]:
    """Rows that pass createContact's checks, first occurrence of each email only (`earlier`: emails that
    earlier batches of the same import gave, with the import index of the row); the rest as errors."""
    validator = row_validator("ContactCreate")
    # One pass over the whole batch (in C, the common case) instead of one per row.
    rows = list(contacts)
    storable = unstorable_text(rows) is None
    all_valid = storable and validator.fast_all_valid(rows)  # then no row needs its own check
    first_index: dict[str, int] = {email.lower(): index for email, index in earlier.items()}
    valid: list[_Row] = []
    for index, row in enumerate(rows):
        problem = None if all_valid else validator.check(row, storable=storable)
        if problem is None:
            try:
                email = normalise_email(row["email"])
            except ValidationFailed as exc:
                problem = exc
        if problem is not None:
            outcome.results[index] = _error(index, problem)
            continue
        if email in first_index:
            duplicate = Conflict(
                "The email is given by an earlier row of this batch",
                {"email": email, "firstIndex": first_index[email]},
            )
            outcome.results[index] = _error(index, duplicate)
            continue
        first_index[email] = index
        given = {column: row[wire] for wire, column in _FIELDS.items() if wire in row}
        valid.append(_Row(index=index, email=email, given=given))
    return valid


@one_hop
async def create_contacts_batch(
    db: Database,
    *,
    account_id: str,
    contacts: Sequence[Any],
    mode: Mode = "create",
    group_id: str | None = None,
    earlier_emails: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Create (`mode="create"`) or create-or-update by email (`mode="upsert"`) up to 1,000 contacts.

    `contacts` are raw rows (any JSON value each); `group_id`, when given, must be a group of the account
    (else `ValidationFailed` on `groupId`, nothing written) and every stored row joins it.
    `earlier_emails` ({email: index in the import}) makes a valid row with one of those emails a `CONFLICT`
    with that `firstIndex`, as if the earlier batches' rows were the first rows of this one. Returns
    `{"mode", "groupId", "counts": {status: n}, "results": [...]}` with one result per row, in order.
    """
    if not 1 <= len(contacts) <= MAX_ROWS:
        raise ValidationFailed(
            f"contacts must have 1 to {MAX_ROWS} rows", {"contacts": f"must have 1 to {MAX_ROWS} items"}
        )
    outcome = _Outcome(results=[None] * len(contacts))
    rows = _check_rows(contacts, outcome, earlier_emails or {})
    if rows or group_id is not None:
        async with db.write() as conn:
            if group_id is not None:
                await _check_group(conn, account_id, group_id)
            await _store(db, conn, account_id=account_id, rows=rows, mode=mode, outcome=outcome)
            await _mark_suppressed(conn, account_id, rows, outcome)
            if group_id is not None and outcome.stored_ids:
                added = await _join_group(db, conn, group_id, outcome.stored_ids)
                outcome.changed = outcome.changed or added > 0
            await _emit(conn, account_id, group_id, outcome)
            if outcome.changed:
                await bump_contacts_version(conn, account_id)
    results = [result for result in outcome.results if result is not None]
    counts = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
    for result in results:
        counts[result["status"]] += 1
    return {"mode": mode, "groupId": group_id, "counts": counts, "results": results}


async def _mark_suppressed(
    conn: AsyncConnection, account_id: str, rows: list[_Row], outcome: _Outcome
) -> None:
    """Flag the stored rows whose email the account suppresses, by address or by domain (the list the
    sending engine checks)."""
    stored = {row.email: row.index for row in rows if (outcome.results[row.index] or {}).get("id")}
    for email in await suppressions.suppressed(conn, account_id=account_id, emails=stored):
        result = outcome.results[stored[email]]
        assert result is not None
        result["suppressed"] = True


async def _check_group(conn: AsyncConnection, account_id: str, group_id: str) -> None:
    owner = select(t.groups.c.id).where(t.groups.c.account_id == account_id, t.groups.c.id == group_id)
    if (await conn.execute(owner)).first() is None:
        raise ValidationFailed("No such group in this account", {"groupId": "is not a group of this account"})


async def _existing(
    db: Database, conn: AsyncConnection, account_id: str, emails: list[str]
) -> dict[str, Row[Any]]:
    """The account's contacts with these emails, by email (locked on PostgreSQL until commit)."""
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(emails), _CHUNK):
        query = select(t.contacts).where(
            t.contacts.c.account_id == account_id,
            one_of(conn.dialect, t.contacts.c.email, emails[start : start + _CHUNK]),
        )
        if db.dialect == "postgresql":  # in email order, so concurrent batches lock rows in one order
            query = query.order_by(t.contacts.c.email).with_for_update()
        for row in (await conn.execute(query)).all():
            found[row.email] = row
    return found


async def _store(
    db: Database, conn: AsyncConnection, *, account_id: str, rows: list[_Row], mode: Mode, outcome: _Outcome
) -> None:
    pending = rows
    updates: list[tuple[_Row, Row[Any]]] = []
    for _ in range(_ROUNDS):
        if not pending:
            break
        existing = await _existing(db, conn, account_id, [row.email for row in pending])
        new: list[_Row] = []
        for row in pending:
            match = existing.get(row.email)
            if match is None:
                new.append(row)
            elif mode == "create":
                conflict = Conflict(
                    "A contact with this email already exists", {"email": row.email, "existingId": match.id}
                )
                outcome.results[row.index] = _error(row.index, conflict)
            else:
                if any(getattr(match, column) != value for column, value in row.given.items()):
                    updates.append((row, match))
                else:
                    outcome.results[row.index] = {"index": row.index, "status": "unchanged", "id": match.id}
                    outcome.stored_ids.append(match.id)
        # Rows a concurrent writer inserted first (PostgreSQL) are matched again in the next round.
        pending = await _insert(conn, account_id, new, outcome)
    for row in pending:
        retry = Conflict("The contact changed during the request; retry", {"email": row.email})
        outcome.results[row.index] = _error(row.index, retry)
    await _update(conn, account_id, updates, outcome)


def _presented(values: dict[str, Any], created_at: str, updated_at: str) -> dict[str, Any]:
    """`wire.contacts.present` of the row these column values make, without reading it back: what a
    JSON column returns equals what was written (json.loads(json.dumps(v)) == v for any parsed body),
    and both databases keep a timestamp's microseconds. `groupIds` is set by `_emit`."""
    return {
        "id": values["id"],
        "email": values["email"],
        "firstName": values["first_name"],
        "lastName": values["last_name"],
        "company": values["company"],
        "customFields": values["custom_fields"],
        "groupIds": [],
        "createdAt": created_at,
        "updatedAt": updated_at,
    }


async def _insert(conn: AsyncConnection, account_id: str, new: list[_Row], outcome: _Outcome) -> list[_Row]:
    """Insert the new rows; those whose email another writer took first are returned, not inserted."""
    if not new:
        return []
    stamp = now()
    values: dict[str, dict[str, Any]] = {}
    ordered = sorted(new, key=lambda row: row.email)
    for row, contact_id in zip(ordered, new_sortable_ids("ctc", len(ordered)), strict=True):
        stored = {
            "id": contact_id,
            "account_id": account_id,
            "email": row.email,
            **_DEFAULTS,
            "custom_fields": {},  # each row its own map: the outbox event carries it
            "created_at": stamp,
            "updated_at": stamp,
        }
        stored.update(row.given)  # only keys already there: every row has the same columns, in one order
        values[row.email] = stored
    # One executemany through the driver; the rest of each stored row is what was sent.
    count = await insert_rows(conn, t.contacts, list(values.values()), skip_conflicts=True)
    inserted = set(values) if count == len(values) else await _inserted(conn, list(values.values()))
    at = wire_time(stamp)
    lost: list[_Row] = []
    for row in new:
        if row.email not in inserted:
            lost.append(row)
            continue
        stored = values[row.email]
        outcome.results[row.index] = {"index": row.index, "status": "created", "id": stored["id"]}
        outcome.stored_ids.append(stored["id"])
        outcome.events.append(("contact.created", _presented(stored, at, at)))
        outcome.changed = True
    return lost


async def _inserted(conn: AsyncConnection, values: list[dict[str, Any]]) -> set[str]:
    """The emails of `values` whose row was inserted (its id is stored with its email), when the driver's
    count says some were skipped (an email a concurrent writer took first) or cannot say."""
    mine = {(row["id"], row["email"]) for row in values}
    ids = [row["id"] for row in values]
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        query = select(t.contacts.c.id, t.contacts.c.email).where(
            one_of(conn.dialect, t.contacts.c.id, ids[start : start + _CHUNK])
        )
        found.update(
            email for contact_id, email in (await conn.execute(query)).all() if (contact_id, email) in mine
        )
    return found


async def _update(
    conn: AsyncConnection,
    account_id: str,
    updates: list[tuple[_Row, Row[Any]]],
    outcome: _Outcome,
) -> None:
    """One executemany UPDATE of every changed row (each row's merged values, so one statement fits all)."""
    if not updates:
        return
    stamp = now()
    merged = {
        match.id: {column: row.given.get(column, getattr(match, column)) for column in _DEFAULTS}
        for row, match in updates
    }
    rows = [
        {"account_id": account_id, "id": contact_id, **columns, "updated_at": stamp}
        for contact_id, columns in sorted(merged.items())
    ]
    await update_rows(conn, t.contacts, rows, keys=("account_id", "id"))
    at = wire_time(stamp)
    for row, match in updates:
        outcome.results[row.index] = {"index": row.index, "status": "updated", "id": match.id}
        outcome.stored_ids.append(match.id)
        values = {**merged[match.id], "id": match.id, "email": match.email}
        outcome.events.append(("contact.updated", _presented(values, wire_time(match.created_at), at)))
    outcome.changed = True


async def _join_group(db: Database, conn: AsyncConnection, group_id: str, contact_ids: list[str]) -> int:
    """Add the contacts to the group (existing members are left as they are); how many joined."""
    stamp = now()
    added = 0
    for start in range(0, len(contact_ids), _CHUNK):
        rows = [
            {"group_id": group_id, "contact_id": contact_id, "added_at": stamp}
            for contact_id in sorted(contact_ids[start : start + _CHUNK])
        ]
        statement = db.insert_ignore(t.group_members, rows).returning(t.group_members.c.contact_id)
        added += len((await conn.execute(statement)).all())
    return added


async def _emit(conn: AsyncConnection, account_id: str, group_id: str | None, outcome: _Outcome) -> None:
    """The outbox events of the changed rows, with `groupIds` as they are after this batch (a new contact
    is in this batch's group only; an updated one's groups are looked up)."""
    if not outcome.events:
        return
    updated = [data["id"] for type, data in outcome.events if type == "contact.updated"]
    groups = await _group_ids(conn, updated)
    for type, data in outcome.events:
        if type == "contact.created":
            data["groupIds"] = [group_id] if group_id is not None else []
        else:
            data["groupIds"] = groups.get(data["id"], [])
    await emit_many(conn, [(account_id, type, data) for type, data in outcome.events])


async def _group_ids(conn: AsyncConnection, contact_ids: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    ids = list(contact_ids)
    for start in range(0, len(ids), _CHUNK):
        query = (
            select(t.group_members.c.contact_id, t.group_members.c.group_id)
            .where(one_of(conn.dialect, t.group_members.c.contact_id, ids[start : start + _CHUNK]))
            .order_by(t.group_members.c.group_id)
        )
        for contact_id, group_id in (await conn.execute(query)).all():
            found.setdefault(contact_id, []).append(group_id)
    return found
