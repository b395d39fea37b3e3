# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, map_given
from ..models import Deleted, EmailAccount
from ..pagination import AsyncPageRequest, SyncPage
from ..params import (
    EmailAccountListSort,
    ImapSettingsParam,
    ImapSettingsUpdateParam,
    SmtpSettingsParam,
    SmtpSettingsUpdateParam,
    SortOrder,
    wire_imap,
    wire_smtp,
)
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncEmailAccounts", "EmailAccounts"]


class EmailAccounts(SyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: EmailAccountListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[EmailAccount]:
        params = given(page=page, perPage=per_page, sort=sort, order=order)
        return self._client.get_page(EmailAccount, "/email-accounts", params=params, timeout=timeout)

    def get(self, email_account_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> EmailAccount:
        path = f"/email-accounts/{path_id(email_account_id)}"
        return self._client.request(EmailAccount, "GET", path, timeout=timeout)

    def create(
        self,
        *,
        from_email: str,
        from_name: str,
        smtp: SmtpSettingsParam,
        imap: ImapSettingsParam | NotGiven = NOT_GIVEN,
        daily_limit: int | NotGiven = NOT_GIVEN,
        min_interval_seconds: int | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> EmailAccount:
        """Connect a mailbox: `smtp={"host", "port", "username", "password", "security"}`; optionally
        `imap={...}` (the same keys) where replies and bounce reports are read."""
        body = given(
            fromEmail=from_email,
            fromName=from_name,
            smtp=wire_smtp(smtp),
            imap=map_given(imap, wire_imap),
            dailyLimit=daily_limit,
            minIntervalSeconds=min_interval_seconds,
        )
        return self._client.request(EmailAccount, "POST", "/email-accounts", json=body, timeout=timeout)

    def update(
        self,
        email_account_id: str,
        *,
        from_email: str | NotGiven = NOT_GIVEN,
        from_name: str | NotGiven = NOT_GIVEN,
        smtp: SmtpSettingsUpdateParam | NotGiven = NOT_GIVEN,
        imap: ImapSettingsUpdateParam | NotGiven | None = NOT_GIVEN,
        daily_limit: int | NotGiven = NOT_GIVEN,
        min_interval_seconds: int | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> EmailAccount:
        """Change the fields passed; inside `smtp`, only the settings passed change (an account in
        `error` becomes `active` again); the same inside `imap`, and `imap=None` removes the IMAP
        settings."""
        body = given(
            fromEmail=from_email,
            fromName=from_name,
            smtp=map_given(smtp, wire_smtp),
            imap=map_given(imap, wire_imap),
            dailyLimit=daily_limit,
            minIntervalSeconds=min_interval_seconds,
        )
        path = f"/email-accounts/{path_id(email_account_id)}"
        return self._client.request(EmailAccount, "PUT", path, json=body, timeout=timeout)

    def delete(self, email_account_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        """Delete the mailbox (`ConflictError` while a running or paused campaign sends from it)."""
        path = f"/email-accounts/{path_id(email_account_id)}"
        return self._client.request(Deleted, "DELETE", path, timeout=timeout)


class AsyncEmailAccounts(AsyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: EmailAccountListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[EmailAccount]:
        params = given(page=page, perPage=per_page, sort=sort, order=order)
        return self._client.get_page(EmailAccount, "/email-accounts", params=params, timeout=timeout)

    async def get(self, email_account_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> EmailAccount:
        path = f"/email-accounts/{path_id(email_account_id)}"
        return await self._client.request(EmailAccount, "GET", path, timeout=timeout)

    async def create(
        self,
        *,
        from_email: str,
        from_name: str,
        smtp: SmtpSettingsParam,
        imap: ImapSettingsParam | NotGiven = NOT_GIVEN,
        daily_limit: int | NotGiven = NOT_GIVEN,
        min_interval_seconds: int | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> EmailAccount:
        """Connect a mailbox: `smtp={"host", "port", "username", "password", "security"}`; optionally
        `imap={...}` (the same keys) where replies and bounce reports are read."""
        body = given(
            fromEmail=from_email,
            fromName=from_name,
            smtp=wire_smtp(smtp),
            imap=map_given(imap, wire_imap),
            dailyLimit=daily_limit,
            minIntervalSeconds=min_interval_seconds,
        )
        return await self._client.request(EmailAccount, "POST", "/email-accounts", json=body, timeout=timeout)

    async def update(
        self,
        email_account_id: str,
        *,
        from_email: str | NotGiven = NOT_GIVEN,
        from_name: str | NotGiven = NOT_GIVEN,
        smtp: SmtpSettingsUpdateParam | NotGiven = NOT_GIVEN,
        imap: ImapSettingsUpdateParam | NotGiven | None = NOT_GIVEN,
        daily_limit: int | NotGiven = NOT_GIVEN,
        min_interval_seconds: int | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> EmailAccount:
        """Change the fields passed; inside `smtp`, only the settings passed change (an account in
        `error` becomes `active` again); the same inside `imap`, and `imap=None` removes the IMAP
        settings."""
        body = given(
            fromEmail=from_email,
            fromName=from_name,
            smtp=map_given(smtp, wire_smtp),
            imap=map_given(imap, wire_imap),
            dailyLimit=daily_limit,
            minIntervalSeconds=min_interval_seconds,
        )
        path = f"/email-accounts/{path_id(email_account_id)}"
        return await self._client.request(EmailAccount, "PUT", path, json=body, timeout=timeout)

    async def delete(self, email_account_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        """Delete the mailbox (`ConflictError` while a running or paused campaign sends from it)."""
        path = f"/email-accounts/{path_id(email_account_id)}"
        return await self._client.request(Deleted, "DELETE", path, timeout=timeout)
