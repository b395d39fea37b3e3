"""Wire rules: every response is the JSON envelope with rate-limit and request-id headers, whatever fails."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fluenzr_server.services import contacts as contact_service
from fluenzr_server.settings import Settings
from tests.api.conftest import AppFactory, api_client
from tests.conftest import Tenant
from tests.utils.assertions import error, is_json, ok
from tests.utils.factories import create_campaign, create_contact, create_group

MIB = 1024 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}
EDGE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id")
SECRET_TEXT = "password=hunter2 at /srv/fluenzr/secret_module.py"


def assert_edge_headers(response: httpx.Response) -> None:
    for name in EDGE_HEADERS:
        assert name in response.headers, (name, response.status_code, dict(response.headers))
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert 0 <= int(response.headers["X-RateLimit-Remaining"]) <= int(response.headers["X-RateLimit-Limit"])
    assert int(response.headers["X-RateLimit-Reset"]) > 1_600_000_000
    assert re.fullmatch(r"req_[0-9a-f]{16}", response.headers["X-Request-Id"])


async def raw_request(
    app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, str], Any]:
    """Drive the ASGI app directly, for requests httpx will not send (bad Content-Length, lying lengths)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, json.loads(body)


# --- bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"email":', "body"),
        (b'{"email": "a@example.com",}', "body"),
        (b'{"email": "\xff\xfe@example.com"}', "body"),
        (b'{"email": "a@example.com", "customFields": {"n": NaN}}', "body"),
        (b'{"email": "a@example.com", "customFields": {"n": Infinity}}', "body"),
        (b'{"email": "a@example.com", "customFields": {"n": 1e999}}', "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'"just a string"', "body"),
        (b"null", "body"),
    ],
)
async def test_undecodable_or_wrong_bodies_are_400(
    client: httpx.AsyncClient, content: bytes, reason: str
) -> None:
    response = await client.post("/contacts", content=content, headers=JSON_HEADERS)
    error(response, 400, "VALIDATION_ERROR", fields=(reason,))
    assert_edge_headers(response)
    assert ok(await client.get("/contacts")) == []


@pytest.mark.parametrize("path", ["/contacts", "/groups", "/campaigns", "/webhooks", "/email-accounts"])
async def test_missing_body_names_the_body(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, headers=JSON_HEADERS)
    assert error(response, 400, "VALIDATION_ERROR") == {"body": "is required"}
    assert_edge_headers(response)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/xml"],
)
async def test_wrong_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/contacts", content=b'{"email": "a@example.com"}', headers={"Content-Type": content_type}
    )
    details = error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert details == {"contentType": content_type}
    assert_edge_headers(response)
    assert ok(await client.get("/contacts")) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/contacts"), ("POST", "/groups"), ("POST", "/contacts/batch"), ("PUT", "/contacts/ctc_nope")],
)
async def test_a_body_without_content_type_is_415(client: httpx.AsyncClient, method: str, path: str) -> None:
    # What urllib, http.client or `curl -H 'Content-Type:'` send: a JSON body with no media type.
    response = await client.request(method, path, content=b'{"email": "no-type@example.com", "name": "x"}')
    assert error(response, 415, "UNSUPPORTED_MEDIA_TYPE") == {"contentType": ""}
    assert_edge_headers(response)
    assert ok(await client.get("/contacts", params={"email": "no-type@"})) == []


@pytest.mark.parametrize("raw_id", ["ctc_a%0A", "ctc_a%0D%0Ab", "ctc_%C2%85x", "%E2%80%A8"])
async def test_a_path_id_with_a_control_character_is_refused_in_the_envelope(
    client: httpx.AsyncClient, raw_id: str
) -> None:
    # The contract's id parameters are one line: a trailing %0A must not slip past `$` into a lookup.
    response = await client.put(f"/contacts/{raw_id}", json={"firstName": "x"})
    assert response.status_code in (400, 404)
    assert response.json()["success"] is False


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/contacts",
        content=b'{"email": "charset@example.com"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok(response, 201)["email"] == "charset@example.com"


async def test_body_over_one_mib_with_content_length_is_413(client: httpx.AsyncClient) -> None:
    padding = "x" * (MIB + 1)
    response = await client.post(
        "/contacts", content=json.dumps({"email": padding}).encode(), headers=JSON_HEADERS
    )
    assert error(response, 413, "PAYLOAD_TOO_LARGE")["maxBytes"] == MIB
    assert_edge_headers(response)


