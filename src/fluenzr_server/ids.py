"""Prefixed opaque ids (`ctc_…`) and API keys (`fz_live_…`) from the OS CSPRNG.

Contact and event ids are time-ordered (`new_sortable_id(s)`): `ctc_`/`evt_`, 6 characters of the
creation time and the same 16 uniformly random characters as every other id. Ids stay opaque to clients
(the contract promises no order); the time part is for the database: a primary-key B-tree fed ids in
creation order writes new entries into its last few leaf pages instead of one random leaf page per row,
which much of a 1,000-row batch import's commit went on (issue 17; `bench/results/bulk-import-inproc.md`).
The time part tells whoever holds an id its creation second, which the contact's or event's `createdAt`
shows them anyway; guessing an id is as hard as before (16 random characters, about 95 bits).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import time

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


# 0-9A-Za-z is in ASCII order, so a fixed-width number written in these digits sorts as text (byte order,
# SQLite's BINARY and PostgreSQL's "C" collation) the way the number does.
_SORTABLE_DIGITS = string.digits + string.ascii_uppercase + string.ascii_lowercase
EPOCH = 1577836800  # 2020-01-01T00:00:00Z, as a Unix time
# 62**6 seconds is about 1,800 years after EPOCH: the width never has to grow.
TIME_CHARS = 6


def time_part(unix_seconds: float | None = None) -> str:
    """Whole seconds since `EPOCH` (now by default) as `TIME_CHARS` digits of `_SORTABLE_DIGITS`.

    Raises ValueError for a time before EPOCH or past the width."""
    seconds = int((time.time() if unix_seconds is None else unix_seconds) - EPOCH)
    if not 0 <= seconds < len(_SORTABLE_DIGITS) ** TIME_CHARS:
        raise ValueError(f"{unix_seconds} is outside the time part's range")
    digits = []
    for _ in range(TIME_CHARS):
        seconds, digit = divmod(seconds, len(_SORTABLE_DIGITS))
        digits.append(_SORTABLE_DIGITS[digit])
    return "".join(reversed(digits))


def time_of(part: str) -> int:
    """The Unix time (whole seconds) a `time_part` stands for. Raises ValueError for anything else."""
    if len(part) != TIME_CHARS or not all(char in _SORTABLE_DIGITS for char in part):
        raise ValueError(f"{part!r} is not a time part")
    seconds = 0
    for char in part:
        seconds = seconds * len(_SORTABLE_DIGITS) + _SORTABLE_DIGITS.index(char)
    return EPOCH + seconds


def new_sortable_id(prefix: str, length: int = 16) -> str:
    """`prefix_`, `time_part()` and `length` uniformly random alphanumerics (`new_id`'s): ids made in a
    later second sort after (byte order); within a second their order is random."""
    return f"{prefix}_{time_part()}{new_id(prefix, length)[len(prefix) + 1 :]}"


def new_sortable_ids(prefix: str, count: int, length: int = 16) -> list[str]:
    """`count` ids as `new_sortable_id` makes them, the random parts from `new_ids`'s one read."""
    head = f"{prefix}_{time_part()}"
    cut = len(prefix) + 1
    return [head + one[cut:] for one in new_ids(prefix, count, length)]


def new_api_key() -> str:
    return API_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
