from __future__ import annotations

import pytest
from pydantic import ValidationError

from fluenzr_server.settings import Settings


def test_safe_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.rate_limit == "1000/minute"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.max_body_bytes == 1024 * 1024
    assert not settings.allow_http_webhooks


@pytest.mark.parametrize(
    "unsafe", [{"allow_private_hosts": True}, {"allow_http_webhooks": True}, {"validate_responses": True}]
)
def test_production_refuses_unsafe_values(unsafe: dict[str, bool]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, environment="production", **unsafe)


def test_rate_limit_must_parse() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, rate_limit="lots")


@pytest.mark.parametrize("variable", ["FLUENZR_ALLOW_PRIVATE_HOSTS", "FLUENZR_ALLOW_HTTP_WEBHOOKS"])
def test_private_hosts_setting_and_its_older_name(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    assert not Settings(_env_file=None).allow_private_hosts
    monkeypatch.setenv(variable, "1")
    settings = Settings(_env_file=None)
    assert settings.allow_private_hosts and settings.allow_http_webhooks
    monkeypatch.setenv("FLUENZR_ENVIRONMENT", "production")
    monkeypatch.setenv("FLUENZR_SECRET_KEY", "x" * 40)
    with pytest.raises(ValidationError, match="FLUENZR_ALLOW_PRIVATE_HOSTS"):
        Settings(_env_file=None)


def test_public_url_default_and_production_rule() -> None:
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8000"
    assert (
        Settings(_env_file=None, public_url="https://t.acme.example/").public_url == "https://t.acme.example"
    )
    key = "s" * 40
    good = Settings(
        _env_file=None, environment="production", secret_key=key, public_url="https://t.acme.example"
    )
    assert good.public_url == "https://t.acme.example"
    with pytest.raises(ValidationError, match="https"):
        Settings(_env_file=None, environment="production", secret_key=key, public_url="http://t.acme.example")


@pytest.mark.parametrize(
    "bad",
    [
        "t.acme.example",
        "ftp://t.acme.example",
        "https://",
        "https://t.example/?a=1",
        "https://u:p@t.example",
        "https://t.example/a b",
    ],
)
def test_public_url_must_be_an_http_base(bad: str) -> None:
    with pytest.raises(ValidationError, match="FLUENZR_PUBLIC_URL"):
        Settings(_env_file=None, public_url=bad)
