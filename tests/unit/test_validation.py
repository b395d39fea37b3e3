"""Validation errors become field-by-field details with readable reasons."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft4Validator

from fluenzr_server.validation import failed, read_only_fields, summary, unstorable_text

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {
        "email": {"type": "string", "maxLength": 5},
        "perPage": {"type": "integer", "maximum": 100},
        "tags": {"type": "array", "maxItems": 1, "items": {"type": "string", "enum": ["a", "b"]}},
        "exactlyOne": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {"contactIds": {"type": "array"}, "groupId": {"type": "string"}},
        },
    },
}


def details_for(body: Any, read_only: frozenset[str] = frozenset()) -> dict[str, str]:
    return failed(Draft4Validator(SCHEMA).iter_errors(body), read_only=read_only).details


def test_missing_required_field_reads_like_the_seed() -> None:
    error = failed(Draft4Validator(SCHEMA).iter_errors({}))
    assert error.details == {"email": "is required"}
    assert error.message == "email is required"


def test_every_problem_is_reported_by_field() -> None:
    details = details_for({"email": "toolong", "perPage": 101, "tags": ["c", "a"], "bogus": 1})
    assert details == {
        "email": "must be at most 5 characters",
        "perPage": "must be at most 100",
        "tags": "must have at most 1 item",
        "tags.0": "must be one of: a, b",
        "bogus": "is not a known field",
    }


def test_read_only_field_is_named_as_such() -> None:
    body = {"email": "a@b.c", "id": "ctc_1"}
    assert details_for(body, frozenset({"id"})) == {"id": "is read-only and set by the server"}
    assert details_for(body) == {"id": "is not a known field"}  # read-only for one contract, not for all


def test_read_only_fields_come_from_the_contract_given() -> None:
    spec = {
        "components": {
            "schemas": {
                "Id": {"type": "string", "readOnly": True},
                "Thing": {"properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {}}},
                "Other": {"allOf": [{"properties": {"createdAt": {"readOnly": True}}}]},
            }
        }
    }
    assert read_only_fields(spec) == {"id", "createdAt"}
    assert read_only_fields({}) == frozenset()


@pytest.mark.parametrize("body", [{}, {"contactIds": [], "groupId": "g"}])
def test_exactly_one_of(body: dict[str, Any]) -> None:
    details = details_for({"email": "a@b.c", "exactlyOne": body})
    assert details == {"exactlyOne": "must name exactly one of: contactIds, groupId"}


def test_summary_counts_the_rest() -> None:
    assert (
        summary({"a": "is required", "b": "is required", "c": "x"}) == "a is required (and 2 more problems)"
    )


def test_unstorable_text_finds_nul_and_lone_surrogates() -> None:
    assert unstorable_text({"a": ["ok", "bad\x00"]}) == ("a.1", "must not contain NUL characters")
    assert unstorable_text({"k\ud800": 1}) == ("k\ud800", "must be valid Unicode (no lone surrogates)")
    assert unstorable_text({"fine": "ünïcode 👍"}) is None
