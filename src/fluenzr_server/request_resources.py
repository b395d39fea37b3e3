"""How a request reaches its app's `Resources`: the first layer of the stack puts them in the ASGI scope.

Every later layer (edge, security, idempotency) and every handler (`handlers._common.resources()`) reads
them from `scope["state"]["resources"]`, so two apps in one process never share a database, settings or
secret box by accident.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from fluenzr_server.errors import InternalError
from fluenzr_server.failures import INTERNAL_MESSAGE, render
from fluenzr_server.resources import Resources

STATE_KEY = "resources"
log = logging.getLogger("fluenzr")


class ResourcesMiddleware:
    """Puts the app's resources (`held()`: given at build time, or opened by the app's lifespan) in scope."""

    def __init__(self, app: ASGIApp, *, held: Callable[[], Resources]) -> None:
        self.app = app
        self.held = held

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                resources = self.held()
            except RuntimeError:
                # A server that skipped the lifespan of an app owning its resources: a deployment error.
                log.exception("request refused: the app's resources are not open")
                await render(InternalError(INTERNAL_MESSAGE))(scope, receive, send)
                return
            scope.setdefault("state", {})[STATE_KEY] = resources
        await self.app(scope, receive, send)


def request_resources(scope: Scope) -> Resources:
    """The resources of the app serving this request; RuntimeError outside such a request."""
    found: Resources | None = scope.get("state", {}).get(STATE_KEY)
    if found is None:
        raise RuntimeError("no resources in this request's scope: the app's ResourcesMiddleware puts them")
    return found
