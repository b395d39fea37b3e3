"""Opens, clicks and unsubscribes end to end: the real app, the real send task, the real SMTP sink.

Each test sends through the sink, reads the `/t/…` URLs out of the received message (its HTML part and
its `List-Unsubscribe` header) and fetches them from the app as a mail client would: no API key.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from fluenzr_server.app import build_app
from fluenzr_server.engine.retention import RetentionTask
from fluenzr_server.engine.smtp_sink import ReceivedMessage
from fluenzr_server.resources import Resources
from fluenzr_server.store import tables as t
from tests.conftest import resources_for
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness, engine_settings

HUMAN_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0"
PRICING = "https://acme.example/pricing?plan=pro&utm_source=mail"
DOCS = "https://docs.acme.example/start"
TWO_STEPS = [
    {"subject": "Quick question, {{firstName}}", "body": f"Hi {{{{firstName}}}}, see {PRICING}."},
    {"subject": "Following up", "body": "Second.", "delayDays": 2},
]


def recipient(app: Any, address: str = "198.51.100.7") -> httpx.AsyncClient:
    """A mail client or browser: no API key, no cookies kept, from `address`."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://127.0.0.1:8000",
        headers={"User-Agent": HUMAN_UA},
    )


@pytest.fixture
async def mail(engine_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with recipient(engine_app) as client:
        yield client


def parsed(received: ReceivedMessage) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(received.data, policy=policy.default))


