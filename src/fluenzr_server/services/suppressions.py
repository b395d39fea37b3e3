"""The account's suppression list: addresses, and whole domains, that no campaign of the account mails.

An entry comes from a hard bounce (`bounced`: a 5xx to RCPT, or a 5.x.x DSN), an unsubscribe
(`unsubscribed`: the one-click link, RFC 8058, or a `mailto:` request) or the customer (`manual`). The
sending engine checks the list before every send (`engine/sending.py`), in the claim's transaction.

The customer may remove `manual` and `bounced` entries, never an `unsubscribed` one: only the recipient
can opt in again (CAN-SPAM Act §5(a)(4), 15 U.S.C. 7704(a)(4); GDPR Art. 21(3)). So an unsubscribe turns an
existing `manual` or `bounced` entry of its address into an `unsubscribed` one.

Keys (`suppressions.email`): an address entry is the address, lower-cased (a contact's email is unique
case-insensitively, and so is its entry); a domain entry is `@` + the domain as lower-case A-labels
(IDNA 2008, UTS #46 mapping), and suppresses every address at exactly that domain: `@example.com` does not
suppress `bob@mail.example.com`. No address starts with `@`, so the two kinds never collide, and whether an
address is suppressed is one primary-key lookup of its two keys (`lookup`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import idna
from sqlalchemy import ColumnElement, Select, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine.message import ascii_domain
from fluenzr_server.errors import InvalidState, NotFound, ValidationFailed
from fluenzr_server.services.common import escape_like, normalise_email, now, wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.collation import CodePointOrder
from fluenzr_server.store.database import Database
from fluenzr_server.store.listed import one_of
from fluenzr_server.store.paging import PageRequest
from fluenzr_server.wire.suppressions import present

Reason = Literal["bounced", "unsubscribed", "manual"]

MAX_ENTRIES = 1000  # per POST /suppressions, emails and domains together
_CHUNK = 1000  # keys per IN list (SQLite allows 32,766 bound parameters)
_DOMAIN_REASON = "must be a domain name of two or more labels (example.com)"


def domain_key(domain: str) -> str:
    """The key of the entry that suppresses every address at `domain` (already lower-case A-labels)."""
    return "@" + domain


def keys_of(email: str) -> tuple[str, str]:
    """The two keys that suppress `email`: its own and its domain's."""
    address = email.strip().lower()
    return address, domain_key(address.rpartition("@")[2])


async def suppress(
    conn: AsyncConnection,
    *,
    account_id: str,
    email: str,
    reason: Reason,
    now: datetime,
    detail: str | None = None,
    campaign_id: str | None = None,
    source: str | None = None,
) -> bool:
    """Add `email` to the account's list inside `conn`'s transaction; False when it was already there.
    An existing entry keeps its reason, except that an unsubscribe replaces a `manual` or `bounced` one
    (reason, detail, source, campaign and time: the entry is the unsubscribe from then on, and cannot be
    deleted). `detail`: the SMTP reply, DSN status or `unsubscribed (<source>)`, cut to 1,000 characters;
    `source`: how an unsubscribe arrived (`services.unsubscribes.Source`), kept for the 409 naming it."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    entry = {
        "account_id": account_id,
        "email": email.strip().lower(),
        "reason": reason,
        "detail": detail[:1000] if detail else None,
        "source": source if reason == "unsubscribed" else None,
        "campaign_id": campaign_id,
        "created_at": now,
    }
    insert = dialect_insert(t.suppressions).values(entry)
    if reason == "unsubscribed":
        statement = insert.on_conflict_do_update(
            index_elements=[t.suppressions.c.account_id, t.suppressions.c.email],
            set_={
                "reason": insert.excluded.reason,
                "detail": insert.excluded.detail,
                "source": insert.excluded.source,
                "campaign_id": insert.excluded.campaign_id,
                "created_at": insert.excluded.created_at,
            },
            where=t.suppressions.c.reason != "unsubscribed",
        )
    else:
        statement = insert.on_conflict_do_nothing()
    result = await conn.execute(statement)
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class Matches:
    """The entries found for some addresses of some accounts (`lookup`)."""

    entries: dict[tuple[str, str], Row[Any]]

    def get(self, account_id: str, email: str) -> Row[Any] | None:
        """The entry that suppresses `email` for the account: the address's own, else its domain's."""
        own, domain = keys_of(email)
        return self.entries.get((account_id, own)) or self.entries.get((account_id, domain))


async def lookup(conn: AsyncConnection, *, account_ids: Collection[str], emails: Iterable[str]) -> Matches:
    """The suppression entries of `account_ids` that match any of `emails`, by address or by domain: one
    primary-key query per 1,000 keys (a batch of the engine is one query)."""
    keys = sorted({key for email in emails for key in keys_of(email)})
    entries: dict[tuple[str, str], Row[Any]] = {}
    if not account_ids:
        return Matches(entries)
    for start in range(0, len(keys), _CHUNK):
        for row in await conn.execute(lookup_query(account_ids, keys[start : start + _CHUNK])):
            entries[(row.account_id, row.email)] = row
    return Matches(entries)


async def suppressed(conn: AsyncConnection, *, account_id: str, emails: Collection[str]) -> set[str]:
    """The `emails` (as contacts store them) that the account's list suppresses, by address or by domain
    (the rule of `Matches.get`): one primary-key query for all of them, whatever their number (a batch
    import asks about 1,000 at a time)."""
    keys = sorted({key for email in emails for key in keys_of(email)})
    if not keys:
        return set()
    query = select(t.suppressions.c.email).where(
        t.suppressions.c.account_id == account_id, one_of(conn.dialect, t.suppressions.c.email, keys)
    )
    found = set((await conn.execute(query)).scalars())
    if not found:
        return set()
    return {email for email in emails if not found.isdisjoint(keys_of(email))}


def lookup_query(account_ids: Collection[str], keys: list[str]) -> Select[Any]:
    """The entries of `account_ids` with one of `keys`: a primary-key (account_id, email) search."""
    return select(t.suppressions).where(
        t.suppressions.c.account_id.in_(list(account_ids)), t.suppressions.c.email.in_(keys)
    )


def why(email: str, entry: Row[Any]) -> str:
    """A lead's `reason` when `entry` stops its send: names the address, or the domain entry."""
    if entry.email.startswith("@"):
        domain = entry.email[1:]
        return f"suppressed: {email} is at {domain}, on the account's suppression list ({entry.reason})"
    return f"suppressed: {email} is on the account's suppression list ({entry.reason})"


