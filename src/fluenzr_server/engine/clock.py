"""Timestamps as the engine compares them: aware UTC (SQLite hands stored values back naive)."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; naive values are UTC (the only zone the database stores)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
