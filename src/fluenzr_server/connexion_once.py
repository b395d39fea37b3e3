"""Connexion's per-request set-up done once: one routing pass, and each operation's decorators built once.

Measured per request in issue 12 (`bench/inproc.py --profile`), Connexion 3.3 did on every request, besides
the request's own work:

- a second routing pass: `SwaggerUIMiddleware` sends every request through a Starlette router (a mount
  per API, then its docs routes) only to fall through to its default for anything but the docs.
  `DocsRouting` routes only the paths its docs routes live under (`<base path>/ui…`,
  `<base path>/openapi.json` and `.yaml`) and hands every other request straight on. The routed middlewares
  (security, validation, context) do not route again: they look the operation up by the id that
  `RoutingMiddleware` put in the scope.
- rebuilding the handler's decorators: `AsyncOperation.fn` makes a new `StarletteDecorator`, which makes
  a URI parser (reading the operation's body definition) and the parameter and response decorators
  (`inspect.signature` of the handler) on every call. None of them holds per-request state (they read the
  request from Connexion's context), so `OnceAsyncApp` builds them when the operation is registered.
"""

from __future__ import annotations

import functools
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from starlette._utils import get_route_path
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send


class DocsRouting(SwaggerUIMiddleware):  # type: ignore[misc]
    """Swagger UI and the served contract, routed only for their own paths."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.prefixes: list[str] = []

    def add_api(self, specification: Any, base_path: str | None = None, **kwargs: Any) -> None:
        super().add_api(specification, base_path=base_path, **kwargs)
        mount = self.router.routes[-1]  # the API's mount, just added
        docs: list[BaseRoute] = list(mount.app.routes)
        for route in docs:
            first = getattr(route, "path", "").strip("/").split("/", 1)[0]
            if first:
                self.prefixes.append(f"{mount.path}/{first}")

    def serves(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.serves(get_route_path(scope)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class _OnceDecorator(StarletteDecorator):  # type: ignore[misc]
    """`StarletteDecorator` with the URI parser and the decorated handler made once, not per call."""

    def __init__(self, operation: AbstractOperation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parser_class = self.uri_parser_class or operation.uri_parser_class
        self.once_uri_parser = parser_class(operation.parameters, operation.body_definition())

    def __call__(self, function: Any) -> Any:
        decorated = self.decorate(function)
        parser = self.once_uri_parser

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            request = self.framework.get_request(uri_parser=parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class _OnceOperation(AsyncOperation):  # type: ignore[misc]
    def __init__(self, operation: AbstractOperation, **kwargs: Any) -> None:
        super().__init__(operation.function, operation_id=operation.operation_id, **kwargs)
        decorator = _OnceDecorator(operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        self._once = decorator(self._fn)

    @property
    def fn(self) -> Any:
        return self._once


class _OnceApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return _OnceOperation(operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class OnceAsyncApp(AsyncApp):  # type: ignore[misc]
    """`AsyncApp` whose operations build their decorators when they are registered (`add_api`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._middleware_app.api_cls = _OnceApi
