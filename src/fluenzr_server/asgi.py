"""ASGI plumbing shared by the server's edge and the mock's: headers on the way out, a last-resort 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from fluenzr_server.errors import InternalError
from fluenzr_server.failures import INTERNAL_MESSAGE, render


def with_headers(
    send: Send, headers_for: Callable[[int], Mapping[str, str]], *, overwrite: bool = True
) -> Send:
    """A send channel that adds headers (chosen by status) to the response start."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            for name, value in headers_for(message["status"]).items():
                if overwrite or name not in response_headers:
                    response_headers[name] = value
        await send(message)

    return send_with_headers


async def answer_or_500(
    handle: Callable[[Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    log: logging.Logger,
    details: dict[str, Any],
    headers: Mapping[str, str],
) -> None:
    """Run a middleware's own work; if it fails before answering, answer the 500 envelope.

    Connexion's exception middleware renders everything raised inside it; this is the last resort for a
    failure in a middleware placed in front of it (a database or Redis outage, say).
    """
    started = False

    async def send_tracked(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await handle(send_tracked)
    except Exception:
        log.exception("edge failure on %s %s %s", scope.get("method"), scope.get("path"), details)
        if not started:
            await render(InternalError(INTERNAL_MESSAGE, details), headers)(scope, receive, send)
