"""The webhook HTTP client: connects only to addresses that passed the host policy, at connect time.

Built on httpcore (httpx's transport layer) with a network backend whose `connect_tcp` resolves the name
once through `net_policy.resolve_public`, refuses non-public addresses, and opens the socket to the checked
address itself, so no second resolution can be steered elsewhere (DNS rebinding, `127.0.0.1.nip.io`-style
names). httpcore still gets the name: TLS sends it as SNI and checks the certificate against it, and the
`Host` header carries it. By construction there is no cookie jar, no redirect following and no proxy from
the environment. Each attempt has a 15 s total budget (connect, TLS, send and read together) and reads at
most 64 KiB of the answer.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore

from fluenzr_server.net_policy import Address, HostRefused, resolve_public
from fluenzr_server.settings import Settings

log = logging.getLogger("fluenzr.webhooks")
TOTAL_TIMEOUT = 15.0
MAX_IN_FLIGHT = 64
READ_CAP = 64 * 1024
Resolver = Callable[..., Awaitable[list[Address]]]


def allow_private_hosts(settings: Settings) -> bool:
    """Whether deliveries may reach private and loopback addresses (FLUENZR_ALLOW_PRIVATE_HOSTS: local
    development and tests only, refused in production)."""
    return settings.allow_private_hosts


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses `resolve` has checked.

    `resolve(host, port, allow_private=...)` is `net_policy.resolve_public` in production; `connected`
    records the last address each host was connected to (for tests and logs).
    """

    def __init__(
        self, *, allow_private: bool, resolve: Resolver = resolve_public, loopback_only: bool = False
    ) -> None:
        self._allow_private = allow_private
        self._loopback_only = loopback_only
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()
        self.connected: dict[str, str] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, allow_private=self._allow_private)
        if self._loopback_only and not all(address.is_loopback for address in addresses):
            raise HostRefused(host, "is not on loopback (FLUENZR_WEBHOOK_LOOPBACK_ONLY is set)")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self.connected[host] = str(address)
            return stream
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never delivered over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt as seen by the sender: `status_code` None when no HTTP answer came (`error` says why)."""

    status_code: int | None
    duration_ms: int
    body: bytes = b""
    retry_after: str | None = None
    error: str | None = None


Origin = tuple[bytes, bytes, int]
_DEFAULT_PORTS = {b"http": 80, b"https": 443}


class ConnectionsByOrigin:
    """Idle keep-alive connections, per origin (scheme, host, port), each serving one request at a time.

    httpcore's `AsyncConnectionPool` rescans every connection of every origin for each queued request,
    which costs more than the request itself at a few dozen concurrent deliveries; a delivery only ever
    wants an idle connection to its own origin, which is a dictionary look-up here.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext, backend: httpcore.AsyncNetworkBackend, keep_per_origin: int
    ) -> None:
        self._ssl_context = ssl_context
        self._backend = backend
        self._keep = keep_per_origin
        self._idle: dict[Origin, list[httpcore.AsyncHTTPConnection]] = {}

    async def take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get((origin.scheme, origin.host, origin.port), [])
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin, ssl_context=self._ssl_context, keepalive_expiry=5.0, network_backend=self._backend
        )

    async def give_back(self, origin: httpcore.Origin, connection: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault((origin.scheme, origin.host, origin.port), [])
        if connection.is_idle() and len(idle) < self._keep:
            idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()


class WebhookClient:
    """POSTs signed payloads over keep-alive connections, at most `max_in_flight` at once."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolver = resolve_public,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = TOTAL_TIMEOUT,
        max_in_flight: int = MAX_IN_FLIGHT,
        loopback_only: bool = False,
    ) -> None:
        self.timeout = timeout
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self.backend = PinnedBackend(
            allow_private=allow_private, resolve=resolve, loopback_only=loopback_only
        )
        self._connections = ConnectionsByOrigin(
            ssl_context=ssl_context or ssl.create_default_context(),
            backend=self.backend,
            keep_per_origin=max_in_flight,
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> WebhookClient:
        """The client these settings call for (private hosts, loopback-only test runs)."""
        return cls(allow_private=allow_private_hosts(settings), loopback_only=settings.webhook_loopback_only)

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        """One attempt; never raises (a failure is an `Answer` with `error`). The 15 s budget starts when
        the request leaves the queue of this client's in-flight limit."""
        async with self._in_flight:
            return await self._post(url, body=body, headers=headers)

    async def _post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            async with asyncio.timeout(self.timeout):
                target = httpcore.URL(url)
                if target.scheme not in _DEFAULT_PORTS:
                    return Answer(None, took(), error="Only http and https URLs are delivered to")
                request = httpcore.Request(
                    "POST",
                    target,
                    headers=[
                        (b"Host", _host_header(target)),
                        (b"Content-Length", str(len(body)).encode()),
                        *((key.encode(), value.encode()) for key, value in headers.items()),
                    ],
                    content=body,
                    extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), self.timeout)},
                )
                return await self._send(request, took)
        except TimeoutError:
            return Answer(None, took(), error=f"No answer within {self.timeout:g} s")
        except HostRefused as exc:
            return Answer(None, took(), error=f"Refused to connect: {exc.reason}")
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            return Answer(None, took(), error=f"Could not connect: {exc or 'connection refused'}")
        except httpcore.TimeoutException:
            return Answer(None, took(), error=f"No answer within {self.timeout:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            return Answer(None, took(), error=f"Connection failed: {type(exc).__name__}: {exc}"[:500])
        except ssl.SSLError as exc:
            return Answer(None, took(), error=f"TLS failed: {exc}"[:500])
        except Exception:  # an attempt always ends as a recorded failure, never as a crashed batch
            log.exception("webhook delivery to %s failed unexpectedly", url)
            return Answer(None, took(), error="Delivery failed (internal error)")

    async def _send(self, request: httpcore.Request, took: Callable[[], int]) -> Answer:
        origin = request.url.origin
        connection = await self._connections.take(origin)
        try:
            response = await connection.handle_async_request(request)
            try:
                received = await _read_capped(response)
            finally:
                await response.aclose()  # a body left unread closes the connection instead
        except BaseException:
            await connection.aclose()
            raise
        await self._connections.give_back(origin, connection)
        return Answer(response.status, took(), received, _header(response.headers, b"retry-after"))

    async def close(self) -> None:
        await self._connections.aclose()


def _host_header(url: httpcore.URL) -> bytes:
    host = url.host
    if b":" in host:  # an IPv6 literal
        host = b"[" + host + b"]"
    if url.port is None or url.port == _DEFAULT_PORTS.get(url.scheme):
        return host
    return host + b":" + str(url.port).encode()


async def _read_capped(response: httpcore.Response) -> bytes:
    received = bytearray()
    async for chunk in response.aiter_stream():
        received += chunk
        if len(received) >= READ_CAP:
            break
    return bytes(received[:READ_CAP])


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
