"""Connexion validators that report which field failed and why, in the envelope's `details`.

Connexion's own validators flatten jsonschema errors into one string (and dump whole schemas for
parameters); these keep every error, name each field, and turn undecodable bodies into 400s.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import AsyncGenerator, Callable, Collection, Iterable
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
import orjson
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, validators
from jsonschema import ValidationError as SchemaError
from starlette.types import Scope

from fluenzr_server.errors import ValidationFailed
from fluenzr_server.text_rules import (
    FORMAT_CHECKER,
    FORMAT_REASONS,
    custom_field_key_problem,
    ecma_pattern,
    pattern_reason,
)

# The validators of the contract's schemas: `pattern` with its ECMA-262 meaning, `format: uri` checked.
BodySchemaValidator = validators.extend(Draft4RequestValidator, {"pattern": ecma_pattern})
ParameterSchemaValidator = validators.extend(Draft4Validator, {"pattern": ecma_pattern})
# Query integers are ASCII digits (Python's int() also takes "1_0", "+1", " 1", "１" and "١").
_INTEGER = re.compile(r"-?[0-9]+")


def read_only_fields(spec: dict[str, Any]) -> frozenset[str]:
    """Names of properties the server sets (`readOnly` in any schema of the contract); a client sending
    one is told it is read-only, not unknown."""
    found: set[str] = set()
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = schemas.get(node["$ref"].rsplit("/", 1)[-1], {})
        return node

    def is_read_only(node: Any) -> bool:
        node = resolve(node)
        return isinstance(node, dict) and (
            bool(node.get("readOnly")) or any(is_read_only(part) for part in node.get("allOf", []))
        )

    def walk(node: Any) -> None:
        node = resolve(node)
        if not isinstance(node, dict):
            return
        for name, prop in node.get("properties", {}).items():
            if is_read_only(prop):
                found.add(name)
        for part in node.get("allOf", []):
            walk(part)

    for schema in schemas.values():
        walk(schema)
    return frozenset(found)


def _join(path: Iterable[Any]) -> str:
    return ".".join(str(part) for part in path)


def _field(prefix: Iterable[Any], name: str) -> str:
    joined = _join(prefix)
    return f"{joined}.{name}" if joined else name


def describe(error: SchemaError, read_only: Collection[str] = frozenset()) -> dict[str, str]:
    """One jsonschema error as {field: reason}; `read_only` names the fields the server sets."""
    value, schema, kind = error.instance, error.schema, error.validator
    where = _join(error.absolute_path)
    if kind == "required":
        present = value if isinstance(value, dict) else {}
        missing = [name for name in schema.get("required", []) if name not in present]
        return {_field(error.absolute_path, name): "is required" for name in missing}
    if kind == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = [name for name in value if name not in known] if isinstance(value, dict) else []
        return {
            _field(error.absolute_path, name): (
                "is read-only and set by the server" if name in read_only else "is not a known field"
            )
            for name in extra
        }
    if kind == "oneOf" and error.context:
        # Report why the alternative of the value's own type failed (a too-long string is "too long"),
        # not that no alternative matched; only a value of no listed type gets the oneOf reason.
        relevant = [sub for sub in error.context if sub.validator != "type"]
        if relevant:
            return describe(relevant[0])
    return {where or "body": _reason(kind, error.validator_value, schema, error.message)}


def _plural(count: Any, word: str, plural: str) -> str:
    return f"{count} {word if count == 1 else plural}"


def _reason(kind: str, expected: Any, schema: dict[str, Any], fallback: str) -> str:
    match kind:
        case "type":
            return f"must be of type {expected}" + (" or null" if schema.get("nullable") else "")
        case "maxLength":
            return f"must be at most {_plural(expected, 'character', 'characters')}"
        case "minLength":
            return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
        case "maximum":
            return f"must be at most {expected}"
        case "minimum":
            return f"must be at least {expected}"
        case "enum":
            return "must be one of: " + ", ".join(str(value) for value in expected)
        case "format":
            return FORMAT_REASONS.get(expected, f"must be a valid {expected}")
        case "pattern":
            return pattern_reason(expected)
        case "maxItems":
            return f"must have at most {_plural(expected, 'item', 'items')}"
        case "minItems":
            return f"must have at least {_plural(expected, 'item', 'items')}"
        case "uniqueItems":
            return "must not contain duplicates"
        case "maxProperties" | "minProperties" if schema.get("maxProperties") == 1:
            return "must name exactly one of: " + ", ".join(schema.get("properties", {}))
        case "maxProperties":
            return f"must have at most {_plural(expected, 'property', 'properties')}"
        case "minProperties":
            return f"must have at least {_plural(expected, 'property', 'properties')}"
        case "oneOf" if _is_custom_field_value(schema):
            return "must be a string, a number or a boolean"
        case _:
            return fallback[:200]


def _is_custom_field_value(schema: dict[str, Any]) -> bool:
    return {s.get("type") for s in schema.get("oneOf", [])} == {"string", "number", "boolean"}


def summary(details: dict[str, str]) -> str:
    """A human sentence for the first problem, e.g. 'email is required' (field names keep their case)."""
    if not details:
        return "Invalid request"
    field, reason = next(iter(details.items()))
    sentence = f"{field} {reason}"
    more = len(details) - 1
    return sentence + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def failed(
    errors: Iterable[SchemaError], location_prefix: str = "", *, read_only: Collection[str] = frozenset()
) -> ValidationFailed:
    details: dict[str, str] = {}
    for error in sorted(errors, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))):
        for field, reason in describe(error, read_only).items():
            details.setdefault(f"{location_prefix}{field}", reason)
    return ValidationFailed(summary(details), details)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def unstorable_text(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string no database can store (NUL, lone surrogate) as (field, reason), else None."""
    if _surely_storable(value):
        return None
    return _unstorable_text(value, path)


