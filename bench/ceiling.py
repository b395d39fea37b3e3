"""The ceiling: a bare Starlette app serving the benchmarked routes with the server's own SQL.

No Connexion, no middleware, no validation beyond what the service functions need. It calls the same
service functions (`fluenzr_server.services`) on the same `Database` (same async driver, same pool) and pays
the same authentication cost as the real server: SHA-256 of the key and one indexed query (the query
`fluenzr_server.auth.resolve_key` runs, written out here so that caching added there later does not leak
into the ceiling). The difference between the two is therefore the framework: routing, security and
parameter handling, request validation, the rate limiter and the edge middleware.

Run: `uvicorn bench.ceiling:asgi --factory --port 8001` with FLUENZR_DATABASE_URL set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluenzr_server import envelope
from fluenzr_server.errors import ApiError
from fluenzr_server.ids import API_KEY_PREFIX, hash_api_key
from fluenzr_server.services import campaigns, contacts
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest

_KEY_QUERY = select(t.api_keys.c.id, t.api_keys.c.account_id, t.accounts.c.plan).join(
    t.accounts, t.accounts.c.id == t.api_keys.c.account_id
)


class _State:
    database: Database | None = None


STATE = _State()


def _db() -> Database:
    assert STATE.database is not None
    return STATE.database


def _json(payload: Any, status: int = 200) -> Response:
    return Response(envelope.dumps(payload), status_code=status, media_type=envelope.JSON)


def _error(status: int, code: str, message: str) -> Response:
    return _json(envelope.error(code, message), status)


async def _account(request: Request) -> str | None:
    """Bearer key → account id of a live key on the Pro plan (hash + one query, like the server)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(API_KEY_PREFIX):
        return None
    query = _KEY_QUERY.where(t.api_keys.c.key_hash == hash_api_key(token), t.api_keys.c.revoked_at.is_(None))
    async with _db().read() as conn:
        row = (await conn.execute(query)).first()
    if row is None or row.plan != "pro":
        return None
    return str(row.account_id)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = int(request.query_params.get(name, default))
    if not low <= value <= high:
        raise ValueError(name)
    return value


async def health(_request: Request) -> Response:
    return _json(envelope.ok({"status": "ok"}))


async def list_contacts(request: Request) -> Response:
    account = await _account(request)
    if account is None:
        return _error(401, "UNAUTHORIZED", "Invalid API key")
    try:
        page = PageRequest(
            page=_int(request, "page", 1, 1, 1_000_000),
            per_page=_int(request, "perPage", 20, 1, 100),
            sort=request.query_params.get("sort", "createdAt"),
            order=request.query_params.get("order", "desc"),
        )
    except ValueError:
        return _error(400, "VALIDATION_ERROR", "Invalid paging parameters")
    if page.sort not in contacts._SORTS or page.order not in ("asc", "desc"):
        return _error(400, "VALIDATION_ERROR", "Invalid sort")
    data, total = await contacts.list_contacts(
        _db(),
        account_id=account,
        request=page,
        email=request.query_params.get("email"),
        group=request.query_params.get("group"),
    )
    return _json(envelope.page(data, page=page.page, per_page=page.per_page, total=total))


async def create_contact(request: Request) -> Response:
    account = await _account(request)
    if account is None:
        return _error(401, "UNAUTHORIZED", "Invalid API key")
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        return _error(400, "VALIDATION_ERROR", "email is required")
    try:
        return _json(envelope.ok(await contacts.create_contact(_db(), account_id=account, body=body)), 201)
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.message)


async def get_contact(request: Request) -> Response:
    account = await _account(request)
    if account is None:
        return _error(401, "UNAUTHORIZED", "Invalid API key")
    try:
        contact_id = request.path_params["contact_id"]
        return _json(
            envelope.ok(await contacts.get_contact(_db(), account_id=account, contact_id=contact_id))
        )
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.message)


async def campaign_stats(request: Request) -> Response:
    account = await _account(request)
    if account is None:
        return _error(401, "UNAUTHORIZED", "Invalid API key")
    try:
        campaign_id = request.path_params["campaign_id"]
        return _json(
            envelope.ok(await campaigns.get_stats(_db(), account_id=account, campaign_id=campaign_id))
        )
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.message)


def build(database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        STATE.database = Database(database_url)
        try:
            yield
        finally:
            await STATE.database.dispose()
            STATE.database = None

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/contacts", list_contacts, methods=["GET"]),
        Route("/v1/contacts", create_contact, methods=["POST"]),
        Route("/v1/contacts/{contact_id}", get_contact, methods=["GET"]),
        Route("/v1/campaigns/{campaign_id}/stats", campaign_stats, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def asgi() -> Starlette:
    """uvicorn factory: the database comes from FLUENZR_DATABASE_URL, as for the real server."""
    return build(os.environ["FLUENZR_DATABASE_URL"])
