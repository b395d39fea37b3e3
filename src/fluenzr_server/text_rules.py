"""Rules for text the API accepts, as the contract states them: its `pattern`s, `format: uri`, field keys.

The contract's patterns are JSON Schema patterns, i.e. ECMA-262 regular expressions. They are written in
the subset that Python's `re` reads the same way (no `\\d`, `\\w`, `\\s`, `\\b`, lookbehind or named groups;
`tests/contract` checks this), with one difference that no spelling avoids: ECMA's `$` matches only at the
end of the input, Python's also before a final newline (`^[^\\n]*$` accepts "Sam\\n"). `ecma_pattern` is
the validators' `pattern` keyword with ECMA's meaning, so a pattern refuses on the server and the mock
exactly what it refuses in Prism, Spectral, Schemathesis and generated clients.

Every pattern of the contract has a human reason here (`pattern_reason`): an error never shows a regex.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema import ValidationError as SchemaError

# Free text: anything but NUL (PostgreSQL cannot store it).
NO_NUL = r"^[^\u0000]*$"
# Text that may end up in an email header (names, subjects, template values): one line, no control
# characters (C0, DEL, C1) and no Unicode line/paragraph separators.
_CONTROL = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
SINGLE_LINE = rf"^[^{_CONTROL}]*$"
# Invisible characters: white space, and zero-width and format characters that render as nothing.
_BLANK = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u180e\u2000-\u200f\u2028-\u202f"
    r"\u205f-\u2064\u206a-\u206f\u3000\u3164\ufeff\uffa0"
)
# A required name: a single line with at least one visible character.
NAME = rf"^[^{_CONTROL}]*[^{_BLANK}][^{_CONTROL}]*$"
# SMTP/IMAP hosts: a DNS name or an IP literal (IPv6 in brackets); `net_policy` judges where it points.
HOST = r"^[A-Za-z0-9.:\[\]-]+$"
# IANA time zone names (`America/Argentina/Buenos_Aires`, `Etc/GMT+3`); zoneinfo judges whether it exists.
TIME_ZONE = r"^[A-Za-z0-9_+/-]+$"
# The keys of `customFields`: template variable names (`{{title}}`).
CUSTOM_FIELD_KEY = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
# `Idempotency-Key` header values: printable ASCII, no spaces (the length, 1 to 255, is the schema's).
IDEMPOTENCY_KEY = r"^[\u0021-\u007e]+$"

_REASONS = {
    NO_NUL: "must not contain NUL characters",
    SINGLE_LINE: "must not contain line breaks or other control characters",
    NAME: "must not be blank or contain line breaks or other control characters",
    HOST: "must be a host name or an IP address (IPv6 in brackets)",
    TIME_ZONE: "must be an IANA time zone name, such as Europe/Madrid",
    CUSTOM_FIELD_KEY: (
        "must be 1 to 64 letters (A-Z, a-z), digits or underscores, not starting with a digit"
    ),
    IDEMPOTENCY_KEY: "must be printable ASCII characters without spaces",
}
_PREFIXED = re.compile(r"\^([a-z]+_)(\[[^\]]+\])\+\$")


def pattern_reason(pattern: str) -> str:
    """Why a value does not match `pattern`, in words."""
    if pattern in _REASONS:
        return _REASONS[pattern]
    if "@" in pattern:
        return "must be a valid email address"
    prefixed = _PREFIXED.fullmatch(pattern)
    if prefixed and prefixed.group(2) == "[A-Za-z0-9]":
        return f"must be an id starting with {prefixed.group(1)}"
    if prefixed:
        return f"must start with {prefixed.group(1)}"
    return "is not in the accepted format"


def _ecma(pattern: str) -> str:
    """`pattern` for Python's `re` with ECMA-262's meaning of `$` (the end of the input)."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma(pattern))


def ecma_pattern(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[SchemaError]:
    """The JSON Schema `pattern` keyword, matched as ECMA-262 does (see the module docstring)."""
    if isinstance(instance, str) and not compiled(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


# RFC 3986 §3 (URI, absolute: a scheme is required), matched in full: no spaces, no control characters,
# no characters outside the ASCII set the grammar allows, every `%` followed by two hex digits.
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED_SUB}:]|{_PCT})*@)?"  # userinfo
    rf"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+\]|(?:[{_UNRESERVED_SUB}]|{_PCT})*)"
    r"(?::[0-9]*)?"
)
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:"
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)


def is_uri(value: str) -> bool:
    """True for an absolute URI as RFC 3986 §3 defines it (the contract's `format: uri`)."""
    return _URI.fullmatch(value) is not None


def _format_checker() -> FormatChecker:
    checker = copy.deepcopy(Draft4Validator.FORMAT_CHECKER)
    checker.checks("uri")(lambda value: not isinstance(value, str) or is_uri(value))
    return checker


FORMAT_CHECKER = _format_checker()

FORMAT_REASONS = {
    "uri": "must be an absolute URI (RFC 3986: no spaces, control characters or malformed %-escapes)",
    "email": "must be a valid email address",
}


def custom_field_key_problem(body: Any, field: str = "customFields") -> dict[str, str]:
    """{`customFields.<key>`: reason} for each key outside `CUSTOM_FIELD_KEY` (OpenAPI 3.0 schemas cannot
    constrain property names, so the contract states this rule in `CustomFields.description`)."""
    fields = body.get(field) if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        return {}
    rule = compiled(CUSTOM_FIELD_KEY)
    return {f"{field}.{key}": _REASONS[CUSTOM_FIELD_KEY] for key in fields if not rule.search(str(key))}
