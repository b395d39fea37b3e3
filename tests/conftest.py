"""Shared fixtures: an in-process app per database backend, fresh tenants per test, and a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from fluenzr_server.app import build_app
from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts
from fluenzr_server.settings import Settings
from fluenzr_server.store.database import Database
from fluenzr_server.store.engine import sync_url
from fluenzr_server.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("FLUENZR_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("FLUENZR_TEST_REDIS_URL")
IN_CI = bool(os.environ.get("CI"))


def require_service(url: str | None, name: str) -> str:
    """Skip locally when a service is not configured; in CI a missing service is a failure."""
    if url:
        return url
    if IN_CI:
        pytest.fail(f"{name} is not configured in CI (.ci/run must start it)")
    pytest.skip(f"{name} not configured")


def fresh_postgres_database(base_url: str, name: str) -> str:
    engine = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sync_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(base_url: str, name: str) -> None:
    engine = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'api.db'}"
        upgrade(url)
        yield url
        return
    # One database per test session, so concurrent runs on one server do not drop each other's.
    admin = require_service(POSTGRES_URL, "PostgreSQL")
    name = f"fluenzr_api_tests_{os.getpid()}"
    url = fresh_postgres_database(admin, name)
    upgrade(url)
    yield url
    drop_postgres_database(admin, name)


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "validate_responses": True,
        "rate_limit": "100000/minute",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
async def resources(database_url: str) -> AsyncIterator[Resources]:
    """The session's resources: test settings and one database handle that every app below borrows."""
    opened = Resources.open(test_settings(database_url))
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def database(resources: Resources) -> Database:
    return resources.database


def resources_for(resources: Resources, settings: Settings) -> Resources:
    """Resources with other settings (and their secret box) on the session's database handle."""
    return Resources.open(settings, database=resources.database)


@pytest.fixture(scope="session")
def app(resources: Resources) -> Any:
    return build_app(resources)


@dataclass
class Tenant:
    account_id: str
    api_key: str


async def make_tenant(db: Database, plan: str = "pro") -> Tenant:
    account_id = await accounts.create_account(db, name="Test tenant", plan=plan)
    issued = await accounts.create_key(db, account_id=account_id)
    return Tenant(account_id=account_id, api_key=issued.plaintext)


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await make_tenant(database)


@pytest.fixture
async def other_tenant(database: Database) -> Tenant:
    return await make_tenant(database)


def client_for(app: Any, api_key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver/v1", headers=headers
    )


@pytest.fixture
async def client(app: Any, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, tenant.api_key) as c:
        yield c


@pytest.fixture
async def other_client(app: Any, other_tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, other_tenant.api_key) as c:
        yield c


@pytest.fixture
async def anonymous(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, None) as c:
        yield c


@pytest.fixture
def limiter_factory() -> type[RateLimiter]:
    return RateLimiter


# --- a live server over HTTP, for the SDK, acceptance and fuzz tests -------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    api_key: str
    other_api_key: str
    database_url: str
    process: subprocess.Popen[bytes]


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "fluenzr_server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "fluenzr_server.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not become healthy in 30 s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{folder / 'live.db'}"
    env = {
        **os.environ,
        "FLUENZR_DATABASE_URL": db_url,
        "FLUENZR_ENVIRONMENT": "test",
        "FLUENZR_RATE_LIMIT": "100000/minute",
    }
    cli(env, "migrate")
    key_a = cli(env, "accounts", "create", "--name", "Live A", "--plan", "pro").strip().splitlines()[-1]
    key_b = cli(env, "accounts", "create", "--name", "Live B", "--plan", "pro").strip().splitlines()[-1]
    port = free_port()
    process = start_server(env, port, folder / "server.log")
    yield LiveServer(f"http://127.0.0.1:{port}/v1", key_a, key_b, db_url, process)
    process.terminate()
    process.wait(timeout=10)
