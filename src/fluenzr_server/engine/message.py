"""The RFC 5322 message of one step: `email.message.EmailMessage` with `email.policy.SMTP` (CRLF, 78-column
folding), a plain-text UTF-8 body in 7bit when it is ASCII, else quoted-printable or base64, whichever
the `email` package finds shorter (never 8bit: no server needs 8BITMIME).

Header safety, whatever the input (names, subjects and custom fields come from customers' contacts):

- CR, LF and other control characters never reach a header: runs of whitespace and controls become one
  space (RFC 5322 §2.2 forbids bare CR/LF in a field body; this is what stops header injection).
- Display names and subjects with non-ASCII text are RFC 2047 encoded words; quotes, commas and other
  specials in a display name are quoted or encoded by `email.headerregistry.Address`, never parsed.
- Internationalised domains are written as their A-labels (IDNA 2008, RFC 5891), so the message needs no
  SMTPUTF8 (RFC 6531). A non-ASCII local part cannot be written without SMTPUTF8 and is refused
  (`ValueError`); the contract's email patterns are ASCII anyway.
- `List-Unsubscribe` (RFC 2369 §3.2) carries the one-click HTTPS URI and a `mailto:` to the sender with
  subject `unsubscribe`, with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058 §3.1); both
  are written as they are (folded only between the two URIs), never RFC 2047 encoded, which would make
  them unreadable to mail clients. The URI must be printable ASCII without `<`, `>`, `,` or spaces.
- With `body_html` the message is `multipart/alternative` (RFC 2046 §5.1.4): the text, then the HTML.
- `Message-ID` is `<unique@sender-domain>` (RFC 5322 §3.6.4). Later steps of a sequence thread under the
  first: the caller passes the first message's id as `in_reply_to` and `references`, and
  `reply_subject` for a step without its own subject.

Cost (a worker builds every message it sends): what is the same for many messages is made once and
reused, never re-parsed nor re-folded: each header field's class (`_HeaderClasses`), the `From` field
of a mailbox (`sender_field`), the `Date` of the current second and the body's MIME fields per transfer
encoding (`_body_fields`). Header objects are immutable, so one object may sit in any number of
messages. Anything added per step (an HTML part, tracking headers) can be cached the same way: an
`lru_cache`d function of the values it depends on, returning `_shared_field`s.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime
from email import charset as email_charset
from email import contentmanager, policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import idna

_WHITESPACE_AND_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f]+")
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 §3.6.8 ftext: printable ASCII except ":"
_MSG_ID = re.compile(r"^<[!-;=?-~]+@[!-;=?-Z^-~]+>$")  # no whitespace, "<", ">" inside; one "@" shape
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")  # LDH (and "_", seen in the wild)
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")  # dot-atom
_REPLY_PREFIX = re.compile(r"^\s*(?:re\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)

_UNSUBSCRIBE_URI = re.compile(r"^https?://[!-+\--;=?-~]+$")  # printable ASCII, no "<", ">", "," or space
_VERBATIM_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _SmtpPolicy(EmailPolicy):
    """`policy.SMTP`, except that the List-Unsubscribe fields are written verbatim: the `email` package
    would RFC 2047-encode a URI longer than a line, and mail clients read these fields as URIs."""

    def _verbatim(self, name: str, value: str) -> str:
        # Folded between URIs only (RFC 5322 §2.2.3): each URI stays whole on its line.
        return f"{name}: " + str(value).replace(">, <", f">,{self.linesep} <") + self.linesep

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _VERBATIM_HEADERS:
            return self._verbatim(name, value)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _VERBATIM_HEADERS:
            return self._verbatim(name, value).encode("ascii")
        key = (name, str(value))
        if key in _STRUCTURAL_FOLDED:
            return _STRUCTURAL_FOLDED[key]
        folded = bytes(super().fold_binary(name, value))
        if name.lower() in _STRUCTURAL and "boundary" not in key[1]:
            _STRUCTURAL_FOLDED[key] = folded
        return folded

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        # The parts' MIME headers take a few values (`text/html; charset="utf-8"`, `7bit`, `1.0`), each
        # parsed once: header objects are immutable, and parsing them is most of a part's cost.
        if not isinstance(value, str) or name.lower() not in _STRUCTURAL or "boundary" in value:
            return super().header_store_parse(name, value)
        key = (name, value)
        if key not in _STRUCTURAL_PARSED:
            _STRUCTURAL_PARSED[key] = super().header_store_parse(name, value)
        return _STRUCTURAL_PARSED[key]


_STRUCTURAL = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
_STRUCTURAL_PARSED: dict[tuple[str, str], tuple[str, Any]] = {}
_STRUCTURAL_FOLDED: dict[tuple[str, str], bytes] = {}


class _HeaderClasses(HeaderRegistry):
    """The stock registry with each field's class made once: `HeaderRegistry.__getitem__` builds a new
    class (`type(...)`) for every header it parses, which was the largest single cost of a message."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_HEADERS = _HeaderClasses()
