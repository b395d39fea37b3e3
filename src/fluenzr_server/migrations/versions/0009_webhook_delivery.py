"""webhook delivery: deliveries, attempts, secret rotation, disabling; secrets encrypted at rest

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:30:00

Existing `whsec_…` secrets are encrypted here with the secret box of the running settings
(FLUENZR_SECRET_KEY, the key the server will decrypt with). `webhook_secrets.unseal` still reads a
plaintext `whsec_…` value, so a row written by an older server during a rolling deploy keeps working.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disabled_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("schedule_step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_webhook_deliveries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_webhook_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_status_due", "webhook_deliveries", ["status", "due_at"])
    op.create_index(
        "ix_webhook_deliveries_webhook_created", "webhook_deliveries", ["webhook_id", "created_at", "id"]
    )
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "attempted_at", "id"])
    _encrypt_plaintext_secrets()


_WEBHOOKS = sa.table("webhooks", sa.column("id", sa.String), sa.column("secret", sa.Text))


def _box() -> Any:
    from fluenzr_server.resources import secret_box_for
    from fluenzr_server.settings import Settings

    return secret_box_for(Settings())


def _encrypt_plaintext_secrets() -> None:
    box, conn = _box(), op.get_bind()
    plaintext = _WEBHOOKS.c.secret.like("whsec\\_%", escape="\\")
    for row_id, secret in conn.execute(sa.select(_WEBHOOKS.c.id, _WEBHOOKS.c.secret).where(plaintext)).all():
        conn.execute(sa.update(_WEBHOOKS).where(_WEBHOOKS.c.id == row_id).values(secret=box.encrypt(secret)))


def _decrypt_secrets() -> None:
    box, conn = _box(), op.get_bind()
    sealed = _WEBHOOKS.c.secret.not_like("whsec\\_%", escape="\\")
    for row_id, secret in conn.execute(sa.select(_WEBHOOKS.c.id, _WEBHOOKS.c.secret).where(sealed)).all():
        conn.execute(sa.update(_WEBHOOKS).where(_WEBHOOKS.c.id == row_id).values(secret=box.decrypt(secret)))


def downgrade() -> None:
    _decrypt_secrets()
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_webhook_created", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_status_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret")