async def test_body_just_under_the_limit_is_not_413(client: httpx.AsyncClient) -> None:
    # Under the limit, so the request reaches validation (which refuses the huge name): 400, not 413.
    body = json.dumps({"name": "x" * (MIB - 100)}).encode()
    assert len(body) <= MIB
    error(
        await client.post("/groups", content=body, headers=JSON_HEADERS),
        400,
        "VALIDATION_ERROR",
        fields=("name",),
    )


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    yield b'{"email": "streamed@example.com", "firstName": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


async def test_streamed_body_over_one_mib_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", content=_chunks(2 * MIB), headers=JSON_HEADERS)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert error(response, 413, "PAYLOAD_TOO_LARGE")["maxBytes"] == MIB
    assert_edge_headers(response)
    assert ok(await client.get("/contacts")) == []


async def test_small_streamed_body_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", content=_chunks(40, size=10), headers=JSON_HEADERS)
    assert response.request.headers["transfer-encoding"] == "chunked"
    created = ok(response, 201)
    assert (created["email"], created["firstName"]) == ("streamed@example.com", "x" * 40)


async def test_body_longer_than_its_content_length_is_413(app: Any, tenant: Tenant) -> None:
    headers = {
        "Authorization": f"Bearer {tenant.api_key}",
        "Content-Type": "application/json",
        "Content-Length": "20",
    }
    chunks = [b'{"email": "a@b.co", "firstName": "'] + [b"x" * (256 * 1024)] * 5 + [b'"}']
    status, response_headers, body = await raw_request(app, "POST", "/v1/contacts", headers, chunks)
    assert (status, body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert response_headers["content-type"] == "application/json"
    assert "x-ratelimit-remaining" in response_headers and "x-request-id" in response_headers


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
async def test_non_numeric_content_length_is_400(app: Any, tenant: Tenant, length: str) -> None:
    headers = {
        "Authorization": f"Bearer {tenant.api_key}",
        "Content-Type": "application/json",
        "Content-Length": length,
    }
    status, response_headers, body = await raw_request(app, "POST", "/v1/contacts", headers, [b"{}"])
    assert (status, body["success"], body["error"]["code"]) == (400, False, "VALIDATION_ERROR")
    assert "Content-Length" in body["error"]["details"]
    assert response_headers["content-type"] == "application/json"


# --- paths and methods --------------------------------------------------------------------------------


# "/" (and "" — /v1 itself) is the API root, getApiIndex: tests/api/test_bad_input.py.
@pytest.mark.parametrize("path", ["/nope", "/contacts/ctc_1/nope", "/v2/contacts", "/contacts/", "/groups/"])
async def test_unknown_path_is_a_404_envelope(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    error(response, 404, "NOT_FOUND")
    assert "location" not in response.headers  # no redirect to a "fixed" path
    assert_edge_headers(response)


@pytest.mark.parametrize("path", ["/nope", "/contacts/ctc_1/nope", "/v2/contacts", "/contacts/"])
async def test_unknown_path_names_the_path(client: httpx.AsyncClient, path: str) -> None:
    assert error(await client.get(path), 404, "NOT_FOUND")["path"] == "/v1" + path


async def test_unknown_path_outside_the_api_is_a_404_envelope(app: Any, tenant: Tenant) -> None:
    async with api_client(app, tenant.api_key) as client:
        response = await client.get("http://testserver/admin")
    error(response, 404, "NOT_FOUND")
    assert_edge_headers(response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/campaigns/cmp_x", ["GET", "PUT"]),
        ("PATCH", "/contacts", ["GET", "POST"]),
        ("PATCH", "/contacts/ctc_x", ["DELETE", "GET", "PUT"]),
        ("GET", "/groups/grp_x/contacts", ["POST"]),
        ("GET", "/campaigns/cmp_x/start", ["POST"]),
        ("DELETE", "/campaigns/cmp_x/stats", ["GET"]),
        ("POST", "/webhooks/whk_x", ["DELETE", "GET", "PUT"]),
        ("GET", "/webhooks/whk_x/test", ["POST"]),
        ("POST", "/health", ["GET"]),
    ],
)
async def test_wrong_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: list[str]
) -> None:
    response = await client.request(method, path)
    details = error(response, 405, "METHOD_NOT_ALLOWED")
    assert sorted(m.strip() for m in response.headers["Allow"].split(",")) == allowed
    assert details["allowed"] == allowed
    assert_edge_headers(response)


