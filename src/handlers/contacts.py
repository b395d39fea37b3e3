"""Contacts operations."""

from __future__ import annotations

from typing import Any

from fluenzr_server import envelope
from fluenzr_server.services import contact_batches, contacts
from handlers._common import Result, db, deleted, listed, paging


async def list_contacts(
    user: str,
    page: int = 1,
    per_page: int = 20,
    sort: str = "createdAt",
    order: str = "desc",
    email: str | None = None,
    group: str | None = None,
) -> Result:
    """A page of contacts, filtered by email substring and group."""
    request = paging(page, per_page, sort, order)
    return listed(
        await contacts.list_contacts(db(), account_id=user, request=request, email=email, group=group),
        request,
    )


async def create_contact(user: str, body: dict[str, Any]) -> Result:
    """Create a contact."""
    return envelope.ok(await contacts.create_contact(db(), account_id=user, body=body)), 201


async def get_contact(user: str, contact_id: str) -> Result:
    """One contact."""
    return envelope.ok(await contacts.get_contact(db(), account_id=user, contact_id=contact_id)), 200


async def update_contact(user: str, contact_id: str, body: dict[str, Any]) -> Result:
    """Update the fields sent."""
    return envelope.ok(
        await contacts.update_contact(db(), account_id=user, contact_id=contact_id, body=body)
    ), 200


async def delete_contact(user: str, contact_id: str) -> Result:
    """Delete a contact and its memberships."""
    await contacts.delete_contact(db(), account_id=user, contact_id=contact_id)
    return deleted(contact_id)


async def create_contacts_batch(user: str, body: dict[str, Any]) -> Result:
    """Create or upsert up to 1,000 contacts; one result per row."""
    result = await contact_batches.create_contacts_batch(
        db(),
        account_id=user,
        contacts=body["contacts"],
        mode=body.get("mode", "create"),
        group_id=body.get("groupId"),
        earlier_emails=body.get("earlierEmails"),
    )
    return envelope.ok(result), 200
