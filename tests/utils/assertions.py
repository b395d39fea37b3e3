"""Assertions on the envelope: success payloads, error codes and the fields an error names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fluenzr_server import ids

JSON = "application/json"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def is_json(response: httpx.Response) -> None:
    assert response.headers.get("content-type", "").split(";")[0].strip() == JSON, response.headers


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a success envelope with this status."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    is_json(response)
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def ok_object(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The `data` of a success envelope that carries one object."""
    data = ok(response, status)
    assert isinstance(data, dict), data
    return data


def error(
    response: httpx.Response, status: int, code: str, *, fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The `details` of an error envelope with this status and code, naming at least `fields`."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    is_json(response)
    body = response.json()
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    details: dict[str, Any] = body["error"]["details"]
    assert isinstance(details, dict)
    for field in fields:
        assert field in details, f"details should name {field!r}: {details}"
    return details


def timestamp(value: str, *, near: datetime | None = None, slack: float = 60.0) -> datetime:
    """Parse a wire timestamp (UTC, `Z`); with `near`, check it is within `slack` seconds of it."""
    assert isinstance(value, str) and TIMESTAMP.match(value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    if near is not None:
        assert abs((parsed - near).total_seconds()) <= slack, (value, near)
    return parsed


def utcnow() -> datetime:
    return datetime.now(UTC)


def assert_id(value: Any, prefix: str) -> None:
    assert isinstance(value, str) and re.fullmatch(rf"{prefix}_[A-Za-z0-9]+", value), value


def assert_sortable_id(value: Any, prefix: str, created_at: str) -> None:
    """`value` is `ids.new_sortable_id`'s shape, its time part the second of `created_at` (or the one
    before: the id is made first and the clock may tick in between)."""
    assert isinstance(value, str) and re.fullmatch(rf"{prefix}_[0-9A-Za-z]{{{ids.TIME_CHARS + 16}}}", value)
    made = ids.time_of(value[len(prefix) + 1 : len(prefix) + 1 + ids.TIME_CHARS])
    assert 0 <= int(timestamp(created_at).timestamp()) - made <= 1, (value, created_at)
