"""Tracking tokens: the opaque, signed part of a `/t/…` URL in a sent message.

A token is `base64url(version ‖ nonce ‖ AES-256-GCM(payload))` with no padding. The payload is the
message row's id (`msg_…`) and, for a click, the exact URL that was in the message; nothing in the token
is readable without the key. The key is derived from `FLUENZR_SECRET_KEY` with HKDF-SHA256 (RFC 5869)
under its own `info`, so it is never the key that encrypts stored passwords; tokens made with one of
`FLUENZR_OLD_SECRET_KEYS` still open, so a key rotation does not break links in mail already sent.
The token's purpose (`open`, `click`, `unsubscribe`) is the GCM associated data (NIST SP 800-38D): an
open token presented as an unsubscribe token fails authentication like any tampered one.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Purpose = Literal["open", "click", "unsubscribe"]

_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_INFO = b"fluenzr tracking tokens v1"
# A click token carries a URL; mail clients and servers cope with URLs of a few KiB, not more.
MAX_TOKEN_CHARS = 4096


class BadToken(Exception):
    """The token is malformed, was not made with any of our keys, was altered, or has another purpose."""


@dataclass(frozen=True, slots=True)
class Opened:
    message_id: str  # the `messages` row id, msg_…
    url: str | None  # a click token's destination; None for the other purposes


def _derive(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return AESGCM(key)


class TokenBox:
    """Seals with the first secret; opens with any (rotation)."""

    def __init__(self, secrets: list[str]) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._ciphers = [_derive(secret) for secret in secrets]

    def seal(self, purpose: Purpose, message_id: str, url: str | None = None) -> str:
        """The token for `purpose` of one message (`url`: a click's destination, required for clicks)."""
        if (purpose == "click") != (url is not None):
            raise ValueError("a click token carries a URL; the others do not")
        payload = message_id if url is None else f"{message_id}\n{url}"
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[0].encrypt(nonce, payload.encode(), purpose.encode())
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).rstrip(b"=").decode("ascii")

    def open(self, purpose: Purpose, token: str) -> Opened:
        """What the token carries; `BadToken` for anything that is not a token of ours for `purpose`."""
        if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise BadToken("not a token")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise BadToken("not a token") from None
        if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES or raw[:1] != _VERSION:
            raise BadToken("not a token")
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                payload = cipher.decrypt(nonce, sealed, purpose.encode()).decode()
            except InvalidTag:
                continue
            except UnicodeDecodeError:
                raise BadToken("not a token") from None
            message_id, _, url = payload.partition("\n")
            if (purpose == "click") != bool(url):
                raise BadToken("not a token")
            return Opened(message_id=message_id, url=url or None)
        raise BadToken("not a token")