def _surely_storable(value: Any) -> bool:
    """True when orjson encodes `value` (it refuses lone surrogates) without any `\\u0000` in the output (it
    escapes NUL so): a one-pass check in C for the common case. False means "look closer": also for an
    escaped backslash before `u0000`, an integer wider than 64 bits or a non-string key."""
    try:
        return b"\\u0000" not in orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False


def _unstorable_text(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        if "\x00" in value:
            return path or "body", "must not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body", "must be valid Unicode (no lone surrogates)"
        return None
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        found = _unstorable_text(key, where) if isinstance(key, str) else None
        found = found or _unstorable_text(item, where)
        if found:
            return found
    return None


_ANNOTATIONS = frozenset({"description", "title", "example", "examples"})


def without_open_items(schema: Any) -> Any:
    """`schema` without the `items` keywords that accept anything (only annotations, as in
    `ContactBatchCreate.contacts`, whose rows are checked one by one later): the same verdicts, without
    jsonschema visiting each of 1,000 array items to find nothing to check.

    A resolved spec can hold cycles: Connexion's response validator sets `schema["components"]` on the
    shared, resolved response schemas (`OpenAPIOperation.with_definitions`), so once a response was
    validated, a schema can reach itself. Each object is copied once and its copy reused, cycles included."""
    return _without_open_items(schema, {})


def _without_open_items(schema: Any, copies: dict[int, Any]) -> Any:
    if not isinstance(schema, (dict, list)):
        return schema
    done = copies.get(id(schema))
    if done is not None:
        return done
    if isinstance(schema, list):
        items: list[Any] = []
        copies[id(schema)] = items
        items.extend(_without_open_items(item, copies) for item in schema)
        return items
    pruned: dict[str, Any] = {}
    copies[id(schema)] = pruned
    for key, value in schema.items():
        if not (key == "items" and isinstance(value, dict) and set(value) <= _ANNOTATIONS):
            pruned[key] = _without_open_items(value, copies)
    return pruned


# Connexion builds a body validator per request, from the operation's one schema object: prune it once.
# The schema is kept with its pruned copy, so its id() is never reused while it is a key here.
_PRUNED: dict[int, tuple[Any, Any]] = {}


def _pruned(schema: Any) -> Any:
    cached = _PRUNED.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _PRUNED[id(schema)] = (schema, without_open_items(schema))
    return cached[1]


def _formats(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("format"), str):
            found.add(schema["format"])
        for value in schema.values():
            _formats(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _formats(item, found)
    return found


class FastSchemaValidator:
    """A compiled (`jsonschema_rs`) yes/no for a body or parameter schema: about 1 µs where `jsonschema`
    takes tens.

    It says "valid" only when the server's validator (`BodySchemaValidator` with `FORMAT_CHECKER`) has
    nothing to report: the schema is `batch_rows.fast_schema`'s rewrite (OpenAPI's `nullable` as JSON
    Schema, the same verdicts), every `format` is judged by `FORMAT_CHECKER` itself, and the contract's
    patterns mean the same in Rust's regex crate as in ECMA-262 (`tests/unit/test_fast_bodies.py` checks
    both validators agree on each pattern, format and body schema). Anything it cannot judge is "not
    known valid", so the server's validator decides and names the errors.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        from fluenzr_server.batch_rows import fast_schema  # it imports this module

        formats: dict[str, Callable[..., bool]] = {
            name: functools.partial(_conforms, name) for name in _formats(schema, set())
        }
        try:
            self._compiled: Any = jsonschema_rs.Draft4Validator(
                fast_schema(schema), formats=formats, validate_formats=True
            )
        except (ValueError, TypeError):  # a schema it cannot compile: always ask the server's validator
            self._compiled = None

    def is_valid(self, body: Any) -> bool:
        if self._compiled is None:
            return False
        try:
            return bool(self._compiled.is_valid(body))
        except (ValueError, OverflowError, TypeError):  # e.g. an integer wider than 64 bits
            return False


def _conforms(format_name: str, value: Any) -> bool:
    return bool(FORMAT_CHECKER.conforms(value, format_name))


class EnvelopeJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Parses bodies strictly (UTF-8, no NaN/Infinity) and reports every schema error by field.

    `read_only` is set per app by `body_validator()` (the contract's server-set fields)."""

    read_only: frozenset[str] = frozenset()

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                "Request body is not valid UTF-8", {"body": "must be UTF-8 encoded JSON"}
            ) from exc
        try:
            body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except (ValueError, RecursionError) as exc:
            reason = str(exc)[:200] if not isinstance(exc, RecursionError) else "is nested too deeply"
            raise ValidationFailed("Request body is not valid JSON", {"body": reason}) from exc
        problem = unstorable_text(body)
        if problem:
            raise ValidationFailed(summary({problem[0]: problem[1]}), {problem[0]: problem[1]})
        return body

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connexion's own property would build one on every access; this is one per operation.
        self._compiled = BodySchemaValidator(_pruned(self._schema), format_checker=FORMAT_CHECKER)
        self._fast = FastSchemaValidator(self._schema)

    async def wrap_receive(self, receive: Any, *, scope: Scope) -> Any:
        # Connexion's message for a missing body has no details; the edge made Content-Length exact.
        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if self._required and not int(length or b"0"):
            raise ValidationFailed("Request body is required", {"body": "is required"})
        return await super().wrap_receive(receive, scope=scope)

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            raise ValidationFailed("Request body is required", {"body": "is required"})
        if not self._fast.is_valid(body):
            # Only a body the fast validator refuses is validated again, to name its errors.
            errors = list(self._compiled.iter_errors(body))
            if errors:
                raise failed(errors, read_only=self.read_only)
        keys = custom_field_key_problem(body)
        if keys:
            raise ValidationFailed(summary(keys), keys)
        return None


def body_validator(read_only: frozenset[str]) -> type[EnvelopeJSONBodyValidator]:
    """The body validator class for one app, naming `read_only` fields as such."""
    return type("EnvelopeJSONBodyValidator", (EnvelopeJSONBodyValidator,), {"read_only": read_only})


class EnvelopeParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Reports unknown and invalid query/path/header parameters by name, without dumping schemas."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._compiled = {
            (location, param["name"]): ParameterSchemaValidator(
                param.get("schema", param), format_checker=FORMAT_CHECKER
            )
            for location in ("query", "path", "header")
            for param in self.parameters.get(location, [])
        }
        self._fast = {
            (location, param["name"]): FastSchemaValidator(param.get("schema", param))
            for location in ("query", "path", "header")
            for param in self.parameters.get(location, [])
        }

    def validate_request(self, request: Any) -> None:
        details: dict[str, str] = {}
        query_string = request.scope.get("query_string", b"")
        if query_string:  # without one there is no unknown, repeated or misspelt query parameter
            if self.strict_validation:
                for name in sorted(self.validate_query_parameter_list(request, self.security_query_params)):
                    details[name] = "is not a known query parameter"
            details.update(self._raw_query_problems(query_string))
        for location in ("query", "path", "header"):
            parameters = self.parameters.get(location)
            if not parameters:
                continue  # the request's query or path is parsed only when the operation reads it
            source = (
                request.query_params
                if location == "query"
                else request.path_params
                if location == "path"
                else request.headers
            )
            for param in parameters:
                name = param["name"]
                value = source.get(name if location != "path" else name.replace("-", "_"))
                if name in details:
                    continue
                if value is None:
                    if param.get("required"):
                        details[name] = "is required"
                    continue
                problem = unstorable_text(value, name)
                if problem:
                    details[name] = problem[1]
                    continue
                if self._fast[(location, name)].is_valid(value):
                    continue
                errors = list(self._compiled[(location, name)].iter_errors(value))
                if errors:
                    details[name] = describe(errors[0]).get("body", errors[0].message[:200])
        if details:
            raise ValidationFailed(summary(details), details)

    def _raw_query_problems(self, query_string: bytes) -> dict[str, str]:
        """What the parsed query hides: a scalar given twice, an integer that only Python reads as one."""
        details: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            values.setdefault(name, []).append(value)
        for param in self.parameters.get("query", []):
            name = param["name"]
            given = values.get(name, [])
            schema = param.get("schema", param)
            if schema.get("type") == "array" or not given:
                continue
            if len(given) > 1:
                details[name] = "must be given at most once"
            elif schema.get("type") == "integer" and not _INTEGER.fullmatch(given[0]):
                details[name] = "must be an integer written with the digits 0-9"
        return details
