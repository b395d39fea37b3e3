"""Classification of inbound mail (`engine/inbound.py`) on messages built as Gmail, Outlook and Postfix
build them (`tests/engine/mail_samples.py`)."""

from __future__ import annotations

import pytest

from fluenzr_server.engine.inbound import classify
from tests.engine import mail_samples as samples

LEAD = "ada@example.org"
MAILBOX = "sales@acme.example"
OURS = "<20250106090000.abc123@acme.example>"
SUBJECT = "Quick question, Ada"
ADDRESSES = {"lead": LEAD, "mailbox": MAILBOX}


@pytest.mark.parametrize("build", [samples.gmail_reply, samples.outlook_reply])
def test_replies_carry_our_message_id_subject_and_their_own_text_only(build: object) -> None:
    raw = build(**ADDRESSES, our_id=OURS, subject=SUBJECT, text="Sounds good, call me Thursday.")  # type: ignore[operator]
    found = classify(raw)
    assert found.kind == "reply"
    assert found.references[0] == OURS
    assert found.subject.lower() == f"re: {SUBJECT}".lower()
    assert found.snippet == "Sounds good, call me Thursday."  # the quoted email and headers left out
    assert found.from_email == LEAD
    assert found.fingerprint.startswith("<") and found.fingerprint != OURS


def test_html_only_reply_snippet_leaves_the_quote_out() -> None:
    raw = (
        f"From: {LEAD}\r\nTo: {MAILBOX}\r\nSubject: Re: hi\r\nIn-Reply-To: {OURS}\r\n"
        "Message-ID: <h1@example.org>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<div>Yes &amp; thanks<br>Ada</div><blockquote>Hi Ada, would a call...</blockquote>"
    ).encode()
    found = classify(raw)
    assert (found.kind, found.snippet) == ("reply", "Yes & thanks Ada")


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (samples.gmail_vacation, "Auto-Submitted: auto-replied"),
        (samples.outlook_automatic_reply, "Auto-Submitted: auto-generated"),
        (samples.spanish_out_of_office, "out-of-office subject"),
    ],
)
def test_auto_replies_are_not_replies_even_when_threaded_on_our_email(build: object, why: str) -> None:
    found = classify(build(**ADDRESSES, our_id=OURS, subject=SUBJECT))  # type: ignore[operator]
    assert (found.kind, found.why) == ("auto_reply", why)
    assert OURS in found.references


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("Precedence", "auto_reply"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
    ],
)
def test_each_auto_reply_header_is_recognised(header: str, value: str) -> None:
    raw = f"From: {LEAD}\r\nSubject: Re: hi\r\nIn-Reply-To: {OURS}\r\n{header}: {value}\r\n\r\nAway.\r\n"
    assert classify(raw.encode()).kind == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    ["Out of Office: hi", "Automatic reply: hi", "Respuesta automática: hi", "Fuera de la oficina", "OOO"],
)
def test_out_of_office_subjects(subject: str) -> None:
    raw = f"From: {LEAD}\r\nSubject: {subject}\r\nIn-Reply-To: {OURS}\r\n\r\nAway.\r\n"
    assert classify(raw.encode()).kind == "auto_reply"


def test_auto_submitted_no_and_a_subject_mentioning_office_are_replies() -> None:
    raw = (
        f"From: {LEAD}\r\nSubject: Re: our office move\r\nAuto-Submitted: no\r\n"
        f"In-Reply-To: {OURS}\r\n\r\nOk\r\n"
    )
    assert classify(raw.encode()).kind == "reply"


@pytest.mark.parametrize(
    ("build", "status", "diagnostic"),
    [
        (samples.postfix_bounce, "5.1.1", "smtp; 550 5.1.1"),
        (samples.gmail_bounce, "5.1.1", "smtp; 550-5.1.1 The email account that you tried to reach"),
        (samples.outlook_bounce, "5.1.10", "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
    ],
)
def test_hard_bounces_name_the_recipient_status_and_our_message(
    build: object, status: str, diagnostic: str
) -> None:
    found = classify(build(**ADDRESSES, our_id=OURS, subject=SUBJECT))  # type: ignore[operator]
    assert found.kind == "hard_bounce"
    assert found.returned_ids == (OURS,)
    (recipient,) = found.recipients
    assert (recipient.address, recipient.status, recipient.permanent) == (LEAD, status, True)
    assert recipient.diagnostic.startswith(diagnostic)
    assert recipient.reason().startswith(f"{status} {diagnostic}")


def test_delayed_report_is_a_soft_bounce() -> None:
    found = classify(samples.postfix_delayed(**ADDRESSES, our_id=OURS, subject=SUBJECT))
    assert found.kind == "soft_bounce"
    (recipient,) = found.recipients
    assert (recipient.status, recipient.permanent) == ("4.4.1", False)
    assert found.returned_ids == (OURS,)  # from the text/rfc822-headers part


def test_report_without_returned_message_still_names_the_address() -> None:
    found = classify(samples.postfix_bounce(**ADDRESSES, our_id=None, subject=SUBJECT, status="5.2.1"))
    assert (found.kind, found.returned_ids) == ("hard_bounce", ())
    assert [(r.address, r.status) for r in found.recipients] == [(LEAD, "5.2.1")]


def test_mailto_unsubscribe_request() -> None:
    found = classify(samples.mailto_unsubscribe(**ADDRESSES))
    assert (found.kind, found.from_email) == ("unsubscribe", LEAD)


def test_unthreaded_mail_is_other_and_garbage_never_raises() -> None:
    assert classify(b"From: someone@example.org\r\nSubject: hello\r\n\r\nhi\r\n").kind == "other"
    assert classify(b"\x00\xff garbage without headers").kind == "other"
    assert classify(b"").kind == "other"


def test_fingerprint_is_the_message_id_or_a_header_hash() -> None:
    with_id = classify(b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody")
    without = classify(b"Subject: x\r\n\r\nbody")
    assert with_id.fingerprint == "<a@b>"
    assert without.fingerprint.startswith("sha256:")
    assert classify(b"Subject: x\r\n\r\nother body").fingerprint == without.fingerprint


def test_a_message_that_breaks_a_detector_is_other(monkeypatch: pytest.MonkeyPatch) -> None:
    from fluenzr_server.engine import inbound

    def broken(_: object) -> None:
        raise ValueError("detector bug")

    monkeypatch.setattr(inbound, "all_failures", broken)
    found = classify(samples.postfix_bounce(**ADDRESSES, our_id=OURS, subject=SUBJECT))
    assert (found.kind, found.why, found.fingerprint.startswith("sha256:")) == ("other", "detector bug", True)
