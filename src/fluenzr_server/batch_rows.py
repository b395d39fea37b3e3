"""One row of a batch checked exactly as its single-object operation checks a request body.

A batch operation's body schema accepts any row, so that one bad row is reported in its own result
instead of rejecting the whole batch. Each row is then validated here against the contract's schema of
the single-object body (`ContactCreate` for `createContact`), with the same validator class, format
checker and error wording (`validation.failed`) as the server's body validator, so a row's error has the
same `code`, `message` and `details` that the single-object operation would answer.

Most rows are valid, so each row is first asked only "valid or not" of a compiled Rust validator
(`jsonschema_rs`, about 1 µs a row against 50 µs for `jsonschema`); only a row it refuses is validated
again by the server's own validator, which names the errors. The fast schema says the same as the
server's (`fast_schema`), and `tests/unit/test_batch_rows.py` checks both agree on every rule of the
schema; should they ever disagree on a row, the server's own validator decides.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema_rs
from connexion.json_schema import resolve_refs

from fluenzr_server.errors import ValidationFailed
from fluenzr_server.spec import load_spec
from fluenzr_server.text_rules import CUSTOM_FIELD_KEY, FORMAT_CHECKER, custom_field_key_problem
from fluenzr_server.validation import BodySchemaValidator, failed, read_only_fields, summary, unstorable_text

# Keywords that constrain only values of one primitive type (Draft 4); others pass any other type.
_TYPE_KEYWORDS = {
    "string": {"maxLength", "minLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "boolean": set(),
}


def _distinct_primitives(options: Any) -> bool:
    if not isinstance(options, list) or not options:
        return False
    types = [option.get("type") if isinstance(option, dict) else None for option in options]
    return len(set(types)) == len(types) and all(
        kind in _TYPE_KEYWORDS and set(option) - {"type"} <= _TYPE_KEYWORDS[kind]
        for kind, option in zip(types, options, strict=True)
    )


def quick(schema: Any) -> Any:
    """`schema` with each `oneOf` of distinct primitive types (`string`, `number`, `boolean`, each with only
    its own type's keywords) replaced by one type list carrying those keywords.

    Equivalent under Draft 4: the types are disjoint (a boolean is not a number), so exactly one option
    matches iff the value has one of the types and passes that type's keywords, which is what the type
    list with the merged keywords checks, since each keyword ignores values of the other types. jsonschema
    evaluates it once instead of once per option.
    """
    if isinstance(schema, list):
        return [quick(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: quick(value) for key, value in schema.items()}
    if _distinct_primitives(out.get("oneOf")) and set(out) <= {"oneOf", "description"}:
        options = out.pop("oneOf")
        out["type"] = [option["type"] for option in options]
        for option in options:
            out.update({key: value for key, value in option.items() if key != "type"})
    return out


def nullable_as_type(schema: Any) -> Any:
    """`schema` with OpenAPI's `nullable: true` spelled in plain JSON Schema: `null` added to `type`.

    Connexion's request validator lets `None` through the `type` and `enum` keywords of a nullable schema
    (`connexion.json_schema.allow_nullable`); every other keyword ignores `None` anyway, so adding
    `"null"` to the type list (and `None` to an `enum`) accepts exactly the same values.
    """
    if isinstance(schema, list):
        return [nullable_as_type(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: nullable_as_type(value) for key, value in schema.items()}
    if out.pop("nullable", False) is True:
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def fast_schema(schema: dict[str, Any]) -> Any:
    """The schema `jsonschema_rs` is given: `quick` (one type list for primitive `oneOf`s) and
    `nullable_as_type` applied; the contract's `pattern`s already mean the same in Rust's regex crate as in
    ECMA-262 (`$` is the end of the input in both)."""
    return nullable_as_type(quick(schema))


def with_key_rule(schema: dict[str, Any], field: str, pattern: str) -> dict[str, Any]:
    """`schema` whose object property `field` (a map like `CustomFields`: `additionalProperties` only) also
    requires each key to match `pattern`, as `text_rules.custom_field_key_problem` does: the same value
    schema under `patternProperties`, and `additionalProperties: false`.

    OpenAPI 3.0 has no `propertyNames`, so the contract states the key rule in prose and the server checks it
    after the schema; written this way (Draft 4), the fast check answers for both at once. The pattern is
    ASCII-only with `^…$`, which means the same in Rust's regex crate, ECMA-262 and `text_rules.compiled`.
    """
    node = schema.get("properties", {}).get(field)
    if not isinstance(node, dict) or {"properties", "patternProperties"} & set(node):
        return schema
    if not isinstance(node.get("additionalProperties"), dict):
        return schema
    keyed = {
        **node,
        "patternProperties": {pattern: node["additionalProperties"]},
        "additionalProperties": False,
    }
    return {**schema, "properties": {**schema["properties"], field: keyed}}


def _email_format(value: Any) -> bool:
    # What `jsonschema`'s Draft 4 format checker (`FORMAT_CHECKER`) asks of `format: email`.
    return not isinstance(value, str) or "@" in value


class RowValidator:
    """Checks rows against one schema of `components.schemas` of the contract."""

    def __init__(self, schema: dict[str, Any], *, read_only: frozenset[str] = frozenset()) -> None:
        self.read_only = read_only
        self._compiled = BodySchemaValidator(schema, format_checker=FORMAT_CHECKER)
        fast = fast_schema(with_key_rule(schema, "customFields", CUSTOM_FIELD_KEY))
        formats = {"email": _email_format}
        self._fast = jsonschema_rs.Draft4Validator(fast, formats=formats, validate_formats=True)
        every = {"type": "array", "items": fast}
        self._fast_all = jsonschema_rs.Draft4Validator(every, formats=formats, validate_formats=True)

    def fast_is_valid(self, row: Any) -> bool:
        """`jsonschema_rs`'s answer for `row` against the schema and the `customFields` key rule; False (ask
        the server's validator) when it cannot tell, e.g. for an integer wider than 64 bits."""
        try:
            return bool(self._fast.is_valid(row))
        except (ValueError, OverflowError, TypeError):
            return False

    def fast_all_valid(self, rows: Any) -> bool:
        """`fast_is_valid` of every row of the list `rows`, in one call (a batch is mostly valid rows)."""
        try:
            return bool(self._fast_all.is_valid(rows))
        except (ValueError, OverflowError, TypeError):
            return False

    def check(self, row: Any, *, storable: bool = False) -> ValidationFailed | None:
        """The error the single-object operation would raise for `row` as its body, or None if valid.
        `storable`: the caller has already found no unstorable text in `row` (`unstorable_text` passed over
        the whole batch at once)."""
        if row is None:
            return ValidationFailed("Request body is required", {"body": "is required"})
        problem = None if storable else unstorable_text(row)
        if problem:
            return ValidationFailed(summary({problem[0]: problem[1]}), {problem[0]: problem[1]})
        # The steps of `validation.EnvelopeJSONBodyValidator._validate`, in its order: the schema, then the
        # key rule (a row the fast check accepts passes both).
        if self.fast_is_valid(row):
            return None
        errors = list(self._compiled.iter_errors(row))
        if errors:
            return failed(errors, read_only=self.read_only)
        keys = custom_field_key_problem(row)
        if keys:
            return ValidationFailed(summary(keys), keys)
        return None


@lru_cache(maxsize=8)
def row_validator(schema_name: str) -> RowValidator:
    """The validator of the contract's `components.schemas[schema_name]` (compiled once per process)."""
    spec = load_spec()
    schemas = resolve_refs(load_spec())["components"]["schemas"]
    return RowValidator(schemas[schema_name], read_only=read_only_fields(spec))
