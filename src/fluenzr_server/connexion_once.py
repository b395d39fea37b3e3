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
- working out, per request, what only depends on the operation (`_OnceParameters`, about a third of the
  handler's share of a request in `bench/layers.py`): the path and query parameter definitions and query
  defaults (`get_arguments` rebuilt them), each parameter name's Python spelling (`pythonic`: three
  regular expressions per name per request), the operation's `produces` (`_OnceResponse`), each read
  through a context proxy. The values still go through Connexion's own conversion functions, so handlers
  get exactly the arguments they got.
- building the request validators per request (`RequestValidationMiddleware` made a URI parser, the
  parameter validator and the body validator, compiling their JSON Schemas, for every request):
  `OnceRequestValidation` makes them once per operation (and body media type).
- trying every route's regular expression in turn: `IndexedRouting` tries only those a path can match
  (`routes_index.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from connexion import AsyncApp, utils
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import _context, receive, scope
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import (
    CONTEXT_NAME,
    AsyncParameterDecorator,
    _get_body_argument,
    _get_file_arguments,
    _get_query_defaults,
    _get_val_from_param,
    _query_args_helper,
    pythonic,
    sanitized,
    unwrap_decorators,
)
from connexion.decorators.response import AsyncResponseDecorator
from connexion.exceptions import UnsupportedMediaTypeProblem
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.utils import deep_merge, inspect_function_arguments
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from fluenzr_server.routes_index import IndexedRouter


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


class _OnceParameters(AsyncParameterDecorator):  # type: ignore[misc]
    """Connexion's `AsyncParameterDecorator` for one operation, with what depends only on the operation
    worked out once: the same steps as its `prep_kwargs`/`get_arguments`, the same conversion functions."""

    def __init__(self, operation: AbstractOperation, *, pythonic_params: bool, **kwargs: Any) -> None:
        super().__init__(pythonic_params=pythonic_params, **kwargs)
        # A pure function of the name, worked out once per name (bounded: names come from requests too).
        spelling = pythonic if pythonic_params else sanitized
        self.sanitize_fn: Callable[[str], str] = functools.lru_cache(maxsize=1024)(spelling)
        self.operation = operation
        parameters = operation.parameters
        self.path_definitions = {p["name"]: p for p in parameters if p["in"] == "path"}
        self.query_definitions = {p["name"]: p for p in parameters if p["in"] == "query"}
        self.query_defaults = _get_query_defaults(self.query_definitions)
        # Each request merges into its own copy of the defaults; scalars need no deep copy.
        scalars = all(isinstance(v, str | int | float | bool | None) for v in self.query_defaults.values())
        self.copy_defaults: Callable[[dict[str, Any]], dict[str, Any]] = dict.copy if scalars else deepcopy
        self.body_name = self.sanitize_fn(operation.body_name(None))
        self.takes_body = operation.method.upper() != "TRACE"
        self.body_defined = operation.is_request_body_defined

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        wants_body = self.body_name in arguments or has_kwargs

        @functools.wraps(function)
        async def wrapper(request: ConnexionRequest) -> Any:
            request_body = await request.get_body() if wants_body else None
            # Only a form body has files (Starlette's form() of anything else, or of none, is empty).
            form = (
                content_type(request.scope["headers"]) is not None and request.mimetype in FORM_CONTENT_TYPES
            )
            files = await request.files() if form else {}
            return await function(**self.arguments(request, request_body, files, arguments, has_kwargs))

        return wrapper

    def arguments(
        self,
        request: ConnexionRequest,
        body: Any,
        files: dict[str, Any],
        arguments: list[str],
        has_kwargs: bool,
    ) -> dict[str, Any]:
        """`connexion.decorators.parameter.prep_kwargs` for this operation."""
        sanitize = self.sanitize_fn
        kwargs: dict[str, Any] = {}
        for name, value in request.path_params.items():
            definition = self.path_definitions.get(name)
            kwargs[sanitize(name)] = value if definition is None else _get_val_from_param(value, definition)
        if self.query_defaults or request.scope.get("query_string"):  # else no query argument to pass
            query = deep_merge(self.copy_defaults(self.query_defaults), request.query_params)
            kwargs.update(_query_args_helper(self.query_definitions, query, arguments, has_kwargs, sanitize))
        if self.takes_body:
            if self.body_defined and (arguments or has_kwargs):  # else `_get_body_argument` gives {}
                kwargs.update(
                    _get_body_argument(
                        body,
                        operation=self.operation,
                        arguments=arguments,
                        has_kwargs=has_kwargs,
                        sanitize=sanitize,
                        content_type=request.mimetype,
                    )
                )
            if files:
                body_schema = self.operation.body_schema(request.mimetype)
                kwargs.update(_get_file_arguments(files, arguments, body_schema, has_kwargs))
        kwargs = {sanitize(key): value for key, value in kwargs.items()}
        for key, value in _context.get().items():
            if has_kwargs or key in arguments:
                kwargs[key] = value
        if CONTEXT_NAME in arguments:
            kwargs[CONTEXT_NAME] = _context.get()
        return kwargs


class _OnceResponse(AsyncResponseDecorator):  # type: ignore[misc]
    """Connexion's `AsyncResponseDecorator` with the common case of its content-type inference (no
    Content-Type returned, one type produced: that type) decided from the operation given once."""

    def __init__(self, operation: AbstractOperation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        produces = set(operation.produces)
        self.only_type: str | None = next(iter(produces)) if len(produces) == 1 else None

    def _infer_content_type(self, data: Any, headers: dict[str, Any]) -> str | None:
        if self.only_type is not None and (not headers or utils.extract_content_type(headers) is None):
            return self.only_type
        return AsyncResponseDecorator._infer_content_type(data, headers)  # type: ignore[no-any-return]


class _OnceDecorator(StarletteDecorator):  # type: ignore[misc]
    """`StarletteDecorator` with the URI parser, the parameter and response decorators and the decorated
    handler made once, not per call."""

    def __init__(self, operation: AbstractOperation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.operation = operation
        parser_class = self.uri_parser_class or operation.uri_parser_class
        self.once_uri_parser = parser_class(operation.parameters, operation.body_definition())

    def decorate(self, function: Callable[..., Any]) -> Callable[..., Any]:
        function = self._sync_async_decorator(function)
        parameters = _OnceParameters(
            self.operation, framework=self.framework, pythonic_params=self.pythonic_params
        )
        response = _OnceResponse(self.operation, framework=self.framework, jsonifier=self.jsonifier)
        return response(parameters(function))  # type: ignore[no-any-return]

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


def content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first `Content-Type` of ASGI headers, as `connexion.utils.extract_content_type` reads it (whose
    per-call `typing` subscript costs more than the loop)."""
    for key, value in headers:
        if key.lower() == b"content-type":  # as latin-1 text lowered: only ASCII letters lower to ASCII
            return value.decode("latin-1")
    return None


_KEPT_BODY_VALIDATORS = 8


class _OnceValidationOperation(RequestValidationOperation):  # type: ignore[misc]
    """Connexion's request validation for one operation, with its URI parser, parameter validator,
    accepted media types and body validators made once (they keep no per-request state: each call reads
    the request from the scope it is given)."""

    def __init__(self, next_app: Any, *, operation: AbstractOperation, **kwargs: Any) -> None:
        super().__init__(next_app, operation=operation, **kwargs)
        uri_parser = operation._uri_parser_class(operation.parameters, operation.body_definition())
        self.parameter_validator = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self.consumes = MediaTypeDict([(c.lower(), None) for c in operation.consumes])
        self.body_validators: dict[str, Any] = {}

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        """`RequestValidationOperation.extract_content_type`, reading the header with `content_type`."""
        mime_type, encoding = utils.split_content_type(content_type(headers))
        if mime_type is None:
            mime_type = (
                self._operation.consumes[0] if self._operation.consumes else "application/octet-stream"
            )
        return mime_type, encoding or "utf-8"

    def validate_mime_type(self, mime_type: str) -> None:
        if self._operation.consumes and mime_type.lower() not in self.consumes:
            raise UnsupportedMediaTypeProblem(
                detail=f"Invalid Content-type ({mime_type}), expected {self._operation.consumes}"
            )

    def body_validator(self, mime_type: str) -> Any:  # an AbstractRequestBodyValidator or None
        """The body validator for `mime_type`, or None when none is registered for it. The request's
        charset is not part of it: the contract's bodies are JSON, always read as UTF-8. A handful are
        kept (the edge lower-cases media types, so one per accepted type); past that, one per request."""
        found = self.body_validators.get(mime_type, False)
        if found is not False:
            return found
        operation = self._operation
        try:
            validator_class = self._validator_map["body"][mime_type]
        except KeyError:
            validator = None
        else:
            validator = validator_class(
                schema=operation.body_schema(mime_type),
                required=operation.request_body.get("required", False),
                nullable=utils.is_nullable(operation.body_definition(mime_type)),
                encoding="utf-8",
                strict_validation=self.strict_validation,
                uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
            )
        if len(self.body_validators) < _KEPT_BODY_VALIDATORS:
            self.body_validators[mime_type] = validator
        return validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.parameter_validator.validate(scope)
        mime_type, _encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        if self._operation.body_schema(mime_type):
            validator = self.body_validator(mime_type)
            if validator is not None:
                receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class _OnceValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return _OnceValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class OnceRequestValidation(RequestValidationMiddleware):  # type: ignore[misc]
    """`RequestValidationMiddleware` whose validators are built once per operation."""

    api_cls = _OnceValidationAPI


class _IndexedRoutingAPI(RoutingAPI):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain: Router = vars(self)["router"]  # built by RoutingAPI, holding the routes in order
        self.router = IndexedRouter(list(plain.routes), default=plain.default)


class IndexedRouting(RoutingMiddleware):  # type: ignore[misc]
    """`RoutingMiddleware` whose API routers try only the routes a path can match (`routes_index.py`)."""

    def add_api(
        self, specification: Any, base_path: str | None = None, arguments: Any = None, **kwargs: Any
    ) -> None:
        # `RoutingMiddleware.add_api` with the API class replaced.
        api = _IndexedRoutingAPI(
            specification, base_path=base_path, arguments=arguments, next_app=self.app, **kwargs
        )
        for route in self.router.routes:
            if isinstance(route, Mount) and route.path == api.base_path:
                route.app.default = api.router  # type: ignore[attr-defined]
        self.router.mount(api.base_path, app=api.router)
