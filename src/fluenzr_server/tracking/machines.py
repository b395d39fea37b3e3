"""Which opens and clicks a machine made, not the recipient: they are kept, flagged, and not counted.

The rule (documented in the contract's `CampaignStats`):

- an open whose client address is in 17.0.0.0/8 (Apple's network, where Mail Privacy Protection's proxy
  fetches every image of a message on delivery) or whose User-Agent is exactly `Mozilla/5.0` (the proxy's
  user agent) is a machine open;
- a click less than `CLICK_AFTER_SEND_SECONDS` after the message was sent (or before its send was
  recorded) is a link scanner's: no person reads and clicks that fast;
- a click less than `BURST_SECONDS` after a click on *another* link of the same message is a scanner
  following every link; the earlier clicks of that burst become machine clicks too.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
APPLE_PROXY_USER_AGENT = "Mozilla/5.0"
CLICK_AFTER_SEND_SECONDS = 10
BURST_SECONDS = 5


def _apple_address(client: str | None) -> bool:
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in APPLE_NETWORK


def machine_open(*, client: str | None, user_agent: str | None) -> bool:
    return _apple_address(client) or (user_agent or "").strip() == APPLE_PROXY_USER_AGENT


def too_soon_after_send(*, sent_at: datetime | None, at: datetime) -> bool:
    """A click before the send was recorded, or within `CLICK_AFTER_SEND_SECONDS` of it."""
    return sent_at is None or at - sent_at < timedelta(seconds=CLICK_AFTER_SEND_SECONDS)


def burst_start(at: datetime) -> datetime:
    """Clicks on other links of the message after this moment make `at`'s click part of a scanner's burst."""
    return at - timedelta(seconds=BURST_SECONDS)
