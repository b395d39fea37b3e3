"""Helpers shared by the services: clocks, wire timestamps, input normalisation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fluenzr_server.errors import ValidationFailed

# Stricter than the JSON Schema `email` format (which only wants an "@"): one @, a dotted domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def now() -> datetime:
    return datetime.now(UTC)


def wire_time(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_email(value: str, field: str = "email") -> str:
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationFailed(
            f"{field} must be a valid email address", {field: "must be a valid email address"}
        )
    return email


def unique_ids(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def pick(body: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Wire fields present in the body → column values (absent fields stay absent: partial updates)."""
    return {column: body[wire] for wire, column in mapping.items() if wire in body}
