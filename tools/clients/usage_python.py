"""Type-checked (mypy --strict, not run) against the client openapi-python-client generates from the
contract, as a partner would generate it: optional request fields stay optional, and fields the server
always returns are plain values, not `Unset`."""

from __future__ import annotations

from fluenzr_api_client import AuthenticatedClient
from fluenzr_api_client.api.campaigns import create_campaign, get_campaign_stats, list_campaigns
from fluenzr_api_client.api.contacts import create_contact
from fluenzr_api_client.api.email_accounts import create_email_account
from fluenzr_api_client.api.webhooks import create_webhook
from fluenzr_api_client.models import (
    CampaignCreate,
    CampaignEnvelope,
    CampaignList,
    CampaignStatsEnvelope,
    ContactCreate,
    ContactEnvelope,
    EmailAccountCreate,
    EmailAccountEnvelope,
    ScheduleInput,
    SmtpSettingsInput,
    StepInput,
    WebhookCreate,
    WebhookCreatedEnvelope,
    WebhookEvent,
)


def use(client: AuthenticatedClient) -> list[str]:
    lines: list[str] = []
    body = ContactCreate(email="ada@example.com", first_name="Ada")
    contact = create_contact.sync(client=client, body=body)
    if isinstance(contact, ContactEnvelope):
        lines.append(contact.data.email)

    mailbox = create_email_account.sync(
        client=client,
        body=EmailAccountCreate(
            from_email="sales@acme.example",
            from_name="Sam",
            smtp=SmtpSettingsInput(host="smtp.acme.example", port=587, username="sam", password="pw"),  # noqa: S106
        ),
        idempotency_key="8e1f0c7a-5b2d-4f6e-9a3c-1d2e3f4a5b6c",
    )
    if isinstance(mailbox, EmailAccountEnvelope):
        daily_limit: int = mailbox.data.daily_limit
        lines.append(str(daily_limit))

    campaign = create_campaign.sync(
        client=client,
        body=CampaignCreate(
            name="Automatizada Q1 2025",
            steps=[StepInput(subject="Hi", body="Hello")],
            schedule=ScheduleInput(timezone="Europe/Madrid"),
        ),
    )
    if isinstance(campaign, CampaignEnvelope):
        delay_days: int = campaign.data.steps[0].delay_days
        start_hour: int = campaign.data.schedule.start_hour
        lines.append(f"{delay_days} {start_hour}")

    hook = WebhookCreate(url="https://hooks.example.com/x", events=[WebhookEvent.EMAIL_OPENED])
    webhook = create_webhook.sync(client=client, body=hook)
    if isinstance(webhook, WebhookCreatedEnvelope):
        active: bool = webhook.data.active
        secret: str = webhook.data.secret
        lines.append(f"{active} {secret}")

    campaigns = list_campaigns.sync(client=client)
    if isinstance(campaigns, CampaignList):
        for item in campaigns.data:
            stats = get_campaign_stats.sync(item.id, client=client)
            if isinstance(stats, CampaignStatsEnvelope):
                rates = stats.data
                lines.append(f"{item.name}: {rates.open_rate}% aperturas, {rates.reply_rate}% respuestas")
    return lines
