"""The webhook dispatcher: claims due deliveries, POSTs them signed, records every attempt.

At-least-once: a delivery is leased (`claim.claim_due`), sent, and only then marked; a worker killed
in between leaves the lease to run out, and the delivery is sent again with the same `webhook-id` (the
event id), which receivers dedupe on. Order is not guaranteed: deliveries of one batch go out concurrently
and a retried one overtakes nothing. What an answer means (retry, give up, disable the endpoint) is
`webhooks.policy.decide`.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fluenzr_server.engine.claim import claim_due, release_many
from fluenzr_server.ids import new_id
from fluenzr_server.resources import Resources
from fluenzr_server.services.common import now as real_now
from fluenzr_server.services.common import wire_time
from fluenzr_server.services.events import payload
from fluenzr_server.store import tables as t
from fluenzr_server.webhooks import policy
from fluenzr_server.webhooks.http import Answer, WebhookClient
from fluenzr_server.webhooks.secrets import signing_secrets
from fluenzr_server.webhooks.signing import body_of, signed_headers

Clock = Callable[[], datetime]
RESPONSE_KEPT = 1024  # bytes of each answer kept in the deliveries log
# Longer than one attempt's 15 s budget, so a live worker never loses a lease it is still using.
LEASE = timedelta(seconds=60)
_deliveries = t.webhook_deliveries


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('wkr', 6)}"[:64]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One attempt as written to the log, and the delivery's status after it."""

    delivery_id: str
    status: str
    attempt: dict[str, Any]


class WebhookDispatcher:
    """The engine task (`engine.runner.Task`) that delivers webhooks; one per worker process."""

    name = "webhooks"

    def __init__(
        self,
        *,
        client: WebhookClient | None = None,
        clock: Clock = real_now,
        batch: int = 200,
        lease: timedelta = LEASE,
        owner: str | None = None,
        account_ids: Sequence[str] | None = None,
    ) -> None:
        """`account_ids` restricts the dispatcher to those accounts' deliveries (dedicated workers; tests
        sharing a database); None delivers for every account."""
        self._client = client
        self.account_ids = list(account_ids) if account_ids is not None else None
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.owner = owner or worker_name()

    def client(self, resources: Resources) -> WebhookClient:
        if self._client is None:
            self._client = WebhookClient.for_settings(resources.settings)
        return self._client

    async def tick(self, resources: Resources) -> int:
        """Claim up to `batch` due deliveries of active endpoints and attempt each once."""
        at = self.clock()
        endpoint_active = exists().where(
            t.webhooks.c.id == _deliveries.c.webhook_id, t.webhooks.c.active.is_(True)
        )
        scope = [_deliveries.c.status == "pending", endpoint_active]
        if self.account_ids is not None:
            scope.append(_deliveries.c.account_id.in_(self.account_ids))
        async with resources.database.write() as conn:
            rows = await claim_due(
                conn,
                _deliveries,
                now=at,
                limit=self.batch,
                lease=self.lease,
                owner=self.owner,
                where=and_(*scope),
            )
        if rows:
            await attempt(resources, self.client(resources), rows, owner=self.owner, clock=self.clock)
        return len(rows)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


async def attempt(
    resources: Resources,
    client: WebhookClient,
    deliveries: Sequence[Any],
    *,
    owner: str,
    clock: Clock,
    single_attempt: bool = False,
) -> list[Recorded]:
    """Send each leased delivery once and record the outcome (`single_attempt`: a test delivery, which is
    never retried and does not count towards disabling the endpoint)."""
    event_ids = sorted({row.event_id for row in deliveries})
    webhook_ids = sorted({row.webhook_id for row in deliveries})
    async with resources.database.read() as conn:
        found_events = (await conn.execute(select(t.events).where(t.events.c.id.in_(event_ids)))).all()
        found_hooks = (await conn.execute(select(t.webhooks).where(t.webhooks.c.id.in_(webhook_ids)))).all()
    events = {row.id: row for row in found_events}
    hooks = {row.id: row for row in found_hooks}
    ready = [row for row in deliveries if row.event_id in events and row.webhook_id in hooks]
    answers = await asyncio.gather(
        *(_send(resources, client, hooks[row.webhook_id], events[row.event_id], clock) for row in ready)
    )
    return await _record(
        resources, list(zip(ready, answers, strict=True)), hooks, owner, clock, single_attempt
    )


