"""Helpers shared by the services: clocks, wire timestamps, input normalisation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from fluenzr_server.errors import Conflict, ValidationFailed

T = TypeVar("T")

# The contract's email `pattern`: a dot-atom local part at a domain of two or more LDH labels. Connexion
# checks it at the edge; services check again (with the RFC 5321 local-part limit the pattern cannot say)
# so no caller can store an address the contract refuses.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")
MAX_LOCAL_PART = 64


def now() -> datetime:
    return datetime.now(UTC)


def wire_time(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # SQLite hands back naive datetimes: we only ever store UTC
    return value.isoformat(timespec="microseconds") + "Z"


def normalise_email(value: str, field: str = "email") -> str:
    email = value.lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254 or email.index("@") > MAX_LOCAL_PART:
        raise ValidationFailed(
            f"{field} must be a valid email address", {field: "must be a valid email address"}
        )
    return email


def escape_like(term: str) -> str:
    """`term` for a LIKE pattern with `escape="\\"`: its `%`, `_` and `\\` match themselves."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def unique_ids(ids: list[str]) -> list[str]:
    """Duplicates dropped, in a fixed (sorted) order, so concurrent inserts lock rows in the same order."""
    return sorted(set(ids))


async def retry_on_integrity_error(action: Callable[[], Awaitable[T]]) -> T:
    """Run a membership write again when a concurrent delete broke a foreign key between its checks and
    its insert: the second run's checks give the caller the 400/404 its ids now deserve, not a 500."""
    try:
        return await action()
    except IntegrityError:
        pass
    try:
        return await action()
    except IntegrityError:
        raise Conflict("The contacts changed during the request; retry", {}) from None


def pick(body: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Wire fields present in the body → column values (absent fields stay absent: partial updates)."""
    return {column: body[wire] for wire, column in mapping.items() if wire in body}