# 7bit: a non-ASCII body is quoted-printable or base64, so no server needs 8BITMIME (RFC 6152).
_POLICY = _SmtpPolicy(linesep="\r\n", cte_type="7bit", header_factory=_HEADERS)
_CHARSET = "utf-8"

# Headers this module writes itself; `headers` may not set them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "sender",
        "reply-to",
        "return-path",
    }
)


def _one_line(text: str) -> str:
    return _WHITESPACE_AND_CONTROLS.sub(" ", text).strip()


def ascii_domain(domain: str) -> str:
    """`domain` as ASCII: A-labels for an internationalised domain (UTS #46 mapping, then IDNA 2008),
    lower case. Raises `ValueError` for a name that is not a host name (RFC 1123 labels)."""
    name = domain.strip().rstrip(".")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"invalid domain {domain!r}: {exc}") from None
    name = name.lower()
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"invalid domain {domain!r}")
    return name


def _address(display_name: str | None, email_address: str) -> Address:
    local, at, domain = email_address.strip().rpartition("@")
    if not local.isascii():
        raise ValueError("a non-ASCII local part needs SMTPUTF8 (RFC 6531), which is not used")
    if not at or not _LOCAL_PART.match(local):
        raise ValueError(f"not an email address: {email_address!r}")
    return Address(display_name=_one_line(display_name or ""), username=local, domain=ascii_domain(domain))


class _FoldedOnce:
    """For a field shared by many messages: folded (serialised) once per kind of policy, not once per
    message. Folding depends on the field and on these policy settings only (`Header.fold`)."""

    def fold(self, *, policy: policy.Policy) -> str:
        key = (policy.linesep, policy.max_line_length, getattr(policy, "utf8", False), policy.cte_type)
        folds: dict[tuple[object, ...], str] = self.__dict__.setdefault("_folds", {})
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = super().fold(policy=policy)  # type: ignore[misc]
        return folded


@lru_cache(maxsize=64)
def _shared_class(cls: type[BaseHeader]) -> type[BaseHeader]:
    return type("_Shared" + cls.__name__, (_FoldedOnce, cls), {})


def _shared_field(name: str, value: object) -> BaseHeader:
    """A parsed field meant to sit in many messages (header objects are immutable)."""
    return _shared_class(_HEADERS[name])(name, value)


@lru_cache(maxsize=4096)
def sender_field(from_name: str, from_email: str) -> BaseHeader:
    """The parsed `From` field of a mailbox, made once and shared by every message it sends. Raises
    `ValueError` for an address `build_message` refuses (the refusal is not cached)."""
    return _shared_field("From", _address(from_name, from_email))


@lru_cache(maxsize=16)
def _date_field(text: str) -> BaseHeader:
    """The `Date` field, shared by the messages built within the same second."""
    return _shared_field("Date", text)


