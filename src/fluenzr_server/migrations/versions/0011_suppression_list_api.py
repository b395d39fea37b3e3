"""suppression list API: domain entries and the indexes of GET /suppressions

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 15:00:00

A domain entry is stored in `suppressions.email` as `@` + the domain (lower-case A-labels), beside the
address entries: no address starts with `@`, so existing rows need no change. The two indexes serve the
newest-first list, with and without its `reason` filter; the engine's check uses the primary key.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_suppressions_account_created", "suppressions", ["account_id", "created_at", "email"], unique=False
    )
    op.create_index(
        "ix_suppressions_account_reason_created",
        "suppressions",
        ["account_id", "reason", "created_at", "email"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_suppressions_account_reason_created", table_name="suppressions")
    op.drop_index("ix_suppressions_account_created", table_name="suppressions")
