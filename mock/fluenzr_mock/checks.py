"""Input rules the real services enforce without a database, applied by the mock too.

The schema cannot say everything: the email `pattern` cannot express the 64-character limit of a local
part, and a schema cannot say which hosts are public. The real services enforce both with pure functions
(`normalise_email`; `net_policy` for webhook URLs and SMTP hosts); the mock calls the same functions, so
what the server refuses with a 400 the mock refuses too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluenzr_server.net_policy import check_mail_host, check_webhook_url
from fluenzr_server.services import suppressions
from fluenzr_server.services.common import normalise_email


def _email(field: str) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        if isinstance(body.get(field), str):
            normalise_email(body[field], field)

    return check


def _webhook_url(body: dict[str, Any]) -> None:
    # The production policy: https to a public host (private hosts only with FLUENZR_ALLOW_PRIVATE_HOSTS).
    if isinstance(body.get("url"), str):
        check_webhook_url(body["url"], allow_private=False)


def _email_account(body: dict[str, Any]) -> None:
    _email("fromEmail")(body)
    smtp = body.get("smtp")
    if isinstance(smtp, dict) and isinstance(smtp.get("host"), str):
        check_mail_host(smtp["host"], field="smtp.host", allow_private=False)


SERVICE_CHECKS: dict[str, Callable[[dict[str, Any]], object]] = {
    "createContact": _email("email"),
    "updateContact": _email("email"),
    "createEmailAccount": _email_account,
    "updateEmailAccount": _email_account,
    "createWebhook": _webhook_url,
    "updateWebhook": _webhook_url,
    "createSuppressions": suppressions.requested_keys,
}

# Path parameters whose rule is a service's pure function: {operationId: check(path values)}.
PATH_CHECKS: dict[str, Callable[[dict[str, str]], object]] = {
    "deleteSuppression": lambda values: suppressions.entry_key(values["entry"]),
}


def check_body(operation_id: str, body: Any) -> None:
    """Raise the real server's ValidationFailed for a body its service would refuse."""
    check = SERVICE_CHECKS.get(operation_id)
    if check is not None and isinstance(body, dict):
        check(body)


def check_path(operation_id: str, values: dict[str, str]) -> None:
    """Raise the real server's ValidationFailed for path values its service would refuse."""
    check = PATH_CHECKS.get(operation_id)
    if check is not None:
        check(values)
