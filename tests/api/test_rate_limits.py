"""Rate limits: a moving window per account (per client address without a valid key), in memory or Redis."""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

import httpx
import pytest

from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.services import accounts
from fluenzr_server.store.database import Database
from tests.api.conftest import AppFactory, api_client
from tests.conftest import REDIS_URL, Tenant, make_tenant, require_service
from tests.utils.assertions import error, ok

LIMIT = 5
RATE = f"{LIMIT}/minute"


def random_address() -> str:
    """A documentation-range IPv6 address of its own: a fresh per-address window, even in a shared Redis."""
    return "2001:db8::" + ":".join(secrets.token_hex(2) for _ in range(4))


def assert_plausible_reset(response: httpx.Response, *, since: float) -> int:
    """X-RateLimit-Reset is epoch seconds: a minute after the window opened (at `since` or later)."""
    reset = int(response.headers["X-RateLimit-Reset"])
    assert math.floor(since) + 60 <= reset <= time.time() + 61, (since, reset)
    return reset


def assert_limited(response: httpx.Response, *, now: float) -> None:
    details = error(response, 429, "RATE_LIMITED")
    assert details["limit"] == LIMIT
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 61
    assert details["retryAfter"] == retry_after
    assert response.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    reset = assert_plausible_reset(response, since=now)
    assert abs((reset - time.time()) - retry_after) <= 2
    assert "X-Request-Id" in response.headers


async def spend(client: httpx.AsyncClient, count: int, path: str = "/contacts") -> list[httpx.Response]:
    return [await client.get(path) for _ in range(count)]


@pytest.fixture
def limited_app(make_app: AppFactory) -> Any:
    return make_app(rate_limit=RATE, limiter=RateLimiter(RATE))


async def test_sixth_request_in_the_window_is_429(limited_app: Any, tenant: Tenant) -> None:
    async with api_client(limited_app, tenant.api_key) as client:
        now = time.time()
        allowed = await spend(client, LIMIT)
        for index, response in enumerate(allowed):
            assert response.status_code == 200, response.text
            assert response.headers["X-RateLimit-Limit"] == str(LIMIT)
            assert response.headers["X-RateLimit-Remaining"] == str(LIMIT - 1 - index)
            assert_plausible_reset(response, since=now)
            assert "Retry-After" not in response.headers
        assert_limited(await client.get("/contacts"), now=now)
        # Every operation counts against the same window, and nothing runs once limited.
        assert_limited(await client.post("/contacts", json={"email": "limited@example.com"}), now=now)
    async with api_client(limited_app, tenant.api_key) as client:
        assert_limited(await client.get("/groups"), now=now)


