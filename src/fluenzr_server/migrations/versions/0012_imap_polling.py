"""IMAP polling: email accounts' IMAP settings and cursor, the messages read from them, Message-ID lookup

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imap_mailboxes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("security", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_imap_mailboxes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["id"],
            ["email_accounts.id"],
            name=op.f("fk_imap_mailboxes_id_email_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_mailboxes")),
    )
    op.create_index("ix_imap_mailboxes_next_poll", "imap_mailboxes", ["next_poll_at"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("email_account_id", sa.String(length=32), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_email", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("campaign_id", sa.String(length=32), nullable=True),
        sa.Column("contact_id", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_inbound_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["email_account_id"],
            ["email_accounts.id"],
            name=op.f("fk_inbound_messages_email_account_id_email_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "email_account_id", "uid_validity", "uid", name="uq_inbound_messages_mailbox_uid"
        ),
    )
    op.create_index(
        "ix_inbound_messages_fingerprint", "inbound_messages", ["email_account_id", "fingerprint"]
    )
    op.create_index("ix_messages_message_id", "messages", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.drop_index("ix_inbound_messages_fingerprint", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_index("ix_imap_mailboxes_next_poll", table_name="imap_mailboxes")
    op.drop_table("imap_mailboxes")
