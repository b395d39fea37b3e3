"""Alembic environment: runs migrations on the configured (sync-driver) URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from fluenzr_server.store.engine import install_sqlite_pragmas
from fluenzr_server.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    install_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, render_as_batch=engine.dialect.name == "sqlite"
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
