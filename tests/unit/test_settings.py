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
