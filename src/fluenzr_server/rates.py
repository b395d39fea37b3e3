"""Percentages as the statistics show them (contract `CampaignStats`), shared by the server and the mock."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_TENTH = Decimal("0.1")


def percent(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, rounded half-up to one decimal (1 of 16 is 6.3, not the 6.2 of
    Python's `round`, which rounds ties to even); 0.0 when `whole` is 0. Computed in decimal, so a tie is a
    tie (6.25 in binary floating point is exact, but 0.35 is not)."""
    if not whole:
        return 0.0
    return float((Decimal(part * 100) / Decimal(whole)).quantize(_TENTH, rounding=ROUND_HALF_UP))
