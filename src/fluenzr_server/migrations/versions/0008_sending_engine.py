"""sending engine: leads, messages, mailbox counters, suppressions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_interval_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="active")
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("sent_today", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("sent_day", sa.Date(), nullable=True))
        batch_op.add_column(_ts("next_send_at"))

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))

    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="active")
        )
        batch_op.add_column(_ts("next_send_at"))
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
        batch_op.add_column(_ts("last_sent_at"))
        batch_op.add_column(sa.Column("thread_message_id", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_campaign_contacts_due", ["status", "next_send_at"], unique=False)
        batch_op.create_index(
            "ix_campaign_contacts_campaign_status",
            ["campaign_id", "status", "added_at", "contact_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_campaign_contacts_campaign_added", ["campaign_id", "added_at", "contact_id"], unique=False
        )
    # Leads of campaigns already started are due at once (they were waiting for an engine).
    op.execute(
        "UPDATE campaign_contacts SET next_send_at = added_at WHERE campaign_id IN "
        "(SELECT id FROM campaigns WHERE status IN ('running', 'paused'))"
    )

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("email_account_id", sa.String(length=32), nullable=True),
        sa.Column("to_email", sa.String(length=254), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("smtp_reply", sa.String(length=1000), nullable=True),
        _ts("due_at"),
        _ts("lease_until"),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("sent_at"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_messages_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "contact_id"],
            ["campaign_contacts.campaign_id", "campaign_contacts.contact_id"],
            name="fk_messages_lead",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["email_account_id"],
            ["email_accounts.id"],
            name=op.f("fk_messages_email_account_id_email_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("campaign_id", "contact_id", "step", name="uq_messages_lead_step"),
    )
    op.create_index("ix_messages_campaign_status", "messages", ["campaign_id", "status"])
    op.create_index("ix_messages_status_lease", "messages", ["status", "lease_until"])

    op.create_table(
        "suppressions",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("campaign_id", sa.String(length=32), nullable=True),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suppressions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "email", name=op.f("pk_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_messages_status_lease", table_name="messages")
    op.drop_index("ix_messages_campaign_status", table_name="messages")
    op.drop_table("messages")
    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_contacts_campaign_added")
        batch_op.drop_index("ix_campaign_contacts_campaign_status")
        batch_op.drop_index("ix_campaign_contacts_due")
        for column in ("thread_message_id", "last_sent_at", "reason", "next_send_at", "status"):
            batch_op.drop_column(column)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("status_reason")
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        for column in (
            "next_send_at",
            "sent_day",
            "sent_today",
            "consecutive_failures",
            "last_error",
            "status",
            "min_interval_seconds",
        ):
            batch_op.drop_column(column)
