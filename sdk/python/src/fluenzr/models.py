"""What the API returns, as frozen dataclasses with snake_case attributes.

Each model is built from the wire JSON (camelCase) by `from_dict`. Fields the server adds after this version
of the client land in `extra` (keyed by their wire name) instead of failing, and `to_dict()` gives back
the wire JSON, extras included. `custom_fields` keeps your own keys exactly as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar

__all__ = [
    "Campaign",
    "CampaignMembership",
    "CampaignStats",
    "CampaignStatus",
    "Contact",
    "ContactBatch",
    "ContactBatchCounts",
    "ContactBatchMode",
    "ContactBatchRowError",
    "ContactBatchRowResult",
    "ContactBatchStatus",
    "CustomFieldValue",
    "Deleted",
    "EmailAccount",
    "EmailAccountStatus",
    "Group",
    "GroupMembership",
    "Health",
    "ImapSecurity",
    "ImapSettings",
    "ImapStatus",
    "Lead",
    "LeadCounts",
    "LeadStatus",
    "Model",
    "Schedule",
    "SendingMailbox",
    "SendingReason",
    "SendingStatus",
    "SendingWindow",
    "SmtpSecurity",
    "SmtpSettings",
    "Step",
    "Suppression",
    "SuppressionReason",
    "SuppressionsAdded",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryEvent",
    "WebhookDeliveryStatus",
    "WebhookEvent",
    "WebhookRotatedSecret",
    "WebhookWithSecret",
    "Weekday",
]

CampaignStatus: TypeAlias = Literal["draft", "running", "paused", "completed"]
SmtpSecurity: TypeAlias = Literal["none", "starttls", "tls"]
EmailAccountStatus: TypeAlias = Literal["active", "error"]
ImapSecurity: TypeAlias = Literal["none", "starttls", "tls"]
ImapStatus: TypeAlias = Literal["active", "error"]
LeadStatus: TypeAlias = Literal[
    "active", "completed", "replied", "bounced", "unsubscribed", "failed", "paused"
]
Weekday: TypeAlias = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WebhookEvent: TypeAlias = Literal[
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "contact.unsubscribed",
    "campaign.started",
    "campaign.paused",
    "campaign.completed",
    "email.sent",
    "email.opened",
    "email.clicked",
    "email.replied",
    "email.bounced",
]
WebhookDeliveryStatus: TypeAlias = Literal["pending", "delivered", "failed"]
SuppressionReason: TypeAlias = Literal["bounced", "unsubscribed", "manual"]
CustomFieldValue: TypeAlias = str | int | float | bool

_M = TypeVar("_M", bound="Model")
_Converters: TypeAlias = Mapping[str, Callable[[Any], Any]]


@lru_cache(maxsize=4096)  # field names: a few dozen, looked up for every key of every row of an import
def to_camel(name: str) -> str:
    """`email_account_id` → `emailAccountId`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_datetime(value: Any) -> Any:
    """An ISO 8601 timestamp as an aware datetime; anything else is kept as it came."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _format_datetime(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True, kw_only=True)
class Model:
    """Base of every model: wire (camelCase) ⇄ attribute (snake_case) mapping and forward compatibility."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Fields the server sent that this version of the client does not know, by wire name."""

    # attribute name -> converter applied to the wire value (nested models, timestamps, numbers)
    _converters: ClassVar[_Converters] = {}

    @classmethod
    def from_dict(cls: type[_M], data: Mapping[str, Any]) -> _M:
        attrs = _wire_names(cls)
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            name = attrs.get(key)
            if name is None:
                extra[key] = value
                continue
            converter = cls._converters.get(name)
            known[name] = converter(value) if converter is not None and value is not None else value
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The wire JSON (camelCase keys), including `extra`."""
        out = {to_camel(f.name): _to_wire(getattr(self, f.name)) for f in fields(self) if f.name != "extra"}
        return {**out, **self.extra}


# One entry per model class, made on first use: an import reads 100,000 results of one class.
_WIRE_NAMES: dict[type[Model], dict[str, str]] = {}


def _wire_names(model: type[Model]) -> dict[str, str]:
    """Wire name -> attribute name of the fields `from_dict` sets (all but `extra`)."""
    names = _WIRE_NAMES.get(model)
    if names is None:
        names = _WIRE_NAMES[model] = {
            to_camel(f.name): f.name for f in fields(model) if f.init and f.name != "extra"
        }
    return names


def _to_wire(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, list):
        return [_to_wire(item) for item in value]
    return value


def _list_of(model: type[_M]) -> Callable[[Any], list[_M]]:
    def convert(items: Any) -> list[_M]:
        return [model.from_dict(item) for item in items]

    return convert


_TIMESTAMPS: _Converters = {"created_at": parse_datetime, "updated_at": parse_datetime}


@dataclass(frozen=True, kw_only=True)
class Health(Model):
    status: str
    version: str


@dataclass(frozen=True, kw_only=True)
class ApiIndex(Model):
    """`GET /`: where the interactive documentation (`docs`) and the contract as JSON (`openapi`) are."""

    name: str
    version: str
    docs: str
    openapi: str
    health: str


@dataclass(frozen=True, kw_only=True)
class Deleted(Model):
    """The answer to a delete: the id and `deleted=True`."""

    id: str
    deleted: bool


@dataclass(frozen=True, kw_only=True)
class Contact(Model):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    custom_fields: dict[str, CustomFieldValue] = field(default_factory=dict)
    group_ids: list[str] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class Group(Model):
    id: str
    name: str
    description: str | None = None
    contact_count: int = 0
    created_at: datetime
    updated_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class GroupMembership(Model):
    """The answer to `groups.add_contacts`."""

    group_id: str
    added: int
    """How many contacts were not members before this call."""
    contact_count: int
    """Members after this call."""


@dataclass(frozen=True, kw_only=True)
class SmtpSettings(Model):
    """SMTP settings as returned: the password is write-only and never comes back."""

    host: str
    port: int
    username: str
    security: SmtpSecurity


@dataclass(frozen=True, kw_only=True)
class ImapSettings(Model):
    """Where replies and bounce reports are read (INBOX, over IMAP); the password never comes back."""

    host: str
    port: int
    username: str
    security: ImapSecurity
    status: ImapStatus = "active"
    """`error` when the last poll failed (see `last_error`); it is retried with a growing pause."""
    last_error: str | None = None
    last_polled_at: datetime | None = None
    """When the INBOX was last read successfully; None until the first poll."""

    _converters: ClassVar[_Converters] = {"last_polled_at": parse_datetime}


@dataclass(frozen=True, kw_only=True)
class EmailAccount(Model):
    id: str
    from_email: str
    from_name: str
    smtp: SmtpSettings
    imap: ImapSettings | None = None
    """None when the account has no IMAP settings (replies and late bounces are not detected)."""
    daily_limit: int
    min_interval_seconds: int = 60
    """Least seconds between two sends from this mailbox (plus up to 20% jitter); 0: no pause."""
    status: EmailAccountStatus = "active"
    """`error` after an authentication or connection failure: its sends stop until it is updated."""
    last_error: str | None = None
    sent_today: int = 0
    """Emails started today (UTC day), across campaigns."""
    created_at: datetime
    updated_at: datetime

    _converters: ClassVar[_Converters] = {
        **_TIMESTAMPS,
        "smtp": SmtpSettings.from_dict,
        "imap": ImapSettings.from_dict,
    }


@dataclass(frozen=True, kw_only=True)
class Step(Model):
    """One email of a campaign's sequence; also accepted as input by `campaigns.create/update`."""

    subject: str
    body: str
    body_html: str | None = None
    """An HTML template for the HTML part (sanitised when sent); None: the HTML part is made from `body`."""
    delay_days: int = 0
    """Days to wait after the previous step."""


