"""The retry policy's pure rules: Retry-After forms and caps, the schedule's end, what disables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fluenzr_server.webhooks.policy import (
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RETRY_DELAYS,
    Decision,
    decide,
    retry_after,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_schedule_is_svix() -> None:
    assert [d.total_seconds() for d in RETRY_DELAYS] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert MAX_ATTEMPTS == 8
    assert timedelta(days=5) == DISABLE_AFTER


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        (format_datetime(NOW + timedelta(minutes=3), usegmt=True), timedelta(minutes=3)),
        (format_datetime(NOW - timedelta(minutes=3), usegmt=True), timedelta(0)),
        ("999999999", MAX_RETRY_AFTER),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(header: str | None, expected: timedelta | None) -> None:
    assert retry_after(header, now=NOW) == expected


def test_each_outcome() -> None:
    def run(
        status: int | None, step: int = 0, header: str | None = None, since: datetime | None = None
    ) -> Decision:
        return decide(
            status_code=status, retry_after_header=header, schedule_step=step, failing_since=since, now=NOW
        )

    assert run(200).status == run(299).status == "delivered"
    assert run(500) == run(None) == run(302) == run(404)  # every non-2xx the same way
    assert run(500).due_at == NOW + timedelta(seconds=5)
    assert run(429, header="60").due_at == NOW + timedelta(seconds=60)
    assert run(500, header="60").due_at == NOW + timedelta(seconds=5)
    assert run(410).disable == "The endpoint answered 410 Gone"
    assert run(500, step=MAX_ATTEMPTS - 1).status == "failed"
    assert run(500, since=NOW - DISABLE_AFTER).disable
    assert run(500, since=NOW - DISABLE_AFTER + timedelta(seconds=1)).disable is None
    assert run(200, since=NOW - timedelta(days=30)).disable is None
