"""Connexion's per-request set-up is done once (`connexion_once.py`): one routing pass per request, and
no handler signature inspected while serving; the docs paths keep their router."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from tests.conftest import Tenant, client_for


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


async def test_a_request_is_routed_once(app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    async with client_for(app, tenant.api_key) as client:
        await client.get("/contacts")  # the app's stack is built on its first request
        mounts = _count_calls(monkeypatch, Mount, "matches")
        response = await client.get("/contacts")
    assert response.status_code == 200
    # The one router is the routing middleware's: its mount of the API's base path, tried once.
    assert [mount.path for mount in mounts] == ["/v1"]


async def test_no_signature_is_inspected_while_serving(
    app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(app, tenant.api_key) as client:
        await client.get("/contacts")
        inspected = _count_calls(monkeypatch, inspect, "signature")
        listed = await client.get("/contacts")
        created = await client.post("/contacts", json={"email": "once@example.com"})
    assert (listed.status_code, created.status_code) == (200, 201)
    assert inspected == []


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/openapi.json", "application/json"),
        ("/openapi.yaml", "text/yaml"),
        ("/ui/", "text/html"),
        ("/ui/swagger-ui.css", "text/css"),
    ],
)
async def test_the_docs_are_still_served(anonymous: httpx.AsyncClient, path: str, media_type: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


# Requests of many shapes: defaults, each kind of query value, a path id, JSON bodies, nulls, a bad body.
_VARIED: list[tuple[str, str, Any]] = [
    ("GET", "/contacts", None),
    ("GET", "/contacts?page=2&perPage=5&sort=email&order=asc", None),
    ("GET", "/contacts?email=ada&group=grp_nothere", None),
    ("POST", "/contacts", {"email": "args@example.com", "firstName": None, "customFields": {"a": 1}}),
    ("GET", "/contacts/ctc_unknown", None),
    ("PATCH", "/contacts/ctc_unknown", {"company": "Acme"}),
    ("POST", "/groups", {"name": "Args", "description": "d"}),
    ("GET", "/campaigns?status=draft", None),
    ("GET", "/suppressions?perPage=3", None),
]


async def test_handlers_get_the_arguments_connexion_would_give(
    app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The arguments worked out once per operation (`_OnceParameters`) against Connexion's own
    # `prep_kwargs`, which reads the operation from the request's context, for the same requests.
    from connexion.decorators.parameter import prep_kwargs, pythonic

    from fluenzr_server.connexion_once import _OnceParameters

    original = _OnceParameters.arguments
    compared: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def both(self: Any, request: Any, body: Any, files: Any, arguments: Any, has_kwargs: bool) -> Any:
        ours = original(self, request, body, files, arguments, has_kwargs)
        theirs = prep_kwargs(
            request,
            request_body=body,
            files=files,
            arguments=arguments,
            has_kwargs=has_kwargs,
            sanitize=pythonic,
        )
        compared.append((ours, theirs))
        return ours

    monkeypatch.setattr(_OnceParameters, "arguments", both)
    async with client_for(app, tenant.api_key) as client:
        for method, path, body in _VARIED:
            response = await client.request(method, path, json=body)
            assert response.status_code < 500, (method, path, response.text)
        # A form body on an operation without one: Connexion still reads its (absent) files.
        form = {"content-type": "application/x-www-form-urlencoded"}
        response = await client.request("GET", "/contacts?perPage=2", content=b"page=3", headers=form)
        assert response.status_code == 200, response.text
    assert len(compared) >= len(_VARIED) - 1  # an unknown id is 404 in the handler, after its arguments
    for ours, theirs in compared:
        assert ours == theirs


async def test_no_validator_or_parser_is_built_while_serving(
    app: Any, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inflection
    from connexion.uri_parsing import OpenAPIURIParser

    from fluenzr_server.validation import EnvelopeJSONBodyValidator, EnvelopeParameterValidator

    async def serve(client: httpx.AsyncClient, run: str) -> list[int]:
        return [
            (await client.get("/contacts?page=1&perPage=5&sort=email")).status_code,
            (await client.post("/contacts", json={"email": f"built-{run}@example.com"})).status_code,
            (await client.post("/contacts", json={"email": 3})).status_code,
        ]

    async with client_for(app, tenant.api_key) as client:
        assert await serve(client, "first") == [200, 201, 400]
        built = [
            _count_calls(monkeypatch, EnvelopeParameterValidator, "__init__"),
            _count_calls(monkeypatch, EnvelopeJSONBodyValidator, "__init__"),
            _count_calls(monkeypatch, OpenAPIURIParser, "__init__"),
        ]
        renamed = _count_calls(monkeypatch, inflection, "underscore")
        assert await serve(client, "again") == [200, 201, 400]
    assert built == [[], [], []]
    assert renamed == []  # each parameter's Python name was worked out once


async def test_body_validators_kept_are_bounded(app: Any, tenant: Tenant) -> None:
    from fluenzr_server.connexion_once import _KEPT_BODY_VALIDATORS, OnceRequestValidation

    async with client_for(app, tenant.api_key) as client:
        assert (await client.get("/contacts")).status_code == 200  # the stack is built
    (layer,) = [m for m in app.middleware.middleware_stack if isinstance(m, OnceRequestValidation)]
    operation = layer.apis["/v1"][0].operations["createContact"]
    json_validator = operation.body_validator("application/json")
    assert json_validator is operation.body_validator("application/json")  # kept: built once
    for n in range(3 * _KEPT_BODY_VALIDATORS):
        operation.body_validator(f"application/x-{n}+json")
    assert len(operation.body_validators) == _KEPT_BODY_VALIDATORS
