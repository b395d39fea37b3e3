"""the engine's per-mailbox pick: active leads of one campaign by due time

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_campaign_contacts_campaign_due",
        "campaign_contacts",
        ["campaign_id", "status", "next_send_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_contacts_campaign_due", table_name="campaign_contacts")