@dataclass(frozen=True, kw_only=True)
class Schedule(Model):
    """When emails may be sent; also accepted as input. Defaults are the server's."""

    timezone: str = "UTC"
    days: list[Weekday] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start_hour: int = 9
    end_hour: int = 17


@dataclass(frozen=True, kw_only=True)
class Campaign(Model):
    id: str
    name: str
    email_account_id: str | None = None
    steps: list[Step] = field(default_factory=list)
    schedule: Schedule = field(default_factory=Schedule)
    status: CampaignStatus
    track_opens: bool = True
    """Messages carry a 1×1 open-tracking image."""
    track_clicks: bool = True
    """Links in the HTML part go through a tracked redirect."""
    contact_count: int = 0
    created_at: datetime
    updated_at: datetime

    _converters: ClassVar[_Converters] = {
        **_TIMESTAMPS,
        "steps": _list_of(Step),
        "schedule": Schedule.from_dict,
    }


@dataclass(frozen=True, kw_only=True)
class CampaignMembership(Model):
    """The answer to `campaigns.add_contacts`."""

    campaign_id: str
    added: int
    contact_count: int
    suppressed: int = 0
    """How many of the contacts this call added are on the suppression list (address or domain)."""
    suppressed_contact_ids: list[str] = field(default_factory=list)
    """Their ids, sorted (the first 1,000)."""


