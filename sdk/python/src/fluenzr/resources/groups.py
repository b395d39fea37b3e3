# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

from collections.abc import Iterable

from .._base_client import path_id
from .._types import NOT_GIVEN, NotGiven, Timeout, given, id_list
from ..models import Deleted, Group, GroupMembership
from ..pagination import AsyncPageRequest, SyncPage
from ..params import GroupListSort, SortOrder
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncGroups", "Groups"]


class Groups(SyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: GroupListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Group]:
        """Groups whose name contains `name` (case-insensitive)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, name=name)
        return self._client.get_page(Group, "/groups", params=params, timeout=timeout)

    def get(self, group_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Group:
        return self._client.request(Group, "GET", f"/groups/{path_id(group_id)}", timeout=timeout)

    def create(
        self,
        *,
        name: str,
        description: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Group:
        body = given(name=name, description=description)
        return self._client.request(Group, "POST", "/groups", json=body, timeout=timeout)

    def update(
        self,
        group_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Group:
        body = given(name=name, description=description)
        return self._client.request(Group, "PUT", f"/groups/{path_id(group_id)}", json=body, timeout=timeout)

    def delete(self, group_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        """Delete the group; its contacts are kept."""
        return self._client.request(Deleted, "DELETE", f"/groups/{path_id(group_id)}", timeout=timeout)

    def add_contacts(
        self, group_id: str, *, contact_ids: Iterable[str], timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> GroupMembership:
        """Add contacts (idempotent, all or nothing: unknown ids are a `ValidationError`)."""
        path = f"/groups/{path_id(group_id)}/contacts"
        body = {"contactIds": id_list(contact_ids)}
        return self._client.request(
            GroupMembership, "POST", path, json=body, timeout=timeout, idempotent=True
        )


class AsyncGroups(AsyncAPIResource):
    def list(
        self,
        *,
        page: int | NotGiven = NOT_GIVEN,
        per_page: int | NotGiven = NOT_GIVEN,
        sort: GroupListSort | NotGiven = NOT_GIVEN,
        order: SortOrder | NotGiven = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> AsyncPageRequest[Group]:
        """Groups whose name contains `name` (case-insensitive)."""
        params = given(page=page, perPage=per_page, sort=sort, order=order, name=name)
        return self._client.get_page(Group, "/groups", params=params, timeout=timeout)

    async def get(self, group_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Group:
        return await self._client.request(Group, "GET", f"/groups/{path_id(group_id)}", timeout=timeout)

    async def create(
        self,
        *,
        name: str,
        description: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Group:
        body = given(name=name, description=description)
        return await self._client.request(Group, "POST", "/groups", json=body, timeout=timeout)

    async def update(
        self,
        group_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> Group:
        body = given(name=name, description=description)
        path = f"/groups/{path_id(group_id)}"
        return await self._client.request(Group, "PUT", path, json=body, timeout=timeout)

    async def delete(self, group_id: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> Deleted:
        """Delete the group; its contacts are kept."""
        return await self._client.request(Deleted, "DELETE", f"/groups/{path_id(group_id)}", timeout=timeout)

    async def add_contacts(
        self, group_id: str, *, contact_ids: Iterable[str], timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> GroupMembership:
        """Add contacts (idempotent, all or nothing: unknown ids are a `ValidationError`)."""
        path = f"/groups/{path_id(group_id)}/contacts"
        body = {"contactIds": id_list(contact_ids)}
        return await self._client.request(
            GroupMembership, "POST", path, json=body, timeout=timeout, idempotent=True
        )
