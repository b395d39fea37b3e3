from __future__ import annotations

import pytest
from cryptography.fernet import InvalidToken
from pydantic import ValidationError

from fluenzr_server.crypto import SecretBox
from fluenzr_server.settings import Settings


def test_round_trip_and_no_plaintext() -> None:
    box = SecretBox(["k1" * 20])
    token = box.encrypt("app-password-123")
    assert "app-password-123" not in token
    assert box.decrypt(token) == "app-password-123"
    assert box.encrypt("same") != box.encrypt("same")  # random IV per token


def test_rotation_old_keys_still_decrypt() -> None:
    old = SecretBox(["old-key" * 5])
    token = old.encrypt("pw")
    rotated = SecretBox(["new-key" * 5, "old-key" * 5])
    assert rotated.decrypt(token) == "pw"
    with pytest.raises(InvalidToken):
        SecretBox(["new-key" * 5]).decrypt(token)


def test_production_needs_a_real_secret_key() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, environment="production")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, environment="production", secret_key="short")
    Settings(_env_file=None, environment="production", secret_key="x" * 40, public_url="https://t.example")
