"""The `Prefer` request header (RFC 7240) as the mock reads it, with Prism's vocabulary:

    Prefer: code=404
    Prefer: example=empty
    Prefer: code=409, example=invalidState
    Prefer: dynamic=true, seed=7

Preferences are separated by `,` (or `;`), names are case-insensitive and values may be quoted. Unknown
preferences are ignored, as RFC 7240 asks; a known one with a bad value is a 400.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fluenzr_server.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Preferences:
    code: str | None = None
    example: str | None = None
    dynamic: bool = False
    seed: int | None = None


def _invalid(reason: str, value: str) -> ValidationFailed:
    return ValidationFailed(f"Prefer {reason}", {"Prefer": f"{reason} (got {value[:100]!r})"})


def parse_prefer(headers: Iterable[str]) -> Preferences:
    code: str | None = None
    example: str | None = None
    dynamic = False
    seed: int | None = None
    for header in headers:
        for token in header.replace(";", ",").split(","):
            name, _, raw = token.partition("=")
            name = name.strip().lower()
            value = raw.strip().strip('"').strip()
            match name:
                case "code":
                    if not (value.isascii() and value.isdigit() and len(value) == 3 and value[0] in "12345"):
                        raise _invalid("code must be an HTTP status such as 404", value)
                    code = value
                case "example":
                    if not value:
                        raise _invalid("example must name an example", value)
                    example = value
                case "dynamic":
                    if value.lower() not in ("true", "false"):
                        raise _invalid("dynamic must be true or false", value)
                    dynamic = value.lower() == "true"
                case "seed":
                    if not (value.isascii() and value.isdigit() and len(value) <= 18):
                        raise _invalid("seed must be a non-negative integer", value)
                    seed = int(value)
    if dynamic and example is not None:
        raise ValidationFailed(
            "Prefer example and dynamic=true exclude each other",
            {"Prefer": "send either example=<name> or dynamic=true, not both"},
        )
    return Preferences(code=code, example=example, dynamic=dynamic, seed=seed)
