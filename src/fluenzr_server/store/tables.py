"""The schema. Alembic migrations (fluenzr_server/migrations) create exactly these tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fluenzr_server.store.collation import FoldedText

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan", String(16), nullable=False),
    _ts("created_at"),
    # Bumped by every write that can change a contacts list (contacts, memberships): list totals are
    # cached against it (store/paging.py), so a million-contact account is not counted on every page.
    Column("contacts_version", BigInteger, nullable=False, server_default="0"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("display_prefix", String(32), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    _ts("created_at"),
    _ts("revoked_at", nullable=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("company", String(200)),
    Column("custom_fields", JSON, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("account_id", "email", name="uq_contacts_account_email"),
    Index("ix_contacts_account_created", "account_id", "created_at", "id"),
    Index("ix_contacts_account_updated", "account_id", "updated_at", "id"),
)

# Serves GET /contacts?sort=email in both orders with the collation of store.paging (the same expression;
# emails are unique per account, so the id tie-breaker never needs the index).
Index("ix_contacts_account_email_sort", contacts.c.account_id, FoldedText(contacts.c.email))

groups = Table(
    "groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("description", String(500)),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_groups_account_created", "account_id", "created_at", "id"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", String(32), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    _ts("added_at"),
    Index("ix_group_members_contact", "contact_id"),
)

email_accounts = Table(
    "email_accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("from_email", String(254), nullable=False),
    Column("from_name", String(100), nullable=False),
    Column("smtp_host", String(253), nullable=False),
    Column("smtp_port", Integer, nullable=False),
    Column("smtp_username", String(254), nullable=False),
    Column("smtp_password", Text, nullable=False),  # Fernet token (crypto.SecretBox), never plaintext
    Column("smtp_security", String(16), nullable=False),
    Column("daily_limit", Integer, nullable=False),
    # Least seconds between two sends from this mailbox (jittered up to +20% by the engine); 0 = no pause.
    Column("min_interval_seconds", Integer, nullable=False, server_default="60"),
    # `active`, or `error` after an authentication/connection failure (its sends stop until it is updated).
    Column("status", String(16), nullable=False, server_default="active"),
    Column("last_error", String(500)),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    # The engine's counters, reserved atomically in the claim transaction (engine/mailboxes.py): sends
    # started on `sent_day` (a UTC date) and the earliest time the next send may start.
    Column("sent_today", Integer, nullable=False, server_default="0"),
    Column("sent_day", Date),
    _ts("next_send_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("account_id", "from_email", name="uq_email_accounts_account_from_email"),
    Index("ix_email_accounts_account_created", "account_id", "created_at", "id"),
)

# An email account's IMAP settings and the poller's place in its INBOX (engine/poller.py): one row per
# email account that has IMAP settings; `id` is the email account's id. Claimed with
# `engine.claim.claim_due` on `next_poll_at`, so one worker at a time polls a mailbox.
imap_mailboxes = Table(
    "imap_mailboxes",
    metadata,
    Column("id", String(32), ForeignKey("email_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("host", String(253), nullable=False),
    Column("port", Integer, nullable=False),
    Column("username", String(254), nullable=False),
    Column("password", Text, nullable=False),  # Fernet token (crypto.SecretBox), never plaintext
    Column("security", String(16), nullable=False),  # tls | starttls | none
    Column("status", String(16), nullable=False, server_default="active"),  # active | error
    Column("last_error", String(500)),
    _ts("last_polled_at", nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    # The cursor (RFC 3501 §2.3.1.1): UIDs seen so far are valid only while UIDVALIDITY stays the same.
    Column("uid_validity", BigInteger),
    Column("last_uid", BigInteger, nullable=False, server_default="0"),
    _ts("next_poll_at"),
    _ts("lease_until", nullable=True),
    Column("lease_owner", String(64)),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_imap_mailboxes_next_poll", "next_poll_at"),
)

# Every message the poller read and classified, once: (mailbox, UIDVALIDITY, UID) is unique, and
# `fingerprint` (the Message-ID, or a hash of the headers) finds a message again after UIDVALIDITY changed.
# kind: reply | auto_reply | hard_bounce | soft_bounce | unsubscribe | other.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column(
        "email_account_id", String(32), ForeignKey("email_accounts.id", ondelete="CASCADE"), nullable=False
    ),
    Column("uid_validity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("fingerprint", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_email", String(254)),
    Column("subject", String(500)),
    Column("detail", String(1000)),  # the DSN's status and diagnostic, or why it was classified so
    Column("campaign_id", String(32)),  # the lead it was matched to, if any
    Column("contact_id", String(32)),
    Column("message_id", String(32)),  # our `messages.id` it answers or reports on, if any
    _ts("received_at"),
    UniqueConstraint("email_account_id", "uid_validity", "uid", name="uq_inbound_messages_mailbox_uid"),
    Index("ix_inbound_messages_fingerprint", "email_account_id", "fingerprint"),
    Index("ix_inbound_messages_received", "received_at", "id"),  # the retention sweep, oldest first
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email_account_id", String(32), ForeignKey("email_accounts.id", ondelete="SET NULL")),
    Column("steps", JSON, nullable=False),
    Column("schedule", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    # Why the engine paused or completed it by itself (auto-pause after mailbox failures); null otherwise.
    Column("status_reason", String(500)),
    # A tracking pixel in the HTML part / links rewritten through `/t/c/…` (tracking/html.py).
    Column("track_opens", Boolean, nullable=False, server_default="1"),
    Column("track_clicks", Boolean, nullable=False, server_default="1"),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_campaigns_account_created", "account_id", "created_at", "id"),
    Index("ix_campaigns_email_account", "email_account_id"),
)

# The lead: one row per contact of a campaign, with its place in the sequence (engine/sender.py).
# `status`: active (a step is scheduled at `next_send_at`, or in flight when that is null), completed,
# replied, bounced, unsubscribed, failed (`reason` says why) or paused (this lead alone).
campaign_contacts = Table(
    "campaign_contacts",
    metadata,
    Column("campaign_id", String(32), primary_key=True),
    Column("contact_id", String(32), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("current_step", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False, server_default="active"),
    _ts("next_send_at", nullable=True),
    Column("reason", String(500)),
    _ts("last_sent_at", nullable=True),
    # The first step's Message-ID: later steps reply to it (In-Reply-To, References).
    Column("thread_message_id", String(255)),
    _ts("added_at"),
    _ts("sent_at", nullable=True),
    _ts("opened_at", nullable=True),
    _ts("clicked_at", nullable=True),
    _ts("replied_at", nullable=True),
    _ts("bounced_at", nullable=True),
    _ts("unsubscribed_at", nullable=True),
    ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
    Index("ix_campaign_contacts_contact", "contact_id"),
    # Covers the statistics query: counted from the index alone, without visiting the rows.
    Index(
        "ix_campaign_contacts_stats",
        "campaign_id",
        "sent_at",
        "opened_at",
        "clicked_at",
        "replied_at",
        "bounced_at",
        "unsubscribed_at",
    ),
    # The engine's pick: active leads by due time; per campaign (a mailbox's share of a claim).
    Index("ix_campaign_contacts_due", "status", "next_send_at"),
    Index("ix_campaign_contacts_campaign_due", "campaign_id", "status", "next_send_at"),
    # listCampaignContacts in the order leads were added, with and without a status filter.
    Index("ix_campaign_contacts_campaign_status", "campaign_id", "status", "added_at", "contact_id"),
    Index("ix_campaign_contacts_campaign_added", "campaign_id", "added_at", "contact_id"),
)

# One row per (lead, step): written in the claim transaction BEFORE the SMTP conversation starts, so a
# step is never sent twice (the unique key) and a conversation cut short by a crash is found (its lease
# runs out while `sending`) and marked `unknown` instead of being sent again.
# status: sending | sent | retrying | bounced | failed | unknown.
messages = Table(
    "messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("campaign_id", String(32), nullable=False),
    Column("contact_id", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("email_account_id", String(32), ForeignKey("email_accounts.id", ondelete="SET NULL")),
    Column("to_email", String(254), nullable=False),
    Column("message_id", String(255), nullable=False),  # the RFC 5322 Message-ID, with its angle brackets
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("smtp_reply", String(1000)),
    _ts("due_at", nullable=True),
    _ts("lease_until", nullable=True),
    Column("lease_owner", String(64)),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("sent_at", nullable=True),
    ForeignKeyConstraint(
        ["campaign_id", "contact_id"],
        ["campaign_contacts.campaign_id", "campaign_contacts.contact_id"],
        name="fk_messages_lead",
        ondelete="CASCADE",
    ),
    UniqueConstraint("campaign_id", "contact_id", "step", name="uq_messages_lead_step"),
    # Statistics: sent and bounced per campaign, counted from the index alone.
    Index("ix_messages_campaign_status", "campaign_id", "status"),
    # The sweep for conversations whose worker died.
    Index("ix_messages_status_lease", "status", "lease_until"),
    # Replies and bounce reports read over IMAP name our Message-ID (In-Reply-To, References, returned
    # headers).
    Index("ix_messages_message_id", "message_id"),
)

# Addresses no campaign of the account mails again (hard bounces now; unsubscribes and manual entries
# with later issues). Checked by the engine before every send.
# An entry is an address (`ada@example.com`) or a whole domain, keyed `@example.com` in the same column: an
# address always has a local part before its `@`, so the two never collide, and the engine's check before a
# send looks up both keys of every recipient with one primary-key IN list (services/suppressions.py).
suppressions = Table(
    "suppressions",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), primary_key=True),  # the address, or "@" + the domain (A-labels)
    Column("reason", String(16), nullable=False),  # bounced | unsubscribed | manual
    Column("detail", String(1000)),
    # How an `unsubscribed` entry arrived (services.unsubscribes.Source: one-click | page | mailto |
    # manual); null for the other reasons. The 409 of DELETE /suppressions/{entry} names it.
    Column("source", String(16)),
    Column("campaign_id", String(32)),  # where it happened, when it came from a campaign
    _ts("created_at"),
    # GET /suppressions: newest first, with and without the reason filter.
    Index("ix_suppressions_account_created", "account_id", "created_at", "email"),
    Index("ix_suppressions_account_reason_created", "account_id", "reason", "created_at", "email"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(500)),
    Column("active", Boolean, nullable=False),
    Column("secret", Text, nullable=False),  # Fernet token of the whsec_… secret (webhook_secrets.py)
    _ts("created_at"),
    # After a rotation the old secret still signs, beside the new one, until this time (24 hours).
    Column("previous_secret", Text),
    _ts("previous_secret_expires_at", nullable=True),
    # Set when the first of an unbroken run of failed attempts happened; cleared by any success.
    _ts("failing_since", nullable=True),
    Column("disabled_reason", String(200)),
    Index("ix_webhooks_account_created", "account_id", "created_at", "id"),
)

# Responses to POSTs sent with an Idempotency-Key, replayed when the same request is retried (24 hours).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer),  # null while the first request is still being processed
    Column("response_body", Text),
    _ts("created_at"),
    Index("ix_idempotency_keys_account_created", "account_id", "created_at"),
    # The retention sweep (engine/retention.py): expired keys of every account, oldest first.
    Index("ix_idempotency_keys_created", "created_at"),
)

# The webhook outbox: one row per event, written in the transaction of the change that causes it
# (services/events.py), so an event is never lost and never emitted for a change that rolled back.
events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    _ts("created_at"),
    Index("ix_events_account_created", "account_id", "created_at", "id"),
    Index("ix_events_created", "created_at", "id"),  # the retention sweep, oldest first
)

# Every hit on a message's open pixel or one of its tracked links (`services/tracking.py`), kept even when
# it changes nothing: the lead's `opened_at`/`clicked_at` count unique human hits, these rows all of them.
# `machine`: a privacy proxy's prefetch or a link scanner (`tracking/machines.py`), not counted in rates.
tracking_events = Table(
    "tracking_events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("message_id", String(32), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # open | click
    Column("url", Text),  # a click's destination, as it was in the message
    _ts("at"),
    Column("user_agent", String(500)),
    Column("machine", Boolean, nullable=False),
    Index("ix_tracking_events_message_kind", "message_id", "kind", "at"),
    Index("ix_tracking_events_at", "at", "id"),  # the retention sweep, oldest first
)

# One row per (event, subscribed endpoint), written by `events.emit` in the event's own transaction and
# claimed by the webhook dispatcher (engine/webhooks.py) with `engine.claim.claim_due`.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("webhook_id", String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(32), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempt_count", Integer, nullable=False),
    # Position in the retry schedule: attempts since the delivery was created or last retried by hand.
    Column("schedule_step", Integer, nullable=False),
    _ts("due_at"),
    _ts("lease_until", nullable=True),
    Column("lease_owner", String(64)),
    _ts("created_at"),
    _ts("last_attempt_at", nullable=True),
    Index("ix_webhook_deliveries_status_due", "status", "due_at"),
    Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
)

# Every HTTP attempt of a delivery, for the deliveries log (GET /webhooks/{id}/deliveries).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "delivery_id", String(32), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    ),
    _ts("attempted_at"),
    Column("status_code", Integer),  # null when no HTTP response came back (refused, timeout, reset)
    Column("duration_ms", Integer, nullable=False),
    Column("response_body", Text),  # the first 1 KiB, decoded as UTF-8 with replacement
    Column("error", String(500)),
    Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at", "id"),
)
