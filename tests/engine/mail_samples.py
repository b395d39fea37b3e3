"""Inbound mail as Gmail, Outlook (Exchange Online) and Postfix build it: replies, auto-replies, bounce
reports (RFC 3464) and a `mailto:` unsubscribe request. Each builder returns the raw bytes (CRLF lines) an
IMAP server would hold, with the headers and MIME structure those systems write (boundaries, Thread-Index,
X-Postfix-Queue-ID, quoted text markers…), parameterised by the addresses and our Message-ID."""

from __future__ import annotations

import secrets


def _crlf(text: str) -> bytes:
    return text.lstrip("\n").replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _token() -> str:
    return secrets.token_hex(8)


def gmail_reply(*, lead: str, mailbox: str, our_id: str, subject: str, text: str) -> bytes:
    """A reply written in Gmail's web client: multipart/alternative, quoted text under "On … wrote:"."""
    boundary = f"000000000000{_token()}"
    return _crlf(f"""
MIME-Version: 1.0
References: {our_id}
In-Reply-To: {our_id}
From: Ada Lovelace <{lead}>
Date: Tue, 7 Jan 2025 10:42:03 +0100
Message-ID: <CAK{_token()}=q7Xw@mail.gmail.com>
Subject: Re: {subject}
To: Sam from Acme <{mailbox}>
Content-Type: multipart/alternative; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="UTF-8"

{text}

On Mon, Jan 6, 2025 at 9:00 AM Sam from Acme <{mailbox}> wrote:

> Hi Ada!
> Would a short call next week make sense?
>

--{boundary}
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">{text}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 6,
2025 at 9:00 AM Sam from Acme &lt;{mailbox}&gt; wrote:<br></div><blockquote class="gmail_quote">Hi Ada!
</blockquote></div>

--{boundary}--
""")


def outlook_reply(*, lead: str, mailbox: str, our_id: str, subject: str, text: str) -> bytes:
    """A reply from Outlook / Exchange Online: Thread-Index, quoted-printable, the "From:/Sent:" block."""
    boundary = f"_000_DB9PR07MB{_token()}_"
    return _crlf(f"""
From: Grace Hopper <{lead}>
To: Sam from Acme <{mailbox}>
Subject: RE: {subject}
Thread-Topic: {subject}
Thread-Index: AQHbYP1ZxVbB0m0kR0uZ3Lh7P4nK2Q==
Date: Tue, 7 Jan 2025 09:12:44 +0000
Message-ID: <DB9PR07MB{_token()}@DB9PR07MB7916.eurprd07.prod.outlook.com>
References: {our_id}
In-Reply-To: {our_id}
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative; boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{text}

________________________________
From: Sam from Acme <{mailbox}>
Sent: Monday, January 6, 2025 9:00 AM
To: Grace Hopper <{lead}>
Subject: {subject}

Hi Grace!

--{boundary}
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><div>{text}</div><div id=3D"divRplyFwdMsg"><b>From:</b> Sam</div></body></html>

--{boundary}--
""")


