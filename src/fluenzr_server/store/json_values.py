"""How JSON columns (`customFields`, event payloads) are read back: `json.loads`'s values, faster.

Every contacts page decodes one `custom_fields` document per row, and the standard library's decoder was
the largest per-row cost of `GET /contacts` on SQLite (issue 12, `bench/layers.py`). orjson decodes the
same documents several times faster. It returns the values `json.loads` returns for every document it
accepts, with one exception: an integer wider than 64 bits becomes a float. A document with a run of 19 or
more digits therefore goes to the standard library (the widest 64-bit integer has 19 digits), as does
anything orjson refuses (NaN, Infinity, lone surrogates, out-of-range exponents, very deep nesting), so
the values never depend on which decoder ran (`tests/unit/test_json_values.py`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")


def loads(document: str | bytes | bytearray | memoryview) -> Any:
    """The value of a stored JSON document, exactly as `json.loads` reads it."""
    if isinstance(document, memoryview):
        document = bytes(document)
    wide = (
        _LONG_DIGITS_TEXT.search(document)
        if isinstance(document, str)
        else _LONG_DIGITS_BYTES.search(document)
    )
    if wide is None:
        try:
            return orjson.loads(document)
        except orjson.JSONDecodeError:
            pass
    return json.loads(document)
