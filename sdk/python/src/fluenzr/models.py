"""What the API returns, as frozen dataclasses with snake_case attributes.

Each model is built from the wire JSON (camelCase) by `from_dict`. Fields the server adds after this version
of the client land in `extra` (keyed by their wire name) instead of failing, and `to_dict()` gives back
the wire JSON, extras included. `custom_fields` keeps your own keys exactly as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar

__all__ = [
    "Campaign",
    "CampaignMembership",
    "CampaignStats",
    "CampaignStatus",
    "Contact",
    "CustomFieldValue",
    "Deleted",
    "EmailAccount",
    "Group",
    "GroupMembership",
    "Health",
    "Model",
    "Schedule",
    "SmtpSecurity",
    "SmtpSettings",
    "Step",
    "Webhook",
    "WebhookEvent",
    "WebhookWithSecret",
    "Weekday",
]

CampaignStatus: TypeAlias = Literal["draft", "running", "paused", "completed"]
SmtpSecurity: TypeAlias = Literal["none", "starttls", "tls"]
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
CustomFieldValue: TypeAlias = str | int | float | bool

_M = TypeVar("_M", bound="Model")
_Converters: TypeAlias = Mapping[str, Callable[[Any], Any]]


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
        attrs = {to_camel(f.name): f.name for f in fields(cls) if f.init and f.name != "extra"}
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
class EmailAccount(Model):
    id: str
    from_email: str
    from_name: str
    smtp: SmtpSettings
    daily_limit: int
    created_at: datetime
    updated_at: datetime

    _converters: ClassVar[_Converters] = {**_TIMESTAMPS, "smtp": SmtpSettings.from_dict}


@dataclass(frozen=True, kw_only=True)
class Step(Model):
    """One email of a campaign's sequence; also accepted as input by `campaigns.create/update`."""

    subject: str
    body: str
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


@dataclass(frozen=True, kw_only=True)
class CampaignStats(Model):
    """Counts over the campaign's contacts; rates are percentages of `sent` (0 when nothing was sent)."""

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
class Webhook(Model):
    id: str
    url: str
    events: list[WebhookEvent]
    description: str | None = None
    active: bool = True
    created_at: datetime

    _converters: ClassVar[_Converters] = _TIMESTAMPS


@dataclass(frozen=True, kw_only=True)
class WebhookWithSecret(Webhook):
    """A webhook just created: `secret` (`whsec_…`) is returned by that call only, so store it now."""

    secret: str
