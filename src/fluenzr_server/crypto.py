"""Encryption of stored credentials (Fernet: AES-128-CBC + HMAC-SHA256), with key rotation."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet


class SecretBox:
    """Encrypts with the first key; decrypts with any, so old keys can be retired gradually."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()


def _fernet_key(secret: str) -> bytes:
    # Settings hold a passphrase of any length; Fernet wants 32 url-safe base64 bytes.
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
