"""GET / and GET /health: the public operations."""

from __future__ import annotations

from fluenzr_server import __version__, envelope
from handlers._common import Result


async def get_health() -> Result:
    """Liveness."""
    return envelope.ok({"status": "ok", "version": __version__}), 200


async def get_api_index() -> Result:
    """The API root: where the documentation (Swagger UI) and the contract (JSON) are."""
    base = "/v1"
    return envelope.ok(
        {
            "name": "FluenzR API",
            "version": __version__,
            "docs": f"{base}/ui/",
            "openapi": f"{base}/openapi.json",
            "health": f"{base}/health",
        }
    ), 200
