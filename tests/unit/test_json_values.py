"""Stored JSON documents read back as `json.loads` reads them, whichever decoder `json_values.loads` used:
the same values of the same types (an integer stays an integer, however wide)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fluenzr_server.store.json_values import loads

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64, 10**18, 10**19, -(10**18) + 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
# Text that may or may not be JSON: numbers written every way, literals orjson refuses, broken documents.
NUMBERS = st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,4})?\Z")
ODD = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", '"\\ud800"', "[1e400]", " {} ", "[", '{"a":1,"a":2}', '"\\u0000"', "1 2"]
)


def _same(document: str | bytes) -> None:
    try:
        expected: Any = json.loads(document)
    except ValueError:
        try:
            loads(document)
        except ValueError:
            return
        raise AssertionError(f"{document!r} decoded, json.loads refuses it") from None
    found = loads(document)
    # Compared as text with types: 1 == 1.0 in Python, and -0.0 == 0.0.
    assert repr(found) == repr(expected), document
    assert json.dumps(found) == json.dumps(expected), document


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_documents_the_server_wrote_read_back_the_same(value: Any) -> None:
    document = json.dumps(value)
    _same(document)
    _same(document.encode())


@settings(max_examples=1000, deadline=None)
@given(NUMBERS | ODD | st.text(max_size=12))
def test_any_text_decodes_as_the_standard_library_decodes_it(document: str) -> None:
    _same(document)
    _same(f"[{document}]")
    _same(memoryview(document.encode("utf-8", "surrogatepass")).tobytes())


def test_a_wide_integer_stays_an_integer() -> None:
    assert loads('{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    assert isinstance(loads(b"[18446744073709551616]")[0], int)
