from .campaigns import AsyncCampaigns, Campaigns
from .contacts import AsyncContacts, Contacts
from .email_accounts import AsyncEmailAccounts, EmailAccounts
from .groups import AsyncGroups, Groups
from .suppressions import AsyncSuppressions, Suppressions
from .webhooks import AsyncWebhooks, Webhooks

__all__ = [
    "AsyncCampaigns",
    "AsyncContacts",
    "AsyncEmailAccounts",
    "AsyncGroups",
    "AsyncSuppressions",
    "AsyncWebhooks",
    "Campaigns",
    "Contacts",
    "EmailAccounts",
    "Groups",
    "Suppressions",
    "Webhooks",
]
