"""`tracking.tokens`: opaque, authenticated, purpose-bound tracking tokens with key rotation."""

from __future__ import annotations

import base64

import pytest

from fluenzr_server.tracking.tokens import BadToken, TokenBox

KEY = "k" * 40
URL = "https://acme.example/pricing?plan=pro&ref=ada@example.com"


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_round_trip_for_each_purpose() -> None:
    box = TokenBox([KEY])
    for purpose in ("open", "unsubscribe"):
        opened = box.open(purpose, box.seal(purpose, "msg_abc123"))  # type: ignore[arg-type]
        assert (opened.message_id, opened.url) == ("msg_abc123", None)
    opened = box.open("click", box.seal("click", "msg_abc123", URL))
    assert (opened.message_id, opened.url) == ("msg_abc123", URL)


def test_tokens_are_opaque_url_safe_and_never_repeat() -> None:
    box = TokenBox([KEY])
    tokens = {box.seal("click", "msg_abc123", URL) for _ in range(50)}
    assert len(tokens) == 50  # a fresh nonce each time: two links of one message look unrelated
    for token in tokens:
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        for visible in (b"msg_abc123", b"acme", b"ada@example.com", b"pricing"):
            assert visible not in decoded


@pytest.mark.parametrize("index", [0, 1, 12, 13, -1])
def test_any_altered_byte_is_refused(index: int) -> None:
    box = TokenBox([KEY])
    token = box.seal("click", "msg_abc123", URL)
    with pytest.raises(BadToken):
        box.open("click", _flip(token, index))


def test_a_token_of_one_purpose_is_refused_as_another() -> None:
    box = TokenBox([KEY])
    open_token = box.seal("open", "msg_abc123")
    with pytest.raises(BadToken):
        box.open("unsubscribe", open_token)
    with pytest.raises(BadToken):
        box.open("click", open_token)
    with pytest.raises(BadToken):
        box.open("open", box.seal("unsubscribe", "msg_abc123"))


def test_rotation_old_keys_open_new_key_seals() -> None:
    old = TokenBox(["old-" + KEY])
    token = old.seal("unsubscribe", "msg_abc123")
    rotated = TokenBox(["new-" + KEY, "old-" + KEY])
    assert rotated.open("unsubscribe", token).message_id == "msg_abc123"
    fresh = rotated.seal("unsubscribe", "msg_abc123")
    with pytest.raises(BadToken):
        old.open("unsubscribe", fresh)
    with pytest.raises(BadToken):
        TokenBox(["new-" + KEY]).open("unsubscribe", token)  # the old key retired: its tokens are dead


def test_the_tracking_key_is_not_the_secret_itself() -> None:
    import hashlib

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    token = TokenBox([KEY]).seal("open", "msg_abc123")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    naive = AESGCM(hashlib.sha256(KEY.encode()).digest())
    with pytest.raises(InvalidTag):
        naive.decrypt(raw[1:13], raw[13:], b"open")


@pytest.mark.parametrize(
    "garbage", ["", "x", "!!!!", "AAAA", "a" * 5000, "é" * 40, "AQ" + "A" * 60, "Ag" + "A" * 60]
)
def test_garbage_is_a_bad_token_never_another_error(garbage: str) -> None:
    with pytest.raises(BadToken):
        TokenBox([KEY]).open("open", garbage)


def test_a_click_needs_a_url_and_the_others_refuse_one() -> None:
    box = TokenBox([KEY])
    with pytest.raises(ValueError, match="carries a URL"):
        box.seal("click", "msg_abc123")
    with pytest.raises(ValueError, match="carries a URL"):
        box.seal("open", "msg_abc123", URL)
