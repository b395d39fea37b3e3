"""Request bodies at the edge: the size limit, and chunked bodies made readable for Connexion.

Shared by the real server's edge and the mock's, so both refuse and accept exactly the same bodies.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from fluenzr_server.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

JSON = "application/json"


def canonical_content_type(value: str) -> str:
    """`Content-Type` with the media type lower-cased and the whitespace around `;` removed.

    Media types and parameter names are case-insensitive (RFC 9110 §8.3.1), so `Application/JSON ;
    Charset=UTF-8` is JSON; the validators match media types exactly, so the edges hand them this form.
    JSON has no charset parameter (RFC 8259 §11): it is dropped; bodies are read as UTF-8 whatever it says.
    """
    media_type, *params = (part.strip() for part in value.split(";"))
    media_type = media_type.lower()
    if media_type == JSON:
        return JSON
    kept = []
    for param in params:
        name, sep, param_value = param.partition("=")
        if name.strip():
            kept.append(f"{name.strip().lower()}{sep}{param_value.strip()}")
    return "; ".join([media_type, *kept])


def with_canonical_content_type(scope: Scope) -> Scope:
    headers = scope["headers"]
    found = [v for k, v in headers if k == b"content-type"]
    if not found:
        return scope
    canonical = canonical_content_type(found[0].decode("latin-1")).encode("latin-1")
    if canonical == found[0] and len(found) == 1:
        return scope
    kept = [(k, v) for k, v in headers if k != b"content-type"]
    return {**scope, "headers": [*kept, (b"content-type", canonical)]}


class BodyLimit:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body exceeds {self.max_bytes} bytes", {"maxBytes": self.max_bytes})

    async def prepare(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """The scope and receive channel to hand on; raises 400/413 errors for the edge to render.

        The scope handed on has a canonical `Content-Type` (`canonical_content_type`)."""
        scope = with_canonical_content_type(scope)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            raise ValidationFailed("Content-Length must be a number", {"Content-Length": length[:40]})
        if length is not None and int(length) > self.max_bytes:
            raise self.too_large()
        has_body = (length is not None and int(length) > 0) or "chunked" in headers.get(
            "transfer-encoding", ""
        )
        if has_body and "content-type" not in headers:
            # RFC 9110 §8.3 lets a recipient treat such a body as application/octet-stream: not JSON.
            raise UnsupportedMediaType(
                "Content-Type must be application/json: the request has a body but no Content-Type",
                {"contentType": ""},
            )
        if length is None and "chunked" in headers.get("transfer-encoding", "").lower():
            # Connexion reads a body without Content-Length as empty: buffer it (bounded), state its length.
            body = await self.read(receive)
            kept = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
            scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
            receive = replay(body, receive)
        return scope, self.bounded(receive)

    async def read(self, receive: Receive) -> bytes:
        """The whole body, refusing it once it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self.too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def bounded(self, receive: Receive) -> Receive:
        """Count the bytes that reach the app too: past the limit the request fails with 413."""
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large()
            return message

        return bounded_receive


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields an already-read body once, then defers to the real one."""
    sent = False

    async def replay_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive
