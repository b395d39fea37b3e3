"""Connect-time host policy: names and literals that reach private addresses are refused."""

from __future__ import annotations

import ipaddress

import pytest

from fluenzr_server.net_policy import HostRefused, resolve_public


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "10.0.0.1",
        "0x7f.1",
        "2130706433",
        "::ffff:10.0.0.1",
    ],
)
async def test_private_and_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(HostRefused) as refused:
        await resolve_public(host, 587, allow_private=False)
    assert "non-public" in refused.value.reason


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(HostRefused, match="does not resolve"):
        await resolve_public("no-such-host.invalid", 443, allow_private=True)


async def test_public_literal_is_returned_and_private_allowed_by_the_flag() -> None:
    assert await resolve_public("93.184.216.34", 443, allow_private=False) == [
        ipaddress.ip_address("93.184.216.34")
    ]
    assert ipaddress.ip_address("127.0.0.1") in await resolve_public("localhost", 25, allow_private=True)


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "10.0.0.1", "192.168.0.1", "[fe80::1]", "::ffff:169.254.169.254"]
)
async def test_the_private_hosts_flag_opens_loopback_only(host: str) -> None:
    with pytest.raises(HostRefused):
        await resolve_public(host, 80, allow_private=True)
    assert await resolve_public("::ffff:127.0.0.1", 80, allow_private=True)
