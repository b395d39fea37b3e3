"""Prefixed opaque ids (`ctc_…`) and API keys (`fz_live_…`) from the OS CSPRNG."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
API_KEY_PREFIX = "fz_live_"
# How much of a key is kept in clear to name it (`keys revoke fz_live_AbCd1234`).
KEY_DISPLAY_CHARS = len(API_KEY_PREFIX) + 8


# Random bytes below this are used (index = byte % 62); the rest are dropped, so every character is
# equally likely. 248 = 4 * 62.
_UNBIASED_BELOW = 256 - 256 % len(_ALPHABET)
# bytes.translate table: byte b -> _ALPHABET[b % 62], applied after the bytes >= 248 are deleted.
_TO_ALPHABET = bytes(ord(_ALPHABET[byte % len(_ALPHABET)]) for byte in range(256))
_BIASED = bytes(range(_UNBIASED_BELOW, 256))


def new_id(prefix: str, length: int = 16) -> str:
    """`prefix_` and `length` uniformly random alphanumerics, from one read of the OS CSPRNG (two, rarely).

    Equivalent to `secrets.choice` per character, without a system call or a Python step per character:
    a batch import makes thousands of ids per request."""
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(length + 8).translate(_TO_ALPHABET, _BIASED)
    return f"{prefix}_{chars[:length].decode('ascii')}"


def new_ids(prefix: str, count: int, length: int = 16) -> list[str]:
    """`count` ids as `new_id` makes them, from one read of the OS CSPRNG for all of them (rarely two):
    the same characters, each equally likely, cut from one stream instead of `count` system calls."""
    need = count * length
    chars = b""
    while len(chars) < need:
        # About 3% of bytes are dropped (248 of 256 kept): ask for a little more than is needed.
        missing = need - len(chars)
        chars += secrets.token_bytes(missing + missing // 16 + 16).translate(_TO_ALPHABET, _BIASED)
    text = chars[:need].decode("ascii")
    return [f"{prefix}_{text[start : start + length]}" for start in range(0, need, length)]


def new_api_key() -> str:
    return API_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
