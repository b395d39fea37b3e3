"""Ids: prefix, length, and every alphanumeric equally likely (no modulo bias)."""

from __future__ import annotations

import string
import time

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


def test_time_part_is_fixed_width_and_sorts_as_text_as_the_time_does() -> None:
    assert ids.time_part(ids.EPOCH) == "000000"
    assert ids.time_part(ids.EPOCH + 61.9) == "00000z"  # whole seconds; 61 is the last digit
    assert ids.time_part(ids.EPOCH + 62) == "000010"
    last = ids.EPOCH + 62**ids.TIME_CHARS - 1
    assert ids.time_part(last) == "zzzzzz"
    # Across digit classes (9 < A < Z < a < z in ASCII) and carries, text order is time order.
    times = [ids.EPOCH + s for s in (0, 9, 10, 35, 36, 61, 62, 3843, 3844, 10**6, 10**9, 62**6 - 1)]
    parts = [ids.time_part(at) for at in times]
    assert parts == sorted(parts) and len(set(parts)) == len(parts)
    assert sorted(parts, key=lambda part: part.encode()) == parts  # byte order too (SQLite BINARY, "C")
    for at, part in zip(times, parts, strict=True):
        assert ids.time_of(part) == at and len(part) == ids.TIME_CHARS
    for outside in (ids.EPOCH - 1, last + 1):
        with pytest.raises(ValueError, match="outside the time part's range"):
            ids.time_part(outside)
    for bad in ("00000", "0000000", "00000_", "00000é"):
        with pytest.raises(ValueError, match="is not a time part"):
            ids.time_of(bad)


def test_sortable_ids_are_the_time_part_then_new_ids_random_part(monkeypatch: pytest.MonkeyPatch) -> None:
    before = int(time.time())
    one = ids.new_sortable_id("ctc")
    made = ids.new_sortable_ids("ctc", 3000)
    after = int(time.time())
    for made_id in [one, *made]:
        prefix, rest = made_id.split("_")
        assert prefix == "ctc" and len(rest) == ids.TIME_CHARS + 16 and rest.isascii() and rest.isalnum()
        assert before <= ids.time_of(rest[: ids.TIME_CHARS]) <= after
    assert len(set(made)) == 3000 and ids.new_sortable_ids("ctc", 0) == []
    # The random part is new_ids' (every character equally likely): all 62 show up in 48,000.
    assert set("".join(made_id[4 + ids.TIME_CHARS :] for made_id in made)) == set(ids._ALPHABET)
    # Made a second later, an id sorts after, whatever its random part.
    monkeypatch.setattr(time, "time", lambda: after + 1.0)
    later = [*ids.new_sortable_ids("ctc", 50), ids.new_sortable_id("ctc")]
    assert min(later) > max([one, *made])
    assert all(len(made_id) <= 32 for made_id in later)  # the id columns are String(32)
