"""Helpers for the mock tests: valid requests built from the contract, and OpenAPI → JSON Schema."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fluenzr_mock.contract import Contract, Operation
from jsonschema import Draft4Validator

JSON = "application/json"
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def example_request(contract: Contract, operation: Operation) -> dict[str, Any]:
    """Keyword arguments for `client.request` that make a valid call (parameter and body examples)."""
    item = contract.spec["paths"][operation.path]
    op = item[operation.method.lower()]
    parameters = {p["name"]: p for p in [*item.get("parameters", []), *op.get("parameters", [])]}
    url = re.sub(r"\{([^}]+)\}", lambda m: str(parameters[m.group(1)]["example"]), operation.path)
    kwargs: dict[str, Any] = {"method": operation.method, "url": url}
    if "requestBody" in op:
        examples = op["requestBody"]["content"][JSON]["examples"]
        kwargs["json"] = next(iter(examples.values()))["value"]
    return kwargs


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: `nullable` becomes a null type (and a null enum)."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = Draft4Validator(json_schema(schema), format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def envelope_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The `details` of an error envelope with this status and code."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].split(";")[0] == JSON
    body = response.json()
    assert body["success"] is False, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    details: dict[str, Any] = body["error"]["details"]
    return details
