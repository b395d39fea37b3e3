"""Fixtures for the engine's tests: an in-process SMTP sink (aiosmtpd) with a test certificate, and a real
IMAP server (a throwaway Dovecot on loopback, `fluenzr_server.engine.imap_mailbox`) with the same
certificate for STARTTLS and implicit TLS."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fluenzr_server.engine.imap_mailbox import Dovecot

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


def start_dovecot(certificate: TestCertificate, **options: Any) -> Dovecot:
    """A started Dovecot in a new folder under /tmp (its processes must reach it), TLS with `certificate`.
    CI and development machines run the tests as root with `dovecot-imapd` installed (.ci/services.sh):
    a missing Dovecot fails the test rather than skipping it."""
    folder = Path(tempfile.mkdtemp(prefix="fluenzr-dovecot-"))
    server = Dovecot(folder, users={}, cert_pem=certificate.cert_pem, key_pem=certificate.key_pem, **options)
    server.start()
    return server


def stop_dovecot(server: Dovecot) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(certificate: TestCertificate) -> Iterator[Dovecot]:
    """One Dovecot for the session; each test takes a mailbox user of its own (`imap_user`)."""
    server = start_dovecot(certificate)
    yield server
    stop_dovecot(server)


@dataclass
class ImapUser:
    server: Dovecot
    name: str
    password: str

    def append(self, raw: bytes) -> None:
        self.server.append(self.name, raw)

    def settings(self, security: str = "starttls", **overrides: Any) -> dict[str, Any]:
        """The email account's `imap` settings for this mailbox (loopback: FLUENZR_ALLOW_PRIVATE_HOSTS)."""
        port = self.server.tls_port if security == "tls" else self.server.port
        return {
            "host": "127.0.0.1",
            "port": port,
            "username": self.name,
            "password": self.password,
            "security": security,
            **overrides,
        }


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    name = "user" + secrets.token_hex(5)
    password = secrets.token_urlsafe(12)
    dovecot.add_user(name, password)
    return ImapUser(dovecot, name, password)
