# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, id_list, map_given
from ..models import (
    Campaign,
    CampaignMembership,
    CampaignStats,
    CampaignStatus,
    Lead,
    LeadStatus,
    Schedule,
    SendingStatus,
    Step,
)
from ..pagination import AsyncPageRequest, SyncPage
from ..params import CampaignListSort, ScheduleParam, SortOrder, StepParam, wire_schedule, wire_steps
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncCampaigns", "Campaigns"]


def _campaign_body(
    name: str | NotGiven,
    email_account_id: str | NotGiven | None,
    steps: Iterable[Step | StepParam] | NotGiven,
    schedule: Schedule | ScheduleParam | NotGiven,
) -> dict[str, Any]:
    return given(
        name=name,
        emailAccountId=email_account_id,
        steps=map_given(steps, wire_steps),
        schedule=schedule if isinstance(schedule, NotGiven) else wire_schedule(schedule),
    )


def _contacts_body(contact_ids: Iterable[str] | NotGiven, group_id: str | NotGiven) -> dict[str, Any]:
    if isinstance(contact_ids, NotGiven) == isinstance(group_id, NotGiven):
        raise TypeError("Pass exactly one of contact_ids=[...] or group_id=...")
    return given(contactIds=map_given(contact_ids, id_list), groupId=group_id)


