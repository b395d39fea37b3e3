"""Retries: what is retried, how long the client waits, and the Idempotency-Key on POST."""

from __future__ import annotations

import httpx
import pytest
from fluenzr import (
    APIConnectionError,
    APIServerError,
    APITimeoutError,
    AsyncFluenzrClient,
    ConflictError,
    FluenzrClient,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from fluenzr._retry import MAX_RETRY_DELAY, retry_delay
from sdk_stub import StubAPI, campaign, contact, error, ok, page

NOW = 1_700_000_000.0  # the fixtures' clock


def test_429_honours_retry_after(client: FluenzrClient, stub: StubAPI, sleeps: list[float]) -> None:
    stub.queue(error(429, "RATE_LIMITED", headers={"Retry-After": "7"}), page([contact()]))
    assert [c.id for c in client.contacts.list().data] == ["ctc_1"]
    assert sleeps == [7.0]
    assert len(stub.requests) == 2


def test_429_without_retry_after_waits_for_the_window_reset(
    client: FluenzrClient, stub: StubAPI, sleeps: list[float]
) -> None:
    reset = str(int(NOW) + 12)
    stub.queue(error(429, "RATE_LIMITED", headers={"X-RateLimit-Reset": reset}), ok(contact()))
    client.contacts.get("ctc_1")
    assert sleeps == [12.0]


def test_server_wait_is_capped(client: FluenzrClient, stub: StubAPI, sleeps: list[float]) -> None:
    stub.queue(error(429, "RATE_LIMITED", headers={"Retry-After": "3600"}), ok(contact()))
    client.contacts.get("ctc_1")
    assert sleeps == [MAX_RETRY_DELAY]


def test_5xx_retried_with_backoff_then_succeeds(
    client: FluenzrClient, stub: StubAPI, sleeps: list[float]
) -> None:
    stub.queue(error(500, "INTERNAL_ERROR"), httpx.Response(502, text="bad gateway"), ok(contact()))
    assert client.contacts.get("ctc_1").email == "ada@example.com"
    assert sleeps == [0.5, 1.0]  # no jitter with random() == 0
    assert len(stub.requests) == 3


def test_backoff_jitter(client: FluenzrClient, stub: StubAPI, sleeps: list[float]) -> None:
    client._random = lambda: 0.999
    stub.queue(error(500, "INTERNAL_ERROR"), ok(contact()))
    client.contacts.get("ctc_1")
    assert sleeps == [pytest.approx(0.5 * (1 - 0.25 * 0.999))]


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_ERROR", ValidationError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "CONFLICT", ConflictError),
    ],
)
def test_other_4xx_never_retried(
    client: FluenzrClient, stub: StubAPI, sleeps: list[float], status: int, code: str, cls: type[Exception]
) -> None:
    stub.default = error(status, code)
    with pytest.raises(cls):
        client.contacts.update("ctc_1", company="X")
    assert len(stub.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_max_retries_respected(stub: StubAPI, sleeps: list[float], max_retries: int) -> None:
    stub.default = error(503, "INTERNAL_ERROR")
    client = FluenzrClient(
        api_key="k",
        base_url="https://api.test/v1",
        max_retries=max_retries,
        transport=httpx.MockTransport(stub),
    )
    client._sleep = sleeps.append
    with pytest.raises(APIServerError):
        client.contacts.get("ctc_1")
    assert len(stub.requests) == max_retries + 1
    assert len(sleeps) == max_retries


def test_default_max_retries_is_two(stub: StubAPI) -> None:
    stub.default = error(429, "RATE_LIMITED", headers={"Retry-After": "0"})
    client = FluenzrClient(api_key="k", base_url="https://api.test/v1", transport=httpx.MockTransport(stub))
    with pytest.raises(RateLimitError):
        client.contacts.get("ctc_1")
    assert len(stub.requests) == 3


def test_connection_error_retried(client: FluenzrClient, stub: StubAPI, sleeps: list[float]) -> None:
    stub.queue(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(contact()))
    assert client.contacts.get("ctc_1").id == "ctc_1"
    assert sleeps == [0.5, 1.0]


def test_connection_error_after_last_retry_is_raised(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = httpx.ReadTimeout("slow")
    with pytest.raises(APITimeoutError):
        client.contacts.delete("ctc_1")
    assert len(stub.requests) == 3


def test_post_reuses_one_idempotency_key_across_retries(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(
        httpx.ConnectError("refused"),
        error(429, "RATE_LIMITED", headers={"Retry-After": "1"}),
        ok(contact(), status=201),
    )
    client.contacts.create(email="ada@example.com")
    keys = [r.headers["idempotency-key"] for r in stub.requests]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert len(keys[0]) == 36  # a uuid4

    stub.queue(ok(contact(), status=201))
    client.contacts.create(email="grace@example.com")
    assert stub.last.headers["idempotency-key"] != keys[0]  # a new call, a new key


def test_get_put_delete_carry_no_idempotency_key(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = ok(contact())
    client.contacts.get("ctc_1")
    client.contacts.update("ctc_1", company="X")
    assert all("idempotency-key" not in r.headers for r in stub.requests)


def test_creating_post_retried_on_503_but_not_on_500(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(error(503, "INTERNAL_ERROR"), ok(contact(), status=201))
    client.contacts.create(email="ada@example.com")
    assert len(stub.requests) == 2

    stub.requests.clear()
    stub.queue(error(500, "INTERNAL_ERROR"), ok(contact(), status=201))
    with pytest.raises(APIServerError):
        client.contacts.create(email="ada@example.com")
    assert len(stub.requests) == 1


def test_creating_post_not_retried_once_the_request_may_have_arrived(
    client: FluenzrClient, stub: StubAPI
) -> None:
    for exc in (httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")):
        stub.requests.clear()
        stub.queue(exc, ok(contact(), status=201))
        with pytest.raises(APIConnectionError):
            client.contacts.create(email="ada@example.com")
        assert len(stub.requests) == 1
        stub.replies.clear()


def test_creating_post_retried_when_never_sent(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy"), ok(contact(), status=201))
    client.contacts.create(email="ada@example.com")
    assert len(stub.requests) == 3


def test_idempotent_posts_retried_like_get(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(error(500, "INTERNAL_ERROR"), httpx.ReadTimeout("slow"), ok(campaign(status="running")))
    assert client.campaigns.start("cmp_1").status == "running"
    assert len(stub.requests) == 3

    membership = {"campaignId": "cmp_1", "added": 1, "contactCount": 1}
    stub.queue(error(502, "INTERNAL_ERROR"), ok(membership))
    client.campaigns.add_contacts("cmp_1", group_id="grp_1")
    assert len({r.headers["idempotency-key"] for r in stub.requests[-2:]}) == 1


async def test_async_429_honours_retry_after(
    async_client: AsyncFluenzrClient, stub: StubAPI, sleeps: list[float]
) -> None:
    stub.queue(error(429, "RATE_LIMITED", headers={"Retry-After": "3"}), ok(contact(), status=201))
    await async_client.contacts.create(email="ada@example.com")
    assert sleeps == [3.0]
    assert len({r.headers["idempotency-key"] for r in stub.requests}) == 1


async def test_async_retries_then_gives_up(
    async_client: AsyncFluenzrClient, stub: StubAPI, sleeps: list[float]
) -> None:
    stub.default = httpx.ConnectError("refused")
    with pytest.raises(APIConnectionError):
        await async_client.groups.get("grp_1")
    assert len(stub.requests) == 3
    assert sleeps == [0.5, 1.0]


async def test_async_5xx_then_success(async_client: AsyncFluenzrClient, stub: StubAPI) -> None:
    stub.queue(error(500, "INTERNAL_ERROR"), ok(contact()))
    assert (await async_client.contacts.get("ctc_1")).id == "ctc_1"


def test_retry_delay_function() -> None:
    assert retry_delay(0, random=0, now=NOW) == 0.5
    assert retry_delay(3, random=0, now=NOW) == 4.0
    assert retry_delay(10, random=0, now=NOW) == 8.0  # backoff ceiling
    assert retry_delay(0, random=0, now=NOW, status_code=503, headers={"retry-after": "2"}) == 2.0
    date = "Tue, 14 Nov 2023 22:13:40 GMT"  # NOW + 20 s
    assert retry_delay(0, random=0, now=NOW, status_code=429, headers={"retry-after": date}) == 20.0
    assert retry_delay(0, random=0, now=NOW, status_code=429, headers={"retry-after": "-5"}) == 0.0
    assert retry_delay(0, random=0, now=NOW, status_code=429, headers={"retry-after": "nan"}) == 0.5
    # the window reset only matters for a 429
    assert (
        retry_delay(1, random=0, now=NOW, status_code=500, headers={"x-ratelimit-reset": str(NOW + 30)})
        == 1.0
    )
