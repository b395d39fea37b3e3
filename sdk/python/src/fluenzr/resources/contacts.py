# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from .._base_client import path_id
from .._batching import MAX_BATCH_ROWS, Chunk, FirstWins, batch_body, merge, rate_limit_wait, wire_rows
from .._types import NOT_GIVEN, NotGiven, Timeout, given, map_given
from ..models import Contact, ContactBatch, ContactBatchMode, CustomFieldValue, Deleted
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

    def create_many(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        mode: ContactBatchMode = "create",
        group_id: str | NotGiven = NOT_GIVEN,
        earlier_emails: Mapping[str, int] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> ContactBatch:
        """Create (`mode="create"`) or create-or-update by email (`mode="upsert"`) up to 1,000 contacts.

        `contacts` are mappings of contact fields (`email`, `first_name` or `firstName`, …). Each row is
        checked on its own: a bad row is an `error` result (with what `create` would have raised), never an
        exception; `upsert` updates only the fields a row gives. Every stored row joins `group_id` when given.
        `earlier_emails` ({email: index}, for an import you split yourself; `import_all` does this for you):
        a row with one of those emails is a `CONFLICT` with that `firstIndex`, as a duplicate in one batch.
        One request; raises `ValidationError` only when the batch itself is malformed.
        """
        earlier = None if isinstance(earlier_emails, NotGiven) else earlier_emails
        body = batch_body(wire_rows(contacts), mode, group_id, earlier)
        return self._client.request(
            ContactBatch, "POST", "/contacts/batch", json=body, timeout=timeout, idempotent=True
        )

    def import_all(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        mode: ContactBatchMode = "create",
        group_id: str | NotGiven = NOT_GIVEN,
        batch_size: int = MAX_BATCH_ROWS,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> ContactBatch:
        """`create_many` over any number of `contacts`: read lazily in batches of `batch_size` (at most 1,000,
        and under the 1 MiB body limit), sent one after another, waiting for the rate-limit window when it
        is used up. Returns one `ContactBatch` for the whole input, `index`es counted from its start.

        A duplicate email is answered as inside one batch, across batches too: the first row with an email
        that passes the checks wins; a later one is a `CONFLICT` error with `details.firstIndex` (rows
        with an email an earlier batch also gives are sent after it, with `earlierEmails`)."""
        plan = FirstWins(batch_size)
        answers: list[tuple[Chunk, ContactBatch]] = []

        def send(chunk: Chunk) -> None:
            wait = rate_limit_wait(self._client.rate_limit, self._client._now())
            if wait:
                self._client._sleep(wait)
            body = batch_body(chunk.rows, mode, group_id, chunk.earlier)
            answer = self._client.request(
                ContactBatch, "POST", "/contacts/batch", json=body, timeout=timeout, idempotent=True
            )
            plan.record(chunk, answer)
            answers.append((chunk, answer))

        for chunk in plan.first_round(contacts):
            send(chunk)
        while held := plan.next_round():
            for chunk in held:
                send(chunk)
        return merge(mode, group_id, answers)


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

    async def create_many(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        mode: ContactBatchMode = "create",
        group_id: str | NotGiven = NOT_GIVEN,
        earlier_emails: Mapping[str, int] | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> ContactBatch:
        """Create (`mode="create"`) or create-or-update by email (`mode="upsert"`) up to 1,000 contacts.

        `contacts` are mappings of contact fields (`email`, `first_name` or `firstName`, …). Each row is
        checked on its own: a bad row is an `error` result (with what `create` would have raised), never an
        exception; `upsert` updates only the fields a row gives. Every stored row joins `group_id` when given.
        `earlier_emails` ({email: index}, for an import you split yourself; `import_all` does this for you):
        a row with one of those emails is a `CONFLICT` with that `firstIndex`, as a duplicate in one batch.
        One request; raises `ValidationError` only when the batch itself is malformed.
        """
        earlier = None if isinstance(earlier_emails, NotGiven) else earlier_emails
        body = batch_body(wire_rows(contacts), mode, group_id, earlier)
        return await self._client.request(
            ContactBatch, "POST", "/contacts/batch", json=body, timeout=timeout, idempotent=True
        )

    async def import_all(
        self,
        contacts: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        mode: ContactBatchMode = "create",
        group_id: str | NotGiven = NOT_GIVEN,
        batch_size: int = MAX_BATCH_ROWS,
        concurrency: int = 4,
        timeout: Timeout | NotGiven = NOT_GIVEN,
    ) -> ContactBatch:
        """`create_many` over any number of `contacts` (a sync or async iterable), read lazily in batches of
        `batch_size` (at most 1,000, and under the 1 MiB body limit), with at most `concurrency` batches in
        flight, waiting for the rate-limit window when it is used up. Returns one `ContactBatch` for the
        whole input, `index`es counted from its start. The first failing batch cancels the others and its
        exception is raised (batches already answered are stored).

        A duplicate email is answered as inside one batch, across batches too: the first row with an email
        that passes the checks wins; a later one is a `CONFLICT` error with `details.firstIndex`. (Rows
        with an email that an earlier batch also gives wait until it is answered, then go with
        `earlierEmails`; so a later row is never matched against the state before the earlier batch.)
        """
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        plan = FirstWins(batch_size)
        answers: list[tuple[Chunk, ContactBatch]] = []
        in_flight: set[asyncio.Task[None]] = set()

        async def send(chunk: Chunk) -> None:
            body = batch_body(chunk.rows, mode, group_id, chunk.earlier)
            answer = await self._client.request(
                ContactBatch, "POST", "/contacts/batch", json=body, timeout=timeout, idempotent=True
            )
            plan.record(chunk, answer)
            answers.append((chunk, answer))

        async def settle(until: int) -> None:
            while len(in_flight) > until:
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                in_flight.difference_update(done)
                for task in done:
                    task.result()  # the first failure propagates; `finally` cancels the rest

        async def launch(chunk: Chunk) -> None:
            await settle(concurrency - 1)
            wait = rate_limit_wait(self._client.rate_limit, self._client._now())
            if wait:
                await self._client._sleep(wait)
            in_flight.add(asyncio.create_task(send(chunk)))

        try:
            async for chunk in plan.afirst_round(contacts):
                await launch(chunk)
            await settle(0)
            while held := plan.next_round():
                for chunk in held:
                    await launch(chunk)
                await settle(0)
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
        return merge(mode, group_id, answers)
