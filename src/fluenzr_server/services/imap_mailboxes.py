"""An email account's IMAP settings (where replies and bounce reports are read): create, update, remove.

The row in `imap_mailboxes` shares the email account's id; the poller (`engine/poller.py`) keeps its
cursor and status there. The password is encrypted with the app's secret box, like the SMTP one, and is
never returned. Hosts follow the one policy (`net_policy.check_mail_host`, again at connect time);
`security: none` sends the password in clear text, so it is refused unless FLUENZR_ALLOW_PRIVATE_HOSTS is
set (local test mailboxes only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.crypto import SecretBox
from fluenzr_server.errors import ValidationFailed
from fluenzr_server.net_policy import check_mail_host
from fluenzr_server.store import tables as t

_table = t.imap_mailboxes
_FIELDS = ("host", "port", "username", "password", "security")
_NEEDED = ("host", "port", "username", "password")
PLAIN_IMAP_REFUSED = (
    "security 'none' sends the password and every message unencrypted; it is only allowed on servers run "
    "with FLUENZR_ALLOW_PRIVATE_HOSTS=1 (local test mailboxes): use tls or starttls"
)


def check(settings: dict[str, Any], *, allow_private: bool) -> None:
    """400 (naming `imap.host` / `imap.security`) for a host the policy refuses or `none` where it is not
    allowed."""
    if "host" in settings:
        check_mail_host(settings["host"], field="imap.host", allow_private=allow_private)
    if settings.get("security") == "none" and not allow_private:
        raise ValidationFailed(f"imap.security {PLAIN_IMAP_REFUSED}", {"imap.security": PLAIN_IMAP_REFUSED})


def _values(settings: dict[str, Any], secret_box: SecretBox) -> dict[str, Any]:
    values = {name: settings[name] for name in _FIELDS if name in settings}
    if "password" in values:
        values["password"] = secret_box.encrypt(values["password"])
    return values


async def load(conn: AsyncConnection, email_account_ids: list[str]) -> dict[str, Row[Any]]:
    """The IMAP rows of these email accounts, by email account id (accounts without IMAP are absent)."""
    if not email_account_ids:
        return {}
    rows = await conn.execute(select(_table).where(_table.c.id.in_(email_account_ids)))
    return {row.id: row for row in rows}


async def save(
    conn: AsyncConnection,
    *,
    account_id: str,
    email_account_id: str,
    settings: dict[str, Any] | None,
    secret_box: SecretBox,
    allow_private: bool,
    now: datetime,
) -> None:
    """Apply the `imap` member of a create or update body inside `conn`'s transaction.

    `None` removes the settings (and the poll state; the messages already read stay recorded). A dict
    changes only the settings it names (PATCH semantics, as `smtp`); an email account without IMAP
    settings needs host, port, username and password (400 naming the missing ones). Any change clears
    `error`, ends the lease of a poll in flight and makes the mailbox due for a poll at once. A new host
    or username is another mailbox: its cursor starts again (`uid_validity` unknown).
    """
    if settings is None:
        await conn.execute(delete(_table).where(_table.c.id == email_account_id))
        return
    check(settings, allow_private=allow_private)
    values = _values(settings, secret_box)
    current = (await load(conn, [email_account_id])).get(email_account_id)
    # A poll in flight when the settings change loses its lease: its outcome (made with the old settings)
    # is dropped, and the mailbox is polled again at once with the new ones.
    fresh = {
        "status": "active",
        "last_error": None,
        "consecutive_failures": 0,
        "next_poll_at": now,
        "lease_until": None,
        "lease_owner": None,
        "updated_at": now,
    }
    if current is None:
        missing = [name for name in _NEEDED if name not in settings]
        if missing:
            reason = "is required when the email account has no IMAP settings yet"
            raise ValidationFailed(
                f"imap.{missing[0]} {reason}", {f"imap.{name}": reason for name in missing}
            )
        await conn.execute(
            _table.insert().values(
                {
                    "security": "tls",
                    **values,
                    **fresh,
                    "id": email_account_id,
                    "account_id": account_id,
                    "last_uid": 0,
                    "created_at": now,
                }
            )
        )
        return
    effective = {**current._mapping, **settings}
    if effective.get("security") == "none" and not allow_private:
        check({"security": "none"}, allow_private=allow_private)
    moved = any(
        settings.get(name, getattr(current, name)) != getattr(current, name) for name in ("host", "username")
    )
    if moved:
        fresh.update(uid_validity=None, last_uid=0)
    await conn.execute(update(_table).where(_table.c.id == email_account_id).values(**values, **fresh))
