"""Pure functions behind the kinds of bad input (issue 10): one parser or rule per kind, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluenzr_server.auth import bearer_token
from fluenzr_server.bodies import canonical_content_type
from fluenzr_server.errors import ValidationFailed
from fluenzr_server.idempotency import canonical_json, request_fingerprint
from fluenzr_server.net_policy import check_mail_host
from fluenzr_server.services.common import normalise_email
from fluenzr_server.text_rules import custom_field_key_problem


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("application/JSON", "application/json"),
        ("Application/Json ; Charset=UTF-8", "application/json"),
        ("application/json;charset=latin-1", "application/json"),
        ("TEXT/Plain ; Charset=UTF-8", "text/plain; charset=UTF-8"),
        ("multipart/form-data; boundary=AbC", "multipart/form-data; boundary=AbC"),
    ],
)
def test_media_types_are_case_insensitive(header: str, canonical: str) -> None:
    assert canonical_content_type(header) == canonical


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer fz_live_abc", "fz_live_abc"),
        ("bearer\tfz_live_abc", "fz_live_abc"),
        ("BEARER   fz_live_abc \t", "fz_live_abc"),
        ("Bearer abc==", "abc=="),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer a b", None),
        ("Bearer,a", None),
        ("Basic YTpi", None),
        ("Bearer a\r\n", None),
        (" Bearer a", None),
        ("", None),
        (None, None),
    ],
)
def test_one_parser_of_the_authorization_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_idempotency_fingerprint_compares_json_values() -> None:
    one = request_fingerprint("POST", "/v1/groups", b'{"name":"x","description":null}')
    assert one == request_fingerprint("POST", "/v1/groups", b'{ "description": null,\n "name": "x" }')
    assert one == request_fingerprint("POST", "/v1/groups", b'{"name":"\\u0078","description":null}')
    assert one != request_fingerprint("POST", "/v1/groups", b'{"name":"y","description":null}')
    assert one != request_fingerprint("POST", "/v1/contacts", b'{"name":"x","description":null}')
    assert request_fingerprint("POST", "/v1/groups", b"not json") != request_fingerprint(
        "POST", "/v1/groups", b"not  json"
    )


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "127.0.0.1", "localhost", "[::1]", "10.1.2.3", "a.local"]
)
def test_mail_host_policy_refuses_private_places(host: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_mail_host(host, field="smtp.host", allow_private=False)
    assert set(caught.value.details) == {"smtp.host"}
    if host in ("127.0.0.1", "localhost", "[::1]"):  # the flag opens loopback for local sinks
        assert check_mail_host(host, field="smtp.host", allow_private=True) == host
    else:  # and nothing else: not the metadata address, private networks or internal names
        with pytest.raises(ValidationFailed):
            check_mail_host(host, field="smtp.host", allow_private=True)


def test_mail_host_policy_accepts_public_hosts() -> None:
    for host in ("smtp.gmail.com", "93.184.216.34", "[2606:4700::1111]"):
        assert check_mail_host(host, field="smtp.host", allow_private=False) == host


def test_emails_with_a_trailing_newline_are_refused_by_the_service_too() -> None:
    with pytest.raises(ValidationFailed):
        normalise_email("ada@example.com\n")


def test_custom_field_keys_alphabet() -> None:
    assert custom_field_key_problem({"customFields": {"ok_1": 1, "_a": 2}}) == {}
    assert set(custom_field_key_problem({"customFields": {"1a": 1, "": 2, "a b": 3}})) == {
        "customFields.1a",
        "customFields.",
        "customFields.a b",
    }


def _stdlib_canonical(body: bytes) -> bytes:
    """The fingerprint's canonical form as every version so far wrote it."""
    text = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, blacklist_categories=()), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(blacklist_categories=()), max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json_values, st.booleans())
def test_canonical_json_is_the_standard_librarys_bytes_for_any_value(value: Any, spaced: bool) -> None:
    """The fast path (orjson) writes exactly what the standard library wrote, so fingerprints recorded by an
    earlier version still match after an upgrade: floats, NaN, big integers and lone surrogates included."""
    body = json.dumps(value, indent=2 if spaced else None).encode("utf-8", "surrogatepass")
    assert canonical_json(body) == _stdlib_canonical(body)


def test_canonical_json_of_known_values() -> None:
    assert canonical_json(b'{"b": [1, "\\u00e9\\n"], "a": {"z": null, "y": true}}') == (
        '{"a":{"y":true,"z":null},"b":[1,"é\\n"]}'.encode()
    )
    assert canonical_json(b'{"x": 1e16, "y": 1E-5, "n": NaN}') == b'{"n":NaN,"x":1e+16,"y":1e-05}'
    assert (
        canonical_json(b'{"big": 123456789012345678901234567890}')
        == b'{"big":123456789012345678901234567890}'
    )
    assert canonical_json(b'["\\ud800"]') == '["\ud800"]'.encode("utf-8", "surrogatepass")
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        canonical_json(b"not json")
