"""The only place that shapes response bodies: success, list and error envelopes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

JSON = "application/json"


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


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
