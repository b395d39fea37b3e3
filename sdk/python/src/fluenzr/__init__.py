"""Python client for the FluenzR REST API.

```python
from fluenzr import FluenzrClient

client = FluenzrClient(api_key="fz_live_...")
for contact in client.contacts.list(email="example.com"):
    print(contact.email)
```
"""

from ._base_client import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._client import AsyncFluenzrClient, FluenzrClient
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIServerError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    FluenzrError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
    WebhookVerificationError,
)
from ._rate_limit import RateLimit
from ._types import NOT_GIVEN, NotGiven, Timeout
from ._version import __version__
from ._webhooks import verify_webhook
from .models import (
    ApiIndex,
    Campaign,
    CampaignMembership,
    CampaignStats,
    Contact,
    ContactBatch,
    ContactBatchCounts,
    ContactBatchRowError,
    ContactBatchRowResult,
    Deleted,
    EmailAccount,
    Group,
    GroupMembership,
    Health,
    ImapSettings,
    Lead,
    Schedule,
    SendingStatus,
    SmtpSettings,
    Step,
    Suppression,
    SuppressionsAdded,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookRotatedSecret,
    WebhookWithSecret,
)
from .pagination import AsyncPage, AsyncPageRequest, SyncPage

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIServerError",
    "APIStatusError",
    "APITimeoutError",
    "ApiIndex",
    "AsyncFluenzrClient",
    "AsyncPage",
    "AsyncPageRequest",
    "AuthenticationError",
    "Campaign",
    "CampaignMembership",
    "CampaignStats",
    "ConflictError",
    "Contact",
    "ContactBatch",
    "ContactBatchCounts",
    "ContactBatchRowError",
    "ContactBatchRowResult",
    "Deleted",
    "EmailAccount",
    "FluenzrClient",
    "FluenzrError",
    "Group",
    "GroupMembership",
    "Health",
    "ImapSettings",
    "Lead",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "Schedule",
    "SendingStatus",
    "SmtpSettings",
    "Step",
    "Suppression",
    "SuppressionsAdded",
    "SyncPage",
    "Timeout",
    "ValidationError",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookRotatedSecret",
    "WebhookVerificationError",
    "WebhookWithSecret",
    "__version__",
    "verify_webhook",
]
