"""Migration 0014: an unsubscribe's source backfilled from its `detail` text, on both databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from fluenzr_server.store.migrate import alembic_config
from tests.utils.migration_db import empty_database_url

ROWS = [
    ("a@x.example", "unsubscribed", "unsubscribed (one-click)", "one-click"),
    ("b@x.example", "unsubscribed", "unsubscribed (page)", "page"),
    ("c@x.example", "unsubscribed", "unsubscribed (mailto)", "mailto"),
    ("d@x.example", "unsubscribed", "unsubscribed (manual)", "manual"),
    ("e@x.example", "unsubscribed", "unsubscribed (carrier pigeon)", None),  # no known source: none
    ("f@x.example", "unsubscribed", None, None),
    ("g@x.example", "bounced", "unsubscribed (page)", None),  # only unsubscribes have a source
    ("h@x.example", "manual", "by phone", None),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from empty_database_url(request.param, tmp_path, f"fluenzr_migrate_0014_{os.getpid()}")


def test_migration_0014_backfills_the_source_from_the_detail_and_downgrades(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0013")
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        accounts = "INSERT INTO accounts (id, name, plan, created_at) VALUES ('org_m', 'M', 'pro', :at)"
        conn.execute(text(accounts), {"at": "2026-01-01 00:00:00"})
        insert = (
            "INSERT INTO suppressions (account_id, email, reason, detail, created_at) "
            "VALUES ('org_m', :email, :reason, :detail, :at)"
        )
        for email, reason, detail, _ in ROWS:
            conn.execute(
                text(insert),
                {"email": email, "reason": reason, "detail": detail, "at": "2026-01-01 00:00:00"},
            )
    command.upgrade(config, "0014")
    with engine.connect() as conn:
        found = {row[0]: row[1] for row in conn.execute(text("SELECT email, source FROM suppressions"))}
    assert found == {email: source for email, _, _, source in ROWS}
    command.downgrade(config, "0013")
    with engine.connect() as conn:
        assert len(conn.execute(text("SELECT * FROM suppressions")).all()) == len(ROWS)
    engine.dispose()
