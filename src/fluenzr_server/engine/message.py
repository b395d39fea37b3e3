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
`lru_cache`d function of the values it depends on, returning `_shared_field`s. The `multipart/alternative`
is put together from such fields (`_set_alternative`) rather than by `add_alternative`, which re-parses
each field as it moves them into a part; its boundary is drawn when the message is built, not by the
generator when it is written, so `as_bytes()` (`_Message`) writes the fields folded by the same policy and
the encoded parts without the generator's per-message work. The bytes are those of `set_content`,
`add_alternative` and `BytesGenerator` (`tests/engine/test_message_wire.py`).
"""

from __future__ import annotations

import random
import re
import secrets
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from email import charset as email_charset
from email import contentmanager, policy
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, Policy
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

    def _keep_spaces(self, name: str, value: str, folded: str) -> str:
        # CPython before gh-144156 (fixed upstream in 2026, not in 3.11) can fold an unstructured field
        # between two encoded words so that the space between them is lost: RFC 2047 §6.2 ignores the
        # whitespace between adjacent encoded words ("Reunión año año" read back as "Reunión añoaño").
        # Only a field with two or more encoded words can be hit; it is decoded back and, when it differs,
        # written as encoded words that carry every space inside them (`email.header.Header`).
        if not isinstance(value, UnstructuredHeader) or folded.count("=?") < 2:
            return folded
        field, raw = self.header_source_parse(folded.splitlines(keepends=True))
        if str(self.header_factory(field, raw)) == str(value):
            return folded
        try:
            encoded = Header(str(value), "utf-8", self.max_line_length, name).encode(linesep=self.linesep)
        except UnicodeError:  # a lone surrogate: keep the standard library's folding
            return folded
        return f"{name}: {encoded}{self.linesep}"

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _VERBATIM_HEADERS:
            return self._verbatim(name, value)
        return self._keep_spaces(name, value, str(super().fold(name, value)))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _VERBATIM_HEADERS:
            return self._verbatim(name, value).encode("ascii")
        key = (name, str(value))
        if key in _STRUCTURAL_FOLDED:
            return _STRUCTURAL_FOLDED[key]
        folded = bytes(super().fold_binary(name, value))
        if isinstance(value, UnstructuredHeader) and folded.count(b"=?") > 1:
            text = folded.decode("ascii", "surrogateescape")
            folded = self._keep_spaces(name, value, text).encode("ascii", "surrogateescape")
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


@lru_cache(maxsize=1)
def _one_click_field() -> BaseHeader:
    """`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058 §3.1), the same in every message."""
    return _shared_field("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


@lru_cache(maxsize=16)
def _body_fields(cte: str, subtype: str = "plain") -> tuple[BaseHeader, ...]:
    """The MIME fields of a text/`subtype` UTF-8 body sent with `cte`, in the order `set_content` writes
    them (Content-Type, Content-Transfer-Encoding, MIME-Version)."""
    charset = email_charset.ALIASES.get(_CHARSET, _CHARSET)
    return (
        _shared_field("Content-Type", f'text/{subtype}; charset="{charset}"'),
        _shared_field("Content-Transfer-Encoding", cte),
        _shared_field("MIME-Version", "1.0"),
    )


def _set_text_body(
    message: EmailMessage, body: str, subtype: str = "plain", *, mime_version: bool = True
) -> None:
    """`message.set_content(body, subtype=subtype, charset="utf-8")` with its fields reused: the body is
    encoded by the `email` package's own text encoder (the transfer encoding it picks: 7bit, or the
    shorter of quoted-printable and base64), and the MIME fields come from `_body_fields`
    (`mime_version=False`: without MIME-Version). `test_message.py` checks the bytes are those of
    `set_content` (and of `add_alternative`) for every kind of body."""
    cte, payload = contentmanager._encode_text(body, _CHARSET, None, message.policy)  # type: ignore[attr-defined]
    message.set_payload(payload)
    for field in _body_fields(cte, subtype)[: None if mime_version else 2]:
        message[field.name] = field


# The generator's boundary: 15 "=", a random number zero-padded to the width of sys.maxsize, "==".
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))


def _boundary(texts: Iterable[str]) -> str:
    """A multipart boundary (RFC 2046 §5.1.1) in the form `email.generator` makes, that occurs in none of
    `texts` (the encoded parts). The generator makes one at serialisation time with a regular expression
    compiled for each message; a substring test is stricter and costs far less."""
    parts = list(texts)
    # A boundary must be unique within its message, not secret.
    base = "=" * 15 + str(random.randrange(sys.maxsize)).zfill(_BOUNDARY_WIDTH) + "=="  # noqa: S311
    boundary, counter = base, 0
    while any("--" + boundary in text for text in parts):
        boundary, counter = f"{base}.{counter}", counter + 1
    return boundary


def _set_alternative(message: EmailMessage, text: str, html: str) -> None:
    """The body as `set_content(text)` then `add_alternative(html, subtype="html")` make it (RFC 2046
    §5.1.4: the text, then the HTML), built from shared fields: the first part's MIME fields move into
    it (no MIME-Version), the second has its own MIME-Version, and the top gets MIME-Version and
    `multipart/alternative` with the boundary the generator would otherwise add when writing it."""
    first = _Message(policy=message.policy)
    _set_text_body(first, text, mime_version=False)
    second = _Message(policy=message.policy)
    _set_text_body(second, html, "html")
    message["MIME-Version"] = _body_fields("7bit")[2]
    boundary = _boundary(str(part.get_payload()) for part in (first, second))
    message["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    message.set_payload([first, second])


_NEWLINES = re.compile(r"\r\n|\r|\n")  # what the generator turns into the policy's line separator


def _wire(part: Message, policy: Policy, out: list[bytes]) -> bool:
    """Append `part`'s bytes as `BytesGenerator` writes them (headers by `policy.fold_binary`, text
    payloads with their line ends made `policy.linesep`, multipart parts between boundary lines), for the
    shapes this module builds: ASCII text parts and multiparts of them with a boundary set. False for
    anything else (the caller falls back to the generator)."""
    linesep = policy.linesep
    maintype = part.get_content_maintype()
    payload: Any = part._payload  # type: ignore[attr-defined]
    if maintype == "multipart":
        boundary = part.get_boundary()
        if (
            not isinstance(payload, list)
            or part.get_content_subtype() == "signed"
            or not boundary
            or part.preamble is not None
            or part.epilogue is not None
        ):
            return False
        body: list[bytes] = []
        for index, child in enumerate(payload):
            mark = f"--{boundary}{linesep}" if index == 0 else f"{linesep}--{boundary}{linesep}"
            body.append(mark.encode("ascii", "surrogateescape"))
            if not _wire(child, policy, body):
                return False
        if not payload:
            body.append(f"--{boundary}{linesep}".encode("ascii", "surrogateescape"))
        body.append(f"{linesep}--{boundary}--{linesep}".encode("ascii", "surrogateescape"))
    elif maintype == "message" or not (payload is None or isinstance(payload, str)):
        return False
    elif payload and not payload.isascii():
        return False  # 8-bit or surrogate-escaped data: the generator's own rules apply
    else:
        body = [_NEWLINES.sub(linesep, payload).encode("ascii")] if payload else []
    fold = policy.fold_binary
    out.extend(fold(name, value) for name, value in part._headers)  # type: ignore[attr-defined]
    out.append(linesep.encode("ascii"))
    out.extend(body)
    return True


class _Message(EmailMessage):
    """An `EmailMessage` whose `as_bytes()` writes the shapes `build_message` makes without the
    generator's per-message machinery (a policy clone per part, a boundary regular expression): the same
    fields folded by the same policy, the same bytes (`test_message.py` compares them with
    `email.generator.BytesGenerator` over tricky inputs). Other shapes, `unixfrom` or another policy go
    through the generator."""

    def as_bytes(self, unixfrom: bool = False, policy: Policy | None = None) -> bytes:
        if not unixfrom and policy is None:
            out: list[bytes] = []
            if _wire(self, self.policy, out):
                return b"".join(out)
        return super().as_bytes(unixfrom=unixfrom, policy=policy)


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
    message = _Message(policy=_POLICY)
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
        message["List-Unsubscribe-Post"] = _one_click_field()
    # Normalise line ends: `set_content` and the SMTP policy write CRLF for each "\n".
    body = body_text.replace("\r\n", "\n").replace("\r", "\n")
    if body_html is None:
        _set_text_body(message, body)
    else:
        _set_alternative(message, body, body_html.replace("\r\n", "\n").replace("\r", "\n"))
    return message
