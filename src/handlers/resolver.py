"""Maps the contract's public operation ids (`listContacts`) to handler functions (`handlers.contacts`).

An operation's handler lives in the module named by its one tag (`email-accounts` ->
`handlers.email_accounts`) and is the operation id in snake_case (`addGroupContacts` ->
`add_group_contacts`), so the public document names what partners read and never an import path.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from connexion.resolver import Resolution, Resolver

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def handler_path(tag: str, operation_id: str) -> str:
    """`("email-accounts", "getEmailAccount")` -> `"handlers.email_accounts.get_email_account"`."""
    return f"handlers.{tag.replace('-', '_')}.{_WORD_START.sub('_', operation_id).lower()}"


def resolve_handler(tag: str, operation_id: str) -> Callable[..., Any]:
    """The handler function of one operation; ImportError/AttributeError when it does not exist."""
    module_name, _, function_name = handler_path(tag, operation_id).rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    return function


class TagResolver(Resolver):  # type: ignore[misc]
    """Resolves `operationId` within the module named by the operation's single tag."""

    def resolve(self, operation: Any) -> Resolution:
        operation_id = self.resolve_operation_id(operation)
        # Connexion exposes no public accessor for an operation's tags; its spec dict carries them.
        tags = operation._operation.get("tags", [])
        if len(tags) != 1:
            raise ValueError(f"operation {operation_id} must carry exactly one tag, has {tags}")
        return Resolution(resolve_handler(tags[0], operation_id), operation_id)
