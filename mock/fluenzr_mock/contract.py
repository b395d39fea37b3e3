"""What the mock needs from the contract: operations with resolved responses, examples and header values.

Everything here is derived from the spec once, at start-up; request handling only looks things up.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fluenzr_mock.generate import generate
from fluenzr_server.spec import HTTP_METHODS, AllowedMethods, base_path

JsonObject = dict[str, Any]


def resolve_refs(spec: JsonObject) -> JsonObject:
    """A copy of the spec with every local `$ref` replaced by its target (shared, treat as read-only).

    A reference back into one of its own ancestors (a recursive schema) is left as it is.
    """
    cache: dict[str, Any] = {}

    def target(ref: str) -> Any:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def walk(node: Any, active: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                if ref in active:
                    return node
                if ref not in cache:
                    cache[ref] = walk(target(ref), active | {ref})
                return cache[ref]
            return {key: walk(value, active) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, active) for item in node]
        return node

    resolved: JsonObject = walk(spec, frozenset())
    return resolved


@dataclass(frozen=True)
class Response:
    status: str
    schema: JsonObject | None
    examples: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    path_params: tuple[str, ...]
    responses: dict[str, Response] = field(repr=False)
    # The query parameters' defaults, as Connexion hands them to a handler when a request omits them.
    query_defaults: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def statuses(self) -> list[str]:
        return sorted(self.responses, key=_status_order)

    @cached_property
    def default_status(self) -> str:
        """The lowest documented 2xx status (what a client gets when it asks for nothing special)."""
        successes = [status for status in self.statuses if status.startswith("2")]
        return successes[0] if successes else self.statuses[0]

    def example_names(self) -> dict[str, list[str]]:
        return {status: list(self.responses[status].examples) for status in self.statuses}


def _status_order(status: str) -> tuple[int, str]:
    return (int(status), status) if status.isdigit() else (1000, status)


def header_value(definition: JsonObject) -> str:
    """A header's value from its example, else its schema's example/default, else one generated."""
    if "example" in definition:
        return _text(definition["example"])
    examples = definition.get("examples") or {}
    for example in examples.values():
        if isinstance(example, dict) and "value" in example:
            return _text(example["value"])
    schema = definition.get("schema") or {}
    for key in ("example", "default"):
        if key in schema:
            return _text(schema[key])
    return _text(generate(schema, random.Random(0)))  # noqa: S311 - mock data, not secrets


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _response(status: str, definition: JsonObject) -> Response:
    media = (definition.get("content") or {}).get("application/json") or {}
    examples: dict[str, Any] = {
        name: example["value"]
        for name, example in (media.get("examples") or {}).items()
        if isinstance(example, dict) and "value" in example
    }
    if not examples and "example" in media:
        examples["example"] = media["example"]
    # Only the headers a response always has: an optional one (Idempotent-Replayed) describes a case the
    # mock does not act out.
    headers = {
        name: header_value(spec)
        for name, spec in (definition.get("headers") or {}).items()
        if spec.get("required", False)
    }
    return Response(status=status, schema=media.get("schema"), examples=examples, headers=headers)


class Contract:
    """The resolved contract, indexed by operationId and by concrete request path."""

    def __init__(self, spec: JsonObject) -> None:
        resolved = resolve_refs(spec)
        self.spec = resolved
        self.base_path = base_path(spec)
        self.allowed = AllowedMethods(spec)
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[re.Pattern[str], dict[str, Operation]]] = []
        for template, item in resolved["paths"].items():
            shared = item.get("parameters", [])
            by_method: dict[str, Operation] = {}
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                parameters = [*shared, *op.get("parameters", [])]
                operation = Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    path=template,
                    path_params=tuple(p["name"] for p in parameters if p.get("in") == "path"),
                    responses={
                        str(status): _response(str(status), response)
                        for status, response in op.get("responses", {}).items()
                    },
                    query_defaults={
                        p["name"]: p["schema"]["default"]
                        for p in parameters
                        if p.get("in") == "query" and "default" in p.get("schema", {})
                    },
                )
                self.operations[operation.operation_id] = operation
                by_method[operation.method] = operation
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.base_path + template))
            self._routes.append((re.compile(f"^{pattern}/?$"), by_method))
        self.common_headers = self._common_headers()

    def _common_headers(self) -> dict[str, str]:
        """Headers that every documented response carries: what a response outside the contract gets."""
        responses = [r for op in self.operations.values() for r in op.responses.values()]
        if not responses:
            return {}
        names = set.intersection(*(set(r.headers) for r in responses))
        return {name: value for name, value in responses[0].headers.items() if name in names}

    def operation_for(self, method: str, path: str) -> Operation | None:
        for pattern, by_method in self._routes:
            if pattern.match(path):
                return by_method.get(method.upper())
        return None

    def allowed_methods(self, path: str) -> list[str]:
        methods: list[str] = self.allowed.for_path(path)
        return methods

    def response_headers(self, method: str, path: str, status: int) -> dict[str, str]:
        """The header examples the contract documents for this response, or the common ones."""
        operation = self.operation_for(method, path)
        if operation is not None:
            response = operation.responses.get(str(status)) or operation.responses.get("default")
            if response is not None:
                return response.headers
        headers = dict(self.common_headers)
        if status == 429:
            headers.update(self._headers_of_status("429"))
        return headers

    def _headers_of_status(self, status: str) -> dict[str, str]:
        for operation in self.operations.values():
            if status in operation.responses:
                return operation.responses[status].headers
        return {}
