"""Shapes of nested request arguments (steps, schedule, SMTP settings) and their snake_case → wire mapping.

Pass plain dicts with snake_case keys (`{"subject": ..., "body": ..., "delay_days": 3}`), or the models
`Step` / `Schedule` themselves (e.g. `steps=other_campaign.steps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Required, TypedDict

from .models import ImapSecurity, Model, Schedule, SmtpSecurity, Step, Weekday, to_camel

__all__ = [
    "CampaignListSort",
    "ContactListSort",
    "EmailAccountListSort",
    "GroupListSort",
    "ImapSettingsParam",
    "ImapSettingsUpdateParam",
    "ScheduleParam",
    "SmtpSettingsParam",
    "SmtpSettingsUpdateParam",
    "SortOrder",
    "StepParam",
    "SuppressionListSort",
    "WebhookDeliveryListSort",
    "WebhookListSort",
]

SortOrder = Literal["asc", "desc"]
ContactListSort = Literal["createdAt", "updatedAt", "email", "firstName", "lastName", "company"]
GroupListSort = Literal["createdAt", "updatedAt", "name"]
EmailAccountListSort = Literal["createdAt", "updatedAt", "fromEmail"]
CampaignListSort = Literal["createdAt", "updatedAt", "name", "status"]
WebhookListSort = Literal["createdAt", "url"]
WebhookDeliveryListSort = Literal["createdAt"]
SuppressionListSort = Literal["createdAt", "entry"]


class StepParam(TypedDict, total=False):
    subject: Required[str]
    body: Required[str]
    body_html: str | None
    delay_days: int


class ScheduleParam(TypedDict, total=False):
    timezone: str
    days: list[Weekday]
    start_hour: int
    end_hour: int


class SmtpSettingsParam(TypedDict, total=False):
    host: Required[str]
    port: Required[int]
    username: Required[str]
    password: Required[str]
    security: SmtpSecurity


class SmtpSettingsUpdateParam(TypedDict, total=False):
    """Only the settings you pass change; the others keep their values."""

    host: str
    port: int
    username: str
    password: str
    security: SmtpSecurity


class ImapSettingsParam(TypedDict, total=False):
    host: Required[str]
    port: Required[int]
    username: Required[str]
    password: Required[str]
    security: ImapSecurity


class ImapSettingsUpdateParam(TypedDict, total=False):
    """Only the settings you pass change; an account without IMAP settings needs host, port, username
    and password."""

    host: str
    port: int
    username: str
    password: str
    security: ImapSecurity


def wire_object(value: Model | Mapping[str, Any]) -> dict[str, Any]:
    """A flat nested object for the wire: a model as is, a mapping with its keys camelCased."""
    if isinstance(value, Model):
        return value.to_dict()
    return {to_camel(key): item for key, item in value.items()}


def wire_steps(steps: Iterable[Step | StepParam]) -> list[dict[str, Any]]:
    # A step without HTML is sent without `bodyHtml` (null and absent mean the same: HTML from `body`).
    wired = [wire_object(step) for step in steps]
    return [{k: v for k, v in step.items() if not (k == "bodyHtml" and v is None)} for step in wired]


def wire_schedule(schedule: Schedule | ScheduleParam) -> dict[str, Any]:
    return wire_object(schedule)


def wire_smtp(smtp: SmtpSettingsParam | SmtpSettingsUpdateParam) -> dict[str, Any]:
    return wire_object(smtp)


def wire_imap(imap: ImapSettingsParam | ImapSettingsUpdateParam | None) -> dict[str, Any] | None:
    """The `imap` member; None (on update) removes the settings."""
    return None if imap is None else wire_object(imap)
