"""What a message read from a mailbox's INBOX is: a bounce report, an auto-reply, an unsubscribe request,
a reply, or something else. Pure functions over the raw RFC 5322 bytes; `engine/inbox.py` applies them.

In this order (the first that matches wins):

1. `hard_bounce` / `soft_bounce`: a delivery status notification, RFC 3464 (`multipart/report;
   report-type=delivery-status`). The failed addresses come from `flufl.bounce` (`all_failures`, its DSN
   detector first); the class from each recipient's `Status` (RFC 3463 §3.1): 5.x.x permanent (hard),
   4.x.x transient (soft, e.g. Postfix's "delayed" reports). The Message-IDs of the returned message
   (its `message/rfc822` or `text/rfc822-headers` part) say which of our emails bounced.
2. `unsubscribe`: the request a `List-Unsubscribe: <mailto:…?subject=unsubscribe>` link makes (RFC 2369
   §3.2): subject `unsubscribe` (any case, surrounding blanks ignored). Before auto-replies: a mail
   client's unsubscribe button may mark its message `Auto-Submitted: auto-generated`.
3. `auto_reply`: `Auto-Submitted` other than `no` (RFC 3834 §5), `X-Autoreply`, `X-Autorespond`,
   `Precedence: auto_reply | bulk | junk`, `X-Auto-Response-Suppress` set by Exchange on its own
   automatic replies, or an out-of-office subject (English, Spanish, Portuguese, French, German).
4. `reply`: `In-Reply-To` or `References` name at least one Message-ID (whether it is one of ours is the
   caller's question).
5. `other`.
"""

from __future__ import annotations

import email
import email.errors
import hashlib
import html
import logging
import re
from dataclasses import dataclass, replace
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Literal

from flufl.bounce import all_failures

log = logging.getLogger("fluenzr.engine.inbound")

Kind = Literal["hard_bounce", "soft_bounce", "auto_reply", "unsubscribe", "reply", "other"]

