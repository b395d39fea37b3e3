"""What every handler module shares: the request's resources (database, settings, secret box) and paging."""

from __future__ import annotations

from typing import Any

from connexion import request

from fluenzr_server import envelope
from fluenzr_server.crypto import SecretBox
from fluenzr_server.request_resources import request_resources
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings
from fluenzr_server.store.database import Database
from fluenzr_server.store.paging import PageRequest

Result = tuple[dict[str, Any], int]


def resources() -> Resources:
    """The resources of the app serving this request (its first layer put them in the request's scope)."""
    return request_resources(request.scope)


def db() -> Database:
    return resources().database


def settings() -> Settings:
    """The settings the serving app was built with, never the environment's."""
    return resources().settings


def secret_box() -> SecretBox:
    return resources().secret_box


def paging(page: int, per_page: int, sort: str, order: str) -> PageRequest:
    return PageRequest(page=page, per_page=per_page, sort=sort, order=order)


def listed(items: tuple[list[dict[str, Any]], int], request: PageRequest) -> Result:
    data, total = items
    return envelope.page(data, page=request.page, per_page=request.per_page, total=total), 200


def deleted(object_id: str) -> Result:
    return envelope.ok({"id": object_id, "deleted": True}), 200
