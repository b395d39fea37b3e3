"""The contract itself: the seed's endpoint table, examples for every response, and lint-level facts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from prance import ResolvingParser

from handlers.resolver import resolve_handler

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "fluenzr-v1.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# The endpoint tables of the public API page (shared/seed/api-rest.es.md), `:id` spelled as the contract does.
SEED_ENDPOINTS = [
    ("GET", "/contacts"),
    ("GET", "/contacts/{contactId}"),
    ("POST", "/contacts"),
    ("PUT", "/contacts/{contactId}"),
    ("DELETE", "/contacts/{contactId}"),
    ("GET", "/groups"),
    ("GET", "/groups/{groupId}"),
    ("POST", "/groups"),
    ("PUT", "/groups/{groupId}"),
    ("DELETE", "/groups/{groupId}"),
    ("POST", "/groups/{groupId}/contacts"),
    ("GET", "/campaigns"),
    ("GET", "/campaigns/{campaignId}"),
    ("POST", "/campaigns"),
    ("PUT", "/campaigns/{campaignId}"),
    ("POST", "/campaigns/{campaignId}/start"),
    ("POST", "/campaigns/{campaignId}/pause"),
    ("POST", "/campaigns/{campaignId}/contacts"),
    ("GET", "/campaigns/{campaignId}/stats"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("DELETE", "/webhooks/{webhookId}"),
]


@pytest.fixture(scope="module")
def raw_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


@pytest.fixture(scope="module")
def resolved_spec() -> dict[str, Any]:
    parser = ResolvingParser(str(SPEC_PATH), backend="openapi-spec-validator", strict=True)
    return parser.specification


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def test_seed_has_22_endpoints() -> None:
    assert len(SEED_ENDPOINTS) == 22
    assert len(set(SEED_ENDPOINTS)) == 22


@pytest.mark.parametrize(("method", "path"), SEED_ENDPOINTS)
def test_contract_has_every_seed_endpoint(raw_spec: dict[str, Any], method: str, path: str) -> None:
    assert path in raw_spec["paths"], f"{path} missing from the contract"
    assert method.lower() in raw_spec["paths"][path], f"{method} {path} missing from the contract"


def test_contract_is_openapi_303_and_valid(raw_spec: dict[str, Any]) -> None:
    assert raw_spec["openapi"] == "3.0.3"
    validate(raw_spec)


def test_prance_resolves_every_reference(resolved_spec: dict[str, Any]) -> None:
    assert "$ref" not in repr(resolved_spec["paths"])


def test_every_response_of_every_operation_has_a_named_example(resolved_spec: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(resolved_spec):
        for status, response in op["responses"].items():
            if status == "204" and "content" not in response:
                continue  # No Content: there is no body to give an example of
            media = response.get("content", {}).get("application/json")
            if not media or not media.get("examples"):
                missing.append(f"{method} {path} {status}")
    assert not missing, f"responses without named examples: {missing}"


def test_every_request_body_has_a_named_example(resolved_spec: dict[str, Any]) -> None:
    missing = [
        f"{method} {path}"
        for method, path, op in operations(resolved_spec)
        if "requestBody" in op and not op["requestBody"]["content"]["application/json"].get("examples")
    ]
    assert not missing, f"request bodies without named examples: {missing}"


def test_only_the_root_and_health_are_public(raw_spec: dict[str, Any]) -> None:
    assert raw_spec["security"] == [{"bearerAuth": []}]
    public = [f"{m} {p}" for m, p, op in operations(raw_spec) if op.get("security") == []]
    assert public == ["GET /", "GET /health"]


def test_every_response_documents_rate_limit_headers(resolved_spec: dict[str, Any]) -> None:
    wanted = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    lacking = [
        f"{method} {path} {status}"
        for method, path, op in operations(resolved_spec)
        for status, response in op["responses"].items()
        if not wanted <= set(response.get("headers", {}))
    ]
    assert not lacking, lacking
    for method, path, op in operations(resolved_spec):
        assert "Retry-After" in op["responses"]["429"]["headers"], f"{method} {path}"


def test_documented_statuses(raw_spec: dict[str, Any]) -> None:
    for method, path, op in operations(raw_spec):
        statuses = set(op["responses"])
        label = f"{method} {path}"
        assert {"400", "429", "500"} <= statuses, label
        assert any(s in statuses for s in ("200", "201", "202", "204")), label
        if op.get("security") != []:
            assert {"401", "403"} <= statuses, label
        if "{" in path:
            assert "404" in statuses, label
        if "requestBody" in op:
            assert {"413", "415"} <= statuses, label


def test_operation_ids_are_public_names_resolving_to_one_tags_handler(raw_spec: dict[str, Any]) -> None:
    seen = set()
    for method, path, op in operations(raw_spec):
        operation_id = op["operationId"]
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation_id), f"{method} {path}: {operation_id}"
        assert len(op["tags"]) == 1, f"{method} {path}"
        assert callable(resolve_handler(op["tags"][0], operation_id)), f"{method} {path}"
        assert operation_id not in seen
        seen.add(operation_id)


def test_list_operations_take_paging_and_sorting(resolved_spec: dict[str, Any]) -> None:
    lists = [
        (m, p, op)
        for m, p, op in operations(resolved_spec)
        if m == "GET" and p not in ("/", "/health") and "{" not in p
    ]
    assert len(lists) == 6
    for _, path, op in lists:
        params = {p["name"]: p["schema"] for p in op["parameters"]}
        assert params["page"]["minimum"] == 1 and params["page"]["default"] == 1, path
        assert params["perPage"]["maximum"] == 100 and params["perPage"]["default"] == 20, path
        assert params["sort"]["default"] == "createdAt", path
        assert params["order"]["enum"] == ["asc", "desc"] and params["order"]["default"] == "desc", path


def test_request_bodies_are_closed_and_bounded(resolved_spec: dict[str, Any]) -> None:
    def walk(schema: dict[str, Any], where: str) -> None:
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("additionalProperties") is False, where
        if schema.get("type") == "string" and "enum" not in schema:
            assert "maxLength" in schema, where
        if schema.get("type") == "array":
            assert "maxItems" in schema, where
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]")

    for method, path, op in operations(resolved_spec):
        if "requestBody" in op:
            walk(op["requestBody"]["content"]["application/json"]["schema"], f"{method} {path}")


def test_create_responses_link_onwards(raw_spec: dict[str, Any]) -> None:
    for method, path, op in operations(raw_spec):
        if method == "POST" and "201" in op["responses"]:
            assert op["responses"]["201"].get("links"), f"{method} {path} has no links"


def test_read_only_and_write_only_markers(resolved_spec: dict[str, Any]) -> None:
    schemas = resolved_spec["components"]["schemas"]
    for name in ("Contact", "Group", "Campaign", "EmailAccount", "Webhook"):
        assert schemas[name]["properties"]["id"]["readOnly"] is True, name
        assert schemas[name]["properties"]["createdAt"]["readOnly"] is True, name
    assert schemas["Campaign"]["properties"]["status"]["readOnly"] is True
    assert schemas["SmtpSettingsInput"]["properties"]["password"]["writeOnly"] is True
    assert "password" not in schemas["SmtpSettings"]["properties"]
    assert "secret" not in schemas["Webhook"]["properties"]
