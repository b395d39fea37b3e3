"""Campaigns: steps, schedule, the draft → running ⇄ paused → completed machine, contacts and stats."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Select, and_, bindparam, func, select, true, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine import sending, templates
from fluenzr_server.errors import InvalidState, NotFound, ValidationFailed
from fluenzr_server.ids import new_id
from fluenzr_server.rates import percent
from fluenzr_server.services import email_accounts, events, suppressions
from fluenzr_server.services.common import now, retry_on_integrity_error, unique_ids
from fluenzr_server.services.contacts import existing_ids
from fluenzr_server.services.groups import member_ids
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import one_hop
from fluenzr_server.store.paging import PageRequest, counts_by, fetch_page
from fluenzr_server.wire.campaigns import present

DEFAULT_SCHEDULE = {
    "timezone": "UTC",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "startHour": 9,
    "endHour": 17,
}
EDITABLE_STATES = ("draft", "paused")
_SORTS = {
    "createdAt": t.campaigns.c.created_at,
    "updatedAt": t.campaigns.c.updated_at,
    "name": t.campaigns.c.name,
    "status": t.campaigns.c.status,
}
_COUNTED = ("opened", "clicked", "replied", "unsubscribed")  # per lead, from its timestamps
_FROM_MESSAGES = ("sent", "bounced")  # per message, from what the SMTP servers answered
_MAX_REPORTED_IDS = 1000  # suppressedContactIds of addCampaignContacts (the count covers them all)


def _steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps as stored; a subject or body that does not parse as a template is a 400 naming it
    (`steps.1.subject`: line and column), so a campaign never starts with a template it cannot render.
    `{{unsubscribeUrl}}` is a body variable: a subject using it is a 400 too."""
    problems: dict[str, str] = {}
    for index, step in enumerate(steps):
        for field in ("subject", "body", "bodyHtml"):
            if field not in step:
                continue
            problem = templates.check(step[field])
            if problem is not None:
                problems[f"steps.{index}.{field}"] = str(problem)
        if "unsubscribeUrl" in templates.variables(step["subject"]):
            problems[f"steps.{index}.subject"] = "unsubscribeUrl is for bodies, not subjects"
    if problems:
        first = next(iter(problems))
        raise ValidationFailed(f"{first} is not a valid template ({problems[first]})", problems)
    stored = []
    for step in steps:
        stored.append(
            {
                "subject": step["subject"],
                "body": step["body"],
                "bodyHtml": step.get("bodyHtml"),
                "delayDays": step.get("delayDays", 0),
            }
        )
    return stored


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the zoneinfo directory, where `localtime` links to the host's own zone.
    return frozenset(available_timezones()) - {"localtime"}


def _schedule(schedule: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **schedule}
    # IANA names only: ZoneInfo() opens any zone file it finds, such as `localtime`, `posixrules`,
    # `posix/…` or (on a case-insensitive file system) `utc`.
    if merged["timezone"] not in _time_zones():
        raise ValidationFailed(
            "schedule.timezone must be an IANA time zone name",
            {"schedule.timezone": "is not a known time zone"},
        )
    return merged


async def _check_email_account(conn: AsyncConnection, account_id: str, email_account_id: str | None) -> None:
    if email_account_id is not None and not await email_accounts.exists(
        conn, account_id=account_id, email_account_id=email_account_id
    ):
        raise ValidationFailed(
            "emailAccountId is not an email account of this account",
            {"emailAccountId": "is not an email account of this account"},
        )


async def _counts(conn: AsyncConnection, campaign_ids: list[str]) -> dict[str, int]:
    return await counts_by(conn, t.campaign_contacts.c.campaign_id, campaign_ids)


