"""The schema. Alembic migrations (fluenzr_server/migrations) create exactly these tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("account_id", "from_email", name="uq_email_accounts_account_from_email"),
    Index("ix_email_accounts_account_created", "account_id", "created_at", "id"),
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
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_campaigns_account_created", "account_id", "created_at", "id"),
    Index("ix_campaigns_email_account", "email_account_id"),
)

# One row per contact of a campaign: the send record that statistics are computed from.
campaign_contacts = Table(
    "campaign_contacts",
    metadata,
    Column("campaign_id", String(32), primary_key=True),
    Column("contact_id", String(32), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("current_step", Integer, nullable=False, default=0),
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
    Column("secret", Text, nullable=False),
    _ts("created_at"),
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
)
