"""Rules the server enforces live in the contract's schemas (issue 10, item 12), and mean the same everywhere.

Every request-side string schema carries a `pattern` (or is an enum or a checked format), every pattern
has a human reason (errors never show a regex), and each pattern accepts and refuses exactly the same
strings in Python (the server's and the mock's validators) as in ECMA-262 (Node.js here; Spectral, Prism,
Schemathesis's generator and TypeScript clients read the patterns that way).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluenzr_server import text_rules
from fluenzr_server.text_rules import compiled, is_uri, pattern_reason

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "fluenzr-v1.yaml").read_text())
FALLBACK = pattern_reason("(?:unknown)")
# Syntax whose meaning differs between Python's re and ECMA-262 (or that one of them lacks).
NOT_PORTABLE = re.compile(r"\\[dDwWsSbBAZzG]|\(\?<|\(\?P|\(\?[aiLmsux]|\\[0-9]|\\x|\\N|\\p")


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str) and node.get("type", "string") == "string":
            found.append((path, node))
        for key, value in node.items():
            found += walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += walk(value, f"{path}/{i}")
    return found


PATTERNS = sorted({schema["pattern"] for _, schema in walk(SPEC)})


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def request_strings(node: Any, where: str, seen: set[int]) -> list[tuple[str, dict[str, Any]]]:
    """Every string schema a client sends (request bodies and parameters), skipping read-only ones."""
    node = resolve(node)
    if not isinstance(node, dict) or id(node) in seen or node.get("readOnly"):
        return []
    seen = seen | {id(node)}
    found: list[tuple[str, dict[str, Any]]] = []
    if node.get("type") == "string":
        found.append((where, node))
    for key in ("oneOf", "anyOf", "allOf"):
        for i, part in enumerate(node.get(key, [])):
            found += request_strings(part, f"{where}/{key}/{i}", seen)
    for name, prop in node.get("properties", {}).items():
        found += request_strings(prop, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += request_strings(node[key], f"{where}[{key}]", seen)
    return found


def client_sent_strings() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            for param in [*item.get("parameters", []), *op.get("parameters", [])]:
                param = resolve(param)
                found += request_strings(param["schema"], f"{method.upper()} {path} ?{param['name']}", set())
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                found += request_strings(body["schema"], f"{method.upper()} {path} body", set())
    return found


def test_every_string_a_client_sends_states_its_rule_in_the_schema() -> None:
    missing = [
        where
        for where, schema in client_sent_strings()
        if "pattern" not in schema and "enum" not in schema and schema.get("format") != "uri"
    ]
    assert missing == []


def test_every_pattern_has_a_human_reason() -> None:
    assert [pattern for pattern in PATTERNS if pattern_reason(pattern) == FALLBACK] == []
    assert "^" not in "".join(pattern_reason(pattern) for pattern in PATTERNS)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_use_only_syntax_python_and_ecma_read_alike(pattern: str) -> None:
    assert not NOT_PORTABLE.search(pattern), pattern
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    compiled(pattern)


def test_header_bound_fields_and_names_carry_the_rules() -> None:
    schemas = SPEC["components"]["schemas"]
    single_line = [
        schemas["ContactCreate"]["properties"]["firstName"],
        schemas["ContactUpdate"]["properties"]["company"],
        schemas["CustomFields"]["additionalProperties"]["oneOf"][0],
        schemas["SmtpSettingsInput"]["properties"]["username"],
    ]
    assert {schema["pattern"] for schema in single_line} == {text_rules.SINGLE_LINE}
    names = [
        schemas["GroupCreate"]["properties"]["name"],
        schemas["CampaignUpdate"]["properties"]["name"],
        schemas["EmailAccountCreate"]["properties"]["fromName"],
        schemas["StepInput"]["properties"]["subject"],
    ]
    assert {schema["pattern"] for schema in names} == {text_rules.NAME}


# Strings that tell the engines apart if they read a pattern differently: line ends before the end,
# Unicode whitespace and digits, astral characters, separators.
SAMPLES = [
    "", "a", "Sam", "Sam\n", "\nSam", "Sam\r\n", "a\tb", "a\u0000b", "a\x7fb", "a\x85b", "a\u2028b", " ",
    "   ", "\u200b", "\u00a0x", "\u3000", "\ufeff", "x\u200b", "é", "Ω", "👋", "ab_9", "9ab", "a" * 64,
    "a" * 65,
    "ctc_abc", "ctc_", "grp_X1", "ada@example.com", "ada@example.com\n", "a@b", "smtp.example.com",
    "[::1]", "smtp example", "Europe/Madrid", "Etc/GMT+3", "١", "１", "x y", "-", "whsec_abc=",
]  # fmt: skip


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (make lint needs it too)")
def test_patterns_accept_the_same_strings_in_python_and_ecma_262() -> None:
    program = (
        "const [patterns, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(patterns.map(p => samples.map(s => new RegExp(p, 'u').test(s)))));"
    )
    payload = json.dumps([PATTERNS, SAMPLES])
    result = subprocess.run(
        ["node", "-e", program], input=payload, capture_output=True, text=True, timeout=60, check=True
    )
    ecma = json.loads(result.stdout)
    python = [[bool(compiled(pattern).search(sample)) for sample in SAMPLES] for pattern in PATTERNS]
    differences = [
        (pattern, sample, python_says, ecma_says)
        for pattern, python_row, ecma_row in zip(PATTERNS, python, ecma, strict=True)
        for sample, python_says, ecma_says in zip(SAMPLES, python_row, ecma_row, strict=True)
        if python_says != ecma_says
    ]
    assert differences == []


def test_python_dollar_would_differ_which_is_why_the_validators_read_it_as_ecma() -> None:
    assert re.search(text_rules.SINGLE_LINE, "Sam\n")  # Python's own `$`: before a final newline too
    assert not compiled(text_rules.SINGLE_LINE).search("Sam\n")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("https://hooks.example.com/a?b=c#d", True),
        ("https://[2606:4700::1111]:8443/x", True),
        ("https://hooks.example.com/%41%c3%a9", True),
        ("mailto:ada@example.com", True),
        ("https://hooks.example.com/a\n", False),
        ("https://hooks.example.com/%zz", False),
        ("https://hooks.example.com/a b", False),
        ("/relative/path", False),
        ("https://hooks.example.com/é", False),
    ],
)
def test_format_uri_is_rfc_3986(value: str, valid: bool) -> None:
    assert is_uri(value) is valid


def test_the_fuzzers_no_longer_hide_nul() -> None:
    for config in (ROOT / "schemathesis.toml", ROOT / "mock" / "schemathesis.toml"):
        assert "allow-x00" not in config.read_text(), config
