"""The IMAP client (`engine/imap.py`) against a real Dovecot: the pinned address with TLS checked on the
host name, STARTTLS required, the cursor and UIDVALIDITY, failures classified, timeouts."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from fluenzr_server.engine import imap
from fluenzr_server.engine.imap_mailbox import Dovecot
from fluenzr_server.engine.smtp_sink import TestCertificate
from tests.engine.conftest import ImapUser, start_dovecot, stop_dovecot

LOOPBACK = ipaddress.ip_address("127.0.0.1")
YESTERDAY = date.today() - timedelta(days=1)


def _message(n: int) -> bytes:
    return (
        f"From: a@example.org\r\nMessage-ID: <m{n}@example.org>\r\nSubject: s{n}\r\n\r\nbody {n}\r\n".encode()
    )


def _poll(user: ImapUser, certificate: TestCertificate, **options: object) -> imap.Poll:
    security = str(options.pop("security", "tls"))
    host = str(options.pop("host", "localhost"))
    password = str(options.pop("password", user.password))
    port = user.server.tls_port if security == "tls" else user.server.port
    settings = imap.ImapSettings(host, int(port or 0), user.name, password, security, 5.0)  # type: ignore[arg-type]
    arguments: dict[str, object] = {"uid_validity": None, "last_uid": 0, "since": YESTERDAY, "limit": 10}
    arguments.update(options)
    return imap.poll(settings, address=LOOPBACK, tls_context=certificate.client_context(), **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("security", ["tls", "starttls", "none"])
def test_reads_new_messages_over_each_security(
    imap_user: ImapUser, certificate: TestCertificate, security: str
) -> None:
    for n in range(3):
        imap_user.append(_message(n))
    first = _poll(imap_user, certificate, security=security, limit=2)
    assert ([m.uid for m in first.messages], first.more, first.cursor) == ([1, 2], True, 2)
    assert first.messages[0].raw.startswith(b"From: a@example.org\r\nMessage-ID: <m0@example.org>")
    rest = _poll(
        imap_user, certificate, security=security, uid_validity=first.uid_validity, last_uid=first.cursor
    )
    assert ([m.uid for m in rest.messages], rest.more, rest.cursor) == ([3], False, 3)
    # `4:*` names the highest UID (3) too (RFC 3501 §6.4.8): nothing new is nothing read.
    empty = _poll(imap_user, certificate, security=security, uid_validity=rest.uid_validity, last_uid=3)
    assert (empty.messages, empty.cursor) == ([], 3)


def test_tls_certificate_is_checked_against_the_host_name_not_the_pinned_address(
    imap_user: ImapUser, certificate: TestCertificate
) -> None:
    # The name does not resolve at all: the connection goes to the pinned address, TLS checks the name.
    for security in ("tls", "starttls"):
        with pytest.raises(imap.ImapFailure) as refused:
            _poll(imap_user, certificate, security=security, host="imap.wrong-name.example")
        assert refused.value.kind == "auth_failed"
        assert "certificate was refused" in refused.value.reason
        assert "imap.wrong-name.example" in refused.value.reason


def test_an_untrusted_certificate_is_refused(imap_user: ImapUser) -> None:
    other = TestCertificateLike()
    settings = imap.ImapSettings("localhost", imap_user.server.tls_port or 0, imap_user.name, "x", "tls", 5.0)
    with pytest.raises(imap.ImapFailure) as refused:
        imap.poll(
            settings,
            address=LOOPBACK,
            tls_context=other.context,
            uid_validity=None,
            last_uid=0,
            since=YESTERDAY,
            limit=1,
        )
    assert refused.value.kind == "auth_failed"


class TestCertificateLike:
    """A client context trusting another CA than the server's."""

    __test__ = False

    def __init__(self) -> None:
        from fluenzr_server.engine.smtp_sink import make_test_certificate

        self.context = make_test_certificate().client_context()


def test_wrong_password_is_auth_failed(imap_user: ImapUser, certificate: TestCertificate) -> None:
    with pytest.raises(imap.ImapFailure) as refused:
        _poll(imap_user, certificate, password="not-it")
    assert refused.value.kind == "auth_failed"
    assert "refused the login" in refused.value.reason


@pytest.fixture
def plain_dovecot() -> Iterator[Dovecot]:
    import tempfile
    from pathlib import Path

    server = Dovecot(Path(tempfile.mkdtemp(prefix="fluenzr-dovecot-plain-")), users={"sales": "pw"})
    server.start()
    yield server
    stop_dovecot(server)


def test_starttls_is_required_when_asked_for(plain_dovecot: Dovecot, certificate: TestCertificate) -> None:
    user = ImapUser(plain_dovecot, "sales", "pw")
    with pytest.raises(imap.ImapFailure) as refused:
        _poll(user, certificate, security="starttls")
    assert refused.value.kind == "auth_failed"
    assert "does not offer STARTTLS" in refused.value.reason
    assert _poll(user, certificate, security="none").messages == []  # plain works where it is allowed


def test_connection_refused_and_silent_server_timeout(certificate: TestCertificate) -> None:
    server = start_dovecot(certificate)
    server.add_user("sales", "pw")
    user = ImapUser(server, "sales", "pw")
    server.stop()
    try:
        with pytest.raises(imap.ImapFailure) as refused:
            _poll(user, certificate, security="starttls")
        assert (refused.value.kind, "connection refused" in refused.value.reason) == ("refused", True)
    finally:
        stop_dovecot(server)

    with socket.socket() as silent:  # accepts, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
        thread.start()
        settings = imap.ImapSettings("localhost", port, "sales", "pw", "none", 0.5)
        with pytest.raises(imap.ImapFailure) as timed_out:
            imap.poll(
                settings,
                address=LOOPBACK,
                tls_context=certificate.client_context(),
                uid_validity=None,
                last_uid=0,
                since=YESTERDAY,
                limit=1,
            )
        assert timed_out.value.kind == "timeout"
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()


def test_a_new_uidvalidity_starts_again_from_the_since_date(
    imap_user: ImapUser, certificate: TestCertificate
) -> None:
    imap_user.append(_message(1))
    first = _poll(imap_user, certificate)
    imap_user.server.reset_uid_validity(imap_user.name)
    imap_user.append(_message(2))
    again = _poll(imap_user, certificate, uid_validity=first.uid_validity, last_uid=first.cursor)
    assert again.uid_validity != first.uid_validity
    assert [m.raw.split(b"\r\n")[1] for m in again.messages] == [
        b"Message-ID: <m1@example.org>",
        b"Message-ID: <m2@example.org>",
    ]
    # Nothing since the date: the cursor goes above everything there is.
    future = _poll(imap_user, certificate, since=date.today() + timedelta(days=2))
    assert (future.messages, future.cursor) == ([], 2)
