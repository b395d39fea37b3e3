"""Where FluenzR may connect on a customer's behalf (webhook URLs, SMTP and IMAP hosts): public hosts only.

Checked twice: when the customer gives us the host (services), and when we connect (`resolve_public`),
because a name may resolve to a private address later (DNS rebinding, `127.0.0.1.nip.io`-style names).
Callers connect to the address returned here, never resolving the name a second time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from fluenzr_server.services.webhook_urls import canonical_host, is_public, literal_address

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    production) skips the address check for local sinks and tests, not the resolution.
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
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise HostRefused(host, f"resolves to a non-public address ({address})")
    return addresses
