"""Standard Webhooks signature verification (https://www.standardwebhooks.com), standard library only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from ._exceptions import WebhookVerificationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
DEFAULT_TOLERANCE = 300  # seconds, either way


def verify_webhook(
    payload: str | bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a webhook delivery and return its parsed JSON payload.

    `payload` must be the raw request body exactly as received (not re-serialised JSON); `headers` any
    mapping of the request headers (names are matched case-insensitively); `secret` the webhook's `whsec_…`
    secret returned when it was created. Raises `WebhookVerificationError` when a `webhook-*` header is
    missing or malformed, the timestamp is more than `tolerance` seconds from now, or no `v1` signature
    matches. `now` (epoch seconds) is for tests.
    """
    body = payload.encode() if isinstance(payload, str) else payload
    lowered = {key.lower(): value for key, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header")

    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-timestamp header") from None
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError("Webhook timestamp too old")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("Webhook timestamp too new")

    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, signature):
            try:
                return json.loads(body)
            except ValueError:
                raise WebhookVerificationError("The payload is not valid JSON") from None
    raise WebhookVerificationError("No matching signature found")


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The webhook secret is not a whsec_… base64 secret") from None
    if not key:
        raise ValueError("The webhook secret is empty")
    return key
