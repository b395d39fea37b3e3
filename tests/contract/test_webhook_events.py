"""The `x-webhooks` section: every event type documented, with a payload example valid against its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from prance import ResolvingParser

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "fluenzr-v1.yaml"
NOT_EMITTED_YET: set[str] = set()


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return ResolvingParser(str(SPEC_PATH), backend="openapi-spec-validator", strict=True).specification


def test_every_subscribable_type_and_the_test_event_are_documented(spec: dict[str, Any]) -> None:
    subscribable = spec["components"]["schemas"]["WebhookEvent"]["enum"]
    assert set(spec["x-webhooks"]) == {*subscribable, "webhook.test"}
    emitted = {name for name, item in spec["x-webhooks"].items() if item["post"]["x-emitted"]}
    assert set(spec["x-webhooks"]) - emitted == NOT_EMITTED_YET
    for name in NOT_EMITTED_YET:
        assert "Not emitted yet" in spec["x-webhooks"][name]["post"]["description"]


def test_each_payload_example_is_valid_and_of_its_type(spec: dict[str, Any]) -> None:
    for name, item in spec["x-webhooks"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        validator = OAS30Validator(content["schema"])
        assert content["examples"], name
        for example in content["examples"].values():
            errors = [e.message for e in validator.iter_errors(example["value"])]
            assert errors == [], (name, errors)
            assert example["value"]["type"] == name
