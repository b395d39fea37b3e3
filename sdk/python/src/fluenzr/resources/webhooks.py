# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given
from .._webhooks import DEFAULT_TOLERANCE, verify_webhook
from ..models import Deleted, Webhook, WebhookEvent, WebhookWithSecret
from ..pagination import AsyncPageRequest, SyncPage
from ..params import SortOrder, WebhookListSort
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncWebhooks", "Webhooks"]


class _Verify:
    def verify(
        self,
        payload: str | bytes,
        headers: Mapping[str, str],
        secret: str,
        *,
        tolerance: int = DEFAULT_TOLERANCE,
    ) -> Any:
        """Check a delivery's Standard Webhooks signature and return its parsed JSON payload.

        Pass the raw body as received. Raises `WebhookVerificationError` if the signature does not match
        or the timestamp is more than `tolerance` seconds (default 5 minutes) away from now.
        """
        return verify_webhook(payload, headers, secret, tolerance=tolerance)


class Webhooks(SyncAPIResource, _Verify):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: WebhookListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Webhook]:
        """Your webhook endpoints (secrets are never listed)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order)
        return self._client.get_page(Webhook, "/webhooks", params=params, timeout=timeout)

    def create(
        self,
        *,
        url: str,
        events: Iterable[WebhookEvent],
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> WebhookWithSecret:
        """Subscribe an https URL to events; the result's `secret` is shown this once only."""
        body = given(url=url, events=list(events), description=description, active=active)
        return self._client.request(WebhookWithSecret, "POST", "/webhooks", json=body, timeout=timeout)

    def delete(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        return self._client.request(Deleted, "DELETE", f"/webhooks/{path_id(webhook_id)}", timeout=timeout)


class AsyncWebhooks(AsyncAPIResource, _Verify):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: WebhookListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Webhook]:
        """Your webhook endpoints (secrets are never listed)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order)
        return self._client.get_page(Webhook, "/webhooks", params=params, timeout=timeout)

    async def create(
        self,
        *,
        url: str,
        events: Iterable[WebhookEvent],
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> WebhookWithSecret:
        """Subscribe an https URL to events; the result's `secret` is shown this once only."""
        body = given(url=url, events=list(events), description=description, active=active)
        return await self._client.request(WebhookWithSecret, "POST", "/webhooks", json=body, timeout=timeout)

    async def delete(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        path = f"/webhooks/{path_id(webhook_id)}"
        return await self._client.request(Deleted, "DELETE", path, timeout=timeout)
