"""Webhook URL policy: https to a public host. Stops SSRF at creation; delivery re-checks resolved addresses.

Literal addresses are judged in every spelling the resolver would accept (`127.1`, `2130706433`,
`0x7f.0.0.1`, `[::ffff:10.0.0.1]`), since a lenient parser downstream would reach the same host.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from fluenzr_server.errors import ValidationFailed

_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(f"url {reason}", {"url": reason})


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP a host names literally, in any form inet_aton accepts, or None for a DNS name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if all(part.isalnum() for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
        if address.teredo is not None:
            return is_public(address.teredo[1])
    return address.is_global and not address.is_multicast


def check_webhook_url(url: str, *, allow_http_localhost: bool) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise _refuse("is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not contain credentials")
    if not host:
        raise _refuse("must have a host")
    is_local_name = host in _LOCAL_NAMES or host.endswith(".localhost")
    address = literal_address(host)
    if (
        parts.scheme == "http"
        and allow_http_localhost
        and (is_local_name or (address is not None and address.is_loopback))
    ):
        return url
    if parts.scheme != "https":
        raise _refuse("must use https")
    if is_local_name or host.endswith(_INTERNAL_SUFFIXES) or ("." not in host and address is None):
        raise _refuse("must point to a public host")
    if address is not None and not is_public(address):
        raise _refuse("must not point to a loopback, private, link-local or reserved address")
    return url
