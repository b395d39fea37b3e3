"""Ids: prefix, length, and every alphanumeric equally likely (no modulo bias)."""

from __future__ import annotations

import string

import pytest

from fluenzr_server import ids


def test_each_random_byte_maps_as_byte_mod_62_and_the_biased_tail_is_dropped() -> None:
    alphabet = string.ascii_letters + string.digits
    every_byte = bytes(range(256))
    expected = "".join(alphabet[byte % 62] for byte in range(248))  # 248 = 4 * 62: each character 4 times
    assert every_byte.translate(ids._TO_ALPHABET, ids._BIASED).decode() == expected


def test_new_id_has_its_prefix_and_length_in_the_alphabet() -> None:
    made = {ids.new_id("ctc") for _ in range(2000)}
    assert len(made) == 2000
    for one in made:
        prefix, rest = one.split("_")
        assert prefix == "ctc" and len(rest) == 16 and rest.isascii() and rest.isalnum()
    assert len(ids.new_id("evt", length=40)) == 44
    seen = set("".join(one[4:] for one in made))
    assert seen == set(string.ascii_letters + string.digits)


def test_new_ids_are_new_id_shaped_unique_and_use_every_character() -> None:
    made = ids.new_ids("ctc", 5000)
    assert len(made) == len(set(made)) == 5000
    for one in made:
        prefix, rest = one.split("_")
        assert prefix == "ctc" and len(rest) == 16 and rest.isascii() and rest.isalnum()
    assert ids.new_ids("evt", 0) == [] and [len(one) for one in ids.new_ids("evt", 3, length=40)] == [44] * 3
    counts = {char: 0 for char in string.ascii_letters + string.digits}
    for one in made:
        for char in one[4:]:
            counts[char] += 1
    # 80,000 characters, 1,290 expected each: a modulo bias (a quarter more for 8 of them) would show.
    assert min(counts.values()) > 1100 and max(counts.values()) < 1500


def test_new_ids_tops_up_when_the_first_read_is_short(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []

    def biased_then_fair(size: int) -> bytes:
        reads.append(size)
        # The first read is all bytes that are dropped (>= 248); the next ones are kept.
        return bytes([250]) * size if len(reads) == 1 else (bytes(range(248)) * (size // 248 + 1))[:size]

    monkeypatch.setattr(ids.secrets, "token_bytes", biased_then_fair)
    made = ids.new_ids("ctc", 100)
    assert len(reads) >= 2 and len(made) == 100 and all(len(one) == 20 for one in made)