def gmail_vacation(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """Gmail's vacation responder: `Auto-Submitted: auto-replied`, threaded on our email."""
    return _crlf(f"""
MIME-Version: 1.0
From: Ada Lovelace <{lead}>
Date: Tue, 7 Jan 2025 09:00:07 +0100
Message-ID: <CAK{_token()}@mail.gmail.com>
References: {our_id}
In-Reply-To: {our_id}
Auto-Submitted: auto-replied
Subject: Re: {subject}
To: {mailbox}
Content-Type: text/plain; charset="UTF-8"

I'm away until January 20th with limited access to email.
""")


def outlook_automatic_reply(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """Exchange Online's automatic reply (out of office): `X-Auto-Response-Suppress`, `Auto-Submitted`."""
    return _crlf(f"""
From: Grace Hopper <{lead}>
To: Sam from Acme <{mailbox}>
Subject: Automatic reply: {subject}
Thread-Topic: {subject}
Thread-Index: AQHbYP1ZxVbB0m0kR0uZ3Lh7P4nK2YAAAAAB
Date: Tue, 7 Jan 2025 09:00:09 +0000
Message-ID: <DB9PR07MB{_token()}@DB9PR07MB7916.eurprd07.prod.outlook.com>
References: {our_id}
In-Reply-To: {our_id}
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: {lead}
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until Monday.
""")


def spanish_out_of_office(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """An out-of-office reply recognised by its subject alone (no auto-reply header): Spanish Outlook."""
    return _crlf(f"""
From: Lucia Perez <{lead}>
To: {mailbox}
Subject: =?utf-8?Q?Respuesta_autom=C3=A1tica:_{subject.replace(" ", "_")}?=
Date: Tue, 7 Jan 2025 09:00:09 +0100
Message-ID: <{_token()}@correo.example.es>
In-Reply-To: {our_id}
References: {our_id}
Content-Type: text/plain; charset="utf-8"
MIME-Version: 1.0

Estoy fuera de la oficina hasta el lunes.
""")


def _returned_headers(*, mailbox: str, lead: str, our_id: str, subject: str) -> str:
    return f"""From: Sam from Acme <{mailbox}>
To: {lead}
Subject: {subject}
Message-ID: {our_id}
Date: Mon, 6 Jan 2025 09:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
"""


def postfix_bounce(
    *,
    lead: str,
    mailbox: str,
    our_id: str | None,
    subject: str,
    status: str = "5.1.1",
    diagnostic: str | None = None,
) -> bytes:
    """Postfix's non-delivery report: "Undelivered Mail Returned to Sender", returned message as
    `message/rfc822` (headers only when `our_id` is None: no returned headers at all)."""
    boundary = "D3A9C1C0E6.1736154000/mail.acme.example"
    queue = "D3A9C1C0E6"
    diagnostic = diagnostic or (
        f"smtp; 550 5.1.1 <{lead}>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    returned = (
        f"""--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822

{_returned_headers(mailbox=mailbox, lead=lead, our_id=our_id, subject=subject)}
Hi!

"""
        if our_id
        else ""
    )
    return _crlf(f"""
Return-Path: <>
Date: Mon,  6 Jan 2025 09:00:02 +0000 (UTC)
From: MAILER-DAEMON@mail.acme.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {mailbox}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20250106090002.{_token()}@mail.acme.example>

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8

This is the mail system at host mail.acme.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{lead}>: host mx.example.org[203.0.113.25] said: 550 5.1.1 <{lead}>:
    Recipient address rejected: User unknown (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.acme.example
X-Postfix-Queue-ID: {queue}
X-Postfix-Sender: rfc822; {mailbox}
Arrival-Date: Mon,  6 Jan 2025 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; {lead}
Original-Recipient: rfc822;{lead}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: {diagnostic}

{returned}--{boundary}--
""")


def postfix_delayed(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """Postfix's "Delayed Mail (still being retried)" warning: Action delayed, Status 4.4.1, headers only."""
    boundary = "A1B2C3D4E5.1736157600/mail.acme.example"
    return _crlf(f"""
Date: Mon,  6 Jan 2025 13:00:00 +0000 (UTC)
From: MAILER-DAEMON@mail.acme.example (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {mailbox}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Message-Id: <20250106130000.{_token()}@mail.acme.example>

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8

This is the mail system at host mail.acme.example.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.acme.example
X-Postfix-Queue-ID: A1B2C3D4E5
Arrival-Date: Mon,  6 Jan 2025 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; {lead}
Original-Recipient: rfc822;{lead}
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.org[203.0.113.25]:25: Connection
    timed out
Will-Retry-Until: Mon, 11 Jan 2025 09:00:00 +0000 (UTC)

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{_returned_headers(mailbox=mailbox, lead=lead, our_id=our_id, subject=subject)}
--{boundary}--
""")


def gmail_bounce(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)" from mailer-daemon@googlemail.com."""
    boundary = f"000000000000{_token()}"
    return _crlf(f"""
Delivered-To: {mailbox}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {mailbox}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {our_id}
In-Reply-To: {our_id}
X-Failed-Recipients: {lead}
Message-ID: <67{_token()}.050a0220.{_token()}.1234.GMR@mx.google.com>
Date: Mon, 06 Jan 2025 01:00:03 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="{boundary}"; report-type=delivery-status

--{boundary}
Content-Type: multipart/related; boundary="{boundary}_r"

--{boundary}_r
Content-Type: multipart/alternative; boundary="{boundary}_a"

--{boundary}_a
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {lead} because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--{boundary}_a
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2></body></html>

--{boundary}_a--

--{boundary}_r--

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; sales@acme.example
Arrival-Date: Mon, 06 Jan 2025 01:00:02 -0800 (PST)
X-Original-Message-ID: {our_id}

Final-Recipient: rfc822; {lead}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.27.26, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Mon, 06 Jan 2025 01:00:03 -0800 (PST)

--{boundary}
Content-Type: message/rfc822

{_returned_headers(mailbox=mailbox, lead=lead, our_id=our_id, subject=subject)}
Hi!

--{boundary}--
""")


def outlook_bounce(*, lead: str, mailbox: str, our_id: str, subject: str) -> bytes:
    """Exchange Online's "Undeliverable:" report: Status 5.1.10, returned headers as text/rfc822-headers."""
    boundary = f"_{_token()}_"
    return _crlf(f"""
From: Microsoft Outlook <postmaster@acme.onmicrosoft.com>
To: <{mailbox}>
Date: Mon, 6 Jan 2025 09:00:04 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <{_token()}@DB9PR07MB7916.eurprd07.prod.outlook.com>
In-Reply-To: {our_id}
References: {our_id}
Subject: Undeliverable: {subject}
Auto-Submitted: auto-replied
MIME-Version: 1.0

--{boundary}
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="{boundary}_alt"

--{boundary}_alt
Content-Type: text/plain; charset="us-ascii"

Your message to {lead} couldn't be delivered.
{lead.split("@")[0]} wasn't found at {lead.split("@")[1]}.

--{boundary}_alt
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {lead} couldn't be delivered.</p></body></html>

--{boundary}_alt--

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns;DB9PR07MB7916.eurprd07.prod.outlook.com
Received-From-MTA: dns;DB9PR07MB7916.eurprd07.prod.outlook.com
Arrival-Date: Mon, 6 Jan 2025 09:00:03 +0000

Original-Recipient: rfc822;{lead}
Final-Recipient: rfc822;{lead}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--{boundary}
Content-Type: text/rfc822-headers

{_returned_headers(mailbox=mailbox, lead=lead, our_id=our_id, subject=subject)}
--{boundary}--
""")


def mailto_unsubscribe(*, lead: str, mailbox: str) -> bytes:
    """What `List-Unsubscribe: <mailto:{mailbox}?subject=unsubscribe>` makes a mail client send (Gmail's
    unsubscribe button sends exactly this)."""
    return _crlf(f"""
MIME-Version: 1.0
From: {lead}
Date: Tue, 7 Jan 2025 10:00:00 +0100
Message-ID: <CAK{_token()}@mail.gmail.com>
Subject: unsubscribe
To: {mailbox}
Content-Type: text/plain; charset="UTF-8"

This message was automatically generated by Gmail.
""")
