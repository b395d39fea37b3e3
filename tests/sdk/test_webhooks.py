"""Standard Webhooks verification, cross-checked against the `standardwebhooks` reference package."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
from fluenzr import AsyncFluenzrClient, FluenzrClient, WebhookVerificationError, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"fluenzr-test-signing-key-32bytes").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-signing-key-of-32-bytes!").decode()
PAYLOAD = json.dumps({"type": "email.replied", "data": {"contactId": "ctc_1", "campaignId": "cmp_1"}})


def signed_headers(
    payload: str = PAYLOAD, *, secret: str = SECRET, at: float | None = None
) -> dict[str, str]:
    """Headers as the reference implementation signs them."""
    sent_at = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    signature = standardwebhooks.Webhook(secret).sign("msg_2Lx8", sent_at, payload)
    return {
        "webhook-id": "msg_2Lx8",
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


def test_valid_signature(client: FluenzrClient) -> None:
    assert client.webhooks.verify(PAYLOAD, signed_headers(), SECRET) == json.loads(PAYLOAD)
    assert client.webhooks.verify(PAYLOAD.encode(), signed_headers(), SECRET) == json.loads(PAYLOAD)


def test_agrees_with_the_reference_implementation() -> None:
    headers = signed_headers()
    reference = standardwebhooks.Webhook(SECRET).verify(PAYLOAD, headers)
    assert verify_webhook(PAYLOAD, headers, SECRET) == reference


def test_header_names_are_case_insensitive() -> None:
    headers = {key.title(): value for key, value in signed_headers().items()}
    assert verify_webhook(PAYLOAD, headers, SECRET)["type"] == "email.replied"


def test_secret_without_prefix_and_padding() -> None:
    bare = SECRET.removeprefix("whsec_").rstrip("=")
    assert verify_webhook(PAYLOAD, signed_headers(), bare)["type"] == "email.replied"


def test_tampered_payload() -> None:
    headers = signed_headers()
    tampered = PAYLOAD.replace("ctc_1", "ctc_2")
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify_webhook(tampered, headers, SECRET)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(tampered, headers)


def test_tampered_id_or_timestamp() -> None:
    now = time.time()
    headers = signed_headers(at=now)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(PAYLOAD, {**headers, "webhook-id": "msg_other"}, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(PAYLOAD, {**headers, "webhook-timestamp": str(int(now) - 1)}, SECRET)


def test_wrong_secret() -> None:
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify_webhook(PAYLOAD, signed_headers(), OTHER_SECRET)


def test_expired_timestamp() -> None:
    headers = signed_headers(at=time.time() - 301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(PAYLOAD, headers, SECRET)
    assert verify_webhook(PAYLOAD, headers, SECRET, tolerance=600)["type"] == "email.replied"


def test_timestamp_from_the_future() -> None:
    with pytest.raises(WebhookVerificationError, match="too new"):
        verify_webhook(PAYLOAD, signed_headers(at=time.time() + 301), SECRET)


def test_within_tolerance() -> None:
    sent = 1_700_000_000
    headers = signed_headers(at=sent)
    assert verify_webhook(PAYLOAD, headers, SECRET, now=sent + 299)
    assert verify_webhook(PAYLOAD, headers, SECRET, now=sent - 299)


def test_one_of_several_signatures_matches() -> None:
    headers = signed_headers()
    good = headers["webhook-signature"]
    stale = signed_headers(secret=OTHER_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"v2,{good.split(',')[1]} {stale} v1,not-base64!! {good}"
    assert verify_webhook(PAYLOAD, headers, SECRET)["type"] == "email.replied"


def test_only_v1_signatures_count() -> None:
    headers = signed_headers()
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(PAYLOAD, headers, SECRET)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = signed_headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="Missing"):
        verify_webhook(PAYLOAD, headers, SECRET)


def test_malformed_timestamp() -> None:
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify_webhook(PAYLOAD, {**signed_headers(), "webhook-timestamp": "yesterday"}, SECRET)


def test_malformed_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(PAYLOAD, signed_headers(), "whsec_***")


def test_signed_but_not_json() -> None:
    with pytest.raises(WebhookVerificationError, match="JSON"):
        verify_webhook("not json", signed_headers("not json"), SECRET)


async def test_async_client_verifies_too(async_client: AsyncFluenzrClient) -> None:
    assert async_client.webhooks.verify(PAYLOAD, signed_headers(), SECRET) == json.loads(PAYLOAD)


def test_either_of_two_signatures_verifies_as_during_a_secret_rotation() -> None:
    # What FluenzR sends for 24 hours after rotate-secret: one v1 signature per secret, space-separated.
    new, old = signed_headers(secret=SECRET), signed_headers(secret=OTHER_SECRET)
    headers = {**new, "webhook-signature": f"{new['webhook-signature']} {old['webhook-signature']}"}
    for secret in (SECRET, OTHER_SECRET):
        assert verify_webhook(PAYLOAD, headers, secret) == json.loads(PAYLOAD)
        assert standardwebhooks.Webhook(secret).verify(PAYLOAD, headers) == json.loads(PAYLOAD)
    third = "whsec_" + base64.b64encode(b"a-third-secret-nobody-signed-with").decode()
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify_webhook(PAYLOAD, headers, third)
