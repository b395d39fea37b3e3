"""A scripted FluenzR API behind `httpx.MockTransport`, and JSON factories for its objects."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

BASE_URL = "https://api.test/v1"
API_KEY = "fz_live_test_key"
RATE_HEADERS = {
    "X-RateLimit-Limit": "1000",
    "X-RateLimit-Remaining": "999",
    "X-RateLimit-Reset": "1640000000",
}

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class StubAPI:
    """Records every request; answers with the queued replies in order, then with `default`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None

    def queue(self, *replies: Reply) -> StubAPI:
        self.replies.extend(replies)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.popleft() if self.replies else self.default
        if reply is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def ok(
    data: Any, *, status: int = 200, meta: dict[str, int] | None = None, headers: Any = None
) -> httpx.Response:
    envelope: dict[str, Any] = {"success": True, "data": data}
    if meta is not None:
        envelope["meta"] = meta
    return httpx.Response(status, json=envelope, headers={**RATE_HEADERS, **(headers or {})})


def error(
    status: int, code: str, message: str = "boom", details: dict[str, Any] | None = None, headers: Any = None
) -> httpx.Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": details or {}}}
    return httpx.Response(status, json=body, headers={**RATE_HEADERS, **(headers or {})})


def page(items: list[Any], *, page: int = 1, per_page: int = 20, total: int | None = None) -> httpx.Response:
    return ok(
        items, meta={"page": page, "perPage": per_page, "total": len(items) if total is None else total}
    )


TS = "2025-01-06T09:30:00Z"


def contact(id: str = "ctc_1", email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "email": email,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Analytical Engines Ltd",
        "customFields": {"title": "CTO", "employees": 42, "customer": False},
        "groupIds": ["grp_456"],
        "createdAt": TS,
        "updatedAt": TS,
        **extra,
    }


def group(id: str = "grp_456") -> dict[str, Any]:
    return {"id": id, "name": "Q1", "description": None, "contactCount": 1, "createdAt": TS, "updatedAt": TS}


def email_account(id: str = "acc_123") -> dict[str, Any]:
    return {
        "id": id,
        "fromEmail": "sales@acme.example",
        "fromName": "Sam from Acme",
        "smtp": {
            "host": "smtp.acme.example",
            "port": 587,
            "username": "sales@acme.example",
            "security": "starttls",
        },
        "imap": {
            "host": "imap.acme.example",
            "port": 993,
            "username": "sales@acme.example",
            "security": "tls",
            "status": "error",
            "lastError": "the IMAP server refused the login",
            "lastPolledAt": TS,
        },
        "dailyLimit": 200,
        "minIntervalSeconds": 60,
        "status": "active",
        "lastError": None,
        "sentToday": 0,
        "createdAt": TS,
        "updatedAt": TS,
    }


def campaign(id: str = "cmp_1", status: str = "draft") -> dict[str, Any]:
    return {
        "id": id,
        "name": "Automatizada Q1 2025",
        "emailAccountId": "acc_123",
        "steps": [{"subject": "Hi {{firstName}}", "body": "Hello", "bodyHtml": None, "delayDays": 0}],
        "schedule": {"timezone": "Europe/Madrid", "days": ["mon", "tue"], "startHour": 9, "endHour": 17},
        "status": status,
        "trackOpens": True,
        "trackClicks": True,
        "contactCount": 0,
        "createdAt": TS,
        "updatedAt": TS,
    }


def stats(id: str = "cmp_1") -> dict[str, Any]:
    return {
        "campaignId": id,
        "contacts": 250,
        "sent": 200,
        "opened": 96,
        "clicked": 18,
        "replied": 14,
        "bounced": 4,
        "unsubscribed": 2,
        "openRate": 48.0,
        "clickRate": 9,
        "replyRate": 7.0,
        "bounceRate": 0,
    }


def webhook(id: str = "whk_1", *, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id,
        "url": "https://crm.acme.example/hooks/fluenzr",
        "events": ["email.replied"],
        "description": None,
        "active": True,
        "disabledReason": None,
        "createdAt": TS,
    }
    if secret is not None:
        data["secret"] = secret
    return data


def delivery(id: str = "dlv_1", *, status: str = "delivered") -> dict[str, Any]:
    return {
        "id": id,
        "webhookId": "whk_1",
        "event": {"id": "evt_1", "type": "webhook.test", "createdAt": TS},
        "status": status,
        "attemptCount": 1,
        "nextAttemptAt": TS if status == "pending" else None,
        "createdAt": TS,
        "attempts": [
            {"attemptedAt": TS, "statusCode": 200, "durationMs": 12, "responseBody": "ok", "error": None}
        ],
    }


def deleted(id: str) -> dict[str, Any]:
    return {"id": id, "deleted": True}


def suppression(entry: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    is_domain = entry.startswith("@")
    return {
        "entry": entry,
        "email": None if is_domain else entry,
        "domain": entry[1:] if is_domain else None,
        "reason": "manual",
        "detail": None,
        "campaignId": None,
        "createdAt": TS,
        **extra,
    }
