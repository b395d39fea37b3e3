"""The `/t/…` URLs of one message, on the server's public base URL (`FLUENZR_PUBLIC_URL`).

`/t/o/<token>` the open pixel, `/t/c/<token>` a tracked link, `/t/u/<token>` the unsubscribe link (the
`List-Unsubscribe` URI of RFC 8058 and `{{unsubscribeUrl}}` in templates). Tokens: `tracking/tokens.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluenzr_server.tracking.tokens import TokenBox

PREFIX = "/t/"


@dataclass(frozen=True, slots=True)
class Links:
    public_url: str  # no trailing slash (settings strip it)
    tokens: TokenBox

    def open_url(self, message_id: str) -> str:
        return f"{self.public_url}/t/o/{self.tokens.seal('open', message_id)}"

    def click_url(self, message_id: str, url: str) -> str:
        return f"{self.public_url}/t/c/{self.tokens.seal('click', message_id, url)}"

    def unsubscribe_url(self, message_id: str) -> str:
        return f"{self.public_url}/t/u/{self.tokens.seal('unsubscribe', message_id)}"

    def is_ours(self, url: str) -> bool:
        """A `/t/` URL of this server (an `{{unsubscribeUrl}}` link is not wrapped in a click link)."""
        return url.startswith(self.public_url + PREFIX)
