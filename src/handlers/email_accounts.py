"""Email accounts operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import email_accounts
from handlers._common import Result, db, deleted, listed, paging, secret_box, settings


async def list_email_accounts(
    user: str, page: int = 1, per_page: int = 20, sort: str = "createdAt", order: str = "desc"
) -> Result:
    """A page of email accounts."""
    request = paging(page, per_page, sort, order)
    return listed(await email_accounts.list_email_accounts(db(), account_id=user, request=request), request)


async def create_email_account(user: str, body: dict[str, Any]) -> Result:
    """Connect a mailbox."""
    created = await email_accounts.create_email_account(
        db(),
        account_id=user,
        body=body,
        secret_box=secret_box(),
        allow_private=settings().allow_private_hosts,
    )
    return envelope.ok(created), 201


async def get_email_account(user: str, email_account_id: str) -> Result:
    """One mailbox."""
    found = await email_accounts.get_email_account(db(), account_id=user, email_account_id=email_account_id)
    return envelope.ok(found), 200


async def update_email_account(user: str, email_account_id: str, body: dict[str, Any]) -> Result:
    """Update the fields sent."""
    updated = await email_accounts.update_email_account(
        db(),
        account_id=user,
        email_account_id=email_account_id,
        body=body,
        secret_box=secret_box(),
        allow_private=settings().allow_private_hosts,
    )
    return envelope.ok(updated), 200


async def delete_email_account(user: str, email_account_id: str) -> Result:
    """Delete a mailbox no active campaign sends from."""
    await email_accounts.delete_email_account(db(), account_id=user, email_account_id=email_account_id)
    return deleted(email_account_id)
