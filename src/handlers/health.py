"""GET /health: the only public operation."""

from __future__ import annotations

from fluenzr_server import __version__, envelope
from handlers._common import Result


async def get_health() -> Result:
    """Liveness."""
    return envelope.ok({"status": "ok", "version": __version__}), 200