SNIPPET_LENGTH = 280
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,998}>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_OUT_OF_OFFICE = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|autoreply|out of (the )?office|ooo\b|away from|"
    r"on vacation|vacation reply|respuesta autom[aá]tica|fuera de (la )?oficina|ausencia|"
    r"resposta autom[aá]tica|fora do escrit[oó]rio|r[ée]ponse automatique|absence|"
    r"automatische antwort|abwesenheit)",
    re.IGNORECASE,
)
_QUOTE_HEADERS = re.compile(
    r"^(on .{0,200}wrote:|el .{0,200}escribi[oó]:|le .{0,200}a [ée]crit ?:|am .{0,200}schrieb .{0,80}:|"
    r"em .{0,200}escreveu:|-{2,} ?original message ?-{2,}|-{2,} ?mensaje original ?-{2,}|"
    r"_{10,}|from: .+|de: .+|-- )\s*$",
    re.IGNORECASE,
)
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BLOCKS = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_QUOTED_HTML = re.compile(
    r"<blockquote\b.*|<div[^>]*(gmail_quote|divRplyFwdMsg|OutlookMessageHeader)[^>]*>.*",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Recipient:
    """One failed recipient of a bounce report: its address, RFC 3463 status (`5.1.1`) and the
    `Diagnostic-Code` (the receiving server's reply), one line."""

    address: str
    status: str
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")

    def reason(self) -> str:
        """The event's and the suppression's `reason`: status, then diagnostic (at most 1,000 characters)."""
        text = self.status if not self.diagnostic else f"{self.status} {self.diagnostic}"
        return text[:1000]


@dataclass(frozen=True)
class Inbound:
    kind: Kind
    fingerprint: str  # the Message-ID, or `sha256:` of the headers when there is none
    from_email: str | None
    subject: str
    references: tuple[str, ...] = ()  # In-Reply-To then References, for replies and auto-replies
    returned_ids: tuple[str, ...] = ()  # Message-IDs of the bounced message (bounce reports)
    recipients: tuple[Recipient, ...] = ()  # failed recipients (bounce reports)
    snippet: str = ""
    why: str = ""  # which rule classified it (kept in `inbound_messages.detail` when nothing else is)


def one_line(text: str, limit: int) -> str:
    clean = " ".join(_CONTROLS.sub(" ", text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _header(message: Message, name: str) -> str:
    """A header's decoded text (RFC 2047 encoded words; raw 8-bit, RFC 6532, read as UTF-8)."""
    value = message.get(name)
    if value is None:
        return ""
    chunks: list[str] = []
    try:
        decoded = decode_header(value)
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        decoded = [(str(value), None)]
    for chunk, charset in decoded:
        if isinstance(chunk, str):
            chunks.append(chunk.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            continue
        try:
            chunks.append(
                chunk.decode(charset if charset and charset != "unknown-8bit" else "utf-8", "replace")
            )
        except LookupError:
            chunks.append(chunk.decode("utf-8", "replace"))
    return "".join(chunks) if len(chunks) == 1 else " ".join(c.strip() for c in chunks)


def message_ids(text: str) -> tuple[str, ...]:
    """The `<…>` Message-IDs in a header value, in order, without repeats."""
    seen: dict[str, None] = {}
    for found in _MESSAGE_ID.findall(text or ""):
        seen.setdefault(found, None)
    return tuple(seen)


def _fingerprint(message: Message, raw: bytes) -> str:
    ids = message_ids(str(message.get("Message-ID", "")))
    if ids and len(ids[0]) <= 255:
        return ids[0]
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return "sha256:" + hashlib.sha256(head).hexdigest()


def _is_dsn(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def _status_blocks(message: Message) -> list[Message]:
    blocks: list[Message] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status" and part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks.extend(block for block in payload[1:] if isinstance(block, Message))
    return blocks


def _address(value: str) -> str:
    """The address of a `Final-Recipient: rfc822; a@b` field (RFC 3464 §2.3.2)."""
    kind, _, rest = value.partition(";")
    address = rest if rest else kind
    return parseaddr(address.strip())[1].strip().lower()


def _recipients(message: Message) -> tuple[Recipient, ...]:
    temporary, permanent = all_failures(message)
    failed = {a.decode("ascii").lower() for a in temporary | permanent}
    found: dict[str, Recipient] = {}
    for block in _status_blocks(message):
        address = _address(str(block.get("Original-Recipient") or block.get("Final-Recipient") or ""))
        final = _address(str(block.get("Final-Recipient") or ""))
        status_match = _STATUS.search(str(block.get("Status", "")))
        if status_match is None or status_match.group(1) == "2":
            continue  # delivered or relayed: not a failure
        status = status_match.group(0)
        diagnostic = one_line(str(block.get("Diagnostic-Code", "")), 900)
        for candidate in {address, final} & failed or {final or address}:
            if candidate:
                found[candidate] = Recipient(candidate, status, diagnostic)
    return tuple(found.values())


def _returned_ids(message: Message) -> tuple[str, ...]:
    ids: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part.is_multipart():
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                ids.extend(message_ids(str(inner.get("Message-ID", ""))))
        elif content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                headers = email.message_from_bytes(text)
                ids.extend(message_ids(str(headers.get("Message-ID", ""))))
    return tuple(dict.fromkeys(ids))


def _auto_reply_reason(message: Message, subject: str) -> str | None:
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if message.get(name) is not None:
            return name
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    if _OUT_OF_OFFICE.match(subject):
        return "out-of-office subject"
    return None


def _text(message: Message) -> str:
    """The first text/plain part (else text/html, made plain), decoded; attachments ignored."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and kind not in found:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    found[kind] = data.decode(charset, errors="replace")
                except LookupError:
                    found[kind] = data.decode("utf-8", errors="replace")
    if "text/plain" in found:
        return found["text/plain"]
    if "text/html" in found:
        body = _QUOTED_HTML.sub("", found["text/html"])
        return html.unescape(_TAGS.sub(" ", _BLOCKS.sub("\n", body)))
    return ""


def snippet(message: Message, limit: int = SNIPPET_LENGTH) -> str:
    """The start of the reply's own text: lines up to the first quote header ("On … wrote:", "El …
    escribió:", Outlook's "From:" block, "-- " signature), quoted `>` lines left out, one line."""
    kept: list[str] = []
    for line in _text(message).splitlines():
        stripped = line.strip()
        if _QUOTE_HEADERS.match(stripped) or line.rstrip("\r") == "-- ":
            break
        if stripped.startswith(">"):
            continue
        kept.append(stripped)
    return one_line(" ".join(kept), limit)


def classify(raw: bytes) -> Inbound:
    """Classify one message (its raw bytes, as fetched). Never raises: a message that breaks the parser
    or a detector is `other` (recorded, so it cannot hold the mailbox's cursor back)."""
    try:
        return _classify(raw)
    except Exception as exc:
        log.warning("an inbound message could not be classified: %s", exc, exc_info=True)
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        fingerprint = "sha256:" + hashlib.sha256(head).hexdigest()
        return Inbound(kind="other", fingerprint=fingerprint, from_email=None, subject="", why=str(exc)[:200])


def _classify(raw: bytes) -> Inbound:
    message = email.message_from_bytes(raw)
    subject = one_line(_header(message, "Subject"), 500)
    senders = getaddresses([str(v) for v in message.get_all("From", [])])
    from_email = senders[0][1].strip().lower()[:254] if senders and senders[0][1] else None
    fingerprint = _fingerprint(message, raw)
    base = Inbound(kind="other", fingerprint=fingerprint, from_email=from_email, subject=subject)
    if _is_dsn(message):
        recipients = _recipients(message)
        hard = any(r.permanent for r in recipients)
        return replace(
            base,
            kind="hard_bounce" if hard else "soft_bounce",
            returned_ids=_returned_ids(message),
            recipients=recipients,
            why="RFC 3464 report",
        )
    references = message_ids(str(message.get("In-Reply-To", ""))) + message_ids(
        str(message.get("References", ""))
    )
    references = tuple(dict.fromkeys(references))
    if subject.strip().lower() == "unsubscribe":
        return replace(base, kind="unsubscribe", references=references, why="mailto unsubscribe")
    auto = _auto_reply_reason(message, subject)
    if auto is not None:
        return replace(base, kind="auto_reply", references=references, why=auto)
    if references:
        return replace(base, kind="reply", references=references, snippet=snippet(message), why="In-Reply-To")
    return base
