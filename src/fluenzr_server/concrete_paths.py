"""Concrete paths win over templated ones, whatever the method (OpenAPI 3.0, "Path Templating Matching").

`/contacts/batch` (POST only) also matches the template `/contacts/{contactId}` (GET, PUT, DELETE). The
router tries a path's routes method by method, so without this `GET /contacts/batch` would reach
`getContact` with the id "batch" (a 404) instead of being the 405 that the contract implies. This
middleware answers such requests with the 405 (`Allow` from the contract) before routing.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from fluenzr_server.spec import HTTP_METHODS, base_path


def shadowed_paths(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Concrete request paths that a templated path also matches, with the methods the contract gives them."""
    prefix = base_path(spec)
    templates = [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for path in spec["paths"]
        if "{" in path
    ]
    return {
        prefix + path: {method.upper() for method in item if method in HTTP_METHODS}
        for path, item in spec["paths"].items()
        if "{" not in path and any(template.match(path) for template in templates)
    }


class ConcretePathMethods:
    def __init__(self, app: ASGIApp, *, spec: dict[str, Any]) -> None:
        self.app = app
        self.methods = shadowed_paths(spec)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self.methods.get(scope["path"])
            if allowed is not None and scope["method"] not in allowed:
                raise HTTPException(405)  # rendered by app.error_handlers with the contract's Allow
        await self.app(scope, receive, send)
