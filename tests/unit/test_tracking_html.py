"""`tracking.html` and `tracking.machines`: the HTML part's rewriting and the machine-hit rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fluenzr_server.tracking import html, machines
from fluenzr_server.tracking.links import Links
from fluenzr_server.tracking.tokens import TokenBox

LINKS = Links("https://t.example", TokenBox(["k" * 40]))


def test_text_becomes_escaped_html_with_clickable_urls() -> None:
    fragment = html.from_text("Hi <Ada> & co,\nsee https://acme.example/a?b=1&c=2. Or (http://x.example/p)!")
    assert fragment == (
        "Hi &lt;Ada&gt; &amp; co,<br>\nsee "
        '<a href="https://acme.example/a?b=1&amp;c=2">https://acme.example/a?b=1&amp;c=2</a>. Or ('
        '<a href="http://x.example/p">http://x.example/p</a>)!'
    )
    assert "<a" not in html.from_text("javascript:alert(1) data:text/html,x ftp://x.example")


def test_track_rewrites_http_links_only_and_keeps_our_own() -> None:
    fragment = (
        '<a href="https://acme.example/a?b=1&amp;c=2">a</a><a href="mailto:x@y.example">m</a>'
        '<a href="/relative">r</a><a href="https://t.example/t/u/TOKEN">u</a><a href="HTTPS://UP.example">U</a>'
    )
    tracked = html.track(fragment, message_id="msg_1", links=LINKS, opens=True, clicks=True)
    hrefs = [part.split('"')[0] for part in tracked.split('href="')[1:]]
    assert hrefs[0].startswith("https://t.example/t/c/")
    opened = LINKS.tokens.open("click", hrefs[0].rsplit("/", 1)[1])
    assert (opened.message_id, opened.url) == ("msg_1", "https://acme.example/a?b=1&c=2")
    assert hrefs[1:4] == ["mailto:x@y.example", "/relative", "https://t.example/t/u/TOKEN"]
    assert LINKS.tokens.open("click", hrefs[4].rsplit("/", 1)[1]).url == "HTTPS://UP.example"
    assert tracked.endswith(
        'width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">'
    )
    assert html.track(fragment, message_id="m", links=LINKS, opens=False, clicks=False) == fragment


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "//evil.example",
        "https://",
        "http:///x",
        "ftp://x.example",
        "https://a.example/\r\nSet-Cookie: x=1",
        "https://a.example/\tpath",
        "https://a.example/ space",
        "https://bücher.example/",
        "java\nscript:alert(1)",
    ],
)
def test_only_absolute_http_urls_with_a_host_are_trackable(url: str) -> None:
    assert not html.trackable(url)


def test_sanitize_drops_scripts_handlers_and_unsafe_urls() -> None:
    clean = html.sanitize(
        '<p onclick="x()">Hi</p><script>x()</script><style>p{}</style><iframe src="https://x"></iframe>'
        '<a href="javascript:x()">j</a><img src="data:image/png;base64,AA"><form><input></form>'
    )
    for banned in (
        "onclick",
        "<script",
        "x()",
        "<style",
        "<iframe",
        "javascript:",
        "data:",
        "<form",
        "<input",
    ):
        assert banned not in clean


@pytest.mark.parametrize(
    ("client", "agent", "machine"),
    [
        ("17.58.1.20", "Mozilla/5.0 (Macintosh)", True),
        ("::ffff:17.0.0.1", None, True),
        ("198.51.100.7", "Mozilla/5.0", True),
        ("198.51.100.7", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", False),
        ("18.0.0.1", "Mozilla/5.0 (X11)", False),
        (None, None, False),
        ("not an address", "", False),
    ],
)
def test_machine_opens(client: str | None, agent: str | None, machine: bool) -> None:
    assert machines.machine_open(client=client, user_agent=agent) is machine


def test_clicks_right_after_sending_are_a_scanner_s() -> None:
    sent = datetime(2025, 1, 1, 9, tzinfo=UTC)
    assert machines.too_soon_after_send(sent_at=None, at=sent)
    assert machines.too_soon_after_send(sent_at=sent, at=sent + timedelta(seconds=9.9))
    assert not machines.too_soon_after_send(sent_at=sent, at=sent + timedelta(seconds=10))
