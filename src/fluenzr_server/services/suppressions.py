"""The account's suppression list: addresses no campaign of the account mails again.

An entry comes from a hard bounce (`bounced`: a 5xx to RCPT, or a 5.x.x DSN), an unsubscribe
(`unsubscribed`: the one-click link, RFC 8058, or a `mailto:` request) or the customer (`manual`). The
sending engine checks the list before every send (`engine/sending.py`), in the claim's transaction.
Addresses are stored lower-cased: a contact's email is unique case-insensitively, and so is its entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.store import tables as t

Reason = Literal["bounced", "unsubscribed", "manual"]


async def suppress(
    conn: AsyncConnection,
    *,
    account_id: str,
    email: str,
    reason: Reason,
    now: datetime,
    detail: str | None = None,
    campaign_id: str | None = None,
) -> bool:
    """Add `email` to the account's list inside `conn`'s transaction; False when it was already there
    (the first reason is kept). `detail`: the SMTP reply or DSN status, cut to 1,000 characters."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    entry = {
        "account_id": account_id,
        "email": email.strip().lower(),
        "reason": reason,
        "detail": detail[:1000] if detail else None,
        "campaign_id": campaign_id,
        "created_at": now,
    }
    result = await conn.execute(dialect_insert(t.suppressions).values(entry).on_conflict_do_nothing())
    return result.rowcount == 1
