"""The webhook URL policy, judged without any network access."""

from __future__ import annotations

import pytest

from fluenzr_server.errors import ValidationFailed
from fluenzr_server.net_policy import check_webhook_url, literal_address

REFUSED = [
    "http://hooks.example.com/x",  # not https
    "https://127.0.0.1/x",
    "https://127.1/x",  # inet_aton shorthand for 127.0.0.1
    "https://2130706433/x",  # decimal 127.0.0.1
    "https://0x7f.0.0.1/x",
    "https://017700000001/x",  # octal
    "https://0.0.0.0/x",
    "https://10.0.0.5/x",
    "https://172.16.0.1/x",
    "https://192.168.1.1/x",
    "https://100.64.0.1/x",  # carrier-grade NAT
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://[::ffff:10.0.0.1]/x",  # IPv4-mapped private
    "https://[::ffff:127.0.0.1]/x",
    "https://[fe80::1]/x",
    "https://[fc00::1]/x",
    "https://[2002:7f00:1::]/x",  # 6to4 wrapping 127.0.0.1
    "https://localhost/x",
    "https://api.localhost/x",
    "https://metadata.google.internal/x",
    "https://printer.local/x",
    "https://intranet/x",  # single-label name
    "https://user:pw@hooks.example.com/x",
    "https:///x",
    "https://hooks.example.com:99999/x",
    "https://example.com:0/x",
    "ftp://hooks.example.com/x",
    "https://169.254\u3002169.254/latest/meta-data/",  # ideographic full stop
    "https://10\uff0e0.0.5/x",  # fullwidth full stop
    "https://%31%32%37.0.0.1/x",  # percent-encoded digits
    "https://\u2460\u2461\u2466.0.0.1/x",  # circled digits, NFKC 127
    "https://[64:ff9b::7f00:1]/x",  # NAT64 wrapping 127.0.0.1
    "https://ex\u00e4mple.com/x",  # non-ASCII: must be given as punycode
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_webhook_url(url, allow_private=False)
    assert "url" in caught.value.details


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/fluenzr",
        "https://8.8.8.8/x",
        "https://[2606:4700::1111]/x",
        "https://a.b.co:8443/",
    ],
)
def test_public_https_accepted(url: str) -> None:
    assert check_webhook_url(url, allow_private=False) == url


def test_private_hosts_only_when_allowed_and_plain_http_only_to_them() -> None:
    for url in ["http://localhost:9000/x", "http://127.0.0.1:9000/x", "https://[::1]/x"]:
        assert check_webhook_url(url, allow_private=True) == url
        with pytest.raises(ValidationFailed):
            check_webhook_url(url, allow_private=False)
    for url in ["http://10.0.0.1/x", "http://169.254.169.254/latest", "http://db.internal/x"]:
        with pytest.raises(ValidationFailed):  # the flag opens loopback only
            check_webhook_url(url, allow_private=True)
    with pytest.raises(ValidationFailed):
        check_webhook_url("http://hooks.example.com/x", allow_private=True)  # public: https only


def test_literal_address_spellings() -> None:
    assert str(literal_address("2130706433")) == "127.0.0.1"
    assert str(literal_address("0x7f.1")) == "127.0.0.1"
    assert literal_address("hooks.example.com") is None
