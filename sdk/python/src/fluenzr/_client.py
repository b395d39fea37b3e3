"""`FluenzrClient` and `AsyncFluenzrClient`: configuration plus one attribute per API resource."""
# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from types import TracebackType

import httpx

from ._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncAPIClient, SyncAPIClient
from ._types import NOT_GIVEN, NotGiven, Timeout
from .models import ApiIndex, Health
from .resources import (
    AsyncCampaigns,
    AsyncContacts,
    AsyncEmailAccounts,
    AsyncGroups,
    AsyncSuppressions,
    AsyncWebhooks,
    Campaigns,
    Contacts,
    EmailAccounts,
    Groups,
    Suppressions,
    Webhooks,
)

__all__ = ["AsyncFluenzrClient", "FluenzrClient"]


class FluenzrClient(SyncAPIClient):
    """Client for the FluenzR REST API.

    `api_key` defaults to the `FLUENZR_API_KEY` environment variable and `base_url` to `FLUENZR_BASE_URL`,
    then `https://api.fluenzr.co/v1`. `timeout` is in seconds (or an `httpx.Timeout`) and can be overridden
    per call; `max_retries` bounds the automatic retries of one call (see the README for which are retried).
    Pass `http_client=` (an `httpx.Client`) or `transport=` to control the HTTP layer, e.g. in tests.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            transport=transport,
        )

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(self)

    @cached_property
    def groups(self) -> Groups:
        return Groups(self)

    @cached_property
    def email_accounts(self) -> EmailAccounts:
        return EmailAccounts(self)

    @cached_property
    def campaigns(self) -> Campaigns:
        return Campaigns(self)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self)

    @cached_property
    def suppressions(self) -> Suppressions:
        return Suppressions(self)

    def health(self, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Health:
        """`GET /health`: the API's status and version (needs no valid key)."""
        return self.request(Health, "GET", "/health", timeout=timeout)

    def index(self, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> ApiIndex:
        """`GET /`: the paths of the documentation and the contract (needs no valid key)."""
        return self.request(ApiIndex, "GET", "/", timeout=timeout)

    def __enter__(self) -> FluenzrClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FluenzrClient(base_url={self.base_url!r})"


class AsyncFluenzrClient(AsyncAPIClient):
    """The asyncio twin of `FluenzrClient`: same options, every call is awaited.

    `list()` calls return an object you can `await` (the first page) or `async for` over (every item).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            transport=transport,
        )

    @cached_property
    def contacts(self) -> AsyncContacts:
        return AsyncContacts(self)

    @cached_property
    def groups(self) -> AsyncGroups:
        return AsyncGroups(self)

    @cached_property
    def email_accounts(self) -> AsyncEmailAccounts:
        return AsyncEmailAccounts(self)

    @cached_property
    def campaigns(self) -> AsyncCampaigns:
        return AsyncCampaigns(self)

    @cached_property
    def webhooks(self) -> AsyncWebhooks:
        return AsyncWebhooks(self)

    @cached_property
    def suppressions(self) -> AsyncSuppressions:
        return AsyncSuppressions(self)

    async def health(self, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Health:
        """`GET /health`: the API's status and version (needs no valid key)."""
        return await self.request(Health, "GET", "/health", timeout=timeout)

    async def index(self, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> ApiIndex:
        """`GET /`: the paths of the documentation and the contract (needs no valid key)."""
        return await self.request(ApiIndex, "GET", "/", timeout=timeout)

    async def __aenter__(self) -> AsyncFluenzrClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncFluenzrClient(base_url={self.base_url!r})"
