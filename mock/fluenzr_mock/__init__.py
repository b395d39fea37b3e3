"""The FluenzR mock server: the contract's examples behind the real routing and validation, no database."""

from __future__ import annotations

DEFAULT_PORT = 4010