class Campaigns(SyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: CampaignListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        status: CampaignStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Campaign]:
        params = given(page=page, perPage=per_page, sort=sort, order=order, status=status)
        return self._client.get_page(Campaign, "/campaigns", params=params, timeout=timeout)

    def get(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        return self._client.request(Campaign, "GET", f"/campaigns/{path_id(campaign_id)}", timeout=timeout)

    def create(
        self,
        *,
        name: str,
        email_account_id: str | NotGiven | None = NOT_GIVEN,
        steps: Iterable[Step | StepParam] | NotGiven = NOT_GIVEN,
        schedule: Schedule | ScheduleParam | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Campaign:
        """Create a `draft` campaign; steps are `{"subject", "body", "delay_days"}` dicts or `Step`s."""
        body = _campaign_body(name, email_account_id, steps, schedule)
        return self._client.request(Campaign, "POST", "/campaigns", json=body, timeout=timeout)

    def update(
        self,
        campaign_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        email_account_id: str | NotGiven | None = NOT_GIVEN,
        steps: Iterable[Step | StepParam] | NotGiven = NOT_GIVEN,
        schedule: Schedule | ScheduleParam | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Campaign:
        """Change the fields passed; only `draft` and `paused` campaigns can be edited."""
        body = _campaign_body(name, email_account_id, steps, schedule)
        path = f"/campaigns/{path_id(campaign_id)}"
        return self._client.request(Campaign, "PUT", path, json=body, timeout=timeout)

    def start(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        """`draft` or `paused` → `running` (a no-op on a running campaign)."""
        path = f"/campaigns/{path_id(campaign_id)}/start"
        return self._client.request(Campaign, "POST", path, timeout=timeout, idempotent=True)

    def pause(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        """`running` → `paused` (a no-op on a paused campaign)."""
        path = f"/campaigns/{path_id(campaign_id)}/pause"
        return self._client.request(Campaign, "POST", path, timeout=timeout, idempotent=True)

    def add_contacts(
        self,
        campaign_id: str,
        *,
        contact_ids: Iterable[str] | NotGiven = NOT_GIVEN,
        group_id: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> CampaignMembership:
        """Add the given contacts, or every current member of a group: pass exactly one of the two."""
        body = _contacts_body(contact_ids, group_id)
        path = f"/campaigns/{path_id(campaign_id)}/contacts"
        return self._client.request(
            CampaignMembership, "POST", path, json=body, timeout=timeout, idempotent=True
        )

    def get_stats(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> CampaignStats:
        path = f"/campaigns/{path_id(campaign_id)}/stats"
        return self._client.request(CampaignStats, "GET", path, timeout=timeout)

    def list_contacts(
        self,
        campaign_id: str,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        status: LeadStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Lead]:
        """The campaign's leads (each contact's place in the sequence), optionally only one `status`."""
        params = given(page=page, perPage=per_page, status=status)
        path = f"/campaigns/{path_id(campaign_id)}/contacts"
        return self._client.get_page(Lead, path, params=params, timeout=timeout)

    def get_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """One lead: the contact's place in the campaign's sequence."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}"
        return self._client.request(Lead, "GET", path, timeout=timeout)

    def pause_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """`active` → `paused` for this lead alone (a no-op on a paused lead); 409 while its step is in
        flight or once it has stopped."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}/pause"
        return self._client.request(Lead, "POST", path, timeout=timeout, idempotent=True)

    def resume_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """`paused` → `active` (a no-op on an active lead); 409 once it has stopped."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}/resume"
        return self._client.request(Lead, "POST", path, timeout=timeout, idempotent=True)

    def get_sending_status(
        self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> SendingStatus:
        """Whether the campaign is sending right now, every reason it is not, and its next send time."""
        path = f"/campaigns/{path_id(campaign_id)}/sending-status"
        return self._client.request(SendingStatus, "GET", path, timeout=timeout)


class AsyncCampaigns(AsyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: CampaignListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        status: CampaignStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Campaign]:
        params = given(page=page, perPage=per_page, sort=sort, order=order, status=status)
        return self._client.get_page(Campaign, "/campaigns", params=params, timeout=timeout)

    async def get(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        path = f"/campaigns/{path_id(campaign_id)}"
        return await self._client.request(Campaign, "GET", path, timeout=timeout)

    async def create(
        self,
        *,
        name: str,
        email_account_id: str | NotGiven | None = NOT_GIVEN,
        steps: Iterable[Step | StepParam] | NotGiven = NOT_GIVEN,
        schedule: Schedule | ScheduleParam | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Campaign:
        """Create a `draft` campaign; steps are `{"subject", "body", "delay_days"}` dicts or `Step`s."""
        body = _campaign_body(name, email_account_id, steps, schedule)
        return await self._client.request(Campaign, "POST", "/campaigns", json=body, timeout=timeout)

    async def update(
        self,
        campaign_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        email_account_id: str | NotGiven | None = NOT_GIVEN,
        steps: Iterable[Step | StepParam] | NotGiven = NOT_GIVEN,
        schedule: Schedule | ScheduleParam | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Campaign:
        """Change the fields passed; only `draft` and `paused` campaigns can be edited."""
        body = _campaign_body(name, email_account_id, steps, schedule)
        path = f"/campaigns/{path_id(campaign_id)}"
        return await self._client.request(Campaign, "PUT", path, json=body, timeout=timeout)

    async def start(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        """`draft` or `paused` → `running` (a no-op on a running campaign)."""
        path = f"/campaigns/{path_id(campaign_id)}/start"
        return await self._client.request(Campaign, "POST", path, timeout=timeout, idempotent=True)

    async def pause(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Campaign:
        """`running` → `paused` (a no-op on a paused campaign)."""
        path = f"/campaigns/{path_id(campaign_id)}/pause"
        return await self._client.request(Campaign, "POST", path, timeout=timeout, idempotent=True)

    async def add_contacts(
        self,
        campaign_id: str,
        *,
        contact_ids: Iterable[str] | NotGiven = NOT_GIVEN,
        group_id: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> CampaignMembership:
        """Add the given contacts, or every current member of a group: pass exactly one of the two."""
        body = _contacts_body(contact_ids, group_id)
        path = f"/campaigns/{path_id(campaign_id)}/contacts"
        return await self._client.request(
            CampaignMembership, "POST", path, json=body, timeout=timeout, idempotent=True
        )

    async def get_stats(self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> CampaignStats:
        path = f"/campaigns/{path_id(campaign_id)}/stats"
        return await self._client.request(CampaignStats, "GET", path, timeout=timeout)

    def list_contacts(
        self,
        campaign_id: str,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        status: LeadStatus | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Lead]:
        """The campaign's leads (each contact's place in the sequence), optionally only one `status`."""
        params = given(page=page, perPage=per_page, status=status)
        path = f"/campaigns/{path_id(campaign_id)}/contacts"
        return self._client.get_page(Lead, path, params=params, timeout=timeout)

    async def get_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """One lead: the contact's place in the campaign's sequence."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}"
        return await self._client.request(Lead, "GET", path, timeout=timeout)

    async def pause_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """`active` → `paused` for this lead alone (a no-op on a paused lead); 409 while its step is in
        flight or once it has stopped."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}/pause"
        return await self._client.request(Lead, "POST", path, timeout=timeout, idempotent=True)

    async def resume_contact(
        self, campaign_id: str, contact_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> Lead:
        """`paused` → `active` (a no-op on an active lead); 409 once it has stopped."""
        path = f"/campaigns/{path_id(campaign_id)}/contacts/{path_id(contact_id)}/resume"
        return await self._client.request(Lead, "POST", path, timeout=timeout, idempotent=True)

    async def get_sending_status(
        self, campaign_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> SendingStatus:
        """Whether the campaign is sending right now, every reason it is not, and its next send time."""
        path = f"/campaigns/{path_id(campaign_id)}/sending-status"
        return await self._client.request(SendingStatus, "GET", path, timeout=timeout)