async def list_suppressions(
    db: Database,
    *,
    account_id: str,
    request: PageRequest,
    reason: str | None = None,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the account's entries sorted by `request.sort` (`createdAt`, ties by key; or `entry`) in
    `request.order`, keys in code point order; `reason` filters, `search` is a case-insensitive substring
    of the key (`example.com` finds `@example.com` and the addresses at it). Returns (entries, total)."""
    where: list[ColumnElement[bool]] = [t.suppressions.c.account_id == account_id]
    if reason is not None:
        where.append(t.suppressions.c.reason == reason)
    if search is not None:
        pattern = f"%{escape_like(search.lower())}%"
        where.append(t.suppressions.c.email.like(pattern, escape="\\"))
    query = (
        select(t.suppressions)
        .where(*where)
        .order_by(*_ordering(request))
        .limit(request.per_page)
        .offset(request.offset)
    )
    async with db.read(offload=search is not None) as conn:  # a substring filter may scan many rows
        rows = list((await conn.execute(query)).all())
        if request.page == 1 and len(rows) < request.per_page:
            total = len(rows)
        else:
            count = select(func.count()).select_from(t.suppressions).where(*where)
            total = int((await conn.execute(count)).scalar_one())
    return [present(row) for row in rows], total


def _ordering(request: PageRequest) -> list[Any]:
    key = CodePointOrder(t.suppressions.c.email)
    columns: list[Any] = [key] if request.sort == "entry" else [t.suppressions.c.created_at, key]
    return [column.desc() if request.order == "desc" else column.asc() for column in columns]


def _domain(text: str) -> str | None:
    """`text` (`example.com` or `@example.com`, ASCII or Unicode) as lower-case A-labels, or None when it
    is not a host name of two or more labels (RFC 1123) or an `xn--` label is not valid Punycode (IDNA 2008,
    RFC 5891)."""
    try:
        domain = ascii_domain(text.strip().removeprefix("@"))
        if any(label.startswith("xn--") for label in domain.split(".")):
            idna.decode(domain)
    except (ValueError, idna.IDNAError):
        return None
    return domain if "." in domain else None


def requested_keys(body: dict[str, Any]) -> list[str]:
    """The keys `body` asks for, in order (`emails`, then `domains`); ValidationFailed naming every bad
    or repeated value by its place (`emails.2`), or a count outside 1..MAX_ENTRIES."""
    emails: list[Any] = body.get("emails") or []
    domains: list[Any] = body.get("domains") or []
    count = len(emails) + len(domains)
    if not 1 <= count <= MAX_ENTRIES:
        reason = f"must have 1 to {MAX_ENTRIES} entries in emails and domains together (got {count})"
        raise ValidationFailed(f"body {reason}", {"body": reason})
    details: dict[str, str] = {}
    first_place: dict[str, str] = {}
    keys: list[str] = []

    def take(place: str, key: str) -> None:
        if key in first_place:
            details[place] = f"repeats {first_place[key]} ({key.removeprefix('@')})"
        else:
            first_place[key] = place
            keys.append(key)

    for index, value in enumerate(emails):
        place = f"emails.{index}"
        try:
            take(place, normalise_email(str(value), place))
        except ValidationFailed as exc:
            details.update(exc.details)
    for index, value in enumerate(domains):
        place = f"domains.{index}"
        domain = _domain(str(value))
        if domain is None:
            details[place] = _DOMAIN_REASON
        else:
            take(place, domain_key(domain))
    if details:
        field, reason = next(iter(details.items()))
        more = len(details) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ValidationFailed(f"{field} {reason}{tail}", details)
    return keys


async def create_suppressions(db: Database, *, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Suppress `body["emails"]` and `body["domains"]` (1 to 1,000 together) with reason `manual` and the
    optional `body["detail"]`. Returns `{"added": [...], "existing": [...]}`, each in request order; an
    entry already on the list is left as it is (its reason and detail kept)."""
    keys = requested_keys(body)
    detail = body.get("detail")
    stamp = now()
    async with db.write() as conn:
        rows = [
            {
                "account_id": account_id,
                "email": key,
                "reason": "manual",
                "detail": detail,
                "campaign_id": None,
                "created_at": stamp,
            }
            for key in keys
        ]
        added: set[str] = set()
        for start in range(0, len(rows), _CHUNK):
            statement = db.insert_ignore(t.suppressions, rows[start : start + _CHUNK])
            inserted = await conn.execute(statement.returning(t.suppressions.c.email))
            added.update(inserted.scalars())
        stored: dict[str, Row[Any]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            query = select(t.suppressions).where(
                t.suppressions.c.account_id == account_id, t.suppressions.c.email.in_(chunk)
            )
            stored.update({row.email: row for row in await conn.execute(query)})
    return {
        "added": [present(stored[key]) for key in keys if key in added],
        "existing": [present(stored[key]) for key in keys if key not in added],
    }


def entry_key(entry: str) -> str:
    """The stored key an entry of the API names: an address (lower-cased), or a domain written `@example.com`
    or `example.com` (A-labels, lower-cased). ValidationFailed (`entry`) for anything else."""
    text = entry.strip()
    if "@" in text and not text.startswith("@"):
        return normalise_email(text, "entry")
    domain = _domain(text)
    if domain is None:
        raise ValidationFailed(
            "entry must be an email address or a domain (@example.com)",
            {"entry": "must be an email address or a domain (@example.com)"},
        )
    return domain_key(domain)


async def delete_suppression(db: Database, *, account_id: str, entry: str) -> None:
    """Remove the account's `manual` or `bounced` entry `entry` (see `entry_key`). A domain entry's removal
    leaves the address entries at that domain. NotFound when it is not on the list; InvalidState (409) for
    an `unsubscribed` entry, which stays: only the recipient can opt in again (`opted_out`)."""
    key = entry_key(entry)
    async with db.write() as conn:
        scope = and_(t.suppressions.c.account_id == account_id, t.suppressions.c.email == key)
        removable = and_(scope, t.suppressions.c.reason != "unsubscribed")
        removed = await conn.execute(
            delete(t.suppressions).where(removable).returning(t.suppressions.c.email)
        )
        if removed.first() is None:
            kept = (await conn.execute(select(t.suppressions).where(scope))).first()
            raise _not_found(key) if kept is None else opted_out(kept)


# How an unsubscribe arrived (`suppressions.source`, one of `services.unsubscribes.Source`), in words.
_UNSUBSCRIBE_SOURCES = {
    "one-click": "with the one-click unsubscribe (List-Unsubscribe, RFC 8058)",
    "page": "on the unsubscribe page",
    "mailto": "by email to the List-Unsubscribe address",
    "manual": "as recorded for the account",
}


def opted_out(row: Row[Any]) -> InvalidState:
    """The 409 for deleting an `unsubscribed` entry: names the address, when and how it unsubscribed and
    the campaign (each when known), and says that only the recipient can opt in again."""
    at = wire_time(row.created_at)
    source = row.source if row.source in _UNSUBSCRIBE_SOURCES else None
    how = f" {_UNSUBSCRIBE_SOURCES[source]}" if source else ""
    where = f", from campaign {row.campaign_id}" if row.campaign_id else ""
    message = (
        f"{row.email} unsubscribed at {at}{how}{where}; only the recipient can opt in again, "
        "so the entry cannot be removed"
    )
    details = {
        "entry": row.email,
        "reason": row.reason,
        "unsubscribedAt": at,
        "source": source,
        "campaignId": row.campaign_id,
    }
    return InvalidState(message, details)


def _not_found(key: str) -> NotFound:
    error = NotFound(message="No such suppression entry")
    error.details = {"entry": key}
    return error
