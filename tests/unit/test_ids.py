"""Ids: prefix, length, and every alphanumeric equally likely (no modulo bias)."""

from __future__ import annotations

import string

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