async def test_limited_requests_do_not_run(
    limited_app: Any, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    async with api_client(limited_app, tenant.api_key) as limited:
        await spend(limited, LIMIT)
        error(await limited.post("/contacts", json={"email": "never@example.com"}), 429, "RATE_LIMITED")
    # The same tenant through the unlimited session app: nothing was created.
    assert ok(await client.get("/contacts", params={"email": "never@"})) == []


async def test_limits_are_per_account(limited_app: Any, database: Database) -> None:
    first, second = await make_tenant(database), await make_tenant(database)
    async with api_client(limited_app, first.api_key) as a, api_client(limited_app, second.api_key) as b:
        await spend(a, LIMIT)
        error(await a.get("/contacts"), 429, "RATE_LIMITED")
        response = await b.get("/contacts")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


async def test_keys_of_one_account_share_its_window(
    limited_app: Any, database: Database, tenant: Tenant
) -> None:
    second_key = (await accounts.create_key(database, account_id=tenant.account_id)).plaintext
    async with api_client(limited_app, tenant.api_key) as a, api_client(limited_app, second_key) as b:
        await spend(a, 3)
        await spend(b, 2)
        error(await a.get("/contacts"), 429, "RATE_LIMITED")
        error(await b.get("/contacts"), 429, "RATE_LIMITED")


async def test_an_account_is_not_limited_by_its_client_address(limited_app: Any, database: Database) -> None:
    address = random_address()
    tenants = [await make_tenant(database) for _ in range(2)]
    async with api_client(limited_app, tenants[0].api_key, address=address) as a:
        await spend(a, LIMIT)
    async with api_client(limited_app, tenants[1].api_key, address=address) as b:
        assert (await b.get("/contacts")).status_code == 200
    async with api_client(limited_app, address=address) as anonymous:
        assert (await anonymous.get("/health")).status_code == 200


async def test_requests_without_a_valid_key_are_limited_per_address(limited_app: Any, tenant: Tenant) -> None:
    address, other_address = random_address(), random_address()
    now = time.time()
    async with api_client(limited_app, address=address) as anonymous:
        responses = [
            await anonymous.get("/health"),
            await anonymous.get("/contacts"),
            await anonymous.get("/contacts", headers={"Authorization": "Bearer fz_live_forged1"}),
            await anonymous.get("/contacts", headers={"Authorization": "Bearer fz_live_forged2"}),
            await anonymous.get("/nope"),
        ]
        assert [r.status_code for r in responses] == [200, 401, 401, 401, 404]
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["4", "3", "2", "1", "0"]
        # Rotating made-up keys does not escape the per-address window.
        limited = await anonymous.get("/health", headers={"Authorization": "Bearer fz_live_forged3"})
        assert_limited(limited, now=now)
    async with api_client(limited_app, address=other_address) as elsewhere:
        assert (await elsewhere.get("/health")).status_code == 200
    # A valid key from the limited address is counted against its account instead.
    async with api_client(limited_app, tenant.api_key, address=address) as keyed:
        assert (await keyed.get("/contacts")).status_code == 200


async def test_forwarded_for_is_ignored_unless_trusted(make_app: AppFactory) -> None:
    address = random_address()
    untrusting = make_app(rate_limit=RATE, limiter=RateLimiter(RATE))
    async with api_client(untrusting, address=address) as client:
        for _ in range(LIMIT):
            await client.get("/health", headers={"X-Forwarded-For": random_address()})
        error(await client.get("/health", headers={"X-Forwarded-For": random_address()}), 429, "RATE_LIMITED")

    trusting = make_app(rate_limit=RATE, limiter=RateLimiter(RATE), trust_forwarded_for=True)
    async with api_client(trusting, address=address) as proxy:
        behind = random_address()
        for _ in range(LIMIT):
            assert (
                await proxy.get("/health", headers={"X-Forwarded-For": f"{behind}, 10.0.0.1"})
            ).status_code == 200
        error(await proxy.get("/health", headers={"X-Forwarded-For": behind}), 429, "RATE_LIMITED")
        assert (await proxy.get("/health", headers={"X-Forwarded-For": random_address()})).status_code == 200


async def test_rejected_bodies_still_count(limited_app: Any, tenant: Tenant) -> None:
    async with api_client(limited_app, tenant.api_key) as client:
        for _ in range(LIMIT):
            await client.post("/contacts", content=b"{", headers={"Content-Type": "application/json"})
        error(await client.post("/contacts", json={"email": "x@example.com"}), 429, "RATE_LIMITED")


async def test_apps_built_in_one_process_do_not_share_edge_middleware(
    make_app: AppFactory, tenant: Tenant
) -> None:
    # Regression: build_app once inserted its edge middleware into a module-level list, so every later app
    # also ran the rate limiter of every app built before it.
    make_app(rate_limit="1/minute")
    second = make_app()
    async with api_client(second, tenant.api_key) as client:
        responses = await spend(client, 2)
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1].headers["X-RateLimit-Limit"] == "100000"
    assert int(responses[1].headers["X-RateLimit-Remaining"]) == 100000 - 2


# --- Redis: windows shared by every worker and host ---------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    return require_service(REDIS_URL, "Redis")


@pytest.mark.redis
async def test_redis_window_is_shared_by_two_apps(
    make_app: AppFactory, database: Database, redis_url: str
) -> None:
    # A fresh account is a fresh key in Redis: no reset needed (and none of other runs' keys is touched).
    tenant = await make_tenant(database)
    first = make_app(rate_limit=RATE, redis_url=redis_url, limiter=RateLimiter(RATE, redis_url))
    second = make_app(rate_limit=RATE, redis_url=redis_url, limiter=RateLimiter(RATE, redis_url))
    now = time.time()
    async with api_client(first, tenant.api_key) as a, api_client(second, tenant.api_key) as b:
        remaining = []
        for client in (a, b, a, b, b):
            response = await client.get("/contacts")
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        assert_limited(await a.get("/contacts"), now=now)
        assert_limited(await b.get("/contacts"), now=now)
    # Another account is unaffected in the same Redis.
    other = await make_tenant(database)
    async with api_client(second, other.api_key) as c:
        assert (await c.get("/contacts")).headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


@pytest.mark.redis
async def test_redis_window_per_address_is_shared(make_app: AppFactory, redis_url: str) -> None:
    address = random_address()  # unique per run, so Redis holds no window of an earlier run
    first = make_app(rate_limit=RATE, redis_url=redis_url, limiter=RateLimiter(RATE, redis_url))
    second = make_app(rate_limit=RATE, redis_url=redis_url, limiter=RateLimiter(RATE, redis_url))
    now = time.time()
    async with api_client(first, address=address) as a, api_client(second, address=address) as b:
        statuses = [(await client.get("/contacts")).status_code for client in (a, b, b, a, b)]
        assert statuses == [401] * LIMIT
        assert_limited(await a.get("/health"), now=now)


@pytest.mark.redis
async def test_redis_limiter_denies_past_the_limit(redis_url: str) -> None:
    limiter = RateLimiter(RATE, redis_url)
    identity = "account:test-" + secrets.token_hex(8)
    for _ in range(LIMIT):
        assert (await limiter.hit(identity)).allowed
    decision = await limiter.hit(identity)
    assert (decision.allowed, decision.remaining) == (False, 0)
    assert decision.headers()["Retry-After"] == str(decision.retry_after)
