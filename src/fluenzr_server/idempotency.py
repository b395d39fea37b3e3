"""Idempotency keys: a POST retried with the same `Idempotency-Key` gets the first response again.

The first request with a key records a fingerprint of the request (method, path, and the body's JSON
value, whitespace and key order aside) and, once it finishes, its response. A retry with the same key
and the same request replays that response (with `Idempotent-Replayed: true`) instead of acting twice;
the same key with a different request is a 400; a retry while the first is still running is a 409.
Server errors (5xx) are not recorded, so a retry can succeed. Keys are scoped to the account and expire
after 24 hours (`Settings.retention_idempotency_keys_hours`, Stripe's lifetime): an older key is deleted
before it is looked up again, and the engine's retention sweep (`engine/retention.py`) deletes the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluenzr_server import envelope
from fluenzr_server.bodies import BodyLimit, replay
from fluenzr_server.errors import ApiError, Conflict, ValidationFailed
from fluenzr_server.failures import render
from fluenzr_server.request_resources import request_resources
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.one_hop import small_write

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# A first request that has not finished after this long is taken to have died (worker crash).
ABANDONED_AFTER = timedelta(minutes=5)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
log = logging.getLogger("fluenzr.idempotency")

_keys = t.idempotency_keys.c
_UNBOUNDED = BodyLimit(max_bytes=2**62)


class IdempotencyMiddleware:
    """Placed after Connexion's security layer, so the account is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get(HEADER.lower()) if scope["type"] == "http" else None
        account_id = scope.get("extensions", {}).get("connexion_context", {}).get("user")
        if key is None or scope["method"] != "POST" or not account_id:
            await self.app(scope, receive, send)
            return
        if not _VALID_KEY.match(key):
            raise ValidationFailed(
                f"{HEADER} must be 1 to 255 printable ASCII characters", {HEADER: "is not a valid key"}
            )
        body = await _UNBOUNDED.read(receive)  # the edge already bounded it
        fingerprint = request_fingerprint(scope["method"], scope["path"], body)
        resources = request_resources(scope)
        lifetime = timedelta(hours=resources.settings.retention_idempotency_keys_hours)
        database = resources.database
        recorded = await _claim(database, account_id, key, fingerprint, lifetime)
        if recorded is not None:
            status, payload = recorded
            headers = {REPLAYED_HEADER: "true"}
            await envelope.raw_response(status, payload, headers)(scope, receive, send)
            return

        captured: dict[str, Any] = {"status": 500, "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay(body, receive), capture)
        except ApiError as error:
            # Rendered further out by the exception middleware: record the envelope it will send.
            await _finish(database, account_id, key, error.status, bytes(render(error).body))
            raise
        except BaseException:
            await _finish(database, account_id, key, 500, b"")
            raise
        await _finish(database, account_id, key, captured["status"], b"".join(captured["body"]))


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for a key: method, path and the body's JSON value.

    Requests are compared, not bytes (as Stripe compares parameters): whitespace and key order do not
    matter, any value does. A body that is not JSON is compared byte for byte (it gets a 400 anyway).
    """
    try:
        canonical = canonical_json(body)
    except (ValueError, RecursionError):
        canonical = body
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), canonical)).hexdigest()


def canonical_json(body: bytes) -> bytes:
    """The JSON value of `body` written as `json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` writes it, in UTF-8 (lone surrogates kept): the fingerprint's canonical form,
    unchanged across versions. orjson writes exactly those bytes for a value without floats (same escapes,
    keys in code point order) ten times faster, so it does, unless the body holds a float or a NaN/Infinity
    (which the two spell differently: `1e+16` and `1e16`) or a value orjson refuses (an integer beyond
    64 bits, a lone surrogate): those keep the standard library's spelling. Raises ValueError for non-JSON.
    """
    floats = False

    def number(text: str) -> float:
        nonlocal floats
        floats = True
        return float(text)

    value = json.loads(body, parse_float=number, parse_constant=number)
    if not floats:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError is one
            pass
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


# Each its own transaction; on SQLite on the event loop when the write lock is free, else in one thread hop
# (`store/one_hop.py`, `@small_write`), as the request's own write, instead of a hop per statement.
@small_write
async def _claim(
    database: Database, account_id: str, key: str, fingerprint: str, lifetime: timedelta
) -> tuple[int, bytes] | None:
    """Record the key as in progress, or return the recorded response to replay."""
    row_scope = and_(_keys.account_id == account_id, _keys.key == key)
    for _attempt in range(2):
        stamp = now()
        try:
            async with database.write() as conn:
                # This key only, if it expired: the retention sweep deletes the others in bounded batches.
                expired = and_(row_scope, _keys.created_at < stamp - lifetime)
                await conn.execute(delete(t.idempotency_keys).where(expired))
                existing = (await conn.execute(select(t.idempotency_keys).where(row_scope))).first()
                if existing is None:
                    row = {
                        "account_id": account_id,
                        "key": key,
                        "fingerprint": fingerprint,
                        "created_at": stamp,
                    }
                    await conn.execute(t.idempotency_keys.insert().values(row))
                    return None
                if existing.fingerprint != fingerprint:
                    raise ValidationFailed(
                        f"This {HEADER} was already used with a different request",
                        {HEADER: "was used with a different method, path or body"},
                    )
                if existing.status_code is not None:
                    return int(existing.status_code), (existing.response_body or "").encode()
                started = existing.created_at
                if started.tzinfo is None:  # SQLite hands back naive UTC
                    started = started.replace(tzinfo=stamp.tzinfo)
                if stamp - started < ABANDONED_AFTER:
                    raise Conflict(
                        f"A request with this {HEADER} is still being processed; retry shortly", {HEADER: key}
                    )
                await conn.execute(update(t.idempotency_keys).where(row_scope).values(created_at=stamp))
                return None
        except IntegrityError:
            continue  # a concurrent first request inserted the key: read what it recorded
    raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly", {HEADER: key})


@small_write
async def _finish(database: Database, account_id: str, key: str, status: int, body: bytes) -> None:
    row_scope = and_(_keys.account_id == account_id, _keys.key == key)
    try:
        async with database.write() as conn:
            if status >= 500:  # not a result: let a retry run the request again
                await conn.execute(delete(t.idempotency_keys).where(row_scope))
            else:
                values = {"status_code": status, "response_body": body.decode("utf-8", "replace")}
                await conn.execute(update(t.idempotency_keys).where(row_scope).values(values))
    except Exception:
        log.exception("could not record the response for an idempotency key")
