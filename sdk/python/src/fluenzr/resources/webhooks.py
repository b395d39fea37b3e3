# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, map_given
from .._webhooks import DEFAULT_TOLERANCE, verify_webhook
from ..models import (
    Deleted,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
    WebhookRotatedSecret,
    WebhookWithSecret,
)
from ..pagination import AsyncPageRequest, SyncPage
from ..params import SortOrder, WebhookDeliveryListSort, WebhookListSort
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
        or the timestamp is more than `tolerance` seconds (default 5 minutes) away from now. During the 24
        hours after a secret rotation deliveries carry two signatures: either secret verifies.
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

    def get(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Webhook:
        """One webhook (never its secret); `disabled_reason` says why FluenzR disabled it."""
        return self._client.request(Webhook, "GET", f"/webhooks/{path_id(webhook_id)}", timeout=timeout)

    def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Iterable[WebhookEvent] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Webhook:
        """Change the fields given; `active=True` re-enables a disabled endpoint."""
        body = given(url=url, events=map_given(events, list), description=description, active=active)
        path = f"/webhooks/{path_id(webhook_id)}"
        return self._client.request(Webhook, "PUT", path, json=body, timeout=timeout)

    def test(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> WebhookDelivery:
        """Send a `webhook.test` event now; the delivery with its one attempt."""
        path = f"/webhooks/{path_id(webhook_id)}/test"
        return self._client.request(WebhookDelivery, "POST", path, timeout=timeout)

    def rotate_secret(
        self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> WebhookRotatedSecret:
        """A new signing secret, shown once; the old one keeps signing beside it for 24 hours."""
        path = f"/webhooks/{path_id(webhook_id)}/rotate-secret"
        return self._client.request(WebhookRotatedSecret, "POST", path, timeout=timeout)

    def list_deliveries(
        self,
        webhook_id: str,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: WebhookDeliveryListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        status: WebhookDeliveryStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[WebhookDelivery]:
        """The webhook's deliveries, each with its attempts (status, duration, start of the answer). A
        delivered or failed one is kept 30 days after its last attempt, a pending one until it finishes."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, status=status)
        path = f"/webhooks/{path_id(webhook_id)}/deliveries"
        return self._client.get_page(WebhookDelivery, path, params=params, timeout=timeout)

    def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> WebhookDelivery:
        """Send a delivery again, now, with the same `webhook-id` (a 404 once it is no longer listed: 30
        days after the last attempt of a finished delivery)."""
        path = f"/webhooks/{path_id(webhook_id)}/deliveries/{path_id(delivery_id)}/retry"
        return self._client.request(WebhookDelivery, "POST", path, timeout=timeout)


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

    async def get(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Webhook:
        """One webhook (never its secret); `disabled_reason` says why FluenzR disabled it."""
        return await self._client.request(Webhook, "GET", f"/webhooks/{path_id(webhook_id)}", timeout=timeout)

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Iterable[WebhookEvent] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Webhook:
        """Change the fields given; `active=True` re-enables a disabled endpoint."""
        body = given(url=url, events=map_given(events, list), description=description, active=active)
        path = f"/webhooks/{path_id(webhook_id)}"
        return await self._client.request(Webhook, "PUT", path, json=body, timeout=timeout)

    async def test(self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> WebhookDelivery:
        """Send a `webhook.test` event now; the delivery with its one attempt."""
        path = f"/webhooks/{path_id(webhook_id)}/test"
        return await self._client.request(WebhookDelivery, "POST", path, timeout=timeout)

    async def rotate_secret(
        self, webhook_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> WebhookRotatedSecret:
        """A new signing secret, shown once; the old one keeps signing beside it for 24 hours."""
        path = f"/webhooks/{path_id(webhook_id)}/rotate-secret"
        return await self._client.request(WebhookRotatedSecret, "POST", path, timeout=timeout)

    def list_deliveries(
        self,
        webhook_id: str,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: WebhookDeliveryListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        status: WebhookDeliveryStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[WebhookDelivery]:
        """The webhook's deliveries, each with its attempts (status, duration, start of the answer). A
        delivered or failed one is kept 30 days after its last attempt, a pending one until it finishes."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, status=status)
        path = f"/webhooks/{path_id(webhook_id)}/deliveries"
        return self._client.get_page(WebhookDelivery, path, params=params, timeout=timeout)

    async def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> WebhookDelivery:
        """Send a delivery again, now, with the same `webhook-id` (a 404 once it is no longer listed: 30
        days after the last attempt of a finished delivery)."""
        path = f"/webhooks/{path_id(webhook_id)}/deliveries/{path_id(delivery_id)}/retry"
        return await self._client.request(WebhookDelivery, "POST", path, timeout=timeout)
