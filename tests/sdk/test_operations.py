"""Every operation of the contract has a method on both clients, with the same keyword arguments."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from fluenzr import AsyncFluenzrClient, FluenzrClient

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "fluenzr-v1.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# operationId -> (resource attribute on the client, or None for the client itself; method name)
OPERATIONS: dict[str, tuple[str | None, str]] = {
    "handlers.health.get_health": (None, "health"),
    "handlers.contacts.list_contacts": ("contacts", "list"),
    "handlers.contacts.create_contact": ("contacts", "create"),
    "handlers.contacts.get_contact": ("contacts", "get"),
    "handlers.contacts.update_contact": ("contacts", "update"),
    "handlers.contacts.delete_contact": ("contacts", "delete"),
    "handlers.groups.list_groups": ("groups", "list"),
    "handlers.groups.create_group": ("groups", "create"),
    "handlers.groups.get_group": ("groups", "get"),
    "handlers.groups.update_group": ("groups", "update"),
    "handlers.groups.delete_group": ("groups", "delete"),
    "handlers.groups.add_group_contacts": ("groups", "add_contacts"),
    "handlers.email_accounts.list_email_accounts": ("email_accounts", "list"),
    "handlers.email_accounts.create_email_account": ("email_accounts", "create"),
    "handlers.email_accounts.get_email_account": ("email_accounts", "get"),
    "handlers.email_accounts.update_email_account": ("email_accounts", "update"),
    "handlers.email_accounts.delete_email_account": ("email_accounts", "delete"),
    "handlers.campaigns.list_campaigns": ("campaigns", "list"),
    "handlers.campaigns.create_campaign": ("campaigns", "create"),
    "handlers.campaigns.get_campaign": ("campaigns", "get"),
    "handlers.campaigns.update_campaign": ("campaigns", "update"),
    "handlers.campaigns.start_campaign": ("campaigns", "start"),
    "handlers.campaigns.pause_campaign": ("campaigns", "pause"),
    "handlers.campaigns.add_campaign_contacts": ("campaigns", "add_contacts"),
    "handlers.campaigns.get_campaign_stats": ("campaigns", "get_stats"),
    "handlers.webhooks.list_webhooks": ("webhooks", "list"),
    "handlers.webhooks.create_webhook": ("webhooks", "create"),
    "handlers.webhooks.delete_webhook": ("webhooks", "delete"),
}


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())


def _operations() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path_item in SPEC["paths"].values():
        for method in HTTP_METHODS:
            if method in path_item:
                operation = path_item[method]
                operation["_shared_parameters"] = path_item.get("parameters", [])
                found[operation["operationId"]] = operation
    return found


SPEC_OPERATIONS = _operations()


def test_mapping_covers_every_operation_of_the_contract() -> None:
    assert set(OPERATIONS) == set(SPEC_OPERATIONS)


def _method(client: Any, operation_id: str) -> Any:
    resource_name, method_name = OPERATIONS[operation_id]
    owner = client if resource_name is None else getattr(client, resource_name)
    return getattr(owner, method_name, None)


@pytest.mark.parametrize("operation_id", sorted(SPEC_OPERATIONS))
def test_sync_and_async_clients_have_the_method(operation_id: str) -> None:
    sync_method = _method(FluenzrClient(api_key="k"), operation_id)
    async_method = _method(AsyncFluenzrClient(api_key="k"), operation_id)
    assert callable(sync_method), f"FluenzrClient lacks {OPERATIONS[operation_id]}"
    assert callable(async_method), f"AsyncFluenzrClient lacks {OPERATIONS[operation_id]}"
    assert not inspect.iscoroutinefunction(sync_method)
    is_list = OPERATIONS[operation_id][1] == "list"  # async list() returns an awaitable, async-iterable page
    assert inspect.iscoroutinefunction(async_method) is not is_list

    sync_params = inspect.signature(sync_method).parameters
    assert sync_params.keys() == inspect.signature(async_method).parameters.keys()
    assert "timeout" in sync_params and sync_params["timeout"].kind is inspect.Parameter.KEYWORD_ONLY

    # path parameters are positional; query parameters and top-level body fields are snake_case keywords
    operation = SPEC_OPERATIONS[operation_id]
    parameters = operation["_shared_parameters"] + operation.get("parameters", [])
    for param in parameters:
        name = _snake(_resolve(param)["name"])
        expected = "POSITIONAL_OR_KEYWORD" if _resolve(param)["in"] == "path" else "KEYWORD_ONLY"
        assert name in sync_params, f"{operation_id}: no argument {name}"
        assert sync_params[name].kind.name == expected
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        schema = _resolve(content["application/json"]["schema"])
        for wire_name in schema["properties"]:
            keyword = _snake(wire_name)
            assert keyword in sync_params, f"{operation_id}: no keyword argument {keyword} for {wire_name}"
            assert sync_params[keyword].kind is inspect.Parameter.KEYWORD_ONLY


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    target: Any = SPEC
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)
