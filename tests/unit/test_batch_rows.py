"""Batch rows are validated exactly as createContact validates a body; the fast pre-check agrees with it."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluenzr_server.batch_rows import fast_schema, nullable_as_type, quick, row_validator, with_key_rule
from fluenzr_server.text_rules import CUSTOM_FIELD_KEY, custom_field_key_problem

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.text(alphabet="ab", min_size=998, max_size=1002),  # around a maxLength of 1000
    st.sampled_from(["ada@example.com", "not-an-email", "a@b", "x" * 101, ""]),
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
)
FIELDS = ["email", "firstName", "lastName", "company", "customFields", "id", "other"]
NEARLY_VALID = st.fixed_dictionaries(
    {"email": st.sampled_from(["ada@example.com", "Ada.Lovelace+crm@Example.CO.uk"])},
    optional={
        "firstName": JSON_LEAF,
        "lastName": JSON_LEAF,
        "company": JSON_LEAF,
        "customFields": st.dictionaries(st.text(max_size=4), JSON_LEAF, max_size=55),
    },
)
ROWS = st.one_of(
    NEARLY_VALID,
    JSON,
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(JSON, st.dictionaries(st.text(max_size=4), JSON_LEAF, max_size=55)),
        max_size=6,
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_the_fast_check_accepts_exactly_what_the_contract_schema_accepts(row: Any) -> None:
    assert_same_verdict(row)


def assert_same_verdict(row: Any) -> None:
    """The fast check accepts a row iff the contract's schema does and its `customFields` keys follow the
    key rule (`custom_field_key_problem`, checked after the schema for a single contact)."""
    validator = row_validator("ContactCreate")
    exact_ok = not list(validator._compiled.iter_errors(row)) and not custom_field_key_problem(row)
    assert validator.fast_is_valid(row) is exact_ok, row


# Around every rule of ContactCreate (contract: components.schemas.ContactCreate and CustomFields): each
# value just inside and just outside a bound, each end of each excluded character range, the `$` trap
# (a trailing newline), characters outside the BMP (lengths count code points), each JSON type.
_TEXT_EDGES = [
    "",
    "Ada",
    "Ada\n",
    "\nAda",
    "A\rda",
    "\x00",
    "\x1f",
    " ",
    "~",
    "\x7f",
    "\x80",
    "\x9f",
    "\xa0",
    "\u2027",
    "\u2028",
    "\u2029",
    "\u202a",
    "ñ",
    "😀",
    "\ud7ff",
    "\ufeff",
]
_TYPES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.5,
    -0.0,
    1e300,
    2**63,
    2**70,
    -(2**70),
    [],
    ["a"],
    {},
    {"a": 1},
]


def _lengths(limit: int) -> list[str]:
    return [char * count for char in ("a", "é", "😀") for count in (limit - 1, limit, limit + 1)]


def _rows() -> list[Any]:
    rows: list[Any] = []
    for field, limit in (("firstName", 100), ("lastName", 100), ("company", 200)):
        rows += [
            {"email": "ada@example.com", field: value} for value in [*_TEXT_EDGES, *_lengths(limit), *_TYPES]
        ]
    emails = [
        "ada@example.com",
        "ADA@EXAMPLE.COM",
        "ada@example.com\n",
        "ada@example.com ",
        " ada@example.com",
        "ada@example",
        "ada@@example.com",
        "@example.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exa_mple.com",
        "ada.@example.com",
        ".ada@example.com",
        "a..da@example.com",
        "!#$%&'*+/=?^_`{|}~-@example.com",
        "ada@" + "a" * 63 + ".com",
        "ada@" + "a" * 64 + ".com",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "a@b.c",
        "a@b",
        "ñ@example.com",
        "ada@exámple.com",
        "a" * 63 + "@" + ".".join(["b" * 60] * 3) + ".co",  # 254 characters
        "a" * 63 + "@" + ".".join(["b" * 60] * 3) + ".com",  # 255
        *_TYPES,
    ]
    rows += [{"email": email} for email in emails]
    values: list[Any] = [*_TEXT_EDGES, *_lengths(1000), *_TYPES]
    rows += [{"email": "ada@example.com", "customFields": {"k": value}} for value in values]
    rows += [{"email": "ada@example.com", "customFields": fields} for fields in _TYPES]
    rows += [
        {"email": "ada@example.com", "customFields": {f"f{i}": i for i in range(n)}} for n in (49, 50, 51)
    ]
    keys = ["a", "_", "A_1", "a" * 64, "a" * 65, "1a", "", "a-b", "a b", "a\n", "ñ", "a.b", "\u212a", "Z9"]
    rows += [{"email": "ada@example.com", "customFields": {key: 1}} for key in keys]
    rows += [{"email": "ada@example.com", "customFields": {"ok": 1, key: "x" * 1001}} for key in ("k", "1k")]
    rows += [
        {},
        {"firstName": "Ada"},
        {"email": "ada@example.com", "id": "ctc_x"},
        {"email": "ada@example.com", "groupIds": []},
        {"email": "ada@example.com", "nickname": "Ada"},
        {
            "email": "ada@example.com",
            "firstName": None,
            "lastName": None,
            "company": None,
            "customFields": {},
        },
        *_TYPES,
        "ada@example.com",
    ]
    return rows


def test_the_fast_check_agrees_on_every_rule_of_the_contact_schema() -> None:
    rows = _rows()
    assert len(rows) > 250
    for row in rows:
        assert_same_verdict(row)
    # The rules do bite: the list holds both verdicts for every field.
    validator = row_validator("ContactCreate")
    for field in ("email", "firstName", "lastName", "company", "customFields"):
        verdicts = {validator.fast_is_valid(row) for row in rows if isinstance(row, dict) and field in row}
        assert verdicts == {True, False}, field


def test_nullable_becomes_a_null_type() -> None:
    schema = {
        "properties": {
            "a": {"type": "string", "nullable": True, "maxLength": 3},
            "b": {"enum": ["x"], "nullable": True},
        }
    }
    assert nullable_as_type(schema) == {
        "properties": {"a": {"type": ["string", "null"], "maxLength": 3}, "b": {"enum": ["x", None]}}
    }
    assert nullable_as_type({"type": "string", "nullable": False}) == {"type": "string"}
    assert "nullable" not in str(fast_schema(row_validator("ContactCreate")._compiled.schema))


def test_quick_merges_a_oneof_of_distinct_primitive_types_only() -> None:
    scalar = {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "number"}, {"type": "boolean"}]}
    assert quick(scalar) == {"type": ["string", "number", "boolean"], "maxLength": 3}
    overlapping = {"oneOf": [{"type": "number"}, {"type": "integer"}]}  # 1 matches both: not rewritten
    assert quick(overlapping) == overlapping
    foreign_keyword = {"oneOf": [{"type": "string", "minimum": 1}, {"type": "number"}]}
    assert quick(foreign_keyword) == foreign_keyword
    nested = {"properties": {"x": {"additionalProperties": scalar}}}
    assert quick(nested)["properties"]["x"]["additionalProperties"]["type"] == ["string", "number", "boolean"]


def test_with_key_rule_moves_the_value_schema_under_the_key_pattern() -> None:
    values = {"type": "string"}
    schema = {
        "type": "object",
        "properties": {"customFields": {"type": "object", "additionalProperties": values}},
    }
    keyed = with_key_rule(schema, "customFields", CUSTOM_FIELD_KEY)
    assert keyed["properties"]["customFields"] == {
        "type": "object",
        "patternProperties": {CUSTOM_FIELD_KEY: values},
        "additionalProperties": False,
    }
    assert schema["properties"]["customFields"]["additionalProperties"] is values  # the input is left alone
    assert with_key_rule({"type": "object"}, "customFields", CUSTOM_FIELD_KEY) == {"type": "object"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(NEARLY_VALID, ROWS), min_size=1, max_size=8))
def test_the_whole_batch_check_accepts_only_rows_the_exact_checks_accept(rows: list[Any]) -> None:
    """Accepted as a whole: every row passes the contract's schema and the key rule (so `_check_rows` may
    skip their own checks); every row accepted by the fast check: accepted as a whole."""
    validator = row_validator("ContactCreate")

    def exact_ok(row: Any) -> bool:
        return not list(validator._compiled.iter_errors(row)) and not custom_field_key_problem(row)

    if validator.fast_all_valid(rows):
        assert all(exact_ok(row) for row in rows), rows
    if all(validator.fast_is_valid(row) for row in rows):
        assert validator.fast_all_valid(rows)


def test_the_whole_batch_check_on_known_rows() -> None:
    validator = row_validator("ContactCreate")
    good = [{"email": f"a{i}@example.com", "customFields": {"n": i}} for i in range(1000)]
    assert validator.fast_all_valid(good)
    assert not validator.fast_all_valid([*good, {"email": "ada@example.com", "customFields": {"1k": 1}}])
    assert not validator.fast_all_valid([*good, {"email": "ada@example.com", "customFields": {"n": [1]}}])
    assert not validator.fast_all_valid([*good, {"email": "ada@example.com", "firstName": "A" * 101}])
    assert not validator.fast_all_valid([*good, None])
