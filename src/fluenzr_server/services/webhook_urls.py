"""Moved to `fluenzr_server.net_policy` (one policy for webhook URLs and SMTP/IMAP hosts); kept as a
re-export so existing imports keep working."""

from __future__ import annotations

from fluenzr_server.net_policy import canonical_host, check_mail_host, is_public, literal_address
from fluenzr_server.net_policy import check_webhook_url as _check_webhook_url


def check_webhook_url(url: str, *, allow_private: bool = False, allow_http_localhost: bool = False) -> str:
    """`net_policy.check_webhook_url`; `allow_http_localhost` is the old name of `allow_private`."""
    return _check_webhook_url(url, allow_private=allow_private or allow_http_localhost)


__all__ = ["canonical_host", "check_mail_host", "check_webhook_url", "is_public", "literal_address"]
