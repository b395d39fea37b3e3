"""Fixtures for the engine's tests: an in-process SMTP sink (aiosmtpd) with a test certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from .smtp_server import SmtpSink, TestCertificate, make_test_certificate

SinkFactory = Callable[..., Awaitable[SmtpSink]]


@pytest.fixture(scope="session")
def certificate() -> TestCertificate:
    """One throwaway CA and `localhost` certificate for the session."""
    return make_test_certificate()


@pytest.fixture
async def sink_factory(certificate: TestCertificate) -> AsyncIterator[SinkFactory]:
    """`await sink_factory(security=..., credentials=...)`: a started sink in the test's event loop,
    stopped after the test."""
    sinks: list[SmtpSink] = []

    async def make(**options: Any) -> SmtpSink:
        options.setdefault("certificate", certificate)
        sink = SmtpSink(**options)
        await sink.start()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        await sink.stop()


@pytest.fixture
async def smtp_sink(sink_factory: SinkFactory) -> SmtpSink:
    """A plain (no TLS, no AUTH) sink."""
    return await sink_factory()


@pytest.fixture
def threaded_sink(certificate: TestCertificate) -> Iterator[SmtpSink]:
    """A plain sink running in a thread of its own (for tests that block: subprocesses, sync clients)."""
    with SmtpSink(certificate=certificate) as sink:
        yield sink
