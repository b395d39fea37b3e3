"""The floor: the benchmarked routes answered with the server's SQL through the raw driver, nothing else.

A bare Starlette app whose handlers run, on one synchronous connection held by the process (`sqlite3` on
SQLite, `psycopg` on PostgreSQL, used directly on the event loop), the statements the server runs for the
same request: the API-key lookup, then the service's queries (for a contacts page: the list version, the
page with each contact's group ids folded in, the total when it is not cached for that version). It writes
the same JSON bytes as the server (`tests/bench/test_floor.py` proves it for each route on both databases).
It has no validation, no rate limiter, no middleware and no pool: it is what the work itself costs, so
server/floor is the whole overhead of the stack (framework, ORM, async driver, thread hops).

Run: `uvicorn bench.floor:asgi --factory --port 8002` with FLUENZR_DATABASE_URL set.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluenzr_server.envelope import JSON, dumps
from fluenzr_server.ids import API_KEY_PREFIX, new_id

_COUNTED = ("opened", "clicked", "replied", "unsubscribed")  # per lead, from its timestamps
_FROM_MESSAGES = ("sent", "bounced")  # per message, from what the SMTP servers answered
_CONTACT = "id, email, first_name, last_name, company, custom_fields, created_at, updated_at"


class _Driver(Protocol):
    """The few calls the handlers make; `?`-style SQL for SQLite is rewritten for psycopg."""

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    def write(self, statements: list[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]: ...

    def time(self, value: Any) -> str: ...

    def fields(self, value: Any) -> Any: ...

    def stamp(self, value: datetime) -> Any: ...

    # The contact's group ids as a column of its own query (the server's `_group_ids_column`).
    groups_column: str

    def group_list(self, value: Any) -> list[str]: ...

    def close(self) -> None: ...


class _Sqlite:
    groups_column = "(SELECT group_concat(group_id, ',') FROM group_members WHERE contact_id = contacts.id)"

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON", "synchronous=NORMAL"):
            self.conn.execute(f"PRAGMA {pragma}")

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def write(self, statements: list[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
        """One BEGIN IMMEDIATE transaction (as the server's writes); the first statement's rows."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            first = self.conn.execute(*statements[0]).fetchall()
            for sql, params in statements[1:]:
                self.conn.execute(sql, params)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return first

    def time(self, value: Any) -> str:
        return f"{value[:10]}T{value[11:26]}Z"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)

    def fields(self, value: Any) -> Any:
        return json.loads(value)

    def stamp(self, value: datetime) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def group_list(self, value: Any) -> list[str]:
        return sorted(value.split(",")) if value else []

    def close(self) -> None:
        self.conn.close()


