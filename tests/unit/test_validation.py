"""Validation errors become field-by-field details with readable reasons."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft4Validator

from fluenzr_server.validation import (
    _unstorable_text,
    failed,
    read_only_fields,
    summary,
    unstorable_text,
    without_open_items,
)

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


# Values the one-pass (orjson) check must send to the walk, or may let through; the walk decides.
TRICKY: list[Any] = [
    "bad\x00",
    {"k\x00": 1},
    {"a": "\ud800"},
    ["\udfff", "ok"],
    "a\\u0000",  # a backslash then "u0000": not a NUL
    {"big": 2**70, "bad": "\x00"},
    {"big": 2**70, "fine": "ok"},
    {1: "\x00"},  # a non-string key: not walked, its value is
    {"nested": [{"deep": ["x", "\x00"]}]},
    ("\x00",),  # not JSON: neither checks it
    None,
    1.5,
    "ünïcode 👍\u2028",
]


@pytest.mark.parametrize("value", TRICKY)
def test_unstorable_text_answers_as_the_full_walk(value: Any) -> None:
    assert unstorable_text(value) == _unstorable_text(value, "")


def test_open_items_are_dropped_and_constraining_ones_kept() -> None:
    schema = {
        "properties": {
            "rows": {"type": "array", "maxItems": 2, "items": {"description": "any row"}},
            "tags": {"type": "array", "items": {"type": "string", "description": "a tag"}},
        }
    }
    pruned = without_open_items(schema)
    assert "items" not in pruned["properties"]["rows"] and pruned["properties"]["rows"]["maxItems"] == 2
    assert pruned["properties"]["tags"] == schema["properties"]["tags"]
    for body in ({"rows": [1, None, {"x": 1}]}, {"rows": [1]}, {"tags": ["a", 1]}, {"rows": "x"}):
        before = [e.message for e in Draft4Validator(schema).iter_errors(body)]
        assert [e.message for e in Draft4Validator(pruned).iter_errors(body)] == before


def test_a_schema_that_reaches_itself_is_pruned_with_its_cycle_kept() -> None:
    # What Connexion's response validator leaves in a resolved spec: a schema holding the components
    # that hold it (`schema["components"] = components`).
    error = {"type": "object", "properties": {"rows": {"type": "array", "items": {"description": "x"}}}}
    not_found = {"content": {"application/json": {"schema": error}}}
    components: dict[str, Any] = {"responses": {"NotFound": not_found}}
    error["components"] = components
    body = {"type": "object", "properties": {"error": error}, "components": components}
    pruned = without_open_items(body)
    inner = pruned["properties"]["error"]
    assert inner["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"] is inner
    assert "items" not in inner["properties"]["rows"]
    assert pruned["components"] is inner["components"]  # one copy per object
    assert [e.message for e in Draft4Validator(pruned).iter_errors({"error": {"rows": 1}})] == [
        "1 is not of type 'array'"
    ]
