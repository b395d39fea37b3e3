"""Every resource method: HTTP method, path, query, JSON body (snake_case → camelCase) and typed result."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fluenzr import (
    NOT_GIVEN,
    AsyncFluenzrClient,
    AsyncPage,
    Campaign,
    CampaignMembership,
    CampaignStats,
    Contact,
    Deleted,
    EmailAccount,
    FluenzrClient,
    Group,
    GroupMembership,
    Health,
    Lead,
    NotGiven,
    Schedule,
    SmtpSettings,
    Step,
    SyncPage,
    Webhook,
    WebhookDelivery,
    WebhookRotatedSecret,
    WebhookWithSecret,
)
from sdk_stub import (
    StubAPI,
    campaign,
    contact,
    deleted,
    delivery,
    email_account,
    group,
    ok,
    page,
    stats,
    webhook,
)

Call = Callable[[Any], Any]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# (id, call, method, path, query, body (None: no body), response data, is list, result type)
CASES: list[tuple[str, Call, str, str, dict[str, str], Any, Any, bool, type]] = [
    (
        "health",
        lambda c: c.health(),
        "GET",
        "/health",
        {},
        None,
        {"status": "ok", "version": "1.0.0"},
        False,
        Health,
    ),
    (
        "contacts.list",
        lambda c: c.contacts.list(
            page=2, per_page=50, sort="email", order="asc", email="example.com", group="grp_4"
        ),
        "GET",
        "/contacts",
        {
            "page": "2",
            "perPage": "50",
            "sort": "email",
            "order": "asc",
            "email": "example.com",
            "group": "grp_4",
        },
        None,
        [contact()],
        True,
        Contact,
    ),
    (
        "contacts.get",
        lambda c: c.contacts.get("ctc_1"),
        "GET",
        "/contacts/ctc_1",
        {},
        None,
        contact(),
        False,
        Contact,
    ),
    (
        "contacts.create",
        lambda c: c.contacts.create(
            email="ada@example.com",
            first_name="Ada",
            last_name=None,
            company="Analytical Engines Ltd",
            custom_fields={"employee_count": 42, "is_customer": False, "title": "CTO"},
        ),
        "POST",
        "/contacts",
        {},
        {
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": None,
            "company": "Analytical Engines Ltd",
            # your own keys are sent exactly as given, never camelCased
            "customFields": {"employee_count": 42, "is_customer": False, "title": "CTO"},
        },
        contact(),
        False,
        Contact,
    ),
    (
        "contacts.update",
        lambda c: c.contacts.update("ctc_1", company=None, custom_fields={}),
        "PUT",
        "/contacts/ctc_1",
        {},
        {"company": None, "customFields": {}},
        contact(),
        False,
        Contact,
    ),
    (
        "contacts.delete",
        lambda c: c.contacts.delete("ctc_1"),
        "DELETE",
        "/contacts/ctc_1",
        {},
        None,
        deleted("ctc_1"),
        False,
        Deleted,
    ),
    (
        "groups.list",
        lambda c: c.groups.list(name="Q1", sort="name", per_page=5),
        "GET",
        "/groups",
        {"name": "Q1", "sort": "name", "perPage": "5"},
        None,
        [group()],
        True,
        Group,
    ),
    (
        "groups.get",
        lambda c: c.groups.get("grp_456"),
        "GET",
        "/groups/grp_456",
        {},
        None,
        group(),
        False,
        Group,
    ),
    (
        "groups.create",
        lambda c: c.groups.create(name="Q1", description=None),
        "POST",
        "/groups",
        {},
        {"name": "Q1", "description": None},
        group(),
        False,
        Group,
    ),
    (
        "groups.update",
        lambda c: c.groups.update("grp_456", name="Q1 hot"),
        "PUT",
        "/groups/grp_456",
        {},
        {"name": "Q1 hot"},
        group(),
        False,
        Group,
    ),
    (
        "groups.delete",
        lambda c: c.groups.delete("grp_456"),
        "DELETE",
        "/groups/grp_456",
        {},
        None,
        deleted("grp_456"),
        False,
        Deleted,
    ),
    (
        "groups.add_contacts",
        lambda c: c.groups.add_contacts("grp_456", contact_ids=("ctc_1", "ctc_2")),
        "POST",
        "/groups/grp_456/contacts",
        {},
        {"contactIds": ["ctc_1", "ctc_2"]},
        {"groupId": "grp_456", "added": 2, "contactCount": 3},
        False,
        GroupMembership,
    ),
    (
        "email_accounts.list",
        lambda c: c.email_accounts.list(sort="fromEmail", order="desc"),
        "GET",
        "/email-accounts",
        {"sort": "fromEmail", "order": "desc"},
        None,
        [email_account()],
        True,
        EmailAccount,
    ),
    (
        "email_accounts.get",
        lambda c: c.email_accounts.get("acc_123"),
        "GET",
        "/email-accounts/acc_123",
        {},
        None,
        email_account(),
        False,
        EmailAccount,
    ),
    (
        "email_accounts.create",
        lambda c: c.email_accounts.create(
            from_email="sales@acme.example",
            from_name="Sam from Acme",
            smtp={
                "host": "smtp.acme.example",
                "port": 465,
                "username": "sam",
                "password": "pw",
                "security": "tls",
            },
            daily_limit=100,
        ),
        "POST",
        "/email-accounts",
        {},
        {
            "fromEmail": "sales@acme.example",
            "fromName": "Sam from Acme",
            "smtp": {
                "host": "smtp.acme.example",
                "port": 465,
                "username": "sam",
                "password": "pw",
                "security": "tls",
            },
            "dailyLimit": 100,
        },
        email_account(),
        False,
        EmailAccount,
    ),
    (
        "email_accounts.update",
        lambda c: c.email_accounts.update("acc_123", smtp={"password": "new"}, daily_limit=400),
        "PUT",
        "/email-accounts/acc_123",
        {},
        {"smtp": {"password": "new"}, "dailyLimit": 400},
        email_account(),
        False,
        EmailAccount,
    ),
    (
        "email_accounts.delete",
        lambda c: c.email_accounts.delete("acc_123"),
        "DELETE",
        "/email-accounts/acc_123",
        {},
        None,
        deleted("acc_123"),
        False,
        Deleted,
    ),
    (
        "campaigns.list",
        lambda c: c.campaigns.list(status="running", sort="status"),
        "GET",
        "/campaigns",
        {"status": "running", "sort": "status"},
        None,
        [campaign()],
        True,
        Campaign,
    ),
    (
        "campaigns.get",
        lambda c: c.campaigns.get("cmp_1"),
        "GET",
        "/campaigns/cmp_1",
        {},
        None,
        campaign(),
        False,
        Campaign,
    ),
    (
        "campaigns.create",
        lambda c: c.campaigns.create(
            name="Automatizada Q1 2025",
            email_account_id="acc_123",
            steps=[
                {"subject": "Quick question, {{firstName}}", "body": "Hi", "delay_days": 0},
                Step(subject="Re: Quick question", body="Bump", delay_days=3),
            ],
            schedule={"timezone": "Europe/Madrid", "days": ["mon", "fri"], "start_hour": 8, "end_hour": 18},
        ),
        "POST",
        "/campaigns",
        {},
        {
            "name": "Automatizada Q1 2025",
            "emailAccountId": "acc_123",
            "steps": [
                {"subject": "Quick question, {{firstName}}", "body": "Hi", "delayDays": 0},
                {"subject": "Re: Quick question", "body": "Bump", "delayDays": 3},
            ],
            "schedule": {"timezone": "Europe/Madrid", "days": ["mon", "fri"], "startHour": 8, "endHour": 18},
        },
        campaign(),
        False,
        Campaign,
    ),
    (
        "campaigns.update",
        lambda c: c.campaigns.update("cmp_1", email_account_id=None, schedule=Schedule(timezone="UTC")),
        "PUT",
        "/campaigns/cmp_1",
        {},
        {
            "emailAccountId": None,
            "schedule": {
                "timezone": "UTC",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "startHour": 9,
                "endHour": 17,
            },
        },
        campaign(),
        False,
        Campaign,
    ),
    (
        "campaigns.start",
        lambda c: c.campaigns.start("cmp_1"),
        "POST",
        "/campaigns/cmp_1/start",
        {},
        None,
        campaign(status="running"),
        False,
        Campaign,
    ),
    (
        "campaigns.pause",
        lambda c: c.campaigns.pause("cmp_1"),
        "POST",
        "/campaigns/cmp_1/pause",
        {},
        None,
        campaign(status="paused"),
        False,
        Campaign,
    ),
    (
        "campaigns.add_contacts(group_id)",
        lambda c: c.campaigns.add_contacts("cmp_1", group_id="grp_456"),
        "POST",
        "/campaigns/cmp_1/contacts",
        {},
        {"groupId": "grp_456"},
        {"campaignId": "cmp_1", "added": 1, "contactCount": 1},
        False,
        CampaignMembership,
    ),
    (
        "campaigns.add_contacts(contact_ids)",
        lambda c: c.campaigns.add_contacts("cmp_1", contact_ids=["ctc_1"]),
        "POST",
        "/campaigns/cmp_1/contacts",
        {},
        {"contactIds": ["ctc_1"]},
        {"campaignId": "cmp_1", "added": 1, "contactCount": 1},
        False,
        CampaignMembership,
    ),
    (
        "campaigns.get_stats",
        lambda c: c.campaigns.get_stats("cmp_1"),
        "GET",
        "/campaigns/cmp_1/stats",
        {},
        None,
        stats(),
        False,
        CampaignStats,
    ),
    (
        "campaigns.get_contact",
        lambda c: c.campaigns.get_contact("cmp_1", "ctc_1"),
        "GET",
        "/campaigns/cmp_1/contacts/ctc_1",
        {},
        None,
        {
            "contactId": "ctc_1",
            "email": "ada@example.com",
            "status": "active",
            "currentStep": 1,
            "nextSendAt": "2025-01-10T09:00:00Z",
            "lastSentAt": "2025-01-07T09:12:31Z",
            "reason": None,
            "addedAt": "2025-01-06T10:01:00Z",
        },
        False,
        Lead,
    ),
    (
        "campaigns.pause_contact",
        lambda c: c.campaigns.pause_contact("cmp_1", "ctc_1"),
        "POST",
        "/campaigns/cmp_1/contacts/ctc_1/pause",
        {},
        None,
        {
            "contactId": "ctc_1",
            "email": "ada@example.com",
            "status": "paused",
            "currentStep": 1,
            "nextSendAt": "2025-01-10T09:00:00Z",
            "lastSentAt": "2025-01-07T09:12:31Z",
            "reason": None,
            "addedAt": "2025-01-06T10:01:00Z",
        },
        False,
        Lead,
    ),
    (
        "campaigns.resume_contact",
        lambda c: c.campaigns.resume_contact("cmp_1", "ctc_1"),
        "POST",
        "/campaigns/cmp_1/contacts/ctc_1/resume",
        {},
        None,
        {
            "contactId": "ctc_1",
            "email": "ada@example.com",
            "status": "active",
            "currentStep": 1,
            "nextSendAt": "2025-01-10T09:00:00Z",
            "lastSentAt": "2025-01-07T09:12:31Z",
            "reason": None,
            "addedAt": "2025-01-06T10:01:00Z",
        },
        False,
        Lead,
    ),
    (
        "webhooks.list",
        lambda c: c.webhooks.list(sort="url"),
        "GET",
        "/webhooks",
        {"sort": "url"},
        None,
        [webhook()],
        True,
        Webhook,
    ),
    (
        "webhooks.create",
        lambda c: c.webhooks.create(
            url="https://crm.acme.example/hooks", events=["email.replied"], description="CRM", active=False
        ),
        "POST",
        "/webhooks",
        {},
        {
            "url": "https://crm.acme.example/hooks",
            "events": ["email.replied"],
            "description": "CRM",
            "active": False,
        },
        webhook(secret=SECRET),
        False,
        WebhookWithSecret,
    ),
    (
        "webhooks.delete",
        lambda c: c.webhooks.delete("whk_1"),
        "DELETE",
        "/webhooks/whk_1",
        {},
        None,
        deleted("whk_1"),
        False,
        Deleted,
    ),
    (
        "webhooks.get",
        lambda c: c.webhooks.get("whk_1"),
        "GET",
        "/webhooks/whk_1",
        {},
        None,
        webhook(),
        False,
        Webhook,
    ),
    (
        "webhooks.update",
        lambda c: c.webhooks.update("whk_1", events=("email.sent",), active=True),
        "PUT",
        "/webhooks/whk_1",
        {},
        {"events": ["email.sent"], "active": True},
        webhook(),
        False,
        Webhook,
    ),
    (
        "webhooks.test",
        lambda c: c.webhooks.test("whk_1"),
        "POST",
        "/webhooks/whk_1/test",
        {},
        None,
        delivery(),
        False,
        WebhookDelivery,
    ),
    (
        "webhooks.rotate_secret",
        lambda c: c.webhooks.rotate_secret("whk_1"),
        "POST",
        "/webhooks/whk_1/rotate-secret",
        {},
        None,
        {**webhook(secret=SECRET), "previousSecretExpiresAt": "2025-01-07T09:00:00Z"},
        False,
        WebhookRotatedSecret,
    ),
    (
        "webhooks.list_deliveries",
        lambda c: c.webhooks.list_deliveries("whk_1", status="pending", per_page=5),
        "GET",
        "/webhooks/whk_1/deliveries",
        {"status": "pending", "perPage": "5"},
        None,
        [delivery(status="pending")],
        True,
        WebhookDelivery,
    ),
    (
        "webhooks.retry_delivery",
        lambda c: c.webhooks.retry_delivery("whk_1", "dlv_1"),
        "POST",
        "/webhooks/whk_1/deliveries/dlv_1/retry",
        {},
        None,
        delivery(status="pending"),
        False,
        WebhookDelivery,
    ),
]


def _reply(data: Any, is_list: bool) -> Any:
    return page(data) if is_list else ok(data)


def _check(
    stub: StubAPI,
    result: Any,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    is_list: bool,
    cls: type,
) -> None:
    request = stub.last
    assert request.method == method
    assert request.url.path == "/v1" + path
    assert dict(request.url.params) == query
    if body is None:
        assert request.content == b""
        assert "content-type" not in request.headers
    else:
        assert request.headers["content-type"] == "application/json"
        assert stub.body() == body
    assert ("idempotency-key" in request.headers) == (method == "POST")
    if is_list:
        assert isinstance(result, SyncPage | AsyncPage)
        assert all(isinstance(item, cls) for item in result.data) and result.data
    else:
        assert isinstance(result, cls)


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "data", "is_list", "cls"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_sync_method(
    client: FluenzrClient,
    stub: StubAPI,
    call: Call,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    data: Any,
    is_list: bool,
    cls: type,
) -> None:
    stub.queue(_reply(data, is_list))
    _check(stub, call(client), method, path, query, body, is_list, cls)


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "data", "is_list", "cls"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_async_method(
    async_client: AsyncFluenzrClient,
    stub: StubAPI,
    call: Call,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    data: Any,
    is_list: bool,
    cls: type,
) -> None:
    stub.queue(_reply(data, is_list))
    pending = call(async_client)
    assert inspect.isawaitable(pending)
    _check(stub, await pending, method, path, query, body, is_list, cls)


def test_only_given_fields_are_sent(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = ok(contact())
    client.contacts.create(email="grace@example.com")
    assert stub.body() == {"email": "grace@example.com"}
    client.contacts.update("ctc_1", first_name="Grace")
    assert stub.body() == {"firstName": "Grace"}
    client.contacts.update("ctc_1", first_name=None, last_name=NOT_GIVEN)
    assert stub.body() == {"firstName": None}  # None clears, NOT_GIVEN leaves out
    stub.queue(page([]))
    client.contacts.list(email=NOT_GIVEN)
    assert dict(stub.last.url.params) == {}


def test_not_given_sentinel() -> None:
    assert NotGiven() is NOT_GIVEN
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"contact_ids": ["ctc_1"], "group_id": "grp_1"}, "exactly one"),
        ({"contact_ids": "ctc_1"}, "single string"),
    ],
)
def test_campaign_add_contacts_argument_checks(
    client: FluenzrClient, stub: StubAPI, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        client.campaigns.add_contacts("cmp_1", **kwargs)
    with pytest.raises(TypeError, match="single string"):
        client.groups.add_contacts("grp_1", contact_ids="ctc_1")
    assert stub.requests == []


async def test_async_campaign_add_contacts_argument_checks(
    async_client: AsyncFluenzrClient, stub: StubAPI
) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        await async_client.campaigns.add_contacts("cmp_1")
    assert stub.requests == []


def test_models_parse_the_wire_format(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok(contact()), ok(campaign()), ok(email_account()), ok(stats()), ok(webhook(secret=SECRET)))
    found = client.contacts.get("ctc_1")
    assert found.first_name == "Ada" and found.group_ids == ["grp_456"]
    assert found.custom_fields == {"title": "CTO", "employees": 42, "customer": False}
    assert found.created_at == datetime(2025, 1, 6, 9, 30, tzinfo=UTC)

    cmp = client.campaigns.get("cmp_1")
    assert cmp.steps == [Step(subject="Hi {{firstName}}", body="Hello", delay_days=0)]
    assert cmp.schedule.start_hour == 9 and cmp.schedule.days == ["mon", "tue"]
    assert cmp.email_account_id == "acc_123"

    account = client.email_accounts.get("acc_123")
    assert account.smtp == SmtpSettings(
        host="smtp.acme.example", port=587, username="sales@acme.example", security="starttls"
    )
    assert account.daily_limit == 200

    numbers = client.campaigns.get_stats("cmp_1")
    assert (numbers.open_rate, numbers.click_rate, numbers.bounce_rate) == (48.0, 9.0, 0.0)
    assert all(
        isinstance(r, float)
        for r in (numbers.open_rate, numbers.click_rate, numbers.reply_rate, numbers.bounce_rate)
    )

    created = client.webhooks.create(url="https://x.example/h", events=["email.sent"])
    assert created.secret == SECRET and isinstance(created, Webhook)


def test_models_tolerate_new_fields_and_values(client: FluenzrClient, stub: StubAPI) -> None:
    future = {**campaign(status="archived"), "priority": "high", "extra": 1}
    future["schedule"] = {**future["schedule"], "holidays": ["2025-12-25"]}
    stub.queue(ok(future))
    cmp = client.campaigns.get("cmp_1")
    assert cmp.status == "archived"
    assert cmp.extra == {"priority": "high", "extra": 1}
    assert cmp.schedule.extra == {"holidays": ["2025-12-25"]}
    assert cmp.to_dict() == future  # round trip, new fields included
    assert "priority" not in repr(cmp)


def test_to_dict_round_trips(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok(contact()), ok(email_account()))
    assert client.contacts.get("ctc_1").to_dict() == contact()
    assert client.email_accounts.get("acc_123").to_dict() == email_account()
    assert Contact.from_dict(contact()) == Contact.from_dict({**contact(), "new": 1})  # extra is not compared


def test_steps_from_one_campaign_feed_another(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(ok(campaign()), ok(campaign("cmp_2")))
    source = client.campaigns.get("cmp_1")
    client.campaigns.create(name="Copy", steps=source.steps, schedule=source.schedule)
    assert stub.body()["steps"] == campaign()["steps"]
    assert stub.body()["schedule"] == campaign()["schedule"]
