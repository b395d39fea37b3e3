"""`fluenzr-mock`: the real Connexion stack (routing, security, validators, error envelopes) on a
copy of the contract, with every operation resolved to one handler that answers from the examples.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from connexion import AsyncApp, request
from connexion.resolver import Resolution, Resolver
from starlette.responses import Response as StarletteResponse

from fluenzr_mock import DEFAULT_PORT
from fluenzr_mock.checks import check_body, check_path
from fluenzr_mock.contract import Contract, Operation
from fluenzr_mock.edge import CorsPolicy, MockEdgeMiddleware
from fluenzr_mock.implied import ImpliedAnswers
from fluenzr_mock.prefer import parse_prefer
from fluenzr_mock.responder import Responder
from fluenzr_server.auth import SECURITY_MAP
from fluenzr_server.concrete_paths import ConcretePathMethods
from fluenzr_server.connexion_once import OnceAsyncApp
from fluenzr_server.failures import error_handlers
from fluenzr_server.spec import load_spec
from fluenzr_server.stack import middlewares, validator_map

MAX_BODY_BYTES = 1024 * 1024
MOCK_ACCOUNT = "org_mock"
BEARER_INFO_FUNC = f"{__name__}.mock_bearer_info"

Handler = Callable[..., Coroutine[Any, Any, StarletteResponse]]


async def mock_bearer_info(token: str) -> dict[str, object] | None:
    """Any non-empty Bearer token is a key of the one mock account (Connexion 401s a missing header)."""
    return {"sub": MOCK_ACCOUNT} if token.strip() else None


def mock_spec(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the contract whose security function accepts any token instead of querying the database."""
    copied = load_spec() if spec is None else copy.deepcopy(spec)
    for scheme in copied.get("components", {}).get("securitySchemes", {}).values():
        if scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
            scheme["x-bearerInfoFunc"] = BEARER_INFO_FUNC
    return copied


def make_handler(operation: Operation, responder: Responder, implied: ImpliedAnswers) -> Handler:
    async def mock_handler(**kwargs: Any) -> StarletteResponse:
        check_body(operation.operation_id, kwargs.get("body"))
        path_values = {name: str(kwargs[name]) for name in operation.path_params if name in kwargs}
        check_path(operation.operation_id, path_values)
        prefs = parse_prefer(request.headers.getlist("prefer"))
        if prefs.code is None and prefs.example is None:
            status = implied.status(operation.operation_id, path_values)
            if status is not None:
                prefs = dataclasses.replace(prefs, code=status)
        return responder.respond(operation, prefs, path_values, query=kwargs)

    mock_handler.__name__ = mock_handler.__qualname__ = operation.operation_id
    mock_handler.__doc__ = f"Mock of {operation.method} {operation.path}."
    return mock_handler


class MockResolver(Resolver):  # type: ignore[misc]
    """Resolves every operationId of the contract to the example-answering handler."""

    def __init__(self, contract: Contract, responder: Responder) -> None:
        super().__init__()
        for operation in contract.operations.values():
            responder.prepare(operation, operation.query_defaults)
        implied = ImpliedAnswers(contract)
        self.handlers = {
            operation_id: make_handler(operation, responder, implied)
            for operation_id, operation in contract.operations.items()
        }

    def resolve(self, operation: Any) -> Resolution:
        operation_id = self.resolve_operation_id(operation)
        return Resolution(self.handlers[operation_id], operation_id)


@asynccontextmanager
async def _no_database(_app: Any) -> AsyncIterator[None]:
    yield


def build_mock_app(
    *,
    seed: int | None = None,
    cors_origins: Sequence[str] | None = None,
    spec: dict[str, Any] | None = None,
    validate_responses: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> AsyncApp:
    """The mock as an ASGI app. `validate_responses` checks every answer against the contract (tests)."""
    spec = mock_spec(spec)
    contract = Contract(spec)
    expose = sorted(
        {name for op in contract.operations.values() for r in op.responses.values() for name in r.headers}
    )
    edge = partial(
        MockEdgeMiddleware,
        contract=contract,
        cors=CorsPolicy(cors_origins, expose=expose),
        max_body_bytes=max_body_bytes,
    )
    stack = middlewares(
        resources=None,
        edge=edge,
        idempotency=None,
        validate_responses=validate_responses,
        concrete_paths=partial(ConcretePathMethods, spec=spec),
    )
    app = OnceAsyncApp(__name__, lifespan=_no_database, middlewares=stack)
    app.add_api(
        spec,
        resolver=MockResolver(contract, Responder(seed=seed)),
        strict_validation=True,
        validate_responses=validate_responses,
        pythonic_params=False,
        validator_map=validator_map(spec),
        security_map=SECURITY_MAP,
    )
    for exc_class, handler in error_handlers(spec, expose_internal=False).items():
        app.add_error_handler(exc_class, handler)
    return app


def run_mock(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    seed: int | None = None,
    cors_origins: Sequence[str] | None = None,
) -> None:
    import uvicorn

    app = build_mock_app(seed=seed, cors_origins=cors_origins)
    base = f"http://{host}:{port}/v1"
    origins = ", ".join(cors_origins) if cors_origins else "*"
    print(
        f"\nFluenzR mock on {base}  (Swagger UI: {base}/ui/)\n"
        f"Any Bearer token works: curl -s -H 'Authorization: Bearer test' {base}/contacts\n"
        f"Prefer: code=404 | example=<name> | dynamic=true[, seed=N]   CORS origins: {origins}"
        + (f"   seed: {seed}" if seed is not None else "")
        + "\n",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