@dataclass(frozen=True, kw_only=True)
class CampaignStats(Model):
    """Counts over the campaign's contacts. `opened`/`clicked` are unique: leads with at least one human
    open/click (machine opens and link scanners are not counted). Rates are percentages of `sent` (0 when
    nothing was sent; `bounce_rate` of `sent + bounced`), rounded half-up to one decimal."""

    campaign_id: str
    contacts: int
    sent: int
    opened: int
    clicked: int
    replied: int
    bounced: int
    unsubscribed: int
    open_rate: float
    click_rate: float
    reply_rate: float
    bounce_rate: float

    _converters: ClassVar[_Converters] = dict.fromkeys(
        ("open_rate", "click_rate", "reply_rate", "bounce_rate"), float
    )


@dataclass(frozen=True, kw_only=True)
class Lead(Model):
    """A contact's place in a campaign's sequence (`campaigns.list_contacts`)."""

    contact_id: str
    email: str
    status: LeadStatus
    current_step: int
    """0-based index of the next step to send (= steps sent)."""
    next_send_at: datetime | None = None
    last_sent_at: datetime | None = None
    opened_at: datetime | None = None
    """The first human open of any of its emails."""
    clicked_at: datetime | None = None
    """The first human click on a tracked link of its emails."""
    reason: str | None = None
    """Why the lead stopped (`failed`, `bounced`, suppressed)."""
    added_at: datetime

    _converters: ClassVar[_Converters] = dict.fromkeys(
        ("next_send_at", "last_sent_at", "opened_at", "clicked_at", "added_at"), parse_datetime
    )


@dataclass(frozen=True, kw_only=True)
class SendingReason(Model):
    """One condition holding sends back: a stable `code` and what to do about it."""

    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class SendingWindow(Model):
    open: bool
    opens_at: datetime

    _converters: ClassVar[_Converters] = {"opens_at": parse_datetime}


@dataclass(frozen=True, kw_only=True)
class SendingMailbox(Model):
    id: str
    status: EmailAccountStatus
    last_error: str | None = None
    sent_today: int
    daily_limit: int
    daily_limit_resets_at: datetime
    next_allowed_send_at: datetime | None = None

    _converters: ClassVar[_Converters] = dict.fromkeys(
        ("daily_limit_resets_at", "next_allowed_send_at"), parse_datetime
    )


@dataclass(frozen=True, kw_only=True)
class LeadCounts(Model):
    active: int
    due: int
    in_flight: int


@dataclass(frozen=True, kw_only=True)
class SendingStatus(Model):
    """Why a campaign is or is not sending right now (`campaigns.get_sending_status`)."""

    campaign_id: str
    status: CampaignStatus
    sending: bool
    reasons: list[SendingReason] = field(default_factory=list)
    next_send_at: datetime | None = None
    window: SendingWindow
    email_account: SendingMailbox | None = None
    leads: LeadCounts

    _converters: ClassVar[_Converters] = {
        "reasons": _list_of(SendingReason),
        "next_send_at": parse_datetime,
        "window": SendingWindow.from_dict,
        "email_account": SendingMailbox.from_dict,
        "leads": LeadCounts.from_dict,
    }


