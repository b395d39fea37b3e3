"""Parsing the Prefer header."""

from __future__ import annotations

import pytest
from fluenzr_mock.prefer import Preferences, parse_prefer

from fluenzr_server.errors import ValidationFailed


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], Preferences()),
        (["code=404"], Preferences(code="404")),
        (["example=empty"], Preferences(example="empty")),
        (["dynamic=true, seed=7"], Preferences(dynamic=True, seed=7)),
        (['Dynamic=TRUE; Seed="7"'], Preferences(dynamic=True, seed=7)),
        (["code=409", "example=invalidState"], Preferences(code="409", example="invalidState")),
        (["respond-async, wait=10, code = 201 "], Preferences(code="201")),
        (["dynamic=false"], Preferences()),
    ],
)
def test_parse(headers: list[str], expected: Preferences) -> None:
    assert parse_prefer(headers) == expected


@pytest.mark.parametrize(
    "header",
    ["code=", "code=20x", "code=999", "code=0404", "dynamic=yes", "seed=1.5", "seed=-3", 'example=""'],
)
def test_bad_values_name_the_header(header: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_prefer([header])
    assert set(raised.value.details) == {"Prefer"}


def test_example_and_dynamic_exclude_each_other() -> None:
    with pytest.raises(ValidationFailed):
        parse_prefer(["example=page, dynamic=true"])
