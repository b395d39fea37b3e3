"""The HTTP stack, outermost first: one literal list, shared by the server (`app.py`) and the mock.

Connexion wraps the handler in these layers in this order; a request goes down the list, its response
comes back up. The server and the mock differ only in what they put in the `resources`, `edge` and
`idempotency` slots (the mock has no resources and no idempotency, and its edge answers CORS instead of
rate limiting). Validators and response validation are configured here too, so both build the same way.
"""

from __future__ import annotations

from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.validators import VALIDATOR_MAP

from fluenzr_server.connexion_once import DocsRouting, IndexedRouting, OnceRequestValidation
from fluenzr_server.validation import EnvelopeParameterValidator, body_validator, read_only_fields

# A middleware class, or a functools.partial of one with its options (Connexion instantiates them).
Layer = Any


def middlewares(
    *,
    resources: Layer | None,
    edge: Layer,
    idempotency: Layer | None,
    validate_responses: bool,
    concrete_paths: Layer | None = None,
    tracking: Layer | None = None,
) -> list[Layer]:
    """The stack of one app, outermost first (a fresh list: Connexion inserts into it)."""
    stack: list[Layer | None] = [
        # Starlette's last resort: whatever escapes every layer below becomes a bare 500 instead of a
        # dropped connection. Nothing of ours reaches it: the edge and the exception middleware answer first.
        ServerErrorMiddleware,
        # The app's Resources (settings, database, secret box) into the request's scope, before anything
        # needs them: the edge resolves API keys with the database, handlers call `db()`.
        resources,
        # The recipient-facing `/t/…` routes (open pixel, click redirect, unsubscribe): for mail clients,
        # not API clients, so in front of the edge, whose exact paths, JSON bodies and envelope are the
        # API's; they rate-limit per client address themselves (`tracking/routes.py`).
        tracking,
        # Request id, rate limit and its X-RateLimit-* headers, exact paths, the body-size limit. Outside
        # the exception middleware so that its headers reach every response, errors included; for the same
        # reason it renders its own refusals (`failures.render`) and has a last-resort 500 of its own.
        edge,
        # Every exception raised further in (domain errors, Connexion's problems, Starlette's 404/405,
        # anything unexpected) becomes the error envelope here (`failures.error_handlers`).
        ExceptionMiddleware,
        # Swagger UI and the served contract under <base path>/ui; before routing, which would 404 them.
        # Only their own paths go through its router (`connexion_once.DocsRouting`): one routing pass.
        DocsRouting,
        # A concrete path asked with a method it lacks is its 405, not a templated path's operation
        # (`GET /contacts/batch` is not getContact("batch"); `concrete_paths.ConcretePathMethods`).
        concrete_paths,
        # Finds the operation for the path and method; every layer below knows which one it serves.
        IndexedRouting,
        # The operation's security: Bearer key -> account and the plan gate (`auth.bearer_info`). Needs
        # the route (health is public) and must come before anything that acts for an account.
        SecurityMiddleware,
        # Idempotency-Key replays: after security (keys belong to an account), before validation (a
        # replay answers even if validation changed since, and a refused request is recorded too).
        idempotency,
        # Parameters and body against the contract; `validation.py`'s validators name each field (built
        # once per operation: `connexion_once.OnceRequestValidation`).
        OnceRequestValidation,
        # Responses against the contract when enabled (tests). Left out otherwise: it would still route
        # every request (a second pass over the routes) only to hand it on.
        EdgeAwareResponseValidation if validate_responses else None,
        # Runs the app's lifespan (`uvicorn` sends it; it opens and closes the Resources an app owns).
        LifespanMiddleware,
        # Innermost: exposes the request and its security context (`user`) to the handler.
        ContextMiddleware,
    ]
    return [layer for layer in stack if layer is not None]


def validator_map(spec: dict[str, Any]) -> dict[str, Any]:
    """Connexion's validators replaced by ours (errors by field, strict JSON), for this contract."""
    return {
        **VALIDATOR_MAP,
        "parameter": EnvelopeParameterValidator,
        "body": MediaTypeDict({"*/*json": body_validator(read_only_fields(spec))}),
    }


# Headers the edge adds outside the response validator, which therefore cannot see them.
# `Allow` comes with a 405, which the server renders in its error handler and the mock in its edge.
_EDGE_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "allow"}


class _EdgeAwareValidationOperation(ResponseValidationOperation):  # type: ignore[misc]
    @staticmethod
    def validate_required_headers(
        headers: list[tuple[bytes, bytes]], response_definition: dict[str, Any]
    ) -> None:
        defined = response_definition.get("headers", {})
        inner = {name: value for name, value in defined.items() if name.lower() not in _EDGE_HEADERS}
        ResponseValidationOperation.validate_required_headers(
            headers, {**response_definition, "headers": inner}
        )


class _EdgeAwareValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> Any:
        if not self.validate_responses:
            return self.next_app
        return _EdgeAwareValidationOperation(
            self.next_app, operation=operation, validator_map=self.validator_map
        )


class EdgeAwareResponseValidation(ResponseValidationMiddleware):  # type: ignore[misc]
    """Validates responses, except the required headers that the edge adds further out."""

    api_cls = _EdgeAwareValidationAPI
