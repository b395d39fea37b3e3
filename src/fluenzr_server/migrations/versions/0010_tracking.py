"""tracking: per-campaign open/click switches and every open/click hit

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_opens", sa.Boolean(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("track_clicks", sa.Boolean(), nullable=False, server_default="1"))
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("machine", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name="fk_tracking_events_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_events"),
    )
    op.create_index(
        "ix_tracking_events_message_kind", "tracking_events", ["message_id", "kind", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tracking_events_message_kind", table_name="tracking_events")
    op.drop_table("tracking_events")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("track_clicks")
        batch_op.drop_column("track_opens")
