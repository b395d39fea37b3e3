"""The "not given" sentinel and small aliases shared by every module."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, TypeAlias, TypeVar, final

import httpx

_T = TypeVar("_T")


@final
class NotGiven:
    """The type of `NOT_GIVEN`: an argument the caller left out, as opposed to an explicit `None`.

    `update(contact_id, company=None)` sends `"company": null` (clears the field) while
    `update(contact_id)` leaves `company` out of the request, so the server keeps it.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

Timeout: TypeAlias = float | httpx.Timeout | None
"""Seconds for every phase (connect, read, write, pool), an `httpx.Timeout`, or `None` for no limit."""

Headers: TypeAlias = Mapping[str, str]
Body: TypeAlias = dict[str, Any]
Query: TypeAlias = dict[str, Any]


def given(**fields: Any) -> dict[str, Any]:
    """Keep only the arguments the caller passed (drops `NOT_GIVEN`, keeps an explicit `None`)."""
    return {key: value for key, value in fields.items() if not isinstance(value, NotGiven)}


def or_default(value: _T | NotGiven, default: _T) -> _T:
    return default if isinstance(value, NotGiven) else value


def map_given(value: _T | NotGiven, convert: Callable[[_T], Any]) -> Any:
    """`convert(value)`, or `NOT_GIVEN` unchanged."""
    return value if isinstance(value, NotGiven) else convert(value)


def id_list(ids: Iterable[str]) -> list[str]:
    # A lone string is iterable too, and would be sent as a list of its characters.
    if isinstance(ids, str):
        raise TypeError("Expected a list of ids, got a single string")
    return list(ids)
