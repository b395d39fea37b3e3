"""Where FluenzR may connect on a customer's behalf (webhook URLs, SMTP and IMAP hosts): public hosts only.

Checked twice: when the customer gives us the host (`check_webhook_url`, `check_mail_host`, in the
services, without network access), and when we connect (`resolve_public`), because a name may resolve to
a private address later (DNS rebinding, `127.0.0.1.nip.io`-style names). Callers connect to the address
returned here, never resolving the name a second time.

Literal addresses are judged in every spelling the resolver would accept (`127.1`, `2130706433`,
`0x7f.0.0.1`, `[::ffff:10.0.0.1]`), since a lenient parser downstream would reach the same host. One
setting, `allow_private` (FLUENZR_ALLOW_PRIVATE_HOSTS, refused in production), opens every check to
loopback only (127.0.0.0/8, ::1, `localhost`, `*.localhost`) for local sinks and tests: never to private
networks, link-local (cloud metadata at 169.254.169.254) or internal names, even in development.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import unicodedata
from urllib.parse import unquote, urlsplit

from fluenzr_server.errors import ValidationFailed
from fluenzr_server.text_rules import FORMAT_REASONS, is_uri

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Dots that URL parsers (WHATWG, IDNA) treat as label separators.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_ASCII_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _refuse(reason: str, field: str = "url") -> ValidationFailed:
    return ValidationFailed(f"{field} {reason}", {field: reason})


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


def is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """127.0.0.0/8 or ::1, in any of the IPv6 forms that carry an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return mapped.is_loopback
    return address.is_loopback


def _is_local_name(host: str) -> bool:
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def _judge_host(host: str, *, field: str, allow_private: bool) -> bool:
    """Refuse a (canonical) host that is not a public place, unless private hosts are allowed.

    Returns whether the host is public."""
    if not host:
        raise _refuse("must have a host", field)
    if not _ASCII_HOST.fullmatch(host):
        raise _refuse("must have an ASCII host name (use the punycode form of international names)", field)
    address = literal_address(host)
    if allow_private and (_is_local_name(host) or (address is not None and is_loopback(address))):
        return False  # a local sink; FLUENZR_ALLOW_PRIVATE_HOSTS opens loopback and nothing else
    if _is_local_name(host) or host.endswith(_INTERNAL_SUFFIXES) or ("." not in host and address is None):
        raise _refuse("must point to a public host", field)
    if address is not None and not is_public(address):
        raise _refuse("must not point to a loopback, private, link-local or reserved address", field)
    return True


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """`url` when it is an absolute RFC 3986 URI with https to a public host; else a 400 naming `url`.

    `allow_private` (FLUENZR_ALLOW_PRIVATE_HOSTS, refused in production) also allows loopback hosts, over
    `http` too, for local sinks and tests; a public host still needs https.
    """
    if not is_uri(url):
        raise _refuse(FORMAT_REASONS["uri"])
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
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_private):
        raise _refuse("must use https")
    public = _judge_host(host, field="url", allow_private=allow_private)
    if scheme == "http" and public:
        raise _refuse("must use https")  # plain http only to a local sink
    return url


def check_mail_host(host: str, *, field: str, allow_private: bool) -> str:
    """`host` (an SMTP or IMAP server) when it names a public place; else a 400 naming `field`.

    The same policy as webhook URLs: DNS names with a dot and no internal suffix, or public IP literals
    (IPv6 in brackets or bare). Where the name resolves is judged again when connecting (`resolve_public`).
    """
    name = canonical_host(host)
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    _judge_host(name, field=field, allow_private=allow_private)
    return host


class HostRefused(Exception):
    """A host we will not connect to; `reason` is safe to show the customer (e.g. on the email account)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


async def resolve_public(host: str, port: int, *, allow_private: bool) -> list[Address]:
    """The addresses `host` resolves to, in resolver order, when every one of them is public.

    Raises `HostRefused` when the name does not resolve, or when any address is loopback, private,
    link-local, multicast, reserved, or a mapped/NAT64/6to4/Teredo form of one (one bad address refuses
    the host: a client could be steered to it). `allow_private` (FLUENZR_ALLOW_PRIVATE_HOSTS, refused in
    production) also lets loopback addresses through, for local sinks and tests; nothing else.
    """
    name = canonical_host(host.strip("[]"))
    literal = literal_address(name)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError) as exc:
            raise HostRefused(host, "does not resolve") from exc
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise HostRefused(host, "does not resolve")
    for address in addresses:
        if not (is_public(address) or (allow_private and is_loopback(address))):
            raise HostRefused(host, f"resolves to a non-public address ({address})")
    return addresses
