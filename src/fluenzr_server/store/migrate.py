"""Alembic, driven from code: `fluenzr-server migrate` and app start-up in development."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from fluenzr_server.store.engine import sync_url

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).render_as_string(hide_password=False))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
