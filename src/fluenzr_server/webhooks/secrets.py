"""Webhook signing secrets: encrypted at rest with the secret box, and the 24-hour overlap after rotation.

Secrets are `whsec_` + base64 of 24 random bytes (Standard Webhooks 1.0, "Signature scheme"). The database
holds Fernet tokens of them (`crypto.SecretBox`, the SMTP passwords' box). A value that still starts with
`whsec_` is a plaintext secret written before migration 0009 (or by an older server during a rolling
deploy) and is read as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fluenzr_server.crypto import SecretBox

PLAINTEXT_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)


def seal(box: SecretBox, secret: str) -> str:
    """The stored form of a `whsec_…` secret (a Fernet token)."""
    return box.encrypt(secret)


def unseal(box: SecretBox, stored: str) -> str:
    """The `whsec_…` secret of a stored value (a Fernet token, or a legacy plaintext secret)."""
    if stored.startswith(PLAINTEXT_PREFIX):
        return stored
    return box.decrypt(stored)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def signing_secrets(box: SecretBox, webhook: Any, *, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, then the previous one for 24 hours
    after a rotation (`webhook` is a `webhooks` row)."""
    secrets = [unseal(box, webhook.secret)]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and _aware(expires) > now:
        secrets.append(unseal(box, webhook.previous_secret))
    return secrets
