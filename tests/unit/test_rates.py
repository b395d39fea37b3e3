"""`rates.percent`: statistics' percentages, rounded half-up to one decimal (contract `CampaignStats`)."""

from __future__ import annotations

import pytest

from fluenzr_server.rates import percent


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1, 16, 6.3),  # 6.25: a tie, up (Python's round() gives 6.2)
        (3, 16, 18.8),  # 18.75
        (7, 80, 8.8),  # 8.75
        (1, 3, 33.3),
        (2, 3, 66.7),
        (1, 1, 100.0),
        (0, 5, 0.0),
        (0, 0, 0.0),
        (5, 0, 0.0),
        (1, 2000, 0.1),  # 0.05: a tie, up
        (1, 2001, 0.0),
    ],
)
def test_percent_rounds_half_up_to_one_decimal(part: int, whole: int, expected: float) -> None:
    assert percent(part, whole) == expected
