"""A real webhook receiver for tests: an HTTP server (uvicorn) on loopback, in a thread of its own.

It verifies every request with the `standardwebhooks` package against the secrets it is given, records
what arrived (duplicates counted by `webhook-id`), and answers as scripted: a status with headers and a
body, or a hang. Stopping it and starting it again on the same port simulates an endpoint that was down.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import standardwebhooks
import uvicorn


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    signatures: int
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":true}'
    hang: float = 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """`secrets`: the `whsec_…` secrets a request may be signed with (any one signature must match).

    `strict_time=False` checks the signature with the package's own `sign` but not the 5-minute window of
    `verify`, for tests that drive the dispatcher with a clock days ahead of the wall clock."""

    def __init__(
        self,
        secrets: list[str] | None = None,
        *,
        strict_time: bool = True,
        tls: tuple[str, str] | None = None,
    ) -> None:
        """`tls`: (certificate file, key file) to serve HTTPS instead of HTTP."""
        self.secrets = list(secrets or [])
        self.tls = tls
        self.strict_time = strict_time
        self.port = _free_port()
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.default = Answer()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.url_for("127.0.0.1")

    def url_for(self, host: str) -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/hooks"

    # --- scripting -------------------------------------------------------------------------------------
    def answer(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        hang: float = 0.0,
    ) -> None:
        """The next `times` requests get this answer (then the default, 200)."""
        with self._lock:
            self.script.extend(Answer(status, dict(headers or {}), body, hang) for _ in range(times))

    # --- what arrived -----------------------------------------------------------------------------------
    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.webhook_id for r in self.received)

    def verified(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.verified]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} of {count} requests arrived in {timeout} s")

    # --- the ASGI app -----------------------------------------------------------------------------------
    def _verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            hook = standardwebhooks.Webhook(secret)
            try:
                if self.strict_time:
                    hook.verify(body, headers)
                    return True
                sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
                expected = hook.sign(headers["webhook-id"], sent_at, body.decode())
                if expected in headers.get("webhook-signature", "").split(" "):
                    return True
            except (standardwebhooks.webhooks.WebhookVerificationError, KeyError, ValueError):
                continue
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        headers["x-path"] = scope["path"]
        record = Received(
            headers=headers,
            body=body,
            verified=self._verify(body, headers),
            signatures=len(headers.get("webhook-signature", "").split()),
            at=time.monotonic(),
        )
        with self._lock:
            self.received.append(record)
            answer = self.script.pop(0) if self.script else self.default
        if answer.hang:
            await asyncio.sleep(answer.hang)
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
        await send({"type": "http.response.start", "status": answer.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": answer.body})

    # --- running ----------------------------------------------------------------------------------------
    def start(self) -> Receiver:
        certfile, keyfile = self.tls or (None, None)
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="on",
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
