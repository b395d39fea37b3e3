"""Every error response maps to its class, with code, message, details, status, headers and request id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fluenzr
import httpx
import pytest
from fluenzr import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIServerError,
    APIStatusError,
    APITimeoutError,
    AsyncFluenzrClient,
    AuthenticationError,
    ConflictError,
    FluenzrClient,
    FluenzrError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
)
from sdk_stub import StubAPI, error

CASES = [
    (400, "VALIDATION_ERROR", ValidationError),
    (401, "UNAUTHORIZED", AuthenticationError),
    (403, "PLAN_REQUIRED", PermissionDeniedError),
    (403, "FORBIDDEN", PermissionDeniedError),
    (404, "NOT_FOUND", NotFoundError),
    (405, "METHOD_NOT_ALLOWED", APIStatusError),
    (409, "CONFLICT", ConflictError),
    (409, "INVALID_STATE", ConflictError),
    (413, "PAYLOAD_TOO_LARGE", APIStatusError),
    (415, "UNSUPPORTED_MEDIA_TYPE", APIStatusError),
    (429, "RATE_LIMITED", RateLimitError),
    (500, "INTERNAL_ERROR", APIServerError),
    (502, "INTERNAL_ERROR", APIServerError),
    (503, "INTERNAL_ERROR", APIServerError),
]


@pytest.fixture
def no_retry_client(stub: StubAPI) -> FluenzrClient:
    return FluenzrClient(
        api_key="k", base_url="https://api.test/v1", max_retries=0, transport=httpx.MockTransport(stub)
    )


@pytest.mark.parametrize(("status", "code", "cls"), CASES)
def test_error_envelope_maps_to_class(
    no_retry_client: FluenzrClient, stub: StubAPI, status: int, code: str, cls: type[APIStatusError]
) -> None:
    details = {"email": "is required"}
    stub.queue(error(status, code, "Something is off", details, headers={"X-Request-Id": "req_42"}))
    with pytest.raises(cls) as caught:
        no_retry_client.contacts.create(email="x@example.com")
    err = caught.value
    assert type(err) is cls
    assert isinstance(err, APIError) and isinstance(err, FluenzrError)
    assert (err.status_code, err.code, err.message, err.details) == (
        status,
        code,
        "Something is off",
        details,
    )
    assert err.request_id == "req_42"
    assert err.headers["x-ratelimit-limit"] == "1000"
    assert err.body["error"]["code"] == code
    assert err.request.method == "POST"
    assert str(err) == f"{status} {code}: Something is off (request id req_42)"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, ValidationError), (404, NotFoundError), (429, RateLimitError), (502, APIServerError)],
)
def test_non_json_error_body_still_maps_by_status(
    no_retry_client: FluenzrClient, stub: StubAPI, status: int, cls: type[APIStatusError]
) -> None:
    stub.queue(httpx.Response(status, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"}))
    with pytest.raises(cls) as caught:
        no_retry_client.contacts.get("ctc_1")
    err = caught.value
    assert err.status_code == status
    assert err.code is None
    assert err.details == {}
    assert str(status) in err.message and "Bad Gateway" in err.message
    assert err.request_id is None


def test_json_body_that_is_not_an_envelope(no_retry_client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(httpx.Response(403, json={"detail": "Forbidden"}))
    with pytest.raises(PermissionDeniedError) as caught:
        no_retry_client.contacts.get("ctc_1")
    assert caught.value.message == "HTTP 403 Forbidden"
    assert caught.value.body == {"detail": "Forbidden"}


def test_request_id_falls_back_to_details(no_retry_client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(error(500, "INTERNAL_ERROR", "Internal server error", {"requestId": "req_4f9a1c2e"}))
    with pytest.raises(APIServerError) as caught:
        no_retry_client.contacts.get("ctc_1")
    assert caught.value.request_id == "req_4f9a1c2e"


def test_rate_limit_error_exposes_retry_after(no_retry_client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(error(429, "RATE_LIMITED", headers={"Retry-After": "30"}))
    with pytest.raises(RateLimitError) as caught:
        no_retry_client.contacts.list()
    assert caught.value.retry_after == 30


def get_one(client: FluenzrClient) -> Any:
    return client.contacts.get("ctc_1")


@pytest.mark.parametrize(
    ("reply", "call"),
    [
        (httpx.Response(200, text="not json"), get_one),
        (httpx.Response(200, json=[1, 2]), get_one),
        (httpx.Response(200, json={"success": True, "data": {"email": "no id"}}), get_one),
        (httpx.Response(200, json={"success": True, "data": [], "meta": {}}), lambda c: c.contacts.list()),
    ],
)
def test_unexpected_success_body(
    no_retry_client: FluenzrClient, stub: StubAPI, reply: httpx.Response, call: Callable[[FluenzrClient], Any]
) -> None:
    stub.queue(reply)
    with pytest.raises(APIResponseValidationError) as caught:
        call(no_retry_client)
    assert caught.value.status_code == 200


def test_connection_and_timeout_errors(no_retry_client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    with pytest.raises(APIConnectionError) as caught:
        no_retry_client.contacts.get("ctc_1")
    assert type(caught.value) is APIConnectionError
    assert "refused" in caught.value.message
    with pytest.raises(APITimeoutError) as timed_out:
        no_retry_client.contacts.get("ctc_1")
    assert isinstance(timed_out.value, APIConnectionError)
    assert timed_out.value.request.url.path == "/v1/contacts/ctc_1"


@pytest.mark.parametrize(("status", "code", "cls"), CASES)
async def test_async_error_mapping(stub: StubAPI, status: int, code: str, cls: type[APIStatusError]) -> None:
    stub.queue(error(status, code, "nope", {"id": "ctc_x"}))
    async with AsyncFluenzrClient(
        api_key="k", base_url="https://api.test/v1", max_retries=0, transport=httpx.MockTransport(stub)
    ) as client:
        with pytest.raises(cls) as caught:
            await client.contacts.get("ctc_x")
    assert type(caught.value) is cls
    assert (caught.value.status_code, caught.value.code, caught.value.details) == (
        status,
        code,
        {"id": "ctc_x"},
    )


async def test_async_connection_error(stub: StubAPI) -> None:
    stub.queue(httpx.ConnectTimeout("slow connect"))
    async with AsyncFluenzrClient(
        api_key="k", base_url="https://api.test/v1", max_retries=0, transport=httpx.MockTransport(stub)
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.contacts.get("ctc_1")


def test_exports() -> None:
    assert issubclass(fluenzr.WebhookVerificationError, FluenzrError)
    assert issubclass(ValidationError, APIStatusError)
    assert issubclass(APIStatusError, APIError)