async def _row(conn: AsyncConnection, account_id: str, campaign_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(t.campaigns).where(t.campaigns.c.account_id == account_id, t.campaigns.c.id == campaign_id)
    if lock:  # PostgreSQL row lock for state changes (SQLite write transactions are serialised already)
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(campaign_id)
    return row


async def _load(conn: AsyncConnection, account_id: str, campaign_id: str) -> dict[str, Any]:
    row = await _row(conn, account_id, campaign_id)
    return present(row, (await _counts(conn, [campaign_id])).get(campaign_id, 0))


async def load(conn: AsyncConnection, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    """The campaign's public representation, read inside the caller's transaction (events, the engine)."""
    return await _load(conn, account_id, campaign_id)


async def list_campaigns(
    db: Database, *, account_id: str, request: PageRequest, status: str | None
) -> tuple[list[dict[str, Any]], int]:
    where = [t.campaigns.c.account_id == account_id]
    if status:
        where.append(t.campaigns.c.status == status)
    async with db.read() as conn:
        rows, total = await fetch_page(
            conn, table=t.campaigns, where=where, sort_column=_SORTS[request.sort], request=request
        )
        counts = await _counts(conn, [row.id for row in rows])
    return [present(row, counts.get(row.id, 0)) for row in rows], total


async def get_campaign(db: Database, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        return await _load(conn, account_id, campaign_id)


@one_hop
async def create_campaign(db: Database, *, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    stamp = now()
    values = {
        "id": new_id("cmp"),
        "account_id": account_id,
        "name": body["name"],
        "email_account_id": body.get("emailAccountId"),
        "steps": _steps(body.get("steps", [])),
        "schedule": _schedule(body.get("schedule", {}), DEFAULT_SCHEDULE),
        "status": "draft",
        "track_opens": body.get("trackOpens", True),
        "track_clicks": body.get("trackClicks", True),
        "created_at": stamp,
        "updated_at": stamp,
    }
    async with db.write() as conn:
        await _check_email_account(conn, account_id, values["email_account_id"])
        await conn.execute(t.campaigns.insert().values(values))
        return await _load(conn, account_id, values["id"])


@one_hop
async def update_campaign(
    db: Database, *, account_id: str, campaign_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with db.write() as conn:
        row = await _row(conn, account_id, campaign_id, lock=True)
        if row.status not in EDITABLE_STATES:
            raise InvalidState(
                f"A {row.status} campaign cannot be edited"
                + ("; pause it first" if row.status == "running" else ""),
                {"status": row.status, "editableStatuses": list(EDITABLE_STATES)},
            )
        values: dict[str, Any] = {"updated_at": now()}
        if "name" in body:
            values["name"] = body["name"]
        if "emailAccountId" in body:
            await _check_email_account(conn, account_id, body["emailAccountId"])
            values["email_account_id"] = body["emailAccountId"]
        if "steps" in body:
            values["steps"] = _steps(body["steps"])
        if "schedule" in body:
            values["schedule"] = _schedule(body["schedule"], row.schedule)
        for field, column in (("trackOpens", "track_opens"), ("trackClicks", "track_clicks")):
            if field in body:
                values[column] = body[field]
        # Compare-and-set on the status read above, so a concurrent start cannot slip an edit in.
        scope = and_(t.campaigns.c.id == campaign_id, t.campaigns.c.status == row.status)
        if (await conn.execute(update(t.campaigns).where(scope).values(values))).rowcount == 0:
            raise InvalidState("The campaign changed state during the update; retry", {})
        return await _load(conn, account_id, campaign_id)


@one_hop
async def start_campaign(db: Database, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    async with db.write() as conn:
        row = await _row(conn, account_id, campaign_id, lock=True)
        if row.status == "running":
            return await _load(conn, account_id, campaign_id)
        if row.status == "completed":
            raise InvalidState("A completed campaign cannot be started again", {"status": row.status})
        missing: dict[str, str] = {}
        if row.email_account_id is None:
            missing["emailAccountId"] = "an email account is required to start"
        if not row.steps:
            missing["steps"] = "at least one step is required to start"
        if not (await _counts(conn, [campaign_id])).get(campaign_id, 0):
            missing["contacts"] = "at least one contact is required to start"
        if missing:
            raise InvalidState("The campaign is not ready to start", {"status": row.status, **missing})
        stamp = now()
        scope = and_(t.campaigns.c.id == campaign_id, t.campaigns.c.status.in_(EDITABLE_STATES))
        await conn.execute(
            update(t.campaigns).where(scope).values(status="running", status_reason=None, updated_at=stamp)
        )
        if row.status == "draft":
            # Every lead's first step is due now; a paused campaign resumes with its leads as they were.
            leads = t.campaign_contacts.c
            await conn.execute(
                update(t.campaign_contacts)
                .where(
                    leads.campaign_id == campaign_id, leads.status == "active", leads.next_send_at.is_(None)
                )
                .values(next_send_at=stamp)
            )
        started = await _load(conn, account_id, campaign_id)
        await events.emit(conn, account_id=account_id, type="campaign.started", data=started)
        await sending.complete_if_done(conn, campaign_id, now=stamp)
        return await _load(conn, account_id, campaign_id)


@one_hop
async def pause_campaign(db: Database, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    async with db.write() as conn:
        row = await _row(conn, account_id, campaign_id, lock=True)
        if row.status == "paused":
            return await _load(conn, account_id, campaign_id)
        if row.status != "running":
            raise InvalidState(f"A {row.status} campaign cannot be paused", {"status": row.status})
        scope = and_(t.campaigns.c.id == campaign_id, t.campaigns.c.status == "running")
        await conn.execute(update(t.campaigns).where(scope).values(status="paused", updated_at=now()))
        paused = await _load(conn, account_id, campaign_id)
        await events.emit(conn, account_id=account_id, type="campaign.paused", data=paused)
        return paused


@one_hop
async def add_contacts(
    db: Database, *, account_id: str, campaign_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    return await retry_on_integrity_error(lambda: _add_contacts(db, account_id, campaign_id, body))


async def _add_contacts(
    db: Database, account_id: str, campaign_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with db.write() as conn:
        row = await _row(conn, account_id, campaign_id, lock=True)
        if row.status == "completed":
            raise InvalidState("A completed campaign takes no new contacts", {"status": row.status})
        if "groupId" in body:
            wanted = await member_ids(conn, account_id=account_id, group_id=body["groupId"])
        else:
            wanted = unique_ids(body["contactIds"])
            found = await existing_ids(conn, account_id=account_id, contact_ids=wanted)
            unknown = [contact_id for contact_id in wanted if contact_id not in found]
            if unknown:
                raise ValidationFailed(
                    f"{len(unknown)} contact id(s) are not contacts of this account; nothing was added",
                    {"contactIds": "contains unknown contact ids", "unknownIds": unknown},
                )
        stamp = now()
        added: list[str] = []
        # Contacts added to a started campaign become leads due at once; a draft's wait for `start`.
        due = stamp if row.status in ("running", "paused") else None
        for start in range(0, len(wanted), 1000):
            rows = [
                {
                    "campaign_id": campaign_id,
                    "contact_id": contact_id,
                    "current_step": 0,
                    "status": "active",
                    "next_send_at": due,
                    "added_at": stamp,
                }
                for contact_id in wanted[start : start + 1000]
            ]
            # Count the rows this INSERT wrote (RETURNING skips the ignored ones), not a before/after
            # count: concurrent adds commit in between. (rowcount is -1 for this statement on psycopg.)
            inserted = db.insert_ignore(t.campaign_contacts, rows).returning(t.campaign_contacts.c.contact_id)
            added.extend((await conn.execute(inserted)).scalars())
        after = (await _counts(conn, [campaign_id])).get(campaign_id, 0)
        suppressed = await _suppressed_ids(conn, account_id, added)
    return {
        "campaignId": campaign_id,
        "added": len(added),
        "contactCount": after,
        "suppressed": len(suppressed),
        "suppressedContactIds": suppressed[:_MAX_REPORTED_IDS],
    }


async def _suppressed_ids(conn: AsyncConnection, account_id: str, contact_ids: list[str]) -> list[str]:
    """The ids among `contact_ids` whose address, or its domain, is on the account's suppression list
    (what the engine will find when their turn comes), sorted."""
    found: list[str] = []
    for start in range(0, len(contact_ids), 1000):
        query = select(t.contacts.c.id, t.contacts.c.email).where(
            t.contacts.c.id.in_(contact_ids[start : start + 1000])
        )
        emails = {str(row.id): str(row.email) for row in await conn.execute(query)}
        matches = await suppressions.lookup(conn, account_ids=[account_id], emails=emails.values())
        found.extend(cid for cid, email in emails.items() if matches.get(account_id, email) is not None)
    return sorted(found)


def _stats_query() -> Select[Any]:
    """Every count of `get_stats` in one statement (one round trip), for the campaign of the account:
    no row when it has none of that id. The leads' counts come from one pass over the covering index
    `ix_campaign_contacts_stats` (a derived table); each message outcome from
    `ix_messages_campaign_status`."""
    leads = t.campaign_contacts.c
    lead_counts = (
        select(
            func.count().label("contacts"),
            *[func.count(getattr(leads, f"{n}_at")).label(n) for n in _COUNTED],
        )
        .where(leads.campaign_id == bindparam("campaign"))
        .subquery("leads")
    )
    messages = t.messages.c
    outcomes = [
        select(func.count())
        .where(messages.campaign_id == bindparam("campaign"), messages.status == status)
        .scalar_subquery()
        .label(status)
        for status in _FROM_MESSAGES
    ]
    campaigns = t.campaigns.c
    return (
        select(*lead_counts.c, *outcomes)
        .select_from(t.campaigns.join(lead_counts, true()))
        .where(campaigns.account_id == bindparam("account"), campaigns.id == bindparam("campaign"))
    )


_STATS = _stats_query()  # built once: building it and its cache key cost more than running it


async def get_stats(db: Database, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    """Counts from what happened: `sent` and `bounced` are messages the SMTP servers accepted or refused
    with a 5xx, a message a bounce report (DSN) came back for being `bounced` too (`engine/inbox.py`
    moves it there), so late bounces count without another query (index `ix_messages_campaign_status`);
    the rest are leads' timestamps (covering index): `replied` is leads with `replied_at`."""
    async with db.read() as conn:
        row = (await conn.execute(_STATS, {"account": account_id, "campaign": campaign_id})).first()
    if row is None:
        raise NotFound(campaign_id)
    counts = {name: int(getattr(row, name)) for name in ("contacts", *_COUNTED, *_FROM_MESSAGES)}
    sent = counts["sent"]
    ordered = {
        name: counts[name]
        for name in ("contacts", "sent", "opened", "clicked", "replied", "bounced", "unsubscribed")
    }
    return {
        "campaignId": campaign_id,
        **ordered,
        "openRate": percent(counts["opened"], sent),
        "clickRate": percent(counts["clicked"], sent),
        "replyRate": percent(counts["replied"], sent),
        "bounceRate": percent(counts["bounced"], sent + counts["bounced"]),
    }
