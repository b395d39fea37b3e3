"""One typed settings object, read from FLUENZR_* environment variables (and a .env file).

Read once at start-up (`Settings()` in the CLI, `app.asgi`, the sandbox) and handed on inside `Resources`.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fluenzr_server.store.engine import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE

# Good enough to keep a local database's credentials out of plain sight; refused in production.
DEVELOPMENT_SECRET_KEY = "fluenzr-development-only-secret-key-do-not-use"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUENZR_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./fluenzr.db"
    # PostgreSQL connections per process (each worker, each `fluenzr-server worker`): `database_pool_size`
    # kept open plus up to `database_max_overflow` opened on demand; requests beyond them wait their turn,
    # first come first served (store/checkout_gate.py). SQLite ignores both.
    database_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1)
    database_max_overflow: int = Field(default=DEFAULT_MAX_OVERFLOW, ge=0)
    # Unset: an in-process rate-limit window (one worker). Set: shared windows across workers and hosts.
    redis_url: str | None = None
    rate_limit: str = "1000/minute"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Response validation costs most of the throughput; tests turn it on, production leaves it off.
    validate_responses: bool = False
    # Webhook URLs (http too) and SMTP/IMAP hosts may point at loopback and private addresses, and SMTP may
    # use `security: none`: local sinks and tests only. FLUENZR_ALLOW_HTTP_WEBHOOKS is its older name.
    allow_private_hosts: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "allow_private_hosts",
            "allow_http_webhooks",
            "FLUENZR_ALLOW_PRIVATE_HOSTS",
            "FLUENZR_ALLOW_HTTP_WEBHOOKS",
        ),
    )
    # Test and fuzz runs: webhook deliveries connect to loopback addresses only, so no generated URL
    # (an https URL on a public literal address, say) makes traffic leave the machine.
    webhook_loopback_only: bool = False
    # Client address source for unauthenticated rate limiting: trust X-Forwarded-For only behind a proxy.
    trust_forwarded_for: bool = False
    log_level: str = "info"
    # Encrypts stored credentials (SMTP passwords). Older keys still decrypt, for rotation.
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    old_secret_keys: list[SecretStr] = []
    # The sending engine runs inside `serve`/`dev` unless this is off (FLUENZR_ENGINE=off: API only);
    # `fluenzr-server worker` runs it alone.
    engine: bool = True
    # How long a claimed message may stay `sending` before another worker takes its worker for dead and
    # marks it `unknown` (never resent). Must exceed the longest SMTP conversation (timeout below).
    engine_lease_seconds: float = Field(default=300.0, ge=1.0)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0.0)
    # The server's public base URL, as recipients' mail clients reach it: open pixels, click redirects
    # and unsubscribe links in sent messages are `<public_url>/t/…`. The default suits `make run`;
    # production must set an https URL (RFC 8058 §3.1 wants the one-click URI to be https).
    public_url: str = "http://127.0.0.1:8000"
    # Hits on the `/t/…` links per client address (they carry no API key). Generous: one office's NAT
    # address opens many messages, and a message's pixel and links are fetched together.
    tracking_rate_limit: str = "600/minute"
    # Email accounts with IMAP settings: how often each INBOX is read for replies and bounce reports, and
    # the bound on the connection and on every read of a poll.
    imap_poll_seconds: float = Field(default=60.0, gt=0.0)
    imap_timeout_seconds: float = Field(default=30.0, gt=0.0)
    # Retention (engine/retention.py): how long each kind of record is kept before the engine deletes it,
    # and how often a worker looks for expired rows when the last sweep found none. The defaults and why
    # they were chosen are in engine/retention.py; a window longer than the default keeps more, never less.
    retention_events_days: float = Field(default=30.0, gt=0.0)
    retention_webhook_deliveries_days: float = Field(default=30.0, gt=0.0)
    retention_tracking_hits_days: float = Field(default=90.0, gt=0.0)
    retention_inbound_messages_days: float = Field(default=90.0, gt=0.0)
    # Also how long an Idempotency-Key replays its response (idempotency.py).
    retention_idempotency_keys_hours: float = Field(default=24.0, gt=0.0)
    retention_batch_size: int = Field(default=500, ge=1, le=10_000)
    retention_interval_seconds: float = Field(default=300.0, gt=0.0)

    @property
    def allow_http_webhooks(self) -> bool:
        """The older name of `allow_private_hosts`."""
        return self.allow_private_hosts

    @field_validator("rate_limit", "tracking_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("FLUENZR_PUBLIC_URL must be an http(s) URL such as https://fluenzr.example")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("FLUENZR_PUBLIC_URL is a base URL: no credentials, query or fragment")
        if any(ord(char) <= 0x20 or ord(char) >= 0x7F for char in value):
            raise ValueError("FLUENZR_PUBLIC_URL must be ASCII without spaces (IDNA and percent-encode it)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.allow_private_hosts:
                raise ValueError(
                    "FLUENZR_ALLOW_PRIVATE_HOSTS (FLUENZR_ALLOW_HTTP_WEBHOOKS) must be off in production"
                )
            if self.validate_responses:
                raise ValueError("FLUENZR_VALIDATE_RESPONSES is for tests; it costs most of the throughput")
            if not self.public_url.startswith("https://"):
                raise ValueError("FLUENZR_PUBLIC_URL must be an https URL in production (RFC 8058 §3.1)")
            key = self.secret_key.get_secret_value()
            if key == DEVELOPMENT_SECRET_KEY or len(key) < 32:
                raise ValueError("FLUENZR_SECRET_KEY must be set to a random value of at least 32 characters")
        return self
