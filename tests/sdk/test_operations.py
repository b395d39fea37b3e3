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
    "getHealth": (None, "health"),
    "getApiIndex": (None, "index"),
    "listContacts": ("contacts", "list"),
    "createContact": ("contacts", "create"),
    "getContact": ("contacts", "get"),
    "updateContact": ("contacts", "update"),
    "deleteContact": ("contacts", "delete"),
    "createContactsBatch": ("contacts", "create_many"),
    "listGroups": ("groups", "list"),
    "createGroup": ("groups", "create"),
    "getGroup": ("groups", "get"),
    "updateGroup": ("groups", "update"),
    "deleteGroup": ("groups", "delete"),
    "addGroupContacts": ("groups", "add_contacts"),
    "listEmailAccounts": ("email_accounts", "list"),
    "createEmailAccount": ("email_accounts", "create"),
    "getEmailAccount": ("email_accounts", "get"),
    "updateEmailAccount": ("email_accounts", "update"),
    "deleteEmailAccount": ("email_accounts", "delete"),
    "listCampaigns": ("campaigns", "list"),
    "createCampaign": ("campaigns", "create"),
    "getCampaign": ("campaigns", "get"),
    "updateCampaign": ("campaigns", "update"),
    "startCampaign": ("campaigns", "start"),
    "pauseCampaign": ("campaigns", "pause"),
    "addCampaignContacts": ("campaigns", "add_contacts"),
    "getCampaignStats": ("campaigns", "get_stats"),
    "listCampaignContacts": ("campaigns", "list_contacts"),
    "getCampaignSendingStatus": ("campaigns", "get_sending_status"),
    "getCampaignContact": ("campaigns", "get_contact"),
    "pauseCampaignContact": ("campaigns", "pause_contact"),
    "resumeCampaignContact": ("campaigns", "resume_contact"),
    "listWebhooks": ("webhooks", "list"),
    "createWebhook": ("webhooks", "create"),
    "deleteWebhook": ("webhooks", "delete"),
    "getWebhook": ("webhooks", "get"),
    "updateWebhook": ("webhooks", "update"),
    "testWebhook": ("webhooks", "test"),
    "rotateWebhookSecret": ("webhooks", "rotate_secret"),
    "listWebhookDeliveries": ("webhooks", "list_deliveries"),
    "retryWebhookDelivery": ("webhooks", "retry_delivery"),
}


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


# Body arrays taken as the method's first positional argument (`contacts.create_many(rows, mode=...)`).
POSITIONAL_BODY = {"createContactsBatch": "contacts"}

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
    # async list()/list_…() return an awaitable, async-iterable page
    is_list = OPERATIONS[operation_id][1].startswith("list")
    assert inspect.iscoroutinefunction(async_method) is not is_list

    sync_params = inspect.signature(sync_method).parameters
    assert sync_params.keys() == inspect.signature(async_method).parameters.keys()
    assert "timeout" in sync_params and sync_params["timeout"].kind is inspect.Parameter.KEYWORD_ONLY

    # path parameters are positional; query parameters and top-level body fields are snake_case keywords
    operation = SPEC_OPERATIONS[operation_id]
    parameters = operation["_shared_parameters"] + operation.get("parameters", [])
    for param in parameters:
        if _resolve(param)["name"] == "Idempotency-Key":
            continue  # the client sends one on every POST itself (tests/sdk/test_retries.py)
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
            if POSITIONAL_BODY.get(operation_id) == wire_name:
                assert next(iter(sync_params)) == keyword, f"{operation_id}: {keyword} comes first"
                continue
            assert sync_params[keyword].kind is inspect.Parameter.KEYWORD_ONLY


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    target: Any = SPEC
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)
