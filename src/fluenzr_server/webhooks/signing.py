"""Standard Webhooks 1.0 headers (https://www.standardwebhooks.com), signed with `standardwebhooks`.

`webhook-id` is the event id (`evt_…`): the same on every retry and for every endpoint, so receivers
dedupe on it. `webhook-signature` holds one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret,
separated by spaces (the spec's form for several signatures, used during a secret rotation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from standardwebhooks.webhooks import Webhook

USER_AGENT = "FluenzR-Webhooks/1"


@lru_cache(maxsize=4096)
def _signer(secret: str) -> Any:
    return Webhook(secret)


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes delivered (and signed) for an event payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(*, message_id: str, body: bytes, secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """The request headers of one attempt signed at `at` (whole seconds, as the spec's timestamp)."""
    text = body.decode()
    signature = " ".join(_signer(secret).sign(message_id, at, text) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