class _Postgres:
    groups_column = (
        "(SELECT array_agg(group_id ORDER BY group_id) FROM group_members WHERE contact_id = contacts.id)"
    )

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self.conn = psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql.replace("?", "%s"), params).fetchall()

    def write(self, statements: list[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
        with self.conn.transaction():
            first = self.conn.execute(statements[0][0].replace("?", "%s"), statements[0][1]).fetchall()
            for sql, params in statements[1:]:
                self.conn.execute(sql.replace("?", "%s"), params)
        return first

    def time(self, value: Any) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[no-any-return]

    def fields(self, value: Any) -> Any:
        return value  # psycopg parses json

    def stamp(self, value: datetime) -> Any:
        return value

    def group_list(self, value: Any) -> list[str]:
        return list(value) if value else []

    def close(self) -> None:
        self.conn.close()


def open_driver(database_url: str) -> _Driver:
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        return _Sqlite(parsed.database or "")
    return _Postgres(database_url)


class Floor:
    """The handlers' state: the connection and the same per-process total cache the server keeps."""

    def __init__(self, driver: _Driver) -> None:
        self.db = driver
        self.totals: dict[str, tuple[int, int]] = {}

    def account(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(API_KEY_PREFIX):
            return None
        found = self.db.rows(
            "SELECT api_keys.id, api_keys.account_id, accounts.plan FROM api_keys "
            "JOIN accounts ON accounts.id = api_keys.account_id "
            "WHERE api_keys.key_hash = ? AND api_keys.revoked_at IS NULL",
            (hashlib.sha256(token.encode()).hexdigest(),),
        )
        if not found or found[0][2] != "pro":
            return None
        return str(found[0][1])

    def contact(self, row: Sequence[Any], group_ids: list[str]) -> dict[str, Any]:
        return {
            "id": row[0],
            "email": row[1],
            "firstName": row[2],
            "lastName": row[3],
            "company": row[4],
            "customFields": self.db.fields(row[5]),
            "groupIds": group_ids,
            "createdAt": self.db.time(row[6]),
            "updatedAt": self.db.time(row[7]),
        }


def _json(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type=JSON)


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": details or {}}}
    return _json(body, status)


_UNAUTHORIZED = (401, "UNAUTHORIZED", "Invalid API key")


def build(database_url: str) -> Starlette:
    state: dict[str, Floor] = {}

    def floor() -> Floor:
        return state["floor"]

    def authed(
        handler: Callable[[Floor, Request, str], Any],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            account = floor().account(request)
            if account is None:
                return _error(*_UNAUTHORIZED)
            result: Response = await handler(floor(), request, account)
            return result

        return endpoint

    async def list_contacts(f: Floor, request: Request, account: str) -> Response:
        try:
            page = int(request.query_params.get("page", 1))
            per_page = int(request.query_params.get("perPage", 20))
        except ValueError:
            return _error(400, "VALIDATION_ERROR", "Invalid paging parameters")
        if page < 1 or not 1 <= per_page <= 100:
            return _error(400, "VALIDATION_ERROR", "Invalid paging parameters")
        version = f.db.rows("SELECT contacts_version FROM accounts WHERE id = ?", (account,))[0][0]
        rows = f.db.rows(
            f"SELECT {_CONTACT}, {f.db.groups_column} FROM contacts WHERE account_id = ? "  # noqa: S608 (constants)
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (account, per_page, (page - 1) * per_page),
        )
        if page == 1 and len(rows) < per_page:
            total = len(rows)
        else:
            cached = f.totals.get(account)
            if cached is not None and cached[0] == version:
                total = cached[1]
            else:
                total = f.db.rows("SELECT count(*) FROM contacts WHERE account_id = ?", (account,))[0][0]
                f.totals[account] = (version, total)
        data = [f.contact(row, f.db.group_list(row[8])) for row in rows]
        return _json(
            {"success": True, "data": data, "meta": {"page": page, "perPage": per_page, "total": total}}
        )

    async def get_contact(f: Floor, request: Request, account: str) -> Response:
        contact_id = request.path_params["contact_id"]
        rows = f.db.rows(
            f"SELECT {_CONTACT}, {f.db.groups_column} FROM contacts "  # noqa: S608 (constants)
            "WHERE account_id = ? AND id = ?",
            (account, contact_id),
        )
        if not rows:
            return _error(404, "NOT_FOUND", "No such object", {"id": contact_id})
        return _json({"success": True, "data": f.contact(rows[0], f.db.group_list(rows[0][8]))})

    async def create_contact(f: Floor, request: Request, account: str) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("email"), str) or "@" not in body["email"]:
            return _error(400, "VALIDATION_ERROR", "email is required")
        stamp = f.db.stamp(datetime.now(UTC))
        email = body["email"].lower()
        fields = body.get("customFields", {})
        try:
            rows = f.db.write(
                [
                    (
                        "INSERT INTO contacts (id, account_id, email, first_name, last_name, company, "  # noqa: S608
                        "custom_fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        f"RETURNING {_CONTACT}",
                        (
                            new_id("ctc"),
                            account,
                            email,
                            body.get("firstName"),
                            body.get("lastName"),
                            body.get("company"),
                            json.dumps(fields),
                            stamp,
                            stamp,
                        ),
                    ),
                    (
                        "UPDATE accounts SET contacts_version = accounts.contacts_version + 1 WHERE id = ?",
                        (account,),
                    ),
                ]
            )
        except (sqlite3.IntegrityError, psycopg.errors.UniqueViolation):
            existing = f.db.rows(
                "SELECT id FROM contacts WHERE account_id = ? AND email = ?", (account, email)
            )
            return _error(
                409,
                "CONFLICT",
                "A contact with this email already exists",
                {"email": email, "existingId": existing[0][0] if existing else None},
            )
        return _json({"success": True, "data": f.contact(rows[0], [])}, 201)

    async def campaign_stats(f: Floor, request: Request, account: str) -> Response:
        campaign_id = request.path_params["campaign_id"]
        # The server's one statement (`services.campaigns._stats_query`): no row for another account's id.
        counts = ", ".join(f"count({name}_at) AS {name}" for name in _COUNTED)
        outcomes = ", ".join(
            f"(SELECT count(*) FROM messages WHERE campaign_id = ? AND status = ?) AS {name}"  # noqa: S608
            for name in _FROM_MESSAGES
        )
        found = f.db.rows(
            f"SELECT leads.*, {outcomes} FROM campaigns JOIN (SELECT count(*) AS contacts, {counts}"  # noqa: S608
            " FROM campaign_contacts WHERE campaign_id = ?) AS leads ON 1 = 1"
            " WHERE campaigns.account_id = ? AND campaigns.id = ?",
            (
                *[value for name in _FROM_MESSAGES for value in (campaign_id, name)],
                campaign_id,
                account,
                campaign_id,
            ),
        )
        if not found:
            return _error(404, "NOT_FOUND", "No such object", {"id": campaign_id})
        row = found[0]
        numbers = {"contacts": int(row[0]), **{name: int(row[i + 1]) for i, name in enumerate(_COUNTED)}}
        numbers.update({name: int(row[len(_COUNTED) + 1 + i]) for i, name in enumerate(_FROM_MESSAGES)})
        sent, bounced = numbers["sent"], numbers["bounced"]

        def rate(part: int, whole: int) -> float:
            return round(part * 100.0 / whole, 1) if whole else 0.0

        order = ("contacts", "sent", "opened", "clicked", "replied", "bounced", "unsubscribed")
        data = {
            "campaignId": campaign_id,
            **{name: numbers[name] for name in order},
            "openRate": rate(numbers["opened"], sent),
            "clickRate": rate(numbers["clicked"], sent),
            "replyRate": rate(numbers["replied"], sent),
            "bounceRate": rate(bounced, sent + bounced),
        }
        return _json({"success": True, "data": data})

    async def health(_request: Request) -> Response:
        return _json({"success": True, "data": {"status": "ok"}})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["floor"] = Floor(open_driver(database_url))
        try:
            yield
        finally:
            state.pop("floor").db.close()

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/contacts", authed(list_contacts), methods=["GET"]),
        Route("/v1/contacts", authed(create_contact), methods=["POST"]),
        Route("/v1/contacts/{contact_id}", authed(get_contact), methods=["GET"]),
        Route("/v1/campaigns/{campaign_id}/stats", authed(campaign_stats), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def asgi() -> Starlette:
    """uvicorn factory: the database comes from FLUENZR_DATABASE_URL, as for the real server."""
    return build(os.environ["FLUENZR_DATABASE_URL"])
