"""Loading the contract, and facts derived from it (which methods each path allows)."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
REPO_SPEC = Path(__file__).resolve().parents[2] / "openapi" / "fluenzr-v1.yaml"


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded


def load_spec(path: Path | str | None = None) -> dict[str, Any]:
    """A fresh copy of the contract (callers may adapt it, e.g. the mock swaps the security function)."""
    return copy.deepcopy(_load(str(path or REPO_SPEC)))


def base_path(spec: dict[str, Any]) -> str:
    url: str = spec["servers"][0]["url"]
    return url.rstrip("/")


class AllowedMethods:
    """Which methods the contract defines for a concrete request path (for 405 `Allow` headers)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        prefix = base_path(spec)
        self._routes: list[tuple[re.Pattern[str], list[str]]] = []
        for template, item in spec["paths"].items():
            pattern = re.escape(prefix + template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            methods = sorted(method.upper() for method in item if method in HTTP_METHODS)
            self._routes.append((re.compile(f"^{pattern}/?$"), methods))
        # Concrete paths first: `/contacts/batch` is not `/contacts/{contactId}` (OpenAPI path matching).
        self._routes.sort(key=lambda route: "[^/]+" in route[0].pattern)

    def for_path(self, path: str) -> list[str]:
        for pattern, methods in self._routes:
            if pattern.match(path):
                return methods
        return []
