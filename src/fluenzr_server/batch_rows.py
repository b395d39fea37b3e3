"""One row of a batch checked exactly as its single-object operation checks a request body.

A batch operation's body schema accepts any row, so that one bad row is reported in its own result
instead of rejecting the whole batch. Each row is then validated here against the contract's schema of
the single-object body (`ContactCreate` for `createContact`), with the same validator class, format
checker and error wording (`validation.failed`) as the server's body validator, so a row's error has the
same `code`, `message` and `details` that the single-object operation would answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connexion.json_schema import Draft4RequestValidator, resolve_refs
from jsonschema import Draft4Validator

from fluenzr_server.errors import ValidationFailed
from fluenzr_server.spec import load_spec
from fluenzr_server.validation import failed, summary, unstorable_text


class RowValidator:
    """Checks rows against one schema of `components.schemas` of the contract."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._compiled = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def check(self, row: Any) -> ValidationFailed | None:
        """The error the single-object operation would raise for `row` as its body, or None if valid."""
        if row is None:
            return ValidationFailed("Request body is required", {"body": "is required"})
        problem = unstorable_text(row)
        if problem:
            return ValidationFailed(summary({problem[0]: problem[1]}), {problem[0]: problem[1]})
        errors = list(self._compiled.iter_errors(row))
        return failed(errors) if errors else None


@lru_cache(maxsize=8)
def row_validator(schema_name: str) -> RowValidator:
    """The validator of the contract's `components.schemas[schema_name]` (compiled once per process)."""
    schemas = resolve_refs(load_spec())["components"]["schemas"]
    return RowValidator(schemas[schema_name])
