"""The dynamic-response generator: valid against every response schema, deterministic, realistic ids."""

from __future__ import annotations

import random
import re

import pytest
from fluenzr_mock.contract import Contract, resolve_refs
from fluenzr_mock.generate import generate, merge_all_of

from fluenzr_server.spec import load_spec
from tests.mock.helpers import schema_errors

CONTRACT = Contract(load_spec())
RESPONSES = [
    (f"{op.method} {op.path} {status}", response.schema)
    for op in CONTRACT.operations.values()
    for status, response in op.responses.items()
    if response.schema is not None  # a 204 has no body
]


@pytest.mark.parametrize(("name", "schema"), RESPONSES, ids=[name for name, _ in RESPONSES])
def test_generated_bodies_are_valid_for_many_seeds(name: str, schema: dict[str, object]) -> None:
    for seed in range(25):
        body = generate(schema, random.Random(seed))
        assert schema_errors(schema, body) == [], (seed, body)


def test_every_response_shaped_schema_of_the_contract_can_be_generated() -> None:
    schemas = resolve_refs(load_spec())["components"]["schemas"]
    for name, schema in schemas.items():
        if "writeOnly" in repr(schema):  # request-only: write-only fields are never in a response
            continue
        for seed in range(10):
            value = generate(schema, random.Random(seed))
            assert schema_errors(schema, value) == [], (name, seed, value)


def test_same_random_state_same_value() -> None:
    schema = CONTRACT.operations["listContacts"].responses["200"].schema
    assert schema is not None
    assert generate(schema, random.Random("7:x")) == generate(schema, random.Random("7:x"))
    assert generate(schema, random.Random("7:x")) != generate(schema, random.Random("8:x"))


@pytest.mark.parametrize(
    "pattern",
    [
        r"^ctc_[A-Za-z0-9]+$",
        r"^whsec_[A-Za-z0-9+/=]+$",
        r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]"
        r"([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
        r"^(?:mon|tue|wed)-\d{2,4}[^@\s]*$",
        r"^v\d+\.\d+(\.\d+)?$",
    ],
)
def test_strings_match_their_pattern(pattern: str) -> None:
    schema = {"type": "string", "pattern": pattern, "maxLength": 80}
    for seed in range(50):
        value = generate(schema, random.Random(seed))
        assert re.search(pattern, value), (seed, value)
        assert len(value) <= 80


def test_formats_and_bounds() -> None:
    rng = random.Random(3)
    for _ in range(50):
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", generate({"type": "string", "format": "date-time"}, rng)
        )
        assert generate({"type": "string", "format": "uri"}, rng).startswith("https://")
        assert "@" in generate({"type": "string", "format": "email"}, rng)
        assert 3 <= generate({"type": "integer", "minimum": 3, "maximum": 5}, rng) <= 5
        assert 0 <= generate({"type": "number", "minimum": 0, "maximum": 100}, rng) <= 100
        assert len(generate({"type": "string", "minLength": 30, "maxLength": 31}, rng)) in (30, 31)
        values = generate({"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True}, rng)
        assert len(values) == len(set(values))


def test_all_of_is_merged_and_write_only_fields_are_never_generated() -> None:
    merged = merge_all_of(
        {
            "allOf": [
                {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
                {"required": ["b"], "properties": {"b": {"type": "string"}}},
            ]
        }
    )
    assert merged["required"] == ["a", "b"] and set(merged["properties"]) == {"a", "b"}
    schema = {"type": "object", "properties": {"password": {"type": "string", "writeOnly": True}}}
    assert all("password" not in generate(schema, random.Random(seed)) for seed in range(20))


def test_created_at_is_never_after_updated_at() -> None:
    schema = CONTRACT.operations["getGroup"].responses["200"].schema
    assert schema is not None
    for seed in range(30):
        group = generate(schema, random.Random(seed))["data"]
        assert group["createdAt"] <= group["updatedAt"]
