"""The only place that shapes response bodies: success, list and error envelopes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from connexion.jsonifier import Jsonifier
from starlette.responses import Response

JSON = "application/json"


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON: what `json.dumps(separators=(",", ":"), ensure_ascii=False)` writes, from orjson.

    Values orjson refuses (integers beyond 64 bits, non-string keys, subclasses it does not know) fall
    back to the standard library with the same settings, so the bytes never depend on which encoder ran.
    One documented difference: orjson writes NaN and infinities as `null` where the standard library
    raised; no value the API returns can be one (rates and counts come from integers).
    """
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class EnvelopeJsonifier(Jsonifier):  # type: ignore[misc]  # connexion is untyped
    """Connexion's serializer for handler results, writing through `dumps` (one JSON writer for every
    response, success and error alike)."""

    def dumps(self, data: Any, **_kwargs: Any) -> bytes:
        return dumps(data)


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def page(data: Sequence[Any], *, page: int, per_page: int, total: int) -> dict[str, Any]:
    return {"success": True, "data": list(data), "meta": {"page": page, "perPage": per_page, "total": total}}


def error(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "details": dict(details or {})}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        dumps(error(code, message, details)), status_code=status, headers=dict(headers or {}), media_type=JSON
    )


def raw_response(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Response:
    """An already-serialised JSON body (a replayed response)."""
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=JSON)
