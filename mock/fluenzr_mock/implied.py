"""Answers the contract's own examples imply, for a stateless mock that still tells a consistent story.

`GET /suppressions` lists `grace@example.com` as `unsubscribed`; the server refuses to delete such an
entry (409 `INVALID_STATE`: only the recipient can opt in again). So `DELETE /suppressions/{entry}` for an
entry the list's examples show as `unsubscribed` answers the documented 409, as an example or, with
`Prefer: dynamic=true`, generated; any other entry is the 204. A `Prefer: code=` or `example=` still wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from fluenzr_mock.contract import Contract
from fluenzr_server.services.suppressions import entry_key


class ImpliedAnswers:
    def __init__(self, contract: Contract) -> None:
        listing = contract.operations.get("listSuppressions")
        bodies = listing.responses["200"].examples.values() if listing and "200" in listing.responses else ()
        self.unsubscribed = frozenset(
            item["entry"]
            for body in bodies
            for item in body.get("data", [])
            if isinstance(item, dict) and item.get("reason") == "unsubscribed"
        )

    def status(self, operation_id: str, path_values: Mapping[str, str]) -> str | None:
        """The documented status this request implies, or None for the operation's default."""
        if operation_id != "deleteSuppression" or "entry" not in path_values:
            return None
        return "409" if entry_key(path_values["entry"]) in self.unsubscribed else None