@dataclass(frozen=True, kw_only=True)
class Webhook(Model):
    id: str
    url: str
    events: list[WebhookEvent]
    description: str | None = None
    active: bool = True
    disabled_reason: str | None = None
    """Why FluenzR disabled the endpoint (410 Gone, 5 days of failures); `update(active=True)` re-enables."""
    created_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class WebhookWithSecret(Webhook):
    """A webhook just created: `secret` (`whsec_…`) is returned by that call only, so store it now."""

    secret: str


@dataclass(frozen=True, kw_only=True)
class WebhookRotatedSecret(WebhookWithSecret):
    """A webhook after `rotate_secret`: the new `secret`, shown once; until `previous_secret_expires_at`
    deliveries are signed with both the old and the new secret."""

    previous_secret_expires_at: datetime

    _converters: ClassVar[_Converters] = {**_TIMESTAMPS, "previous_secret_expires_at": parse_datetime}


@dataclass(frozen=True, kw_only=True)
class WebhookAttempt(Model):
    """One HTTP attempt: `status_code` is None when no answer came (`error` says why)."""

    attempted_at: datetime
    status_code: int | None = None
    duration_ms: int
    response_body: str | None = None
    """The first 1 KiB of the endpoint's answer."""
    error: str | None = None

    _converters: ClassVar[_Converters] = {"attempted_at": parse_datetime}


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryEvent(Model):
    id: str
    """The event id: also the `webhook-id` header of every attempt."""
    type: str
    created_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class WebhookDelivery(Model):
    """One event sent to one endpoint, with every attempt so far (oldest first)."""

    id: str
    webhook_id: str
    event: WebhookDeliveryEvent
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = None
    created_at: datetime
    attempts: list[WebhookAttempt] = field(default_factory=list)

    _converters: ClassVar[_Converters] = {
        **_TIMESTAMPS,
        "next_attempt_at": parse_datetime,
        "event": WebhookDeliveryEvent.from_dict,
        "attempts": _list_of(WebhookAttempt),
    }


ContactBatchMode: TypeAlias = Literal["create", "upsert"]
ContactBatchStatus: TypeAlias = Literal["created", "updated", "unchanged", "error"]


@dataclass(frozen=True, kw_only=True)
class ContactBatchRowError(Model):
    """Why a row was not stored: the `code`, `message` and `details` that `contacts.create` would raise."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ContactBatchRowResult(Model):
    """The outcome of one input row; `index` is its position in your input (from 0)."""

    index: int
    status: ContactBatchStatus
    id: str | None = None
    """The contact's id (`None` for an `error` row)."""
    error: ContactBatchRowError | None = None
    suppressed: bool = False
    """True when the row was stored but its email is on the account's suppression list: no campaign will
    email it."""

    _converters: ClassVar[_Converters] = {"error": ContactBatchRowError.from_dict}


@dataclass(frozen=True, kw_only=True)
class ContactBatchCounts(Model):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error: int = 0


@dataclass(frozen=True, kw_only=True)
class ContactBatch(Model):
    """The answer to `contacts.create_many` (one batch) or `contacts.import_all` (all batches, merged)."""

    mode: ContactBatchMode
    group_id: str | None = None
    counts: ContactBatchCounts
    results: list[ContactBatchRowResult] = field(default_factory=list)
    """One result per input row, in input order."""

    _converters: ClassVar[_Converters] = {
        "counts": ContactBatchCounts.from_dict,
        "results": _list_of(ContactBatchRowResult),
    }

    @property
    def errors(self) -> list[ContactBatchRowResult]:
        """The rows that were not stored."""
        return [result for result in self.results if result.status == "error"]


@dataclass(frozen=True, kw_only=True)
class Suppression(Model):
    """One entry of the suppression list: an address (`email`) or a whole domain (`domain`), never both.

    `entry` is what `suppressions.delete()` takes: the address, or `@` and the domain.
    """

    entry: str
    email: str | None = None
    domain: str | None = None
    reason: SuppressionReason
    detail: str | None = None
    campaign_id: str | None = None
    created_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class SuppressionsAdded(Model):
    """The answer to `suppressions.create`: the entries added, and those already there (kept as they are)."""

    added: list[Suppression] = field(default_factory=list)
    existing: list[Suppression] = field(default_factory=list)

    _converters: ClassVar[_Converters] = {"added": _list_of(Suppression), "existing": _list_of(Suppression)}
