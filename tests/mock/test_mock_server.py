"""The mock server in-process: examples, Prefer, validation, auth, errors, headers, CORS and path echo."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fluenzr_mock.contract import Contract, Operation
from fluenzr_mock.edge import CorsPolicy, MockEdgeMiddleware
from starlette.types import Message, Receive, Scope, Send

from fluenzr_server.errors import PayloadTooLarge
from fluenzr_server.spec import load_spec
from tests.mock.conftest import TOKEN
from tests.mock.helpers import RATE_LIMIT_HEADERS, envelope_error, example_request, schema_errors

SPEC = load_spec()
CONTRACT = Contract(SPEC)
OPERATIONS = sorted(CONTRACT.operations.values(), key=lambda op: (op.path, op.method))
SECURED = [op for op in OPERATIONS if op.operation_id not in ("getHealth", "getApiIndex")]
HEADER_EXAMPLES = {name: str(h["example"]) for name, h in SPEC["components"]["headers"].items()}


def label(operation: Operation) -> str:
    return f"{operation.method} {operation.path}"


def first_example(operation: Operation, status: str) -> Any:
    return next(iter(operation.responses[status].examples.values()))


# --- examples ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
async def test_every_operation_answers_its_lowest_2xx_first_example(
    client: httpx.AsyncClient, contract: Contract, operation: Operation
) -> None:
    response = await client.request(**example_request(contract, operation))
    status = operation.default_status
    assert status.startswith("2")
    assert response.status_code == int(status), response.text
    if operation.responses[status].schema is None:  # 204: no body, so no content type
        assert (response.content, response.headers.get("content-type")) == (b"", None)
        return
    assert response.headers["content-type"] == "application/json"
    assert response.json() == first_example(operation, status)


async def test_default_example_of_list_contacts_is_the_contract_page(client: httpx.AsyncClient) -> None:
    body = (await client.get("/contacts")).json()
    assert body["success"] is True
    assert [contact["email"] for contact in body["data"]] == ["ada@example.com", "grace@example.com"]
    assert body["meta"] == {"page": 1, "perPage": 20, "total": 2}


# --- Prefer: code / example ----------------------------------------------------------------------------


async def test_prefer_code_picks_the_documented_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts/ctc_7Hq2LmX9pR4s", headers={"Prefer": "code=404"})
    assert envelope_error(response, 404, "NOT_FOUND") == {"id": "ctc_7Hq2LmX9pR4s"}

    response = await client.post("/campaigns/cmp_1/start", headers={"Prefer": "code=409"})
    assert envelope_error(response, 409, "CONFLICT")["existingId"] == "ctc_7Hq2LmX9pR4s"

    response = await client.post("/contacts", json={"email": "a@b.example"}, headers={"Prefer": "code=201"})
    assert response.status_code == 201


async def test_prefer_example_picks_a_named_example(client: httpx.AsyncClient) -> None:
    empty = await client.get("/contacts", headers={"Prefer": "example=empty"})
    assert empty.status_code == 200
    assert empty.json() == {"success": True, "data": [], "meta": {"page": 1, "perPage": 20, "total": 0}}

    fresh = await client.get("/campaigns/cmp_9Rt4Ws2Qa7Lm/stats", headers={"Prefer": "example=fresh"})
    assert fresh.json()["data"]["sent"] == 0


async def test_prefer_example_without_code_finds_the_status_that_has_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/campaigns/cmp_1/start", headers={"Prefer": "example=invalidState"})
    assert envelope_error(response, 409, "INVALID_STATE") == {"status": "completed"}


async def test_prefer_code_and_example_together(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "code=400, example=invalidQuery"})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"perPage": "must be at most 100"}
    # Several Prefer headers combine, as RFC 7240 allows.
    response = await client.get(
        "/contacts", headers=[("Prefer", "code=400"), ("Prefer", "example=invalidQuery")]
    )
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"perPage": "must be at most 100"}


async def test_prefer_for_an_undocumented_status_lists_the_documented_ones(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "code=418"})
    details = envelope_error(response, 400, "VALIDATION_ERROR")
    assert details["availableCodes"] == ["200", "400", "401", "403", "405", "429", "500"]
    assert "418" in details["Prefer"]
    # /health documents no 401.
    response = await client.get("/health", headers={"Prefer": "code=401"})
    assert "401" not in envelope_error(response, 400, "VALIDATION_ERROR")["availableCodes"]


async def test_prefer_for_an_unknown_example_lists_the_named_ones(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "example=nope"})
    details = envelope_error(response, 400, "VALIDATION_ERROR")
    assert details["availableExamples"]["200"] == ["page", "empty"]
    assert details["availableExamples"]["400"] == ["missingField", "invalidQuery"]

    response = await client.get("/contacts", headers={"Prefer": "code=200, example=invalidQuery"})
    details = envelope_error(response, 400, "VALIDATION_ERROR")
    assert "for 200" in details["Prefer"]
    assert details["availableExamples"]["200"] == ["page", "empty"]


@pytest.mark.parametrize(
    "prefer", ["code=abc", "code=42", "code=600", "dynamic=maybe", "seed=-1", "seed=x", "example="]
)
async def test_malformed_prefer_values_are_400(client: httpx.AsyncClient, prefer: str) -> None:
    response = await client.get("/contacts", headers={"Prefer": prefer})
    assert "Prefer" in envelope_error(response, 400, "VALIDATION_ERROR")


async def test_unknown_preferences_are_ignored(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "respond-async, wait=5, return=minimal"})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2


# --- Prefer: dynamic -----------------------------------------------------------------------------------

DYNAMIC_CASES = [(op, status) for op in OPERATIONS for status in op.statuses]


@pytest.mark.parametrize(
    ("operation", "status"), DYNAMIC_CASES, ids=lambda v: v if isinstance(v, str) else label(v)
)
async def test_dynamic_bodies_validate_against_the_response_schema(
    client: httpx.AsyncClient, contract: Contract, operation: Operation, status: str
) -> None:
    request = example_request(contract, operation)
    schema = operation.responses[status].schema
    for seed in range(4):
        prefer = f"dynamic=true, seed={seed}, code={status}"
        response = await client.request(**request, headers={"Prefer": prefer})
        assert response.status_code == int(status), response.text
        if schema is None:  # 204: nothing to generate
            assert (status, response.content) == ("204", b"")
            continue
        body = response.json()
        assert schema_errors(schema, body) == [], body
        assert body["success"] is status.startswith("2")
        if not body["success"]:  # a code this response documents (a 409 is never RATE_LIMITED)
            documented = {
                example["error"]["code"] for example in operation.responses[status].examples.values()
            }
            assert body["error"]["code"] in documented, (body, documented)


async def test_dynamic_ids_keep_their_prefixes(client: httpx.AsyncClient) -> None:
    for seed in range(5):
        headers = {"Prefer": f"dynamic=true, seed={seed}"}
        contacts = (await client.get("/contacts", headers=headers)).json()["data"]
        assert contacts, "a dynamic list should not be empty"
        for contact in contacts:
            assert re.fullmatch(r"ctc_[A-Za-z0-9]+", contact["id"])
            assert all(re.fullmatch(r"grp_[A-Za-z0-9]+", group) for group in contact["groupIds"])
        campaign = (await client.post("/campaigns", json={"name": "x"}, headers=headers)).json()["data"]
        assert re.fullmatch(r"cmp_[A-Za-z0-9]+", campaign["id"])
        assert campaign["emailAccountId"] is None or re.fullmatch(
            r"acc_[A-Za-z0-9]+", campaign["emailAccountId"]
        )
        hook = (await client.post("/webhooks", json=WEBHOOK, headers=headers)).json()["data"]
        assert re.fullmatch(r"whk_[A-Za-z0-9]+", hook["id"])
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", hook["secret"])
        assert hook["url"].startswith("https://")


WEBHOOK = {"url": "https://crm.acme.example/hooks/fluenzr", "events": ["email.replied"]}


async def test_same_seed_same_body_and_different_seed_different_body(client: httpx.AsyncClient) -> None:
    async def body(prefer: str) -> Any:
        response = await client.get("/contacts", headers={"Prefer": prefer})
        assert response.status_code == 200
        return response.json()

    assert await body("dynamic=true, seed=7") == await body("dynamic=true, seed=7")
    assert await body("dynamic=true; seed=7") == await body('DYNAMIC=TRUE, SEED="7"')
    assert await body("dynamic=true, seed=7") != await body("dynamic=true, seed=8")


async def test_without_a_seed_dynamic_bodies_vary(client: httpx.AsyncClient) -> None:
    bodies = [(await client.get("/contacts", headers={"Prefer": "dynamic=true"})).json() for _ in range(3)]
    assert len({repr(body) for body in bodies}) == 3


async def test_server_seed_makes_dynamic_bodies_repeatable(
    client_for: Callable[..., httpx.AsyncClient],
) -> None:
    async with client_for(seed=5) as first, client_for(seed=5) as second, client_for(seed=6) as third:
        prefer = {"Prefer": "dynamic=true"}
        a = (await first.get("/campaigns", headers=prefer)).json()
        assert a == (await first.get("/campaigns", headers=prefer)).json()
        assert a == (await second.get("/campaigns", headers=prefer)).json()
        assert a != (await third.get("/campaigns", headers=prefer)).json()
        # A seed in Prefer wins over the server's.
        assert a != (await first.get("/campaigns", headers={"Prefer": "dynamic=true, seed=99"})).json()


async def test_dynamic_campaign_stats_are_a_consistent_funnel(client: httpx.AsyncClient) -> None:
    for seed in range(10):
        response = await client.get(
            "/campaigns/cmp_9Rt4Ws2Qa7Lm/stats", headers={"Prefer": f"dynamic=true, seed={seed}"}
        )
        stats = response.json()["data"]
        assert stats["campaignId"] == "cmp_9Rt4Ws2Qa7Lm"
        assert stats["contacts"] >= stats["sent"] >= stats["opened"] >= stats["clicked"]
        assert stats["replied"] <= stats["sent"] and stats["bounced"] <= stats["sent"]
        sent, bounced = stats["sent"], stats["bounced"]

        # Half-up to one decimal in integers: floor(10 * 100 * part / whole + 1/2) / 10.
        def half_up(part: int, whole: int) -> float:
            return (2000 * part + whole) // (2 * whole) / 10 if whole else 0.0

        assert stats["openRate"] == half_up(stats["opened"], sent)
        assert stats["bounceRate"] == half_up(bounced, sent + bounced)


async def test_dynamic_and_example_together_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "dynamic=true, example=empty"})
    assert "Prefer" in envelope_error(response, 400, "VALIDATION_ERROR")


# --- request validation: the real server's validators --------------------------------------------------


async def test_validation_errors_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", json={})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"email": "is required"}
    assert response.json()["error"]["message"] == "email is required"

    response = await client.post(
        "/contacts", json={"email": "ada@example.com", "id": "ctc_1", "nickname": "A"}
    )
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {
        "id": "is read-only and set by the server",
        "nickname": "is not a known field",
    }

    response = await client.post("/groups", json={"name": "", "description": 5})
    details = envelope_error(response, 400, "VALIDATION_ERROR")
    assert details == {"name": "must not be empty", "description": "must be of type string or null"}

    # Header parameters too (the contract's Idempotency-Key: 1 to 255 printable ASCII characters).
    for key in (b"", b"a b", "é".encode(), b"x" * 256):
        response = await client.post("/groups", json={"name": "A"}, headers={"Idempotency-Key": key})
        assert list(envelope_error(response, 400, "VALIDATION_ERROR")) == ["Idempotency-Key"], key
    response = await client.post("/groups", json={"name": "A"}, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201


async def test_query_parameters_are_validated(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", params={"perPage": 500, "sort": "shoeSize"})
    details = envelope_error(response, 400, "VALIDATION_ERROR")
    assert details["perPage"] == "must be at most 100"
    assert details["sort"].startswith("must be one of")

    response = await client.get("/contacts", params={"emial": "x"})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"emial": "is not a known query parameter"}


async def test_validation_happens_before_the_mock_answers(client: httpx.AsyncClient) -> None:
    for prefer in ("code=201", "dynamic=true", "example=created", "code=404"):
        response = await client.post("/contacts", json={"email": 42}, headers={"Prefer": prefer})
        assert envelope_error(response, 400, "VALIDATION_ERROR") == {"email": "must be of type string"}


async def test_bad_json_is_a_400_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", content=b"{nope", headers={"Content-Type": "application/json"})
    assert "body" in envelope_error(response, 400, "VALIDATION_ERROR")


async def test_server_side_input_rules_apply_as_in_the_real_server(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks", json={**WEBHOOK, "url": "http://127.0.0.1:8080/hook"})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"url": "must use https"}
    response = await client.put("/webhooks/whk_1", json={"url": "https://10.0.0.1/hook"})
    assert "url" in envelope_error(response, 400, "VALIDATION_ERROR")

    long_local = "a" * 65 + "@example.com"
    response = await client.post("/contacts", json={"email": long_local})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"email": "must be a valid email address"}


# --- auth, unknown paths and methods, media type, body size --------------------------------------------


@pytest.mark.parametrize("operation", SECURED, ids=label)
async def test_every_secured_operation_needs_a_token(
    anonymous: httpx.AsyncClient, contract: Contract, operation: Operation
) -> None:
    response = await anonymous.request(**example_request(contract, operation))
    envelope_error(response, 401, "UNAUTHORIZED")
    assert response.json()["error"]["message"].startswith("Missing API key")
    for name in RATE_LIMIT_HEADERS:
        assert response.headers[name] == HEADER_EXAMPLES[name]


async def test_any_non_empty_bearer_token_is_accepted(mock_app: Any) -> None:
    from tests.mock.conftest import mock_client

    for token in ("x", "fz_live_anything", TOKEN):
        async with mock_client(mock_app, token=token) as c:
            assert (await c.get("/groups")).status_code == 200
    for header in ("Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token abc"):
        async with mock_client(mock_app, token=None, Authorization=header) as c:
            response = await c.get("/groups")
            assert envelope_error(response, 401, "UNAUTHORIZED") == {}


async def test_health_needs_no_token(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/health")).json() == {
        "success": True,
        "data": {"status": "ok", "version": "1.0.0"},
    }


async def test_unknown_path_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/contactz")
    assert envelope_error(response, 404, "NOT_FOUND") == {"path": "/v1/contactz"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/campaigns", "GET, POST"),
        ("PATCH", "/contacts/ctc_1", "DELETE, GET, PUT"),
        ("POST", "/webhooks/whk_1", "DELETE, GET, PUT"),
        ("PUT", "/campaigns/cmp_1/stats", "GET"),
        ("GET", "/contacts/batch", "POST"),  # a concrete path, not getContact("batch")
        ("DELETE", "/contacts/batch", "POST"),
    ],
)
async def test_wrong_method_is_405_with_allow_from_the_contract(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    details = envelope_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == allowed
    assert details == {"allowed": allowed.split(", ")}


async def test_non_json_body_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", content=b"email=a@b.c", headers={"Content-Type": "text/plain"})
    assert envelope_error(response, 415, "UNSUPPORTED_MEDIA_TYPE") == {"contentType": "text/plain"}


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * (1024 * 1024) + b'@example.com"}'
    response = await client.post("/contacts", content=big, headers={"Content-Type": "application/json"})
    assert envelope_error(response, 413, "PAYLOAD_TOO_LARGE") == {"maxBytes": 1048576}
    assert response.headers["X-RateLimit-Limit"] == HEADER_EXAMPLES["X-RateLimit-Limit"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_chunked_bodies_are_read_like_the_real_server(client: httpx.AsyncClient) -> None:
    async def small() -> AsyncIterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        yield b'{"email": '
        yield b'"ada@example.com"}'

    response = await client.post("/contacts", content=small(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text

    async def big() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b" " * 65536

    response = await client.post("/contacts", content=big(), headers={"Content-Type": "application/json"})
    assert envelope_error(response, 413, "PAYLOAD_TOO_LARGE") == {"maxBytes": 1048576}
    assert response.headers["X-RateLimit-Limit"] == HEADER_EXAMPLES["X-RateLimit-Limit"]


async def test_bytes_reaching_the_app_are_counted(contract: Contract) -> None:
    raised: list[Exception] = []

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while (await receive()).get("more_body"):
                pass
        except PayloadTooLarge as error:  # Connexion's exception middleware renders it in the app
            raised.append(error)

    edge = MockEdgeMiddleware(
        reader, contract=contract, cors=CorsPolicy(None, expose=[]), max_body_bytes=1000
    )
    chunk: Message = {"type": "http.request", "body": b"x" * 400, "more_body": True}
    chunks = [chunk, chunk, chunk]

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(_message: Message) -> None:
        pass

    # A Content-Length that understates the body: the edge lets it through, the count stops it.
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/contacts",
        "headers": [(b"content-length", b"10"), (b"content-type", b"application/json")],
    }
    await edge(scope, receive, send)
    assert len(raised) == 1 and chunks == []


async def test_a_failure_in_the_edge_itself_is_still_an_envelope(contract: Contract) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    edge = MockEdgeMiddleware(
        broken, contract=contract, cors=CorsPolicy(None, expose=[]), max_body_bytes=1000
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await edge({"type": "http", "method": "GET", "path": "/v1/groups", "headers": []}, receive, send)
    assert sent[0]["status"] == 500
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "INTERNAL_ERROR"


async def test_a_trailing_slash_is_a_404_not_a_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts/")
    envelope_error(response, 404, "NOT_FOUND")
    assert "location" not in response.headers
    assert (await client.get("/ui/")).status_code == 200  # Swagger UI keeps its slash


async def test_body_just_under_the_limit_is_validated_not_refused(client: httpx.AsyncClient) -> None:
    body = b'{"email": "ada@example.com", "company": "' + b"a" * 1000 + b'"}'
    response = await client.post("/contacts", content=body, headers={"Content-Type": "application/json"})
    assert envelope_error(response, 400, "VALIDATION_ERROR") == {"company": "must be at most 200 characters"}


# --- headers from the contract -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "prefer", "status"),
    [
        ("GET", "/contacts", None, 200),
        ("GET", "/contacts?perPage=0", None, 400),
        ("GET", "/contacts", "code=500", 500),
        ("GET", "/nowhere", None, 404),
        ("PATCH", "/groups", None, 405),
    ],
)
async def test_rate_limit_header_examples_on_every_response(
    client: httpx.AsyncClient, method: str, path: str, prefer: str | None, status: int
) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    response = await client.request(method, path, headers=headers)
    assert response.status_code == status
    for name in RATE_LIMIT_HEADERS:
        assert response.headers[name] == HEADER_EXAMPLES[name]
    assert "Retry-After" not in response.headers


async def test_retry_after_on_429(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts", headers={"Prefer": "code=429"})
    envelope_error(response, 429, "RATE_LIMITED")
    assert response.headers["Retry-After"] == HEADER_EXAMPLES["Retry-After"] == "30"
    assert response.headers["X-RateLimit-Reset"] == "1640000000"


async def test_header_values_follow_the_contract(client_for: Callable[..., httpx.AsyncClient]) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["headers"]["X-RateLimit-Limit"]["example"] = 60
    async with client_for(spec=spec, headers={"Authorization": "Bearer t"}) as c:
        assert (await c.get("/groups")).headers["X-RateLimit-Limit"] == "60"


# --- CORS ----------------------------------------------------------------------------------------------


async def test_preflight_lists_the_methods_the_contract_has_for_the_path(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/contacts/ctc_1",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type, x-trace-id",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE, GET, PUT"
    allowed = [h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")]
    assert {"authorization", "content-type", "prefer", "x-trace-id"} <= set(allowed)
    assert int(response.headers["Access-Control-Max-Age"]) > 0

    response = await client.options(
        "/campaigns", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"


async def test_preflight_for_an_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/nowhere", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"}
    )
    envelope_error(response, 404, "NOT_FOUND")


async def test_options_without_preflight_headers_is_405(client: httpx.AsyncClient) -> None:
    response = await client.options("/contacts")
    envelope_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "GET, POST"


async def test_responses_allow_any_origin_and_expose_the_rate_limit_headers(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    for response in (
        await client.get("/contacts", headers={"Origin": "https://app.example"}),
        await anonymous.get("/contacts", headers={"Origin": "https://app.example"}),
        await client.get("/contacts", headers={"Origin": "https://app.example", "Prefer": "code=429"}),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
        assert {*RATE_LIMIT_HEADERS, "Retry-After"} <= exposed


async def test_configured_origins_only(client_for: Callable[..., httpx.AsyncClient]) -> None:
    origins = ["https://app.example", "http://localhost:3000"]
    async with client_for(cors_origins=origins, headers={"Authorization": "Bearer t"}) as c:
        allowed = await c.get("/groups", headers={"Origin": "http://localhost:3000"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "Origin" in allowed.headers["Vary"]

        other = await c.get("/groups", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "Access-Control-Allow-Origin" not in other.headers

        preflight = await c.options(
            "/groups", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"

        refused = await c.options(
            "/groups", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        envelope_error(refused, 403, "FORBIDDEN")
        assert "Access-Control-Allow-Origin" not in refused.headers


# --- path parameters echo into the answer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "field", "value"),
    [
        ("GET", "/contacts/ctc_Echo1", "id", "ctc_Echo1"),
        ("DELETE", "/contacts/ctc_Echo2", "id", "ctc_Echo2"),
        ("GET", "/groups/grp_Echo3", "id", "grp_Echo3"),
        ("DELETE", "/groups/grp_Echo4", "id", "grp_Echo4"),
        ("GET", "/email-accounts/acc_Echo5", "id", "acc_Echo5"),
        ("DELETE", "/email-accounts/acc_Echo6", "id", "acc_Echo6"),
        ("GET", "/campaigns/cmp_Echo7", "id", "cmp_Echo7"),
        ("POST", "/campaigns/cmp_Echo8/start", "id", "cmp_Echo8"),
        ("POST", "/campaigns/cmp_Echo9/pause", "id", "cmp_Echo9"),
        ("GET", "/campaigns/cmp_Echo10/stats", "campaignId", "cmp_Echo10"),
        ("DELETE", "/webhooks/whk_Echo11", "id", "whk_Echo11"),
    ],
)
async def test_path_ids_echo_into_the_example(
    client: httpx.AsyncClient, method: str, path: str, field: str, value: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 200, response.text
    assert response.json()["data"][field] == value


async def test_path_ids_echo_into_bodies_of_updates_and_membership(client: httpx.AsyncClient) -> None:
    updated = await client.put("/contacts/ctc_Up1", json={"company": "Babbage & Co"})
    assert updated.json()["data"]["id"] == "ctc_Up1"
    added = await client.post("/groups/grp_G1/contacts", json={"contactIds": ["ctc_1"]})
    assert added.json()["data"]["groupId"] == "grp_G1"
    added = await client.post("/campaigns/cmp_C1/contacts", json={"groupId": "grp_G1"})
    assert added.json()["data"]["campaignId"] == "cmp_C1"
    dynamic = await client.get("/contacts/ctc_Dyn", headers={"Prefer": "dynamic=true, seed=1"})
    assert dynamic.json()["data"]["id"] == "ctc_Dyn"


async def test_an_id_that_does_not_fit_the_schema_is_not_echoed(client: httpx.AsyncClient) -> None:
    # `data.id` must match ^ctc_…$; the answer stays valid (the app validates responses in these tests).
    response = await client.get("/contacts/not-a-contact-id")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == "ctc_7Hq2LmX9pR4s"
    # A Deleted `id` has no pattern: what was asked for is what was deleted.
    assert (await client.delete("/contacts/whatever")).json()["data"]["id"] == "whatever"


async def test_dynamic_sending_status_follows_the_contracts_wording(client: httpx.AsyncClient) -> None:
    seen: set[str] = set()
    for seed in range(60):
        headers = {"Prefer": f"dynamic=true, seed={seed}"}
        response = await client.get("/campaigns/cmp_9Rt4Ws2Qa7Lm/sending-status", headers=headers)
        status = response.json()["data"]
        codes = [reason["code"] for reason in status["reasons"]]
        seen.update(codes)
        if status["leads"]["due"] == 0:
            assert "waiting_for_interval" not in codes, status
        if status["window"]["open"]:
            assert "outside_window" not in codes, status
        else:
            assert status["sending"] is False, status
        if status["sending"]:
            assert codes == [], status  # "empty while sending"
    assert {"waiting_for_interval", "outside_window"} <= seen  # the rules filter, they do not erase
