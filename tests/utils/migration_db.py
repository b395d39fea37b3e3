"""An empty database of either kind, for migration tests that upgrade it step by step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.conftest import POSTGRES_URL, drop_postgres_database, fresh_postgres_database, require_service


def empty_database_url(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """Yield the URL of an empty SQLite file or PostgreSQL database `name` (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    admin = require_service(POSTGRES_URL, "PostgreSQL")
    url = fresh_postgres_database(admin, name)
    yield url
    drop_postgres_database(admin, name)
