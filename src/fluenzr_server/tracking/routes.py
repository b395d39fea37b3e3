"""The recipient-facing endpoints, `/t/…` on the public URL, in front of the API's stack.

They serve mail clients and recipients' browsers, not API clients: no API key, no envelope, not under
`/v1`, so they are a small Starlette router placed before the API's edge (whose exact-path and JSON body
rules are the API's), with a per-client-address rate limit of their own (`FLUENZR_TRACKING_RATE_LIMIT`).
A token that is not ours, altered, or of another purpose is a plain-text 404, never anything else.

- `GET /t/o/<token>`: the open pixel, a 1×1 transparent GIF with `Cache-Control: no-store`; records
  the open.
- `GET /t/c/<token>`: 302 to the URL the token carries (http/https only, never one from the query
  string: no open redirect); records the click.
- `POST /t/u/<token>`: RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`) or the
  confirmation page's button: unsubscribes at once; 200, no redirect, no cookies, no authentication.
- `GET /t/u/<token>`: a small confirmation page whose button POSTs to the same URL; changes nothing
  (link scanners fetch it).

`HEAD` answers like `GET` and records nothing (scanners probe links with it).
"""

from __future__ import annotations

import base64
import html
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.request_resources import request_resources
from fluenzr_server.services import tracking
from fluenzr_server.services.common import now
from fluenzr_server.services.unsubscribes import unsubscribe_lead
from fluenzr_server.tracking.html import trackable
from fluenzr_server.tracking.tokens import BadToken, Opened, Purpose

log = logging.getLogger("fluenzr.tracking")

PREFIX = "/t/"
# The smallest transparent GIF: 1×1, one colour, 42 bytes (GIF89a).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}
_PAGE_HEADERS = {
    **NO_STORE,
    # The page is ours alone: no scripts, no framing, its form posts only to itself, and the token in
    # its URL is not sent on as a Referer.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
MAX_FORM_BYTES = 1024
ONE_CLICK = "List-Unsubscribe=One-Click"


def _not_found() -> Response:
    return PlainTextResponse("Not found: this link is not valid.\n", status_code=404, headers=NO_STORE)


def _client(request: Request, trust_forwarded_for: bool) -> str | None:
    forwarded = request.headers.get("x-forwarded-for")
    if trust_forwarded_for and forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else None


def _open_token(request: Request, purpose: Purpose) -> Opened | None:
    try:
        return request_resources(request.scope).tokens.open(purpose, request.path_params["token"])
    except BadToken:
        return None


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.5rem 1rem}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    return Response(
        document, status_code=status, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
    )


class TrackingRoutes:
    """Answers `/t/…` itself; every other path goes on to the API (`app`)."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, trust_forwarded_for: bool = False) -> None:
        self.app = app
        self.limiter = limiter
        self.trust_forwarded_for = trust_forwarded_for
        self.router = Router(
            routes=[
                Route("/t/o/{token}", self._guarded(self.open_pixel), methods=["GET"]),
                Route("/t/c/{token}", self._guarded(self.click), methods=["GET"]),
                Route("/t/u/{token}", self._guarded(self.unsubscribe_page), methods=["GET"]),
                Route("/t/u/{token}", self._guarded(self.unsubscribe), methods=["POST"]),
            ]
        )
        self.router.default = self._unknown_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            try:
                await self.router(scope, receive, send)
            except HTTPException as exc:  # a method the path lacks: Starlette's 405, with `Allow`
                answer = PlainTextResponse(
                    f"{exc.detail}\n", status_code=exc.status_code, headers=exc.headers
                )
                await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _unknown_path(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _not_found()(scope, receive, send)

    def _guarded(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint behind the per-address rate limit, its failures answered in plain text."""

        async def guarded(request: Request) -> Response:
            client = _client(request, self.trust_forwarded_for)
            try:
                decision = await self.limiter.hit(f"t:{client or 'unknown'}")
                allowed, retry_after = decision.allowed, decision.retry_after
            except Exception:
                log.exception("tracking rate limiter unavailable; request allowed")
                allowed, retry_after = True, 0
            if not allowed:
                return PlainTextResponse(
                    "Too many requests; try again later.\n",
                    status_code=429,
                    headers={**NO_STORE, "Retry-After": str(retry_after)},
                )
            try:
                return await endpoint(request)
            except Exception:
                log.exception("tracking endpoint failed: %s %s", request.method, request.url.path[:12])
                return PlainTextResponse(
                    "Something went wrong on our side; please try again.\n", status_code=500, headers=NO_STORE
                )

        return guarded

    async def _record(self, request: Request, opened: Opened, kind: tracking.Kind) -> None:
        if request.method == "HEAD":
            return
        started = time.perf_counter()
        await tracking.record_hit(
            request_resources(request.scope).database,
            message_row_id=opened.message_id,
            kind=kind,
            url=opened.url,
            user_agent=request.headers.get("user-agent"),
            client=_client(request, self.trust_forwarded_for),
            now=now(),
        )
        log.debug("%s recorded in %.1f ms", kind, (time.perf_counter() - started) * 1000)

    async def open_pixel(self, request: Request) -> Response:
        opened = _open_token(request, "open")
        if opened is None:
            return _not_found()
        await self._record(request, opened, "open")
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    async def click(self, request: Request) -> Response:
        opened = _open_token(request, "click")
        # The destination is the token's, never the query string's; checked again on the way out.
        if opened is None or opened.url is None or not trackable(opened.url):
            return _not_found()
        await self._record(request, opened, "click")
        return RedirectResponse(
            opened.url, status_code=302, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
        )

    async def unsubscribe_page(self, request: Request) -> Response:
        if _open_token(request, "unsubscribe") is None:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", status=404)
        return _page(
            "Unsubscribe",
            '<p>Stop receiving these emails?</p>\n<form method="post">'
            '<input type="hidden" name="source" value="page">'
            '<button type="submit">Unsubscribe</button></form>',
        )

    async def unsubscribe(self, request: Request) -> Response:
        opened = _open_token(request, "unsubscribe")
        if opened is None:
            return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", status=404)
        body = await _small_body(request)
        source: Any = "one-click" if ONE_CLICK in body else "page"
        database = request_resources(request.scope).database
        message = await tracking.message_of(database, opened.message_id)
        if message is not None:
            async with database.write() as conn:
                await unsubscribe_lead(
                    conn,
                    campaign_id=message.campaign_id,
                    contact_id=message.contact_id,
                    source=source,
                    now=now(),
                )
        return _page("Unsubscribed", "<p>You will not receive these emails any more.</p>")


async def _small_body(request: Request) -> str:
    """The form body, at most `MAX_FORM_BYTES` (a one-click POST is 26 bytes); more is ignored."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM_BYTES:
            break
    return data[:MAX_FORM_BYTES].decode("latin-1")
