"""Input rules the real services enforce without a database, applied by the mock too.

The schema cannot say everything: the validators do not check `format: uri` (no RFC 3987 checker is
installed) and the email `pattern` cannot express the 64-character limit of a local part. The real
services enforce both with pure functions (and refuse webhook URLs that are not https or point at internal
addresses); the mock calls the same functions, so what the server refuses with a 400 the mock refuses too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluenzr_server.services.common import normalise_email
from fluenzr_server.services.webhook_urls import check_webhook_url


def _email(field: str) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        if isinstance(body.get(field), str):
            normalise_email(body[field], field)

    return check


def _webhook_url(body: dict[str, Any]) -> None:
    # The production policy: https to a public host (http://localhost only with FLUENZR_ALLOW_HTTP_WEBHOOKS).
    if isinstance(body.get("url"), str):
        check_webhook_url(body["url"], allow_http_localhost=False)


SERVICE_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "createContact": _email("email"),
    "updateContact": _email("email"),
    "createEmailAccount": _email("fromEmail"),
    "updateEmailAccount": _email("fromEmail"),
    "createWebhook": _webhook_url,
    "updateWebhook": _webhook_url,
}


def check_body(operation_id: str, body: Any) -> None:
    """Raise the real server's ValidationFailed for a body its service would refuse."""
    check = SERVICE_CHECKS.get(operation_id)
    if check is not None and isinstance(body, dict):
        check(body)
