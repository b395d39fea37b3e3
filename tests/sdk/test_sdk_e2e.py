"""The SDK against the real server: the public page's three usage examples, paging, errors and webhooks.

Runs over HTTP against the session's `live_server` (tests/conftest.py). The database is shared by the whole
session, so every test works on its own uniquely named objects.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import standardwebhooks
from fluenzr import (
    AsyncFluenzrClient,
    AuthenticationError,
    Campaign,
    CampaignStats,
    ConflictError,
    Contact,
    FluenzrClient,
    NotFoundError,
    ValidationError,
)
from sqlalchemy import create_engine, insert, select

from fluenzr_server.ids import hash_api_key
from fluenzr_server.store import tables as t
from fluenzr_server.store.engine import sync_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("live_server")
    except pytest.FixtureLookupError:
        pytest.skip("no live_server fixture in tests/conftest.py")


@pytest.fixture
def requests_sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def live(server: Any, requests_sent: list[httpx.Request]) -> Iterator[FluenzrClient]:
    http = httpx.Client(event_hooks={"request": [requests_sent.append]})
    with FluenzrClient(api_key=server.api_key, base_url=server.base_url, http_client=http) as client:
        yield client
    http.close()


@pytest.fixture
async def async_live(server: Any) -> AsyncIterator[AsyncFluenzrClient]:
    async with AsyncFluenzrClient(api_key=server.api_key, base_url=server.base_url) as client:
        yield client


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


def make_email_account(client: FluenzrClient, tag: str) -> str:
    account = client.email_accounts.create(
        from_email=f"sales-{tag}@acme.example",
        from_name="Sam from Acme",
        smtp={
            "host": "smtp.acme.example",
            "port": 2525,
            "username": "sam",
            "password": "app-password",
            "security": "none",
        },
    )
    return account.id


def test_health_and_rate_limit_figures(live: FluenzrClient) -> None:
    health = live.health()
    assert health.status == "ok" and health.version
    figures = live.rate_limit
    assert isinstance(figures.limit, int) and isinstance(figures.remaining, int)
    assert isinstance(figures.reset, int) and figures.reset >= int(time.time()) - 1
    assert figures.remaining < figures.limit


def test_sync_a_crm(live: FluenzrClient, tag: str) -> None:
    """Seed example 1: create in FluenzR the new contacts of a CRM."""
    crm_contacts: list[dict[str, Any]] = [
        {
            "email": f"Ada.{tag}@Example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "AE Ltd",
        },
        {"email": f"grace.{tag}@example.com", "first_name": "Grace", "last_name": "Hopper", "company": None},
        {
            "email": f"alan.{tag}@example.com",
            "first_name": "Alan",
            "last_name": "Turing",
            "company": "Bletchley",
        },
    ]
    created: list[Contact] = []
    for contact in crm_contacts:
        created.append(
            live.contacts.create(
                email=contact["email"],
                first_name=contact["first_name"],
                last_name=contact["last_name"],
                company=contact["company"],
                custom_fields={"crm_id": f"crm-{contact['first_name']}", "score": 7, "vip": False},
            )
        )
    assert created[0].email == f"ada.{tag}@example.com"  # stored lower-cased
    assert created[0].custom_fields == {"crm_id": "crm-Ada", "score": 7, "vip": False}
    assert created[1].company is None
    assert isinstance(created[0].created_at, datetime)

    listed = live.contacts.list(email=tag)
    assert listed.total == 3
    assert {c.id for c in listed} == {c.id for c in created}

    # running the sync twice: the duplicate is a ConflictError the caller can branch on
    with pytest.raises(ConflictError) as duplicate:
        live.contacts.create(email=crm_contacts[0]["email"])
    assert duplicate.value.code == "CONFLICT"

    # partial update: only the fields passed change; None clears
    updated = live.contacts.update(created[0].id, company=None, first_name="Augusta Ada")
    assert (updated.first_name, updated.last_name, updated.company) == ("Augusta Ada", "Lovelace", None)
    assert updated.custom_fields == created[0].custom_fields

    assert live.contacts.delete(created[2].id).deleted is True
    with pytest.raises(NotFoundError) as missing:
        live.contacts.get(created[2].id)
    assert missing.value.code == "NOT_FOUND"
    assert missing.value.request_id


def test_automate_a_campaign(live: FluenzrClient, tag: str) -> None:
    """Seed example 2: a campaign from the API, contacts added by group, then started."""
    email_account_id = make_email_account(live, tag)
    campaign = live.campaigns.create(
        name=f"Automatizada Q1 2025 {tag}",
        email_account_id=email_account_id,
        steps=[
            {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}, hiring at {{company}}?"},
            {"subject": "Re: Quick question, {{firstName}}", "body": "Bumping this up.", "delay_days": 3},
        ],
        schedule={"timezone": "Europe/Madrid", "days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 9},
    )
    assert campaign.status == "draft"
    assert [s.delay_days for s in campaign.steps] == [0, 3]
    assert (campaign.track_opens, campaign.track_clicks, campaign.steps[0].body_html) == (True, True, None)
    assert (campaign.schedule.timezone, campaign.schedule.start_hour, campaign.schedule.end_hour) == (
        "Europe/Madrid",
        9,
        17,
    )

    contacts = [live.contacts.create(email=f"lead{i}.{tag}@example.com", company="Fintech") for i in range(3)]
    group = live.groups.create(name=f"Q1 prospects {tag}", description="CTOs of fintechs")
    membership = live.groups.add_contacts(group.id, contact_ids=[c.id for c in contacts])
    assert (membership.group_id, membership.added, membership.contact_count) == (group.id, 3, 3)
    assert live.groups.add_contacts(group.id, contact_ids=[contacts[0].id]).added == 0  # idempotent
    assert live.groups.get(group.id).contact_count == 3
    assert {c.id for c in live.contacts.list(group=group.id)} == {c.id for c in contacts}

    added = live.campaigns.add_contacts(campaign.id, group_id=group.id)
    assert (added.campaign_id, added.added, added.contact_count) == (campaign.id, 3, 3)
    extra = live.contacts.create(email=f"extra.{tag}@example.com")
    assert live.campaigns.add_contacts(campaign.id, contact_ids=[extra.id]).contact_count == 4

    running = live.campaigns.start(campaign.id)
    assert running.status == "running"
    assert live.campaigns.start(campaign.id).status == "running"  # a no-op
    with pytest.raises(ConflictError) as editing:
        live.campaigns.update(campaign.id, name="too late")
    assert editing.value.code == "INVALID_STATE"

    paused = live.campaigns.pause(campaign.id)
    assert paused.status == "paused"
    renamed = live.campaigns.update(campaign.id, name=f"Automatizada Q1 2025 v2 {tag}")
    assert renamed.name.endswith(f"v2 {tag}") and renamed.steps == campaign.steps
    assert [c.id for c in live.campaigns.list(status="paused", per_page=100) if c.id == campaign.id]


def test_export_stats(live: FluenzrClient, tag: str) -> None:
    """Seed example 3: the statistics of every campaign."""
    for i in range(3):
        live.campaigns.create(name=f"Export {i} {tag}")
    lines = []
    seen = 0
    for campaign in live.campaigns.list(per_page=2):
        assert isinstance(campaign, Campaign)
        stats = live.campaigns.get_stats(campaign.id)
        assert isinstance(stats, CampaignStats) and stats.campaign_id == campaign.id
        for rate in (stats.open_rate, stats.click_rate, stats.reply_rate, stats.bounce_rate):
            assert isinstance(rate, float) and 0 <= rate <= 100
        lines.append(f"{campaign.name}: {stats.open_rate}% opens, {stats.reply_rate}% replies")
        seen += 1
    assert seen == live.campaigns.list(per_page=1).total >= 3
    assert any(line.startswith(f"Export 0 {tag}: 0.0% opens") for line in lines)


def test_iteration_over_several_pages_is_lazy(
    live: FluenzrClient, tag: str, requests_sent: list[httpx.Request]
) -> None:
    emails = sorted(f"p{i:02d}.{tag}@example.com" for i in range(7))
    for email in emails:
        live.contacts.create(email=email)
    requests_sent.clear()

    first = live.contacts.list(email=tag, per_page=3, sort="email", order="asc")
    assert (first.page, first.per_page, first.total, len(first.data)) == (1, 3, 7, 3)
    assert len(requests_sent) == 1
    assert [c.email for c in first] == emails
    assert len(requests_sent) == 3  # pages 1, 2, 3 and nothing more
    assert [r.url.params.get("page") for r in requests_sent] == [None, "2", "3"]
    assert [p.page for p in first.iter_pages()] == [1, 2, 3]


def test_errors_from_the_real_server(live: FluenzrClient, server: Any, tag: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        live.contacts.create(email="not-an-email")
    assert invalid.value.code == "VALIDATION_ERROR" and "email" in invalid.value.details
    assert invalid.value.status_code == 400 and invalid.value.request_id

    with pytest.raises(ValidationError):
        live.contacts.list(per_page=1000)

    draft = live.campaigns.create(name=f"Never started {tag}")
    with pytest.raises(ConflictError) as state:
        live.campaigns.pause(draft.id)
    assert state.value.code == "INVALID_STATE"
    with pytest.raises(ConflictError) as incomplete:
        live.campaigns.start(draft.id)
    assert incomplete.value.code == "INVALID_STATE"

    stranger = FluenzrClient(api_key="fz_live_not_a_real_key", base_url=server.base_url)
    with stranger, pytest.raises(AuthenticationError) as unauthorized:
        stranger.contacts.list()
    assert unauthorized.value.code == "UNAUTHORIZED"

    # another account's objects do not exist for you
    mine = live.contacts.create(email=f"private.{tag}@example.com")
    with FluenzrClient(api_key=server.other_api_key, base_url=server.base_url) as other:
        with pytest.raises(NotFoundError):
            other.contacts.get(mine.id)
        assert other.contacts.list(email=tag).total == 0


def test_groups_and_email_accounts_crud(live: FluenzrClient, tag: str) -> None:
    group = live.groups.create(name=f"Group {tag}", description="to edit")
    assert live.groups.update(group.id, description=None).description is None
    assert [g.id for g in live.groups.list(name=tag)] == [group.id]
    assert live.groups.delete(group.id).id == group.id
    with pytest.raises(NotFoundError):
        live.groups.get(group.id)

    account_id = make_email_account(live, tag)
    account = live.email_accounts.get(account_id)
    assert account.smtp.host == "smtp.acme.example" and account.daily_limit == 200
    assert "password" not in account.smtp.to_dict() and "password" not in account.smtp.extra
    updated = live.email_accounts.update(
        account_id, smtp={"port": 587, "password": "rotated"}, daily_limit=400
    )
    assert (updated.smtp.port, updated.smtp.host, updated.daily_limit) == (587, "smtp.acme.example", 400)
    assert account_id in {a.id for a in live.email_accounts.list(per_page=100)}
    assert updated.imap is None
    with_imap = live.email_accounts.update(
        account_id,
        imap={"host": "imap.acme.example", "port": 993, "username": "sam", "password": "app-password"},
    )
    assert with_imap.imap is not None
    assert (with_imap.imap.host, with_imap.imap.security, with_imap.imap.status) == (
        "imap.acme.example",
        "tls",
        "active",
    )
    assert with_imap.imap.last_polled_at is None and "password" not in with_imap.imap.extra
    assert live.email_accounts.update(account_id, imap={"port": 143, "security": "starttls"}).imap.port == 143  # type: ignore[union-attr]
    assert live.email_accounts.update(account_id, imap=None).imap is None
    assert live.email_accounts.delete(account_id).deleted


def test_webhooks(live: FluenzrClient, tag: str) -> None:
    url = f"https://hooks.example.com/fluenzr/{tag}"
    created = live.webhooks.create(url=url, events=["email.replied", "contact.unsubscribed"], description=tag)
    assert created.secret.startswith("whsec_") and created.active
    listed = [w for w in live.webhooks.list(per_page=100) if w.id == created.id]
    assert [w.url for w in listed] == [url]
    assert "secret" not in listed[0].extra

    # a delivery signed with the secret the server issued verifies with the SDK
    payload = json.dumps({"type": "email.replied", "data": {"tag": tag}})
    signature = standardwebhooks.Webhook(created.secret).sign("msg_1", datetime.now(tz=UTC), payload)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }
    assert live.webhooks.verify(payload, headers, created.secret)["data"] == {"tag": tag}
    assert len(base64.b64decode(created.secret.removeprefix("whsec_") + "==")) >= 16

    assert live.webhooks.delete(created.id).deleted
    with pytest.raises(NotFoundError):
        live.webhooks.delete(created.id)


def test_suppressions(live: FluenzrClient, tag: str) -> None:
    address, domain = f"ada/{tag}@example.com", f"{tag}.example"
    added = live.suppressions.create(emails=[address.upper()], domains=[f"@{domain}"], detail=tag)
    assert [(s.entry, s.email, s.domain) for s in added.added] == [
        (address, address, None),
        (f"@{domain}", None, domain),
    ]
    assert live.suppressions.create(emails=[address]).existing[0].detail == tag
    found = list(live.suppressions.list(search=tag, reason="manual", per_page=1))
    assert sorted(s.entry for s in found) == sorted([address, f"@{domain}"])
    with pytest.raises(ValidationError) as raised:
        live.suppressions.create(domains=["com"])
    assert "domains.0" in raised.value.details
    assert live.suppressions.delete(address) is None  # '/' in the local part travels encoded
    assert live.suppressions.delete(domain) is None
    with pytest.raises(NotFoundError):
        live.suppressions.delete(f"@{domain}")
    assert list(live.suppressions.list(search=tag)) == []


def test_deleting_an_unsubscribe_raises_conflict_error_and_the_entry_stays(
    live: FluenzrClient, server: Any, tag: str
) -> None:
    address = f"gone.{tag}@example.com"
    # A `mailto:` unsubscribe as `services.unsubscribes` records it, in the live server's database.
    engine = create_engine(sync_url(server.database_url))
    with engine.begin() as conn:
        account_id = conn.execute(
            select(t.api_keys.c.account_id).where(t.api_keys.c.key_hash == hash_api_key(server.api_key))
        ).scalar_one()
        conn.execute(
            insert(t.suppressions).values(
                account_id=account_id,
                email=address,
                reason="unsubscribed",
                detail="unsubscribed (mailto)",
                source="mailto",
                campaign_id=None,
                created_at=datetime.now(UTC),
            )
        )
    engine.dispose()
    with pytest.raises(ConflictError) as refused:
        live.suppressions.delete(address.upper())
    assert refused.value.status_code == 409 and refused.value.code == "INVALID_STATE"
    assert (refused.value.details["entry"], refused.value.details["source"]) == (address, "mailto")
    assert "only the recipient can opt in again" in refused.value.message
    assert [entry.reason for entry in live.suppressions.list(search=tag)] == ["unsubscribed"]


async def test_async_suppressions(async_live: AsyncFluenzrClient, tag: str) -> None:
    added = await async_live.suppressions.create(domains=[f"{tag}.example"])
    assert [s.entry async for s in async_live.suppressions.list(search=tag)] == [added.added[0].entry]
    await async_live.suppressions.delete(added.added[0].entry)
    assert (await async_live.suppressions.list(search=tag)).total == 0


async def test_async_campaign_flow(async_live: AsyncFluenzrClient, tag: str) -> None:
    account = await async_live.email_accounts.create(
        from_email=f"async-{tag}@acme.example",
        from_name="Async Sam",
        smtp={
            "host": "smtp.acme.example",
            "port": 2525,
            "username": "sam",
            "password": "pw",
            "security": "none",
        },
    )
    contacts = [await async_live.contacts.create(email=f"a{i}.{tag}@example.com") for i in range(5)]
    campaign = await async_live.campaigns.create(
        name=f"Async {tag}", email_account_id=account.id, steps=[{"subject": "Hi", "body": "Hello"}]
    )
    await async_live.campaigns.add_contacts(campaign.id, contact_ids=[c.id for c in contacts])
    assert (await async_live.campaigns.start(campaign.id)).status == "running"
    stats = await async_live.campaigns.get_stats(campaign.id)
    assert stats.contacts == 5 and isinstance(stats.open_rate, float)

    emails = [
        c.email async for c in async_live.contacts.list(email=tag, per_page=2, sort="email", order="asc")
    ]
    assert emails == sorted(c.email for c in contacts)
    first = await async_live.contacts.list(email=tag, per_page=2)
    assert (first.total, first.has_next_page()) == (5, True)
    assert async_live.rate_limit.remaining is not None


def test_index_points_at_the_docs_and_the_contract(live: FluenzrClient) -> None:
    index = live.index()
    assert (index.docs, index.openapi, index.health) == ("/v1/ui/", "/v1/openapi.json", "/v1/health")