async def _send(
    resources: Resources, client: WebhookClient, hook: Any, event: Any, clock: Clock
) -> tuple[datetime, Answer]:
    at = clock()
    body = body_of(payload(event))
    headers = signed_headers(
        message_id=event.id, body=body, secrets=signing_secrets(resources.secret_box, hook, now=at), at=at
    )
    return at, await client.post(hook.url, body=body, headers=headers)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def _record(
    resources: Resources,
    results: list[tuple[Any, tuple[datetime, Answer]]],
    hooks: dict[str, Any],
    owner: str,
    clock: Clock,
    single_attempt: bool,
) -> list[Recorded]:
    recorded: list[Recorded] = []
    attempts: dict[str, dict[str, Any]] = {}
    new_state: dict[str, dict[str, Any]] = {}
    succeeded: set[str] = set()
    first_failure: dict[str, datetime] = {}
    disable: dict[str, str] = {}
    decided_at = clock()
    for row, (at, answer) in results:
        hook = hooks[row.webhook_id]
        if single_attempt:
            ok = answer.status_code is not None and 200 <= answer.status_code < 300
            decision = policy.Decision("delivered" if ok else "failed")
        else:
            decision = policy.decide(
                status_code=answer.status_code,
                retry_after_header=answer.retry_after,
                schedule_step=row.schedule_step,
                failing_since=_aware(hook.failing_since),
                now=decided_at,
            )
            if decision.status == "delivered":
                succeeded.add(hook.id)
            else:
                first_failure.setdefault(hook.id, at)
            if decision.disable:
                disable.setdefault(hook.id, decision.disable)
        attempts[row.id] = {
            "id": new_id("att"),
            "delivery_id": row.id,
            "attempted_at": at,
            "status_code": answer.status_code,
            "duration_ms": answer.duration_ms,
            "response_body": answer.body[:RESPONSE_KEPT].decode("utf-8", "replace") if answer.body else None,
            "error": answer.error,
        }
        new_state[row.id] = {
            "status": decision.status,
            "due_at": decision.due_at or row.due_at,
            "attempt_count": row.attempt_count + 1,
            "schedule_step": row.schedule_step + 1,
            "last_attempt_at": at,
        }
        recorded.append(Recorded(row.id, decision.status, present_attempt(attempts[row.id])))
    async with resources.database.write() as conn:
        # A delivery not kept is gone (its endpoint was deleted) or another worker took it over.
        kept = await release_many(conn, _deliveries, new_state, owner=owner)
        if kept:
            await conn.execute(insert(t.webhook_attempts), [attempts[row_id] for row_id in sorted(kept)])
        await _update_endpoints(conn, succeeded, first_failure, disable)
    return recorded


async def _update_endpoints(
    conn: AsyncConnection, succeeded: set[str], first_failure: dict[str, datetime], disable: dict[str, str]
) -> None:
    hooks = t.webhooks.c
    if succeeded:  # the endpoint answered: its run of failures is over
        await conn.execute(
            update(t.webhooks).where(hooks.id.in_(sorted(succeeded))).values(failing_since=None)
        )
    for hook_id, at in sorted(first_failure.items()):
        if hook_id not in succeeded:
            await conn.execute(
                update(t.webhooks)
                .where(hooks.id == hook_id)
                .values(failing_since=func.coalesce(hooks.failing_since, at))
            )
    for hook_id, reason in sorted(disable.items()):
        await conn.execute(
            update(t.webhooks).where(hooks.id == hook_id).values(active=False, disabled_reason=reason)
        )


def present_attempt(row: Any) -> dict[str, Any]:
    """An attempt's wire form (a `webhook_attempts` row or its values)."""
    get: Callable[[str], Any] = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    return {
        "attemptedAt": wire_time(get("attempted_at")),
        "statusCode": get("status_code"),
        "durationMs": get("duration_ms"),
        "responseBody": get("response_body"),
        "error": get("error"),
    }
