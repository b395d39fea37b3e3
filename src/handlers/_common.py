"""What every handler module shares: the database handle and the paging request."""

from __future__ import annotations

from typing import Any

from connexion import request

from fluenzr_server import envelope
from fluenzr_server.settings import Settings, get_settings
from fluenzr_server.store.database import Database, get_database
from fluenzr_server.store.paging import PageRequest

Result = tuple[dict[str, Any], int]


def db() -> Database:
    return get_database()


def settings() -> Settings:
    """The settings the serving app was built with (the edge puts them in the request's state)."""
    built: Settings | None = request.scope.get("state", {}).get("settings")
    return built or get_settings()


def paging(page: int, per_page: int, sort: str, order: str) -> PageRequest:
    return PageRequest(page=page, per_page=per_page, sort=sort, order=order)


def listed(items: tuple[list[dict[str, Any]], int], request: PageRequest) -> Result:
    data, total = items
    return envelope.page(data, page=request.page, per_page=request.per_page, total=total), 200


def deleted(object_id: str) -> Result:
    return envelope.ok({"id": object_id, "deleted": True}), 200
