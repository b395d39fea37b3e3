"""The mock answers from work done at start-up: each operation's default answer is serialised once, and a
request for it copies nothing and serialises nothing; other answers are serialised on first use; an id
from the path still goes into a copy; validation still runs first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fluenzr_mock import responder
from fluenzr_mock.contract import Contract
from fluenzr_mock.server import build_mock_app, mock_spec

from tests.mock.conftest import mock_client


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(owner, name)

    def spied(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spied)
    return calls


@pytest.fixture
def fresh_app() -> Any:
    return build_mock_app(validate_responses=True)


async def test_default_answers_are_serialised_at_start_up(
    fresh_app: Any, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    dumps = _spy(monkeypatch, responder.envelope, "dumps")
    built = _spy(monkeypatch, responder.Page, "apply")  # shapes a copy of an example into an answer
    async with mock_client(fresh_app) as client:
        listed = await client.get("/contacts")
        created = await client.post("/contacts", json={"email": "ada@example.com"})
        again = await client.post("/contacts", json={"email": "grace@example.com"})
    assert (listed.status_code, created.status_code) == (200, 201)
    assert created.content == again.content
    examples = contract.operations["createContact"].responses["201"].examples
    assert created.json() == next(iter(examples.values()))
    assert created.headers["content-length"] == str(len(created.content))
    assert (dumps, built) == ([], [])


async def test_an_other_page_is_serialised_once(fresh_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dumps = _spy(monkeypatch, responder.envelope, "dumps")
    async with mock_client(fresh_app) as client:
        first = await client.get("/contacts", params={"perPage": 1})
        second = await client.get("/contacts", params={"perPage": 1})
    assert first.json()["meta"] == {"page": 1, "perPage": 1, "total": 2}
    assert len(first.json()["data"]) == 1
    assert first.content == second.content
    assert len(dumps) == 1


async def test_the_path_id_goes_into_a_copy_of_the_answer(fresh_app: Any) -> None:
    async with mock_client(fresh_app) as client:
        first = (await client.get("/contacts/ctc_first")).json()
        second = (await client.get("/contacts/ctc_second")).json()
        plain = (await client.get("/contacts")).json()
    assert (first["data"]["id"], second["data"]["id"]) == ("ctc_first", "ctc_second")
    assert plain["data"][0]["id"] != "ctc_second"  # the shared example was not changed


async def test_validation_still_comes_before_the_canned_answer(client: httpx.AsyncClient) -> None:
    response = await client.post("/contacts", json={"email": "not an email"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_canned_answers_are_bounded() -> None:
    answers = responder.Responder()
    contract = Contract(mock_spec())
    operation = contract.operations["listContacts"]
    for per_page in range(1, 101):
        for page in range(1, 50):
            answers._example(operation, "200", "page", responder.Page(page, per_page, True))
    assert len(answers._canned) == responder.CANNED_ANSWERS