@lru_cache(maxsize=8)
def _body_fields(cte: str) -> tuple[BaseHeader, ...]:
    """The MIME fields of a text/plain UTF-8 body sent with `cte`, in the order `set_content` writes them."""
    charset = email_charset.ALIASES.get(_CHARSET, _CHARSET)
    return (
        _shared_field("Content-Type", f'text/plain; charset="{charset}"'),
        _shared_field("Content-Transfer-Encoding", cte),
        _shared_field("MIME-Version", "1.0"),
    )


def _set_text_body(message: EmailMessage, body: str) -> None:
    """`message.set_content(body, subtype="plain", charset="utf-8")` with its fields reused: the body is
    encoded by the `email` package's own text encoder (the transfer encoding it picks: 7bit, or the
    shorter of quoted-printable and base64), and the three MIME fields come from `_body_fields`.
    `test_message.py` checks the bytes are those of `set_content` for every kind of body."""
    cte, payload = contentmanager._encode_text(body, _CHARSET, None, message.policy)  # type: ignore[attr-defined]
    message.set_payload(payload)
    for field in _body_fields(cte):
        message[field.name] = field


def new_message_id(from_email: str) -> str:
    """A new, globally unique `<time.random@sender-domain>` (RFC 5322 §3.6.4); the domain as A-labels."""
    domain = ascii_domain(from_email.rpartition("@")[2])
    return f"<{time.time_ns() // 1_000_000}.{secrets.token_urlsafe(18)}@{domain}>"


def reply_subject(subject: str) -> str:
    """`Re: <subject>` with exactly one `Re:` (existing `Re:`, `RE :`, `Re[2]:` prefixes are folded)."""
    return "Re: " + _REPLY_PREFIX.sub("", _one_line(subject))


def _message_id(value: str) -> str:
    value = value.strip()
    if not _MSG_ID.match(value):
        raise ValueError(f"not a message id: {value!r}")
    return value


def build_message(
    *,
    from_email: str,
    from_name: str,
    to_email: str,
    to_name: str | None,
    subject: str,
    body_text: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    date: datetime,
    headers: dict[str, str] | None = None,
    body_html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The message, ready for `aiosmtplib` (`as_bytes()` gives the CRLF wire form).

    `message_id`, `in_reply_to` and `references` are `<…@…>` ids; `date` must be aware. `headers` adds
    fields such as `List-Unsubscribe`; names must be RFC 5322 field names and not one of
    `RESERVED_HEADERS`. `body_html`: a complete HTML document, sent as the alternative to the text.
    `unsubscribe_url`: the one-click URI; with it come `List-Unsubscribe` (that URI and
    `mailto:<from_email>?subject=unsubscribe`) and `List-Unsubscribe-Post`. Raises `ValueError` for a bad
    address, id, date, header name or unsubscribe URI.
    """
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be aware")
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender_field(from_name, from_email)
    message["To"] = _address(to_name, to_email)
    message["Subject"] = _one_line(subject)
    message["Date"] = _date_field(format_datetime(date))
    message["Message-ID"] = _message_id(message_id)
    if in_reply_to:
        message["In-Reply-To"] = _message_id(in_reply_to)
    ids = [_message_id(reference) for reference in references]
    if ids:
        message["References"] = " ".join(ids)
    for name, value in (headers or {}).items():
        if not _FIELD_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} may not be set")
        message[name] = _one_line(value)
    if unsubscribe_url is not None:
        if not _UNSUBSCRIBE_URI.match(unsubscribe_url):
            raise ValueError(f"not a List-Unsubscribe URI: {unsubscribe_url!r}")
        mailto = f"mailto:{message['From'].addresses[0].addr_spec}?subject=unsubscribe"
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Normalise line ends: `set_content` and the SMTP policy write CRLF for each "\n".
    body = body_text.replace("\r\n", "\n").replace("\r", "\n")
    _set_text_body(message, body)
    if body_html is not None:
        message.add_alternative(body_html.replace("\r\n", "\n").replace("\r", "\n"), subtype="html")
    return message
