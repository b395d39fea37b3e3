"""contacts email sort index (the collation of store.paging)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fluenzr_server.store.collation import FoldedText

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_account_email_sort",
        "contacts",
        [sa.column("account_id"), FoldedText(sa.column("email"))],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_account_email_sort", table_name="contacts")
