"""Webhook URL policy: https to a public host. Stops SSRF at creation; delivery re-checks resolved addresses.

Literal addresses are judged in every spelling the resolver would accept (`127.1`, `2130706433`,
`0x7f.0.0.1`, `[::ffff:10.0.0.1]`), since a lenient parser downstream would reach the same host.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from urllib.parse import unquote, urlsplit

from fluenzr_server.errors import ValidationFailed

# Dots that URL parsers (WHATWG, IDNA) treat as label separators.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_ASCII_HOST = re.compile(r"^[a-z0-9.-]+$|^[0-9a-f:.]+$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
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


def canonical_host(raw: str) -> str:
    """The host as the most lenient parser downstream would read it: percent-decoded, NFKC, ASCII dots."""
    host = unicodedata.normalize("NFKC", unquote(raw)).translate(_DOTS)
    return host.rstrip(".").lower()


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
        if address.teredo is not None:
            return is_public(address.teredo[1])
    return address.is_global and not address.is_multicast


def check_webhook_url(url: str, *, allow_http_localhost: bool) -> str:
    try:
        parts = urlsplit(url)
        host = canonical_host(parts.hostname or "")
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise _refuse("is not a valid URL") from None
    if port == 0:
        raise _refuse("must not use port 0")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not contain credentials")
    if not host:
        raise _refuse("must have a host")
    if not _ASCII_HOST.match(host):
        raise _refuse("must have an ASCII host name (use the punycode form of international names)")
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
