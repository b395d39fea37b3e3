"""Email accounts: the customer's own mailboxes. The SMTP password is stored, never returned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.crypto import SecretBox
from fluenzr_server.errors import Conflict, NotFound
from fluenzr_server.ids import new_id
from fluenzr_server.net_policy import check_mail_host
from fluenzr_server.services import imap_mailboxes
from fluenzr_server.services.common import normalise_email, now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest, fetch_page
from fluenzr_server.wire.email_accounts import present

_SMTP_COLUMNS = {
    "host": "smtp_host",
    "port": "smtp_port",
    "username": "smtp_username",
    "password": "smtp_password",
    "security": "smtp_security",
}
_SORTS = {
    "createdAt": t.email_accounts.c.created_at,
    "updatedAt": t.email_accounts.c.updated_at,
    "fromEmail": t.email_accounts.c.from_email,
}
ACTIVE_CAMPAIGN_STATES = ("running", "paused")


def _columns(body: dict[str, Any], secret_box: SecretBox, *, allow_private: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "host" in body.get("smtp", {}):
        check_mail_host(body["smtp"]["host"], field="smtp.host", allow_private=allow_private)
    if "fromEmail" in body:
        values["from_email"] = normalise_email(body["fromEmail"], "fromEmail")
    if "fromName" in body:
        values["from_name"] = body["fromName"]
    if "dailyLimit" in body:
        values["daily_limit"] = body["dailyLimit"]
    if "minIntervalSeconds" in body:
        values["min_interval_seconds"] = body["minIntervalSeconds"]
    for wire, column in _SMTP_COLUMNS.items():
        if wire in body.get("smtp", {}):
            values[column] = body["smtp"][wire]
    if "smtp_password" in values:
        values["smtp_password"] = secret_box.encrypt(values["smtp_password"])
    return values


async def smtp_password(
    db: Database, *, account_id: str, email_account_id: str, secret_box: SecretBox
) -> str:
    """The decrypted SMTP password, for the sending engine; never for an API response.

    `cryptography.fernet.InvalidToken` when `secret_box` holds none of the keys it was encrypted with."""
    async with db.read() as conn:
        return secret_box.decrypt((await _load(conn, account_id, email_account_id)).smtp_password)


async def _load(conn: AsyncConnection, account_id: str, email_account_id: str) -> Row[Any]:
    query = select(t.email_accounts).where(
        t.email_accounts.c.account_id == account_id, t.email_accounts.c.id == email_account_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(email_account_id)
    return row


def _duplicate(from_email: str | None) -> Conflict:
    return Conflict("An email account with this fromEmail already exists", {"fromEmail": from_email})


async def list_email_accounts(
    db: Database, *, account_id: str, request: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    async with db.read() as conn:
        rows, total = await fetch_page(
            conn,
            table=t.email_accounts,
            where=[t.email_accounts.c.account_id == account_id],
            sort_column=_SORTS[request.sort],
            request=request,
        )
        imap = await imap_mailboxes.load(conn, [row.id for row in rows])
    return [present(row, imap.get(row.id)) for row in rows], total


async def get_email_account(db: Database, *, account_id: str, email_account_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        return await _present(conn, account_id, email_account_id)


async def _present(conn: AsyncConnection, account_id: str, email_account_id: str) -> dict[str, Any]:
    row = await _load(conn, account_id, email_account_id)
    return present(row, (await imap_mailboxes.load(conn, [email_account_id])).get(email_account_id))


async def create_email_account(
    db: Database, *, account_id: str, body: dict[str, Any], secret_box: SecretBox, allow_private: bool = False
) -> dict[str, Any]:
    """A new mailbox, its SMTP password encrypted with `secret_box` (the app's); 400 when `smtp.host` is not
    a public host (`net_policy.check_mail_host`), 409 when `fromEmail` is taken. `allow_private` is
    FLUENZR_ALLOW_PRIVATE_HOSTS (local sinks and tests). `imap` (optional): see `imap_mailboxes.save`."""
    if body.get("imap") is not None:
        imap_mailboxes.check(body["imap"], allow_private=allow_private)
    stamp = now()
    values = {
        "smtp_security": "starttls",
        "daily_limit": 200,
        "min_interval_seconds": 60,
        **_columns(body, secret_box, allow_private=allow_private),
    }
    values.update(id=new_id("acc"), account_id=account_id, created_at=stamp, updated_at=stamp)
    try:
        async with db.write() as conn:
            await conn.execute(t.email_accounts.insert().values(values))
            if body.get("imap") is not None:
                await imap_mailboxes.save(
                    conn,
                    account_id=account_id,
                    email_account_id=values["id"],
                    settings=body["imap"],
                    secret_box=secret_box,
                    allow_private=allow_private,
                    now=stamp,
                )
            return await _present(conn, account_id, values["id"])
    except IntegrityError:
        raise _duplicate(values["from_email"]) from None


async def update_email_account(
    db: Database,
    *,
    account_id: str,
    email_account_id: str,
    body: dict[str, Any],
    secret_box: SecretBox,
    allow_private: bool = False,
) -> dict[str, Any]:
    if body.get("imap") is not None:
        imap_mailboxes.check(body["imap"], allow_private=allow_private)
    # Any update is the customer acting on the mailbox: an `error` (e.g. a rejected password) is cleared
    # and the engine tries it again.
    values = {
        **_columns(body, secret_box, allow_private=allow_private),
        "updated_at": now(),
        "status": "active",
        "last_error": None,
        "consecutive_failures": 0,
    }
    scope = and_(t.email_accounts.c.account_id == account_id, t.email_accounts.c.id == email_account_id)
    try:
        async with db.write() as conn:
            if (await conn.execute(update(t.email_accounts).where(scope).values(values))).rowcount == 0:
                raise NotFound(email_account_id)
            if "imap" in body:
                await imap_mailboxes.save(
                    conn,
                    account_id=account_id,
                    email_account_id=email_account_id,
                    settings=body["imap"],
                    secret_box=secret_box,
                    allow_private=allow_private,
                    now=values["updated_at"],
                )
            return await _present(conn, account_id, email_account_id)
    except IntegrityError:
        raise _duplicate(values.get("from_email")) from None


async def delete_email_account(db: Database, *, account_id: str, email_account_id: str) -> None:
    async with db.write() as conn:
        await _load(conn, account_id, email_account_id)
        # Lock the campaigns that send from it, so none can start between this check and the delete.
        users = (
            select(t.campaigns.c.id, t.campaigns.c.status)
            .where(t.campaigns.c.email_account_id == email_account_id)
            .with_for_update()
        )
        rows = (await conn.execute(users)).all()
        campaign_ids = [row.id for row in rows if row.status in ACTIVE_CAMPAIGN_STATES]
        if campaign_ids:
            raise Conflict(
                "The email account is sending for running or paused campaigns",
                {"campaignIds": campaign_ids},
            )
        # Draft and completed campaigns keep their history; their emailAccountId becomes null.
        await conn.execute(
            update(t.campaigns)
            .where(t.campaigns.c.email_account_id == email_account_id)
            .values(email_account_id=None)
        )
        await conn.execute(delete(t.email_accounts).where(t.email_accounts.c.id == email_account_id))


async def exists(conn: AsyncConnection, *, account_id: str, email_account_id: str) -> bool:
    query = select(t.email_accounts.c.id).where(
        t.email_accounts.c.account_id == account_id, t.email_accounts.c.id == email_account_id
    )
    return (await conn.execute(query)).first() is not None
