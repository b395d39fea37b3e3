# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Iterable

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, map_given
from ..models import Suppression, SuppressionReason, SuppressionsAdded
from ..pagination import AsyncPageRequest, SyncPage
from ..params import SortOrder, SuppressionListSort
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncSuppressions", "Suppressions"]


def _entry_path(entry: str) -> str:
    # One path segment: reserved characters of an address's local part (`/`, `?`, `#`, `%`) are encoded.
    return f"/suppressions/{path_id(entry)}"


class Suppressions(SyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: SuppressionListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        reason: SuppressionReason | NotGiven = NOT_GIVEN,
        search: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Suppression]:
        """The suppression list, newest first unless `sort`/`order` say otherwise; `reason` filters,
        `search` matches part of an entry (`"example.com"` finds the domain entry and its addresses)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, reason=reason, search=search)
        return self._client.get_page(Suppression, "/suppressions", params=params, timeout=timeout)

    def create(
        self,
        *,
        emails: Iterable[str] | NotGiven = NOT_GIVEN,
        domains: Iterable[str] | NotGiven = NOT_GIVEN,
        detail: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SuppressionsAdded:
        """Suppress addresses and whole domains (1 to 1,000 together) with reason `manual`; what was added,
        and what was already there (kept with its reason). A bad value raises `ValidationError` naming it
        (`emails.2`), and then nothing is added."""
        body = given(emails=map_given(emails, list), domains=map_given(domains, list), detail=detail)
        return self._client.request(SuppressionsAdded, "POST", "/suppressions", json=body, timeout=timeout)

    def delete(self, entry: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> None:
        """Remove a `manual` or `bounced` entry: an address, or a domain as `"@example.com"` (or
        `"example.com"`). `NotFoundError` when it is not on the list; `ConflictError` (`INVALID_STATE`)
        for an `unsubscribed` entry, which stays: only the recipient can opt in again (its `details` say
        when, how and from which campaign the address unsubscribed)."""
        self._client.request_no_content("DELETE", _entry_path(entry), timeout=timeout)


class AsyncSuppressions(AsyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: SuppressionListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        reason: SuppressionReason | NotGiven = NOT_GIVEN,
        search: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Suppression]:
        """The suppression list, newest first unless `sort`/`order` say otherwise; `reason` filters,
        `search` matches part of an entry (`"example.com"` finds the domain entry and its addresses)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, reason=reason, search=search)
        return self._client.get_page(Suppression, "/suppressions", params=params, timeout=timeout)

    async def create(
        self,
        *,
        emails: Iterable[str] | NotGiven = NOT_GIVEN,
        domains: Iterable[str] | NotGiven = NOT_GIVEN,
        detail: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SuppressionsAdded:
        """Suppress addresses and whole domains (1 to 1,000 together) with reason `manual`; what was added,
        and what was already there (kept with its reason). A bad value raises `ValidationError` naming it
        (`emails.2`), and then nothing is added."""
        body = given(emails=map_given(emails, list), domains=map_given(domains, list), detail=detail)
        path = "/suppressions"
        return await self._client.request(SuppressionsAdded, "POST", path, json=body, timeout=timeout)

    async def delete(self, entry: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> None:
        """Remove a `manual` or `bounced` entry: an address, or a domain as `"@example.com"` (or
        `"example.com"`). `NotFoundError` when it is not on the list; `ConflictError` (`INVALID_STATE`)
        for an `unsubscribed` entry, which stays: only the recipient can opt in again (its `details` say
        when, how and from which campaign the address unsubscribed)."""
        await self._client.request_no_content("DELETE", _entry_path(entry), timeout=timeout)
