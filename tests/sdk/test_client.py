"""Construction, configuration, headers, timeouts, rate-limit figures and lifecycle."""

from __future__ import annotations

import fluenzr
import httpx
import pytest
from fluenzr import AsyncFluenzrClient, FluenzrClient, FluenzrError, RateLimit
from sdk_stub import API_KEY, BASE_URL, RATE_HEADERS, StubAPI, contact, error, ok


def test_missing_api_key_fails_at_construction() -> None:
    with pytest.raises(FluenzrError, match="FLUENZR_API_KEY"):
        FluenzrClient()
    with pytest.raises(FluenzrError, match="FLUENZR_API_KEY"):
        AsyncFluenzrClient(api_key="")


def test_env_fallback(monkeypatch: pytest.MonkeyPatch, stub: StubAPI) -> None:
    monkeypatch.setenv("FLUENZR_API_KEY", "fz_live_from_env")
    monkeypatch.setenv("FLUENZR_BASE_URL", "http://127.0.0.1:9999/v1/")
    client = FluenzrClient(transport=httpx.MockTransport(stub.queue(ok({"status": "ok", "version": "1"}))))
    assert client.base_url == "http://127.0.0.1:9999/v1"
    client.health()
    assert str(stub.last.url) == "http://127.0.0.1:9999/v1/health"
    assert stub.last.headers["authorization"] == "Bearer fz_live_from_env"


def test_arguments_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENZR_API_KEY", "fz_live_from_env")
    monkeypatch.setenv("FLUENZR_BASE_URL", "http://env.example/v1")
    client = FluenzrClient(api_key="explicit", base_url="https://other.example/v1")
    assert (client.api_key, client.base_url) == ("explicit", "https://other.example/v1")


def test_default_base_url() -> None:
    assert FluenzrClient(api_key="k").base_url == "https://api.fluenzr.co/v1"
    assert AsyncFluenzrClient(api_key="k").base_url == fluenzr.DEFAULT_BASE_URL


def test_headers(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok({"status": "ok", "version": "1.0.0"}))
    health = client.health()
    assert (health.status, health.version) == ("ok", "1.0.0")
    request = stub.last
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["user-agent"] == f"fluenzr-python/{fluenzr.__version__}"
    assert request.headers["accept"] == "application/json"
    assert "idempotency-key" not in request.headers


def test_default_headers_cannot_override_authorization(stub: StubAPI) -> None:
    stub.queue(ok({"status": "ok", "version": "1"}))
    client = FluenzrClient(
        api_key="real",
        base_url=BASE_URL,
        default_headers={"X-Trace": "t1", "Authorization": "Bearer other"},
        transport=httpx.MockTransport(stub),
    )
    client.health()
    assert stub.last.headers["x-trace"] == "t1"
    assert stub.last.headers["authorization"] == "Bearer real"


def test_timeouts_default_and_per_call(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = ok(contact())
    client.contacts.get("ctc_1")
    assert stub.last.extensions["timeout"] == fluenzr.DEFAULT_TIMEOUT.as_dict()
    client.contacts.get("ctc_1", timeout=2.5)
    assert stub.last.extensions["timeout"] == httpx.Timeout(2.5).as_dict()
    client.contacts.get("ctc_1", timeout=None)
    assert stub.last.extensions["timeout"] == httpx.Timeout(None).as_dict()


def test_client_timeout_applies_to_an_injected_http_client(stub: StubAPI) -> None:
    stub.queue(ok(contact()))
    http = httpx.Client(transport=httpx.MockTransport(stub), timeout=99)
    FluenzrClient(api_key="k", base_url=BASE_URL, timeout=3, http_client=http).contacts.get("ctc_1")
    assert stub.last.extensions["timeout"] == httpx.Timeout(3).as_dict()


def test_rate_limit_figures(client: FluenzrClient, stub: StubAPI) -> None:
    assert client.rate_limit == RateLimit(limit=None, remaining=None, reset=None)
    stub.queue(ok(contact()))
    client.contacts.get("ctc_1")
    assert client.rate_limit == RateLimit(limit=1000, remaining=999, reset=1640000000)
    assert client.rate_limit.reset_at is not None
    assert client.rate_limit.reset_at.timestamp() == 1640000000

    stub.queue(error(404, "NOT_FOUND", headers={"X-RateLimit-Remaining": "998"}))
    with pytest.raises(fluenzr.NotFoundError):
        client.contacts.get("ctc_2")
    assert client.rate_limit.remaining == 998  # error responses count too

    stub.queue(httpx.Response(200, json={"success": True, "data": contact()}))
    client.contacts.get("ctc_1")
    assert client.rate_limit == RateLimit()  # the last response had no figures


async def test_async_rate_limit_and_headers(async_client: AsyncFluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok(contact(), headers={**RATE_HEADERS, "X-RateLimit-Remaining": "5"}))
    found = await async_client.contacts.get("ctc_1")
    assert found.id == "ctc_1"
    assert async_client.rate_limit.remaining == 5
    assert stub.last.headers["authorization"] == f"Bearer {API_KEY}"
    assert stub.last.headers["user-agent"].startswith("fluenzr-python/")


def test_ids_are_escaped_and_must_not_be_empty(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok(contact()))
    client.contacts.get("ctc_1/../x?y")
    assert stub.last.url.raw_path == b"/v1/contacts/ctc_1%2F..%2Fx%3Fy"
    with pytest.raises(ValueError, match="non-empty id"):
        client.contacts.delete("")
    assert len(stub.requests) == 1


def test_context_manager_closes_its_own_http_client() -> None:
    with FluenzrClient(api_key="k") as client:
        http = client._http
    assert http.is_closed


def test_injected_http_client_stays_open(stub: StubAPI) -> None:
    http = httpx.Client(transport=httpx.MockTransport(stub))
    with FluenzrClient(api_key="k", http_client=http):
        pass
    assert not http.is_closed
    http.close()


async def test_async_context_manager() -> None:
    async with AsyncFluenzrClient(api_key="k") as client:
        http = client._http
    assert http.is_closed


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="either http_client or transport"):
        FluenzrClient(api_key="k", http_client=httpx.Client(), transport=httpx.MockTransport(StubAPI()))
    with pytest.raises(ValueError, match="max_retries"):
        FluenzrClient(api_key="k", max_retries=-1)


def test_resources_are_cached(client: FluenzrClient) -> None:
    assert client.contacts is client.contacts
    assert "api.test" in repr(client)