def html_part(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(cast(EmailMessage, part).get_content())


def text_part(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(cast(EmailMessage, part).get_content())


def pixel_url(message: EmailMessage) -> str:
    (url,) = re.findall(r'<img src="([^"]+/t/o/[^"]+)"', html_part(message))
    return html_lib.unescape(url)


def link_urls(message: EmailMessage) -> list[str]:
    return [html_lib.unescape(u) for u in re.findall(r'<a [^>]*href="([^"]+)"', html_part(message))]


def unsubscribe_url(message: EmailMessage) -> str:
    found = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    return str(found[0])


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def sent_one(
    harness: Harness, sink_factory: SinkFactory, **campaign: Any
) -> tuple[dict[str, Any], dict[str, Any], EmailMessage]:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1)
    made = await harness.campaign(mailbox, [contact], steps=campaign.pop("steps", TWO_STEPS), start=False)
    if campaign:
        ok_update = await harness.client.put(f"/campaigns/{made['id']}", json=campaign)
        assert ok_update.status_code == 200, ok_update.text
    started = await harness.client.post(f"/campaigns/{made['id']}/start")
    assert started.status_code == 200
    await harness.drain()
    (received,) = sink.messages
    return made, contact, parsed(received)


async def age_messages(harness: Harness, campaign_id: str, seconds: float = 60) -> None:
    """Time passes since the send (link scanners click at once; people later)."""
    async with harness.database.write() as conn:
        rows = (await conn.execute(select(t.messages).where(t.messages.c.campaign_id == campaign_id))).all()
        for row in rows:
            await conn.execute(
                update(t.messages)
                .where(t.messages.c.id == row.id)
                .values(sent_at=row.sent_at - timedelta(seconds=seconds))
            )


async def hits(harness: Harness, campaign_id: str) -> list[Any]:
    async with harness.database.read() as conn:
        query = (
            select(t.tracking_events)
            .join(t.messages, t.messages.c.id == t.tracking_events.c.message_id)
            .where(t.messages.c.campaign_id == campaign_id)
            .order_by(t.tracking_events.c.at)
        )
        return list((await conn.execute(query)).all())


# --- the message ---------------------------------------------------------------------------------------


async def test_every_message_has_an_html_alternative_a_pixel_tracked_links_and_list_unsubscribe(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    campaign, contact, message = await sent_one(harness, sink_factory)
    assert message.get_content_type() == "multipart/alternative"
    assert text_part(message).strip() == f"Hi {contact['firstName']}, see {PRICING}."
    body = html_part(message)
    assert f"Hi {contact['firstName']}, see" in body
    assert pixel_url(message).startswith("http://127.0.0.1:8000/t/o/")
    (link,) = link_urls(message)
    assert link.startswith("http://127.0.0.1:8000/t/c/")
    assert PRICING not in link and "pricing" not in link  # the destination is inside the opaque token
    assert f">{html_lib.escape(PRICING)}</a>" in body  # the visible text is the URL as written

    one_click = unsubscribe_url(message)
    assert one_click.startswith("http://127.0.0.1:8000/t/u/")
    header = str(message["List-Unsubscribe"])
    sender = message["From"].addresses[0].addr_spec
    assert header == f"<{one_click}>, <mailto:{sender}?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for token_url in (one_click, link, pixel_url(message)):
        token = token_url.rsplit("/", 1)[1]
        assert contact["email"] not in token and campaign["id"] not in token and "msg_" not in token


async def test_switches_off_leave_no_pixel_and_links_as_written(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    _, _, message = await sent_one(harness, sink_factory, trackOpens=False, trackClicks=False)
    assert "/t/o/" not in html_part(message)
    assert link_urls(message) == [PRICING]
    assert unsubscribe_url(message).startswith("http://127.0.0.1:8000/t/u/")  # always


async def test_body_html_is_sanitised_contact_values_escaped_and_unsafe_links_never_redirect(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    body_html = (
        '<p onclick="steal()">Hi {{firstName}},</p><script>steal()</script>'
        f'<a href="{PRICING}">pricing</a> <a href="javascript:alert(1)">js</a> '
        '<a href="data:text/html,<script>alert(1)</script>">data</a> <a href="//evil.example/">rel</a>'
        '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>'
    )
    steps = [{"subject": "Hi", "body": "Hi {{firstName}} javascript:alert(1)", "bodyHtml": body_html}]
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    (contact,) = await harness.contacts(1, firstName="<b>Ada</b> & Co")
    campaign = await harness.campaign(mailbox, [contact], steps=steps)
    await harness.drain()
    (received,) = sink.messages
    message = parsed(received)
    body = html_part(message)
    assert "<script" not in body and "onclick" not in body and "steal()" not in body.replace("&", "")
    assert "Hi &lt;b&gt;Ada&lt;/b&gt; &amp; Co," in body
    links = link_urls(message)
    tracked = [url for url in links if "/t/c/" in url]
    assert len(tracked) == 1, links  # only the https link; javascript:, data: and //host are not wrapped
    assert "//evil.example/" in links
    assert not any(url.startswith(("javascript:", "data:")) for url in links)
    assert unsubscribe_url(message) in links  # {{unsubscribeUrl}}, not wrapped in a click link
    response = await mail.get(path(tracked[0]))
    assert (response.status_code, response.headers["location"]) == (302, PRICING)
    # A token we never issued for javascript: (even sealed with our key) is refused at the redirect too.
    tokens = harness.resources.tokens
    (row,) = await harness.messages(campaign["id"])
    for bad in (
        "javascript:alert(1)",
        "data:text/html,x",
        "ftp://acme.example/",
        "https://",
        "https://acme.example/\r\nSet-Cookie: session=1",
    ):
        forged = tokens.seal("click", row.id, bad)
        assert (await mail.get(f"/t/c/{forged}")).status_code == 404


async def test_unsubscribe_url_works_in_text_bodies_and_is_the_header_s_uri(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    steps = [{"subject": "Hi", "body": "Hi.\n\nNot interested? {{unsubscribeUrl}}"}]
    _, _, message = await sent_one(harness, sink_factory, steps=steps)
    assert text_part(message).strip().endswith(unsubscribe_url(message))


# --- opens --------------------------------------------------------------------------------------------


async def test_opens_count_once_per_lead_and_machine_opens_not_at_all(
    harness: Harness, sink_factory: SinkFactory, engine_app: Any, mail: httpx.AsyncClient
) -> None:
    campaign, contact, message = await sent_one(harness, sink_factory)
    pixel = path(pixel_url(message))
    async with recipient(engine_app, "17.58.1.20") as apple_proxy:
        response = await apple_proxy.get(pixel)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"].startswith("no-store")
    assert response.content.startswith(b"GIF89a") and len(response.content) < 64
    await mail.get(pixel, headers={"User-Agent": "Mozilla/5.0"})  # the proxy's user agent, elsewhere
    assert (await harness.stats(campaign["id"]))["opened"] == 0
    assert await harness.events("email.opened") == []
    (lead,) = await harness.leads(campaign["id"])
    assert lead["openedAt"] is None

    for _ in range(3):
        assert (await mail.get(pixel)).status_code == 200
    assert (await mail.head(pixel)).status_code == 200  # not recorded
    stats = await harness.stats(campaign["id"])
    assert (stats["sent"], stats["opened"], stats["openRate"]) == (1, 1, 100.0)
    (event,) = await harness.events("email.opened")
    assert (event.data["contactId"], event.data["messageId"]) == (contact["id"], str(message["Message-ID"]))
    (lead,) = await harness.leads(campaign["id"])
    assert lead["openedAt"] is not None and lead["clickedAt"] is None
    assert [(h.kind, h.machine) for h in await hits(harness, campaign["id"])] == [
        ("open", True),
        ("open", True),
        ("open", False),
        ("open", False),
        ("open", False),
    ]


async def test_open_rate_rounds_half_up(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    contacts = await harness.contacts(16)
    campaign = await harness.campaign(mailbox, contacts)
    await harness.drain()
    assert len(sink.messages) == 16
    assert (await mail.get(path(pixel_url(parsed(sink.messages[0]))))).status_code == 200
    stats = await harness.stats(campaign["id"])
    assert (stats["sent"], stats["opened"], stats["openRate"]) == (16, 1, 6.3)


# --- clicks -------------------------------------------------------------------------------------------


async def test_a_click_redirects_to_the_token_s_url_only_and_counts_once(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    campaign, contact, message = await sent_one(harness, sink_factory)
    await age_messages(harness, campaign["id"])
    (link,) = link_urls(message)
    for attempt in (
        path(link),
        path(link) + "?url=https://evil.example/",
        path(link) + "?next=//evil.example&redirect=javascript:alert(1)",
    ):
        response = await mail.get(attempt)
        assert response.status_code == 302, attempt
        assert response.headers["location"] == PRICING
        assert "set-cookie" not in response.headers
    stats = await harness.stats(campaign["id"])
    assert (stats["clicked"], stats["clickRate"]) == (1, 100.0)
    (event,) = await harness.events("email.clicked")
    assert (event.data["contactId"], event.data["url"]) == (contact["id"], PRICING)
    (lead,) = await harness.leads(campaign["id"])
    assert lead["status"] == "active"  # a click changes no state of the sequence


async def test_a_click_within_seconds_of_delivery_is_a_link_scanner(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    campaign, _, message = await sent_one(harness, sink_factory)
    (link,) = link_urls(message)
    response = await mail.get(path(link))
    assert (response.status_code, response.headers["location"]) == (302, PRICING)  # still redirected
    assert (await harness.stats(campaign["id"]))["clicked"] == 0
    assert await harness.events("email.clicked") == []
    assert [(h.kind, h.machine, h.url) for h in await hits(harness, campaign["id"])] == [
        ("click", True, PRICING)
    ]


async def test_clicks_on_every_link_within_seconds_are_a_scanner_burst(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    steps = [{"subject": "Hi", "body": f"Pricing: {PRICING}\nDocs: {DOCS}"}]
    campaign, _, message = await sent_one(harness, sink_factory, steps=steps)
    await age_messages(harness, campaign["id"])
    pricing, docs = link_urls(message)
    assert (await mail.get(path(pricing))).headers["location"] == PRICING
    assert (await harness.stats(campaign["id"]))["clicked"] == 1  # one link, a person so far
    assert (await harness.leads(campaign["id"]))[0]["clickedAt"] is not None
    assert (await mail.get(path(docs))).headers["location"] == DOCS
    assert (await harness.stats(campaign["id"]))["clicked"] == 0  # the burst reveals a scanner
    assert (await harness.leads(campaign["id"]))[0]["clickedAt"] is None
    assert [h.machine for h in await hits(harness, campaign["id"])] == [True, True]


async def test_bad_tokens_are_a_plain_404(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    _, _, message = await sent_one(harness, sink_factory)
    (link,) = link_urls(message)
    token = link.rsplit("/", 1)[1]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    open_token = pixel_url(message).rsplit("/", 1)[1]
    unsubscribe_token = unsubscribe_url(message).rsplit("/", 1)[1]
    for url in (
        f"/t/c/{tampered}",
        f"/t/c/{open_token}",  # an open token used as a click token
        f"/t/o/{token}",
        f"/t/u/{open_token}",
        f"/t/o/{unsubscribe_token}",
        "/t/c/",
        "/t/c/not-a-token",
        "/t/x/" + token,
        "/t/c/" + "A" * 5000,
    ):
        response = await mail.get(url)
        assert response.status_code == 404, url
        assert "location" not in response.headers
    one_click = await mail.post(f"/t/u/{open_token}", content=b"List-Unsubscribe=One-Click")
    assert one_click.status_code == 404
    assert (await mail.delete(f"/t/u/{unsubscribe_token}")).status_code == 405


# --- unsubscribe --------------------------------------------------------------------------------------


async def test_one_click_post_unsubscribes_without_cookies_and_the_next_step_is_not_sent(
    harness: Harness, sink_factory: SinkFactory, engine_app: Any
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    leaving, staying = await harness.contacts(2)
    campaign = await harness.campaign(mailbox, [leaving, staying], steps=TWO_STEPS)
    await harness.drain()
    to_leaving = next(parsed(m) for m in sink.messages if leaving["email"] in m.rcpt_tos)
    url = unsubscribe_url(to_leaving)

    # What a mail client sends for RFC 8058: a bare POST, form-encoded, no cookies, no credentials.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=engine_app)) as bare:
        response = await bare.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        again = await bare.post(url, content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200 and again.status_code == 200
    assert "set-cookie" not in response.headers and "location" not in response.headers

    await harness.make_due(campaign["id"])
    await harness.drain()
    assert len([m for m in sink.messages if leaving["email"] in m.rcpt_tos]) == 1
    assert len([m for m in sink.messages if staying["email"] in m.rcpt_tos]) == 2
    leads = {lead["contactId"]: lead for lead in await harness.leads(campaign["id"])}
    assert (leads[leaving["id"]]["status"], leads[leaving["id"]]["reason"]) == (
        "unsubscribed",
        "unsubscribed (one-click)",
    )
    stats = await harness.stats(campaign["id"])
    assert stats["unsubscribed"] == 1
    (event,) = await harness.events("contact.unsubscribed")
    assert event.data["id"] == leaving["id"]


async def test_the_unsubscribe_page_asks_first_and_its_button_unsubscribes(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    campaign, contact, message = await sent_one(harness, sink_factory)
    url = path(unsubscribe_url(message))
    page = await mail.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "<button" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    (lead,) = await harness.leads(campaign["id"])
    assert lead["status"] == "active"  # a GET (a link scanner's, say) changes nothing

    pressed = await mail.post(url, data={"source": "page"})
    assert pressed.status_code == 200 and "set-cookie" not in pressed.headers
    (lead,) = await harness.leads(campaign["id"])
    assert (lead["status"], lead["reason"]) == ("unsubscribed", "unsubscribed (page)")
    assert [e.data["id"] for e in await harness.events("contact.unsubscribed")] == [contact["id"]]


async def test_tracking_endpoints_have_their_own_per_address_rate_limit(
    harness: Harness, sink_factory: SinkFactory, engine_resources: Resources, database_url: str
) -> None:
    limited = resources_for(engine_resources, engine_settings(database_url, tracking_rate_limit="3/minute"))
    app = build_app(limited)
    _, _, message = await sent_one(harness, sink_factory)
    pixel = path(pixel_url(message))
    async with recipient(app, "192.0.2.10") as one, recipient(app, "192.0.2.11") as other:
        codes = [(await one.get(pixel)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = await one.get(pixel)
        assert int(refused.headers["retry-after"]) >= 1 and refused.headers["content-type"].startswith(
            "text/plain"
        )
        assert (await other.get(pixel)).status_code == 200  # another address has its own window
        api = await one.get("/v1/health")
        assert api.status_code == 200  # the API's limit is not the tracking one


async def test_a_burst_after_the_lead_s_click_hits_expired_keeps_its_older_click(
    harness: Harness, sink_factory: SinkFactory, mail: httpx.AsyncClient
) -> None:
    steps = [{"subject": "Hi", "body": f"Pricing: {PRICING}\nDocs: {DOCS}"}]
    campaign, _, message = await sent_one(harness, sink_factory, steps=steps)
    await age_messages(harness, campaign["id"], seconds=100 * 86400)
    pricing, docs = link_urls(message)
    assert (await mail.get(path(pricing))).headers["location"] == PRICING
    (clicked,) = await hits(harness, campaign["id"])
    long_ago = clicked.at - timedelta(days=100)  # the person clicked 100 days ago
    async with harness.database.write() as conn:
        await conn.execute(
            update(t.tracking_events).where(t.tracking_events.c.id == clicked.id).values(at=long_ago)
        )
        await conn.execute(
            update(t.campaign_contacts)
            .where(t.campaign_contacts.c.campaign_id == campaign["id"])
            .values(clicked_at=long_ago)
        )
    swept = await RetentionTask(account_ids=[harness.account_id]).sweep(harness.resources)
    assert swept.tracking_hits == 1 and await hits(harness, campaign["id"]) == []
    (before,) = await harness.leads(campaign["id"])

    # Today a scanner follows both links: its clicks are machine clicks, and the old human click stays.
    assert (await mail.get(path(pricing))).headers["location"] == PRICING
    assert (await mail.get(path(docs))).headers["location"] == DOCS
    assert [h.machine for h in await hits(harness, campaign["id"])] == [True, True]
    (after,) = await harness.leads(campaign["id"])
    assert after["clickedAt"] == before["clickedAt"] is not None
    assert (await harness.stats(campaign["id"]))["clicked"] == 1
