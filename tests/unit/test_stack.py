"""The HTTP stack is the one list in `fluenzr_server/stack.py`: the server and the mock are built from it,
in its order, differing only in the slots they fill."""

from __future__ import annotations

from typing import Any

import pytest
from fluenzr_mock.server import build_mock_app

from fluenzr_server.app import build_app
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings

SERVER_STACK = [
    "ServerErrorMiddleware",
    "ResourcesMiddleware",
    "TrackingRoutes",
    "EdgeMiddleware",
    "ExceptionMiddleware",
    "DocsRouting",
    "ConcretePathMethods",
    "IndexedRouting",
    "SecurityMiddleware",
    "IdempotencyMiddleware",
    "OnceRequestValidation",
    "EdgeAwareResponseValidation",
    "LifespanMiddleware",
    "ContextMiddleware",
]


def _names(app: Any) -> list[str]:
    return [getattr(layer, "func", layer).__name__ for layer in app.middleware.middlewares]


def _settings(validate_responses: bool) -> Settings:
    return Settings(_env_file=None, database_url="sqlite:///unused.db", validate_responses=validate_responses)  # type: ignore[call-arg]


@pytest.mark.parametrize("validate_responses", [True, False])
def test_the_server_is_built_from_the_stack_in_its_order(validate_responses: bool) -> None:
    app = build_app(Resources.open(_settings(validate_responses)))
    expected = [n for n in SERVER_STACK if validate_responses or n != "EdgeAwareResponseValidation"]
    assert _names(app) == expected


@pytest.mark.parametrize("validate_responses", [True, False])
def test_the_mock_is_built_from_the_same_stack_with_its_own_edge(validate_responses: bool) -> None:
    app = build_mock_app(validate_responses=validate_responses)
    expected = [
        "MockEdgeMiddleware" if name == "EdgeMiddleware" else name
        for name in SERVER_STACK
        if name not in {"ResourcesMiddleware", "TrackingRoutes", "IdempotencyMiddleware"}
        and (validate_responses or name != "EdgeAwareResponseValidation")
    ]
    assert _names(app) == expected
