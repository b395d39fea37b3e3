"""The fast body check (`validation.FastSchemaValidator`, jsonschema_rs) never calls a body valid that the
server's validator (`jsonschema` with the contract's ECMA patterns and formats) refuses, for every request
body of the contract; and it does call the contract's own examples valid (else every request would pay
for both validators)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest
from connexion.json_schema import resolve_refs
from hypothesis import HealthCheck, given, settings
from hypothesis import example as pinned
from hypothesis import strategies as st

from fluenzr_server.spec import load_spec
from fluenzr_server.text_rules import FORMAT_CHECKER
from fluenzr_server.validation import BodySchemaValidator, FastSchemaValidator, ParameterSchemaValidator

SPEC = load_spec()
RESOLVED = resolve_refs(SPEC)


def _bodies() -> list[tuple[str, dict[str, Any], list[Any]]]:
    found = []
    for methods in RESOLVED["paths"].values():
        for operation in methods.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            content = operation["requestBody"]["content"]["application/json"]
            examples = [example["value"] for example in content.get("examples", {}).values()]
            found.append((operation["operationId"], content["schema"], examples))
    return found


def _walk(node: Any, key: str, out: list[Any]) -> list[Any]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                out.append(value)
            _walk(value, key, out)
    elif isinstance(node, list):
        for item in node:
            _walk(item, key, out)
    return out


BODIES = _bodies()
PATTERNS = sorted({p for p in _walk(RESOLVED, "pattern", []) if isinstance(p, str)})
# Strings the contract's examples hold: many match one of its patterns, so their mutations probe each
# pattern's edges, not just random text that fails at its first character.
EXAMPLE_TEXTS = sorted(
    {text for text in _walk([body[2] for body in BODIES], "value", []) if isinstance(text, str)}
    | {leaf for body in BODIES for leaf in _walk(body[2], "", []) if isinstance(leaf, str)}
)


def _strings(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, str):
        out.add(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            _strings(value, out)
    elif isinstance(node, list):
        for item in node:
            _strings(item, out)
    return out


SEEDS = sorted(_strings([body[2] for body in BODIES], set()) | {"ada@example.com", "Europe/Madrid", "x"})
EDGE_CHARS = [
    "\n",
    "\r",
    "\x00",
    "\x1f",
    " ",
    "\x7f",
    "\x9f",
    "\xa0",
    "\u2028",
    "\u2029",
    "\ufeff",
    "😀",
    "é",
]
EDGE_CHARS += ["@", ".", "-", "_", "/", ":", "%", "%zz", "[", "]", "$", "^", "\\", "A", "z", "0"]


@st.composite
def near_strings(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw(st.sampled_from(EDGE_CHARS) | st.characters())
        if edit == "insert" or not text:
            text = text[:at] + char + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    return text


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 100, 1000, 1001, 2**63, 1.5, -0.0, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
    near_strings(),
    st.text(max_size=5),
)
VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(near_strings(), inner, max_size=3)
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, examples: list[Any]) -> Any:
    body = copy.deepcopy(draw(st.sampled_from(examples)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            body = draw(VALUES) if draw(st.integers(0, 9)) == 0 else body
            continue
        parent = body
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(near_strings())] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
    return body


def _slow_valid(schema: dict[str, Any], body: Any) -> bool:
    return not list(BodySchemaValidator(schema, format_checker=FORMAT_CHECKER).iter_errors(body))


def test_the_contract_has_request_bodies_and_patterns_to_check() -> None:
    assert len(BODIES) >= 10 and all(examples for _, _, examples in BODIES)
    assert len(PATTERNS) >= 8


@pytest.mark.parametrize(("operation_id", "schema", "examples"), BODIES, ids=[b[0] for b in BODIES])
def test_the_contracts_examples_are_fast_valid(
    operation_id: str, schema: dict[str, Any], examples: list[Any]
) -> None:
    fast = FastSchemaValidator(schema)
    for example in examples:
        if _slow_valid(schema, example):
            assert fast.is_valid(example), (operation_id, example)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_fast_valid_body_is_valid(data: st.DataObject) -> None:
    operation_id, schema, examples = data.draw(st.sampled_from(BODIES))
    body = data.draw(mutated(examples))
    if FastSchemaValidator(schema).is_valid(body):
        assert _slow_valid(schema, body), (operation_id, body)


_FAST_PATTERNS = {pattern: jsonschema_rs.Draft4Validator({"pattern": pattern}) for pattern in PATTERNS}


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(PATTERNS), near_strings() | st.text())
@pinned(PATTERNS[0], "\ud800")
def test_each_pattern_means_the_same_in_both(pattern: str, text: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        # A lone surrogate (JSON's "\ud800" escape) cannot reach Rust: jsonschema_rs raises, and the
        # server's FastSchemaValidator answers "not known valid", so the server's validator decides.
        assert FastSchemaValidator({"pattern": pattern}).is_valid(text) is False
        return
    slow = ParameterSchemaValidator({"pattern": pattern}).is_valid(text)
    assert _FAST_PATTERNS[pattern].is_valid(text) is slow, (pattern, text)


def _parameters() -> list[tuple[str, dict[str, Any]]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for methods in RESOLVED["paths"].values():
        shared = methods.get("parameters", [])
        for operation in methods.values():
            if isinstance(operation, dict):
                for param in [*shared, *operation.get("parameters", [])]:
                    found[(param["in"], param["name"])] = param.get("schema", param)
    return [(f"{where}:{name}", schema) for (where, name), schema in sorted(found.items())]


PARAMETERS = _parameters()


def test_the_contract_has_parameters_to_check() -> None:
    assert len(PARAMETERS) >= 10


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PARAMETERS), LEAVES | st.lists(LEAVES, max_size=3))
def test_a_fast_valid_parameter_is_valid(parameter: tuple[str, dict[str, Any]], value: Any) -> None:
    name, schema = parameter
    if FastSchemaValidator(schema).is_valid(value):
        assert ParameterSchemaValidator(schema, format_checker=FORMAT_CHECKER).is_valid(value), (name, value)
