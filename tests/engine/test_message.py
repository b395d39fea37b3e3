"""The RFC 5322 message (fluenzr_server.engine.message): parsed back from its bytes, never injectable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluenzr_server.engine import message as message_module
from fluenzr_server.engine.message import build_message, new_message_id, reply_subject

WHEN = datetime(2025, 3, 3, 10, 30, tzinfo=UTC)


def build(**changes: Any) -> EmailMessage:
    options: dict[str, Any] = {
        "from_email": "sales@acme.example",
        "from_name": "Sam Seller",
        "to_email": "ada@example.com",
        "to_name": "Ada Lovelace",
        "subject": "Quick question, Ada",
        "body_text": "Hi Ada!\n\nAre you free on Tuesday?\n",
        "message_id": "<1.abc@acme.example>",
        "in_reply_to": None,
        "references": [],
        "date": WHEN,
    }
    options.update(changes)
    return build_message(**options)


def wire(message: EmailMessage) -> bytes:
    return message.as_bytes()


def parse(data: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(message: EmailMessage) -> str:
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def test_headers_and_body_round_trip() -> None:
    data = wire(build())
    got = parse(data)
    assert got["From"].addresses[0].display_name == "Sam Seller"
    assert got["From"].addresses[0].addr_spec == "sales@acme.example"
    assert got["To"].addresses[0].addr_spec == "ada@example.com"
    assert str(got["Subject"]) == "Quick question, Ada"
    assert str(got["Message-ID"]) == "<1.abc@acme.example>"
    assert parsedate_to_datetime(str(got["Date"])) == WHEN
    assert got.get_content_type() == "text/plain"
    assert got.get_content_charset() == "utf-8"
    assert body(got) == "Hi Ada!\n\nAre you free on Tuesday?\n"
    assert "In-Reply-To" not in got
    assert "References" not in got


def test_lines_end_in_crlf_and_fit_rfc_5322_limits() -> None:
    data = wire(build(body_text="x" * 5000 + "\n", subject="word " * 60))
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in header_block.split(b"\r\n"))
    assert body(parse(data)) == "x" * 5000 + "\n"


def test_non_ascii_uses_rfc_2047_and_a_transfer_encoding() -> None:
    data = wire(
        build(from_name="José Núñez", to_name="Zoë", subject="¿Hablamos, Zoë? 🚀", body_text="Hola Zoë 👋\n")
    )
    assert data.isascii()
    assert b"=?utf-8?" in data
    got = parse(data)
    assert got["From"].addresses[0].display_name == "José Núñez"
    assert got["To"].addresses[0].display_name == "Zoë"
    assert str(got["Subject"]) == "¿Hablamos, Zoë? 🚀"
    assert got["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert body(got) == "Hola Zoë 👋\n"


@pytest.mark.parametrize(
    "name", ['Smith, John "JJ"', "O'Brien & Sons, Ltd.", "<evil@attacker.example>", 'a"b\\c', "Müller, Jörg"]
)
def test_display_names_with_specials_stay_one_name(name: str) -> None:
    got = parse(wire(build(from_name=name, to_name=name)))
    for field in ("From", "To"):
        [address] = got[field].addresses
        assert address.display_name == name
    assert got["From"].addresses[0].addr_spec == "sales@acme.example"
    assert got["To"].addresses[0].addr_spec == "ada@example.com"


@pytest.mark.parametrize(
    "evil",
    [
        "Hello\r\nBcc: victim@example.com",
        "Hello\nBcc: victim@example.com",
        "Hello\rBcc: victim@example.com",
        "Hello\r\n\r\nInjected body",
        "Hello\x00\x0bBcc: victim@example.com",
        "Hello\u2028Bcc: victim@example.com",
    ],
)
def test_no_header_injection_through_subject_or_names(evil: str) -> None:
    data = wire(build(subject=evil, from_name=evil, to_name=evil, headers={"X-Campaign": evil}))
    got = parse(data)
    assert "Bcc" not in got
    assert body(got) == "Hi Ada!\n\nAre you free on Tuesday?\n"
    assert len(got["To"].addresses) == 1
    assert "\n" not in str(got["Subject"]) and "\r" not in str(got["Subject"])
    assert not re.search(rb"\r\n(Bcc|Injected)", data)


@pytest.mark.parametrize(
    "subject",
    [
        "Reunión " + "año " * 30 + "fin",
        "Propuesta para " + "Ñandú Ltda. " * 12 + "y más",
        "0000 0000000" + "\x80" * 9 + "\U00010000" * 3 + " \x80",
    ],
)
def test_folded_non_ascii_subjects_keep_every_space(subject: str) -> None:
    # CPython < 3.15 may fold between two encoded words and drop the space between them (gh-144156).
    data = wire(build(subject=subject))
    assert str(parse(data)["Subject"]) == subject
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


@settings(max_examples=200, deadline=None)
@given(subject=st.text(max_size=200), name=st.text(max_size=80), extra=st.text(max_size=80))
@example(subject="0000 0000000" + "\x80" * 9 + "\U00010000" * 3 + " \x80", name="", extra="")
def test_any_input_gives_exactly_the_intended_headers(subject: str, name: str, extra: str) -> None:
    data = wire(build(subject=subject, from_name=name, to_name=name, headers={"X-Campaign-Id": extra}))
    got = parse(data)
    names = [key.lower() for key in got]
    assert names.count("from") == names.count("to") == names.count("subject") == 1
    assert set(names) == {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "x-campaign-id",
        "content-type",
        "content-transfer-encoding",
        "mime-version",
    }
    assert [a.addr_spec for a in got["To"].addresses] == ["ada@example.com"]
    assert str(got["Subject"]) == re.sub(r"[\s\x00-\x1f\x7f]+", " ", subject).strip()


def test_idn_domains_become_a_labels() -> None:
    got = parse(wire(build(from_email="ventas@bücher.example", to_email="ana@españa.example")))
    assert got["From"].addresses[0].addr_spec == "ventas@xn--bcher-kva.example"
    assert got["To"].addresses[0].addr_spec == "ana@xn--espaa-rta.example"
    assert new_message_id("ventas@bücher.example").endswith("@xn--bcher-kva.example>")


def test_non_ascii_local_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="SMTPUTF8"):
        build(to_email="zoë@example.com")


@pytest.mark.parametrize(
    "address",
    [
        "not-an-address",
        "@example.com",
        "ada@",
        "ada@exa mple.com",
        "ada@example..com",
        "a da@example.com",
        "ada@-example.com",
        "ada\r\n@example.com",
        "a<b>@example.com",
        "ada@example.com\r\nBcc: x@y.example",
    ],
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match=r"not an email address|invalid domain"):
        build(to_email=address)


def test_threading_headers_for_a_later_step() -> None:
    first = "<1.abc@acme.example>"
    got = parse(
        wire(
            build(
                message_id="<2.def@acme.example>",
                in_reply_to=first,
                references=[first],
                subject=reply_subject("Quick question, Ada"),
            )
        )
    )
    assert str(got["In-Reply-To"]) == first
    assert str(got["References"]) == first
    assert str(got["Subject"]) == "Re: Quick question, Ada"


@pytest.mark.parametrize(
    "bad", ["1.abc@acme.example", "<no-at-sign>", "<a b@acme.example>", "<a@b>\r\nBcc: x@y"]
)
def test_bad_message_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="message id"):
        build(message_id=bad)
    with pytest.raises(ValueError, match="message id"):
        build(in_reply_to=bad)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Quick question", "Re: Quick question"),
        ("Re: Quick question", "Re: Quick question"),
        ("RE: re: Re:Quick question", "Re: Quick question"),
        ("Re[2]: Quick question", "Re: Quick question"),
        ("  Quick\r\n question ", "Re: Quick question"),
        ("Regarding the offer", "Re: Regarding the offer"),
    ],
)
def test_reply_subject_has_one_re(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected
    assert reply_subject(reply_subject(subject)) == expected


def test_message_ids_are_unique_and_on_the_senders_domain() -> None:
    ids = {new_message_id("sales@Acme.Example") for _ in range(1000)}
    assert len(ids) == 1000
    for message_id in ids:
        assert re.fullmatch(r"<[0-9]+\.[A-Za-z0-9_-]+@acme\.example>", message_id)
        build(message_id=message_id)  # and they are accepted as ids


def test_date_keeps_its_offset_and_must_be_aware() -> None:
    madrid_time = WHEN.astimezone(timezone(timedelta(hours=1)))
    got = parse(wire(build(date=madrid_time)))
    assert str(got["Date"]).endswith("+0100")
    with pytest.raises(ValueError, match="aware"):
        build(date=datetime(2025, 3, 3))


@pytest.mark.parametrize("name", ["From", "bcc", "Message-ID", "Content-Type", "X Bad", "X:Bad", ""])
def test_reserved_or_malformed_extra_headers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="may not be set"):
        build(headers={name: "x"})


def test_extra_headers_are_written() -> None:
    unsubscribe = "<https://t.fluenzr.example/u/abc>, <mailto:unsubscribe@acme.example>"
    got = parse(
        wire(
            build(
                headers={
                    "List-Unsubscribe": unsubscribe,
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            )
        )
    )
    assert str(got["List-Unsubscribe"]).strip() == unsubscribe  # folded after the colon
    assert str(got["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_a_body_with_leading_dots_and_bare_cr_survives() -> None:
    text = ".\n..two\nline\rthree\r\n"
    got = parse(wire(build(body_text=text)))
    assert body(got) == ".\n..two\nline\nthree\n"


# --- List-Unsubscribe and the HTML alternative (issue 16) ---------------------------------------------

UNSUBSCRIBE = "https://track.fluenzr.example/t/u/AQ" + "x" * 90  # longer than a folded line


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=120), name=st.text(max_size=80))
def test_list_unsubscribe_headers_are_exact_whatever_the_names(subject: str, name: str) -> None:
    data = wire(
        build(
            subject=subject,
            from_name=name,
            to_name=name,
            unsubscribe_url=UNSUBSCRIBE,
            body_html="<p>Hi</p>",
        )
    )
    got = parse(data)
    names = [key.lower() for key in got]
    assert names.count("list-unsubscribe") == names.count("list-unsubscribe-post") == 1
    assert str(got["List-Unsubscribe"]) == f"<{UNSUBSCRIBE}>, <mailto:sales@acme.example?subject=unsubscribe>"
    assert str(got["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    # Each URI whole on its own line, never RFC 2047-encoded (mail clients read it as a URI).
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>,\r\n <mailto:".encode() in data
    assert b"=?utf-8?" not in data.split(b"List-Unsubscribe:")[1].split(b"\r\nList-Unsubscribe-Post")[0]
    assert "bcc" not in names


@pytest.mark.parametrize(
    "bad",
    [
        "https://x.example/t/u/a\r\nBcc: evil@example.com",
        "https://x.example/t/u/a\nX-Injected: 1",
        "https://x.example/t/u/a>, <mailto:evil@example.com",
        "https://x.example/t/u/a b",
        "javascript:alert(1)",
        "https://x.example/t/u/é",
    ],
)
def test_an_unsafe_unsubscribe_uri_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="List-Unsubscribe"):
        build(unsubscribe_url=bad)


def test_html_makes_a_multipart_alternative_text_first() -> None:
    got = parse(wire(build(body_html="<!DOCTYPE html><html><body><p>Hi Zoë</p></body></html>")))
    assert got.get_content_type() == "multipart/alternative"
    plain, html = (part.get_content_type() for part in got.iter_parts())
    assert (plain, html) == ("text/plain", "text/html")
    html_part = got.get_body(("html",))
    assert html_part is not None and "<p>Hi Zoë</p>" in html_part.get_content()
    text_part = got.get_body(("plain",))
    assert text_part is not None and body(text_part) == "Hi Ada!\n\nAre you free on Tuesday?\n"
    assert b"Zo\xc3\xab" not in wire(build(body_html="<p>Zoë</p>"))  # 7bit on the wire


def test_without_html_or_unsubscribe_the_message_is_as_before() -> None:
    got = parse(wire(build()))
    assert got.get_content_type() == "text/plain"
    assert "List-Unsubscribe" not in got


def test_cached_mime_headers_give_the_same_bytes_as_parsing_them() -> None:
    from fluenzr_server.engine import message as message_module

    def normalised(data: bytes) -> bytes:
        boundary = re.search(rb'boundary="([^"]+)"', data)
        assert boundary is not None
        return data.replace(boundary.group(1), b"BOUNDARY")

    options = {"unsubscribe_url": UNSUBSCRIBE, "body_html": "<p>Hi Zoë</p>", "body_text": "Hi Zoë\n"}
    message_module._STRUCTURAL_PARSED.clear()
    message_module._STRUCTURAL_FOLDED.clear()
    cold = normalised(wire(build(**options)))
    cached = list(message_module._STRUCTURAL_PARSED)
    assert cached and {name.lower() for name, _ in cached} <= {
        "content-type",
        "content-transfer-encoding",
        "mime-version",
    }
    assert all("boundary" not in value for _, value in cached)
    assert normalised(wire(build(**options))) == cold


def reference(**changes: Any) -> bytes:
    """What `build` gives, made the plain way: each field parsed afresh and the body set by `set_content`,
    under the engine's policy (the standard SMTP policy plus its two fixes: verbatim List-Unsubscribe, and
    no space lost between folded encoded words)."""
    return fresh_message(**changes).as_bytes()


def fresh_message(**changes: Any) -> EmailMessage:
    message = build(**changes)
    plain = EmailMessage(policy=message_module._POLICY.clone(header_factory=HeaderRegistry()))
    for name, value in message.items():
        if not name.lower().startswith(("content-", "mime-")):
            plain[name] = str(value)
    text = changes.get("body_text", "Hi Ada!\n\nAre you free on Tuesday?\n")
    plain.set_content(text.replace("\r\n", "\n").replace("\r", "\n"), subtype="plain", charset="utf-8")
    return plain


@pytest.mark.parametrize(
    "text",
    [
        "Hi Ada!\n",
        "",
        "x" * 5000 + "\n",  # longer than 998: no longer 7bit
        "Grüße aus Köln\n",  # short non-ASCII: quoted-printable
        "日本語のテキスト\n" * 40,  # mostly non-ASCII: base64
        "From the start\n.\n..\nend",
        "trailing space \nand\ttab\n",
        "a\rb\r\nc\n",
    ],
)
def test_reused_fields_give_the_bytes_of_a_fresh_build(text: str) -> None:
    assert wire(build(body_text=text)) == reference(body_text=text)


@given(st.text(max_size=300), st.text(max_size=60), st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_reused_fields_give_the_bytes_of_a_fresh_build_for_any_text(
    text: str, subject: str, name: str
) -> None:
    options = {"body_text": text, "subject": subject, "from_name": name, "to_name": name}
    assert wire(build(**options)) == reference(**options)


def test_one_mailbox_shares_one_parsed_from_field() -> None:
    first, second = build(to_email="a@example.com"), build(to_email="b@example.com")
    assert first["From"] is second["From"]
    assert build(from_name="Other")["From"] is not first["From"]


def test_a_shared_field_is_folded_for_each_policy_it_is_written_with() -> None:
    long_name = "Samantha " * 12  # From folds at 78 columns, not at 200
    wide = policy.SMTP.clone(cte_type="7bit", max_line_length=200)
    for _ in range(2):  # the second round reads the folds kept by the first
        message = build(from_name=long_name)
        fresh = fresh_message(from_name=long_name)
        assert message.as_bytes() == reference(from_name=long_name)
        assert message.as_bytes(policy=wide) == fresh.as_bytes(policy=wide)
        assert message.as_bytes(policy=wide) != message.as_bytes()
