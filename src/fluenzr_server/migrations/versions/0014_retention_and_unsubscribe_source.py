"""retention sweep indexes; an unsubscribe's source stored in its own column

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 21:00:00

`suppressions.source` says how an `unsubscribed` entry arrived (one-click, page, mailto, manual). Until now
it lived only inside `detail` (`unsubscribed (one-click)`), which the 409 of DELETE /suppressions/{entry}
parsed back; existing rows are backfilled from that text, and a detail naming no known source leaves it
null (as the parser did). The four indexes let the retention sweep (engine/retention.py) find the oldest
rows of each table without scanning it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SOURCES = ("one-click", "page", "mailto", "manual")


def upgrade() -> None:
    with op.batch_alter_table("suppressions") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=True))
    suppressions = sa.table(
        "suppressions", sa.column("reason", sa.String), sa.column("detail", sa.String), sa.column("source")
    )
    for source in _SOURCES:
        op.execute(
            suppressions.update()
            .where(
                suppressions.c.reason == "unsubscribed", suppressions.c.detail == f"unsubscribed ({source})"
            )
            .values(source=source)
        )
    op.create_index("ix_events_created", "events", ["created_at", "id"], unique=False)
    op.create_index("ix_tracking_events_at", "tracking_events", ["at", "id"], unique=False)
    op.create_index("ix_inbound_messages_received", "inbound_messages", ["received_at", "id"], unique=False)
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_index("ix_inbound_messages_received", table_name="inbound_messages")
    op.drop_index("ix_tracking_events_at", table_name="tracking_events")
    op.drop_index("ix_events_created", table_name="events")
    with op.batch_alter_table("suppressions") as batch:
        batch.drop_column("source")