# --- read-only fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {"email": "ro@example.com", "id": "ctc_mine"}, "id"),
        ("/contacts", {"email": "ro@example.com", "groupIds": []}, "groupIds"),
        ("/groups", {"name": "g", "contactCount": 5}, "contactCount"),
        ("/campaigns", {"name": "c", "status": "running"}, "status"),
        ("/campaigns", {"name": "c", "contactCount": 1}, "contactCount"),
    ],
)
async def test_read_only_fields_are_named_as_read_only(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    details = error(await client.post(path, json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert "read-only" in details[field]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {"email": "ro@example.com", "createdAt": "2025-01-01T00:00:00Z"}, "createdAt"),
        ("/groups", {"name": "g", "updatedAt": "2025-01-01T00:00:00Z"}, "updatedAt"),
        (
            "/webhooks",
            {"url": "https://h.example.com/x", "events": ["email.sent"], "secret": "whsec_x"},
            "secret",
        ),
    ],
)
async def test_referenced_read_only_fields_are_named_as_read_only(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    details = error(await client.post(path, json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert "read-only" in details[field]


async def test_read_only_fields_on_update_change_nothing(client: httpx.AsyncClient) -> None:
    group = await create_group(client)
    contact = await create_contact(client)
    campaign = await create_campaign(client)
    for path, body, field in [
        (f"/groups/{group['id']}", {"name": "x", "contactCount": 9}, "contactCount"),
        (f"/contacts/{contact['id']}", {"id": "ctc_other"}, "id"),
        (f"/campaigns/{campaign['id']}", {"status": "completed"}, "status"),
    ]:
        details = error(await client.put(path, json=body), 400, "VALIDATION_ERROR", fields=(field,))
        assert "read-only" in details[field]
    assert ok(await client.get(f"/groups/{group['id']}")) == group
    assert ok(await client.get(f"/contacts/{contact['id']}")) == contact
    assert ok(await client.get(f"/campaigns/{campaign['id']}")) == campaign


# --- unexpected failures ------------------------------------------------------------------------------


async def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(SECRET_TEXT)


async def test_unexpected_exception_is_a_500_envelope(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contact_service, "list_contacts", _boom)
    response = await client.get("/contacts")
    details = error(response, 500, "INTERNAL_ERROR")
    assert response.json()["error"]["message"] == "Internal server error"
    assert details["requestId"] == response.headers["X-Request-Id"]
    assert "Traceback" not in response.text
    assert_edge_headers(response)


async def test_production_500_reveals_nothing(
    make_app: AppFactory, database_url: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        _env_file=None,
        environment="production",
        database_url=database_url,
        secret_key=SecretStr("s" * 40),
        public_url="https://t.acme.example",
    )
    app = make_app(settings=settings)
    monkeypatch.setattr(contact_service, "create_contact", _boom)
    async with api_client(app, tenant.api_key) as client:
        response = await client.post("/contacts", json={"email": "boom@example.com"})
    details = error(response, 500, "INTERNAL_ERROR")
    assert details == {"requestId": response.headers["X-Request-Id"]}
    for leak in ("hunter2", "secret_module", "RuntimeError", "Traceback", "/srv/"):
        assert leak not in response.text
    assert_edge_headers(response)


# --- headers on every response ------------------------------------------------------------------------


async def test_every_response_carries_the_edge_headers(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    contact = await create_contact(client)
    responses = [
        await client.get("/contacts"),
        await client.get(f"/contacts/{contact['id']}"),
        await client.post("/contacts", json={"email": contact["email"]}),  # 409
        await client.post("/contacts", json={}),  # 400
        await client.get("/contacts/ctc_none"),  # 404
        await client.delete("/campaigns/cmp_x"),  # 405
        await client.post("/contacts", content=b"x", headers={"Content-Type": "text/plain"}),  # 415
        await anonymous.get("/contacts"),  # 401
        await anonymous.get("/health"),
        await client.get("/nope"),
    ]
    assert sorted({r.status_code for r in responses}) == [200, 400, 401, 404, 405, 409, 415]
    request_ids = set()
    for response in responses:
        is_json(response)
        assert_edge_headers(response)
        request_ids.add(response.headers["X-Request-Id"])
    assert len(request_ids) == len(responses)


async def test_remaining_counts_down(client: httpx.AsyncClient) -> None:
    first = int((await client.get("/contacts")).headers["X-RateLimit-Remaining"])
    second = int((await client.get("/contacts")).headers["X-RateLimit-Remaining"])
    assert second == first - 1
