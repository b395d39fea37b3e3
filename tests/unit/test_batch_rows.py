"""Batch rows are validated exactly as createContact validates a body; the quick pre-check agrees with it."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluenzr_server.batch_rows import quick, row_validator

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
def test_the_quick_check_accepts_exactly_what_the_contract_schema_accepts(row: Any) -> None:
    validator = row_validator("ContactCreate")
    exact_ok = not list(validator._compiled.iter_errors(row))
    assert validator._quick.is_valid(row) is exact_ok, row


def test_quick_merges_a_oneof_of_distinct_primitive_types_only() -> None:
    scalar = {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "number"}, {"type": "boolean"}]}
    assert quick(scalar) == {"type": ["string", "number", "boolean"], "maxLength": 3}
    overlapping = {"oneOf": [{"type": "number"}, {"type": "integer"}]}  # 1 matches both: not rewritten
    assert quick(overlapping) == overlapping
    foreign_keyword = {"oneOf": [{"type": "string", "minimum": 1}, {"type": "number"}]}
    assert quick(foreign_keyword) == foreign_keyword
    nested = {"properties": {"x": {"additionalProperties": scalar}}}
    assert quick(nested)["properties"]["x"]["additionalProperties"]["type"] == ["string", "number", "boolean"]
