# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Mapping

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, map_given
from ..models import Contact, CustomFieldValue, Deleted
from ..pagination import AsyncPageRequest, SyncPage
from ..params import ContactListSort, SortOrder
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncContacts", "Contacts"]


class Contacts(SyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: ContactListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        email: str | NotGiven = NOT_GIVEN,
        group: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Contact]:
        """Contacts whose email contains `email` (case-insensitive) and that belong to group `group`."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, email=email, group=group)
        return self._client.get_page(Contact, "/contacts", params=params, timeout=timeout)

    def get(self, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Contact:
        return self._client.request(Contact, "GET", f"/contacts/{path_id(contact_id)}", timeout=timeout)

    def create(
        self,
        *,
        email: str,
        first_name: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        company: str | NotGiven | None = NOT_GIVEN,
        custom_fields: Mapping[str, CustomFieldValue] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Contact:
        """Create a contact; the email must be new in your account (`ConflictError` otherwise)."""
        body = given(
            email=email,
            firstName=first_name,
            lastName=last_name,
            company=company,
            customFields=map_given(custom_fields, dict),
        )
        return self._client.request(Contact, "POST", "/contacts", json=body, timeout=timeout)

    def update(
        self,
        contact_id: str,
        *,
        email: str | NotGiven = NOT_GIVEN,
        first_name: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        company: str | NotGiven | None = NOT_GIVEN,
        custom_fields: Mapping[str, CustomFieldValue] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Contact:
        """Change only the fields passed; `None` clears a field; `custom_fields` replaces the whole map."""
        body = given(
            email=email,
            firstName=first_name,
            lastName=last_name,
            company=company,
            customFields=map_given(custom_fields, dict),
        )
        path = f"/contacts/{path_id(contact_id)}"
        return self._client.request(Contact, "PUT", path, json=body, timeout=timeout)

    def delete(self, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        return self._client.request(Deleted, "DELETE", f"/contacts/{path_id(contact_id)}", timeout=timeout)


class AsyncContacts(AsyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: ContactListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        email: str | NotGiven = NOT_GIVEN,
        group: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Contact]:
        """Contacts whose email contains `email` (case-insensitive) and that belong to group `group`."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, email=email, group=group)
        return self._client.get_page(Contact, "/contacts", params=params, timeout=timeout)

    async def get(self, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Contact:
        return await self._client.request(Contact, "GET", f"/contacts/{path_id(contact_id)}", timeout=timeout)

    async def create(
        self,
        *,
        email: str,
        first_name: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        company: str | NotGiven | None = NOT_GIVEN,
        custom_fields: Mapping[str, CustomFieldValue] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Contact:
        """Create a contact; the email must be new in your account (`ConflictError` otherwise)."""
        body = given(
            email=email,
            firstName=first_name,
            lastName=last_name,
            company=company,
            customFields=map_given(custom_fields, dict),
        )
        return await self._client.request(Contact, "POST", "/contacts", json=body, timeout=timeout)

    async def update(
        self,
        contact_id: str,
        *,
        email: str | NotGiven = NOT_GIVEN,
        first_name: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        company: str | NotGiven | None = NOT_GIVEN,
        custom_fields: Mapping[str, CustomFieldValue] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Contact:
        """Change only the fields passed; `None` clears a field; `custom_fields` replaces the whole map."""
        body = given(
            email=email,
            firstName=first_name,
            lastName=last_name,
            company=company,
            customFields=map_given(custom_fields, dict),
        )
        path = f"/contacts/{path_id(contact_id)}"
        return await self._client.request(Contact, "PUT", path, json=body, timeout=timeout)

    async def delete(self, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        return await self._client.request(
            Deleted, "DELETE", f"/contacts/{path_id(contact_id)}", timeout=timeout
        )
