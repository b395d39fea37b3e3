"""The delivery client: SSRF checked at connect time, the checked address pinned, SNI and Host for the
name, 15 s budget, 64 KiB read cap, no cookies, no redirects (real sockets, a real TLS handshake)."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.net_policy import Address, resolve_public
from fluenzr_server.resources import Resources
from fluenzr_server.webhooks.http import READ_CAP, WebhookClient
from tests.conftest import Tenant
from tests.utils.factories import create_contact
from tests.webhooks.conftest import Clock, drain, subscribe
from tests.webhooks.receiver import Receiver

BODY = b'{"id":"evt_1","type":"webhook.test","createdAt":"2026-01-01T00:00:00.000000Z","data":{}}'
HEADERS = {"webhook-id": "evt_1", "content-type": "application/json", "user-agent": "FluenzR-Webhooks/1"}


class Resolver:
    """A DNS answer we choose (no resolver on this machine can be pointed at a test zone), passed through
    the real policy check: what `resolve_public` would say had the name resolved to `address`."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int, *, allow_private: bool) -> list[Address]:
        self.calls.append(host)
        return await resolve_public(self.address, port, allow_private=allow_private)


async def test_loopback_is_refused_at_connect_time_without_the_flag(receiver: Receiver) -> None:
    client = WebhookClient(allow_private=False)
    try:
        for url in (receiver.url_for("localhost"), receiver.url, receiver.url_for("[::ffff:127.0.0.1]")):
            answer = await client.post(url, body=BODY, headers=HEADERS)
            assert answer.status_code is None
            assert answer.error is not None and answer.error.startswith("Refused to connect"), answer.error
    finally:
        await client.close()
    assert receiver.received == []


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused(receiver: Receiver) -> None:
    # What `127.0.0.1.nip.io` does: creation cannot know, delivery refuses.
    resolver = Resolver("127.0.0.1")
    client = WebhookClient(allow_private=False, resolve=resolver)
    try:
        answer = await client.post(receiver.url_for("hooks.customer.example"), body=BODY, headers=HEADERS)
    finally:
        await client.close()
    assert answer.error == "Refused to connect: resolves to a non-public address (127.0.0.1)"
    assert resolver.calls == ["hooks.customer.example"] and receiver.received == []


async def test_the_checked_address_is_the_one_connected_to(receiver: Receiver) -> None:
    # `rebind.invalid` can never resolve (RFC 6761): the request arriving proves httpcore did not look the
    # name up again but connected to the address the policy checked, while still sending the name.
    resolver = Resolver("127.0.0.1")
    client = WebhookClient(allow_private=True, resolve=resolver)
    try:
        answer = await client.post(receiver.url_for("rebind.invalid"), body=BODY, headers=HEADERS)
        assert client.backend.connected == {"rebind.invalid": "127.0.0.1"}
    finally:
        await client.close()
    assert answer.status_code == 200, answer.error
    assert resolver.calls == ["rebind.invalid"]
    (request,) = receiver.received
    assert request.headers["host"] == f"rebind.invalid:{receiver.port}"


async def test_a_delivery_to_a_loopback_endpoint_is_refused_by_a_worker_without_the_flag(
    api: httpx.AsyncClient, receiver: Receiver, hook_resources: Resources, tenant: Tenant, clock: Clock
) -> None:
    hook = await subscribe(api, receiver, ["contact.created"])  # created while local development allowed it
    strict = WebhookDispatcher(
        client=WebhookClient(allow_private=False), clock=clock, account_ids=[tenant.account_id]
    )
    try:
        await create_contact(api)
        assert await drain(strict, hook_resources) == 1
    finally:
        await strict.close()
    (delivery,) = (await api.get(f"/webhooks/{hook['id']}/deliveries")).json()["data"]
    (attempt,) = delivery["attempts"]
    assert attempt["statusCode"] is None and "non-public address (127.0.0.1)" in attempt["error"]
    assert delivery["status"] == "pending" and receiver.received == []


async def test_a_hanging_endpoint_times_out(receiver: Receiver) -> None:
    receiver.answer(200, hang=10)
    client = WebhookClient(allow_private=True, timeout=1.0)
    try:
        answer = await client.post(receiver.url, body=BODY, headers=HEADERS)
    finally:
        await client.close()
    assert answer.status_code is None and answer.error == "No answer within 1 s"
    assert 900 <= answer.duration_ms < 5000


def test_the_default_budget_is_15_seconds() -> None:
    assert WebhookClient(allow_private=False).timeout == 15.0


async def test_the_answer_is_read_up_to_64_kib(receiver: Receiver) -> None:
    receiver.answer(200, body=b"x" * (1024 * 1024))
    client = WebhookClient(allow_private=True)
    try:
        answer = await client.post(receiver.url, body=BODY, headers=HEADERS)
    finally:
        await client.close()
    assert answer.status_code == 200 and len(answer.body) == READ_CAP == 64 * 1024


async def test_cookies_are_never_sent_back(receiver: Receiver) -> None:
    receiver.answer(200, headers={"Set-Cookie": "session=abc; Path=/"})
    client = WebhookClient(allow_private=True)
    try:
        for _ in range(2):
            assert (await client.post(receiver.url, body=BODY, headers=HEADERS)).status_code == 200
    finally:
        await client.close()
    assert all("cookie" not in r.headers for r in receiver.received)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for `hooks.test` only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.test")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_receiver(certificate: tuple[str, str]) -> Iterator[Receiver]:
    r = Receiver(tls=certificate).start()
    yield r
    r.stop()


def _trusting(cert_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert_file)


async def test_tls_checks_the_certificate_against_the_name_while_connecting_to_the_pinned_address(
    tls_receiver: Receiver, certificate: tuple[str, str]
) -> None:
    client = WebhookClient(
        allow_private=True, resolve=Resolver("127.0.0.1"), ssl_context=_trusting(certificate[0])
    )
    try:
        good = await client.post(tls_receiver.url_for("hooks.test"), body=BODY, headers=HEADERS)
        # The same address under another name: the certificate does not match, so nothing is sent.
        bad = await client.post(tls_receiver.url_for("other.test"), body=BODY, headers=HEADERS)
    finally:
        await client.close()
    assert good.status_code == 200, good.error
    assert bad.status_code is None and bad.error is not None
    (request,) = tls_receiver.received
    assert request.headers["host"] == f"hooks.test:{tls_receiver.port}"


async def test_loopback_only_runs_never_leave_the_machine(receiver: Receiver) -> None:
    # FLUENZR_WEBHOOK_LOOPBACK_ONLY (tests, fuzzing): a public address is refused before any packet is sent.
    public = WebhookClient(allow_private=True, resolve=Resolver("93.184.215.14"), loopback_only=True)
    local = WebhookClient(allow_private=True, loopback_only=True)
    try:
        refused = await public.post("https://hooks.example.com/x", body=BODY, headers=HEADERS)
        allowed = await local.post(receiver.url, body=BODY, headers=HEADERS)
    finally:
        await public.close()
        await local.close()
    assert refused.error == "Refused to connect: is not on loopback (FLUENZR_WEBHOOK_LOOPBACK_ONLY is set)"
    assert allowed.status_code == 200
