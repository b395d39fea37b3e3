"""Opens and clicks: what a hit on a message's pixel or tracked link records.

Every hit is a `tracking_events` row (message, kind, url, time, user agent, `machine`). A human hit
(`tracking/machines.py` decides) also sets the lead's `opened_at`/`clicked_at` once (what the statistics
count: unique leads) and emits, in the same transaction:

- `email.opened` on the first human open of a message;
- `email.clicked` (with `url`) on the first human click of each link of a message.

A later hit that reveals a scanner's burst turns the burst's earlier clicks into machine clicks and
recomputes the lead's `clicked_at` from the human clicks left (an `email.clicked` already emitted stays).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine.clock import aware
from fluenzr_server.ids import new_id
from fluenzr_server.services import events
from fluenzr_server.services.common import wire_time
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.tracking import machines

Kind = Literal["open", "click"]
_hits = t.tracking_events
_leads = t.campaign_contacts
_messages = t.messages


async def record_hit(
    db: Database,
    *,
    message_row_id: str,
    kind: Kind,
    url: str | None,
    user_agent: str | None,
    client: str | None,
    now: datetime,
) -> bool | None:
    """Record one open (`url` None) or click of the message `msg_…`. Whether it counted as a human hit;
    None when the message no longer exists (its campaign or contact was deleted)."""
    async with db.write() as conn:
        query = select(_messages).where(_messages.c.id == message_row_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # one hit of a message at a time: "first" is exact
        message = (await conn.execute(query)).first()
        if message is None:
            return None
        if kind == "open":
            machine = machines.machine_open(client=client, user_agent=user_agent)
        else:
            sent_at = aware(message.sent_at) if message.sent_at is not None else None
            machine = machines.too_soon_after_send(sent_at=sent_at, at=now) or await _in_burst(
                conn, message, url, now
            )
        first = not machine and not await _seen(conn, message.id, kind, url)
        await conn.execute(
            _hits.insert().values(
                id=new_id("trk"),
                message_id=message.id,
                kind=kind,
                url=url,
                at=now,
                user_agent=(user_agent or "")[:500] or None,
                machine=machine,
            )
        )
        if machine:
            return False
        column = _leads.c.opened_at if kind == "open" else _leads.c.clicked_at
        await conn.execute(_lead(message).values({column.name: func.coalesce(column, now)}))
        if first:
            data = _email_event(message, now, url)
            await events.emit(conn, account_id=message.account_id, type=f"email.{kind}ed", data=data)
        return True


def _lead(message: Any) -> Any:
    return update(_leads).where(
        _leads.c.campaign_id == message.campaign_id, _leads.c.contact_id == message.contact_id
    )


async def _seen(conn: AsyncConnection, message_row_id: str, kind: Kind, url: str | None) -> bool:
    """Whether the message already had a human hit of this kind (for a click: on this link)."""
    where = [_hits.c.message_id == message_row_id, _hits.c.kind == kind, _hits.c.machine.is_(False)]
    if kind == "click":
        where.append(_hits.c.url == url)
    return bool((await conn.execute(select(exists().where(*where)))).scalar())


async def _in_burst(conn: AsyncConnection, message: Any, url: str | None, now: datetime) -> bool:
    """A click on another link of the message less than `BURST_SECONDS` ago: a scanner. The burst's
    earlier clicks become machine clicks, and the lead's `clicked_at` follows the human clicks left."""
    burst = and_(
        _hits.c.message_id == message.id,
        _hits.c.kind == "click",
        _hits.c.url != url,
        _hits.c.at >= machines.burst_start(now),
    )
    if not (await conn.execute(select(exists().where(burst)))).scalar():
        return False
    flagged = await conn.execute(update(_hits).where(burst, _hits.c.machine.is_(False)).values(machine=True))
    if flagged.rowcount:
        # Only a `clicked_at` inside the burst can change; an older one stays, and must: the human
        # clicks it came from may be past their retention (engine/retention.py), so a minimum over the
        # hits left would lose it. Inside the burst every click is recent, so the minimum is exact.
        human = (
            select(func.min(_hits.c.at))
            .select_from(_hits.join(_messages, _messages.c.id == _hits.c.message_id))
            .where(
                _messages.c.campaign_id == message.campaign_id,
                _messages.c.contact_id == message.contact_id,
                _hits.c.kind == "click",
                _hits.c.machine.is_(False),
            )
            .scalar_subquery()
        )
        recent = _leads.c.clicked_at >= machines.burst_start(now)
        await conn.execute(_lead(message).where(recent).values(clicked_at=human))
    return True


def _email_event(message: Any, at: datetime, url: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaignId": message.campaign_id,
        "contactId": message.contact_id,
        "email": message.to_email,
        "step": int(message.step),
        "messageId": message.message_id,
        "at": wire_time(at),
        "reason": None,
    }
    if url is not None:
        data["url"] = url
    return data


async def message_of(db: Database, message_row_id: str) -> Any:
    """The message row (`msg_…`) with its lead's keys, or None."""
    async with db.read() as conn:
        return (await conn.execute(select(_messages).where(_messages.c.id == message_row_id))).first()
