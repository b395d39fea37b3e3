"""The HTML part of a message: a step's `bodyHtml` sanitised, or its plain text as simple HTML, with the
open pixel and links rewritten through `/t/c/…` when the campaign tracks them.

- `sanitize`: Ammonia's allow-list (`nh3`): no scripts, styles, event handlers or forms; link and image
  URLs limited to `http`, `https` and `mailto` (a `javascript:` or `data:` href is dropped, so it can never
  become a tracked redirect).
- `from_text`: the text HTML-escaped, line breaks kept, `http(s)://` URLs made links.
- `track`: each `<a href>` whose URL is absolute `http`/`https` (and not already one of our `/t/` URLs)
  points at a click URL whose token carries that exact URL; the 1×1 pixel goes at the end of the body.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import nh3

from fluenzr_server.tracking.links import Links

_URL_SCHEMES = {"http", "https", "mailto"}
_TEXT_URL = re.compile(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
# nh3 serialises every attribute as name="value" (quotes inside escaped), tags in lower case.
_HREF = re.compile(r'(<a\s[^>]*?\bhref=")([^"]*)(")')
_PIXEL_STYLE = "display:block;width:1px;height:1px;border:0"
_PRINTABLE_ASCII = re.compile(r"^[!-~]+$")


def sanitize(fragment: str) -> str:
    return str(nh3.clean(fragment, url_schemes=_URL_SCHEMES))


def escaped_context(values: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables for an HTML template: text values HTML-escaped (a contact named `<b>Ada` is
    shown as written, not as markup)."""
    return {key: html.escape(value) if isinstance(value, str) else value for key, value in values.items()}


def from_text(text: str) -> str:
    """The plain-text body as an HTML fragment: escaped, line breaks as `<br>`, URLs clickable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts: list[str] = []
    last = 0
    for found in _TEXT_URL.finditer(text):
        url = found.group(0).rstrip(_TRAILING)
        end = found.start() + len(url)
        parts.append(html.escape(text[last : found.start()]))
        parts.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts).replace("\n", "<br>\n")


def trackable(url: str) -> bool:
    """An absolute http(s) URL with a host, in printable ASCII (no spaces or controls, which `urlsplit`
    would silently drop): the only kind a click link may redirect to."""
    if not _PRINTABLE_ASCII.match(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def track(fragment: str, *, message_id: str, links: Links, opens: bool, clicks: bool) -> str:
    """`fragment` with its links rewritten (`clicks`) and the open pixel appended (`opens`)."""
    if clicks:

        def rewrite(found: re.Match[str]) -> str:
            url = html.unescape(found.group(2)).strip()
            if not trackable(url) or links.is_ours(url):
                return found.group(0)
            return found.group(1) + html.escape(links.click_url(message_id, url)) + found.group(3)

        fragment = _HREF.sub(rewrite, fragment)
    if opens:
        pixel = html.escape(links.open_url(message_id))
        fragment += f'<img src="{pixel}" width="1" height="1" alt="" style="{_PIXEL_STYLE}">'
    return fragment


def document(fragment: str) -> str:
    """A complete, minimal HTML document around `fragment` (UTF-8)."""
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n<body>\n{fragment}\n</body></html>\n'
