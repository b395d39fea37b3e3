"""Tenancy: another account's ids behave exactly like ids that do not exist, and its data never changes.

Path ids of another account are 404; ids in bodies are 400 (as for an unknown id). Each case also runs
with a made-up id and the two answers must be identical once the id is swapped, so a caller cannot even
tell that the foreign object exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fluenzr_server.store.database import Database
from tests.conftest import Tenant, client_for, make_tenant
from tests.utils.assertions import error, ok
from tests.utils.factories import (
    STEP,
    add_to_group,
    create_campaign,
    create_contact,
    create_email_account,
    create_group,
    create_webhook,
    email_account_body,
    running_campaign,
)

GHOSTS = {
    "contact": "ctc_ghost000000000000",
    "group": "grp_ghost000000000000",
    "emailAccount": "acc_ghost000000000000",
    "campaign": "cmp_ghost000000000000",
    "runningCampaign": "cmp_ghost000000000000",
    "webhook": "whk_ghost000000000000",
}


@dataclass
class World:
    """One account's objects, by kind."""

    ids: dict[str, str]

    async def snapshot(self, client: httpx.AsyncClient) -> dict[str, Any]:
        ids = self.ids
        return {
            "contact": ok(await client.get(f"/contacts/{ids['contact']}")),
            "group": ok(await client.get(f"/groups/{ids['group']}")),
            "members": ok(await client.get("/contacts", params={"group": ids["group"]})),
            "emailAccount": ok(await client.get(f"/email-accounts/{ids['emailAccount']}")),
            "campaign": ok(await client.get(f"/campaigns/{ids['campaign']}")),
            "runningCampaign": ok(await client.get(f"/campaigns/{ids['runningCampaign']}")),
            "stats": ok(await client.get(f"/campaigns/{ids['campaign']}/stats")),
            "webhooks": ok(await client.get("/webhooks")),
            "contacts": ok(await client.get("/contacts", params={"perPage": 100})),
        }


async def build_world(client: httpx.AsyncClient) -> World:
    contact = await create_contact(client, firstName="Theirs")
    group = await create_group(client)
    await add_to_group(client, group["id"], [contact["id"]])
    account = await create_email_account(client)
    campaign = await create_campaign(client, emailAccountId=account["id"], steps=[STEP])
    ok(await client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [contact["id"]]}))
    running = await running_campaign(client)
    webhook = await create_webhook(client)
    return World(
        {
            "contact": contact["id"],
            "group": group["id"],
            "emailAccount": account["id"],
            "campaign": campaign["id"],
            "runningCampaign": running["id"],
            "webhook": webhook["id"],
        }
    )


# Both worlds are built once per module (and backend): every test asserts that neither changed, so a test
# that broke one would fail itself rather than pass on a changed world.


@pytest.fixture(scope="module")
async def tenants(database: Database) -> tuple[Tenant, Tenant]:
    return await make_tenant(database), await make_tenant(database)


@pytest.fixture(scope="module")
async def module_clients(
    app: Any, tenants: tuple[Tenant, Tenant]
) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with client_for(app, tenants[0].api_key) as mine_, client_for(app, tenants[1].api_key) as theirs_:
        yield mine_, theirs_


@pytest.fixture
def client(module_clients: tuple[httpx.AsyncClient, ...]) -> httpx.AsyncClient:
    return module_clients[0]


@pytest.fixture
def other_client(module_clients: tuple[httpx.AsyncClient, ...]) -> httpx.AsyncClient:
    return module_clients[1]


@pytest.fixture(scope="module")
async def theirs(module_clients: tuple[httpx.AsyncClient, ...]) -> World:
    return await build_world(module_clients[1])


@pytest.fixture(scope="module")
async def mine(module_clients: tuple[httpx.AsyncClient, ...]) -> World:
    return await build_world(module_clients[0])


Call = Callable[[httpx.AsyncClient, dict[str, str], dict[str, str]], Awaitable[httpx.Response]]

# (name, kind of the foreign id used, expected status, request(client, foreign ids, my ids))
PATH_CASES: list[tuple[str, str, Call]] = [
    ("get contact", "contact", lambda c, f, m: c.get(f"/contacts/{f['contact']}")),
    (
        "update contact",
        "contact",
        lambda c, f, m: c.put(f"/contacts/{f['contact']}", json={"company": "Hijacked"}),
    ),
    ("delete contact", "contact", lambda c, f, m: c.delete(f"/contacts/{f['contact']}")),
    ("get group", "group", lambda c, f, m: c.get(f"/groups/{f['group']}")),
    ("update group", "group", lambda c, f, m: c.put(f"/groups/{f['group']}", json={"name": "Hijacked"})),
    ("delete group", "group", lambda c, f, m: c.delete(f"/groups/{f['group']}")),
    (
        "add my contacts to their group",
        "group",
        lambda c, f, m: c.post(f"/groups/{f['group']}/contacts", json={"contactIds": [m["contact"]]}),
    ),
    ("get email account", "emailAccount", lambda c, f, m: c.get(f"/email-accounts/{f['emailAccount']}")),
    (
        "update email account",
        "emailAccount",
        lambda c, f, m: c.put(
            f"/email-accounts/{f['emailAccount']}", json={"smtp": {"host": "evil.example", "password": "x"}}
        ),
    ),
    (
        "delete email account",
        "emailAccount",
        lambda c, f, m: c.delete(f"/email-accounts/{f['emailAccount']}"),
    ),
    ("get campaign", "campaign", lambda c, f, m: c.get(f"/campaigns/{f['campaign']}")),
    (
        "update campaign",
        "campaign",
        lambda c, f, m: c.put(f"/campaigns/{f['campaign']}", json={"name": "Hijacked"}),
    ),
    ("start campaign", "campaign", lambda c, f, m: c.post(f"/campaigns/{f['campaign']}/start")),
    ("pause campaign", "runningCampaign", lambda c, f, m: c.post(f"/campaigns/{f['runningCampaign']}/pause")),
    (
        "add my contacts to their campaign",
        "campaign",
        lambda c, f, m: c.post(f"/campaigns/{f['campaign']}/contacts", json={"contactIds": [m["contact"]]}),
    ),
    (
        "add my group to their campaign",
        "campaign",
        lambda c, f, m: c.post(f"/campaigns/{f['campaign']}/contacts", json={"groupId": m["group"]}),
    ),
    ("campaign stats", "campaign", lambda c, f, m: c.get(f"/campaigns/{f['campaign']}/stats")),
    ("delete webhook", "webhook", lambda c, f, m: c.delete(f"/webhooks/{f['webhook']}")),
]

BODY_CASES: list[tuple[str, str, Call]] = [
    (
        "their contacts into my group",
        "contact",
        lambda c, f, m: c.post(f"/groups/{m['group']}/contacts", json={"contactIds": [f["contact"]]}),
    ),
    (
        "their contacts among mine into my group",
        "contact",
        lambda c, f, m: c.post(
            f"/groups/{m['group']}/contacts", json={"contactIds": [m["contact"], f["contact"]]}
        ),
    ),
    (
        "their contacts into my campaign",
        "contact",
        lambda c, f, m: c.post(f"/campaigns/{m['campaign']}/contacts", json={"contactIds": [f["contact"]]}),
    ),
    (
        "their group into my campaign",
        "group",
        lambda c, f, m: c.post(f"/campaigns/{m['campaign']}/contacts", json={"groupId": f["group"]}),
    ),
    (
        "create a campaign on their email account",
        "emailAccount",
        lambda c, f, m: c.post("/campaigns", json={"name": "Mine", "emailAccountId": f["emailAccount"]}),
    ),
    (
        "move my campaign to their email account",
        "emailAccount",
        lambda c, f, m: c.put(f"/campaigns/{m['campaign']}", json={"emailAccountId": f["emailAccount"]}),
    ),
]


async def _same_as_ghost(
    client: httpx.AsyncClient, call: Call, kind: str, foreign: dict[str, str], own: dict[str, str]
) -> httpx.Response:
    response = await call(client, foreign, own)
    ghost_ids = {**foreign, kind: GHOSTS[kind]}
    ghost = await call(client, ghost_ids, own)
    assert response.status_code == ghost.status_code
    as_ghost = response.text.replace(foreign[kind], GHOSTS[kind])
    assert response.json()["error"]["code"] == ghost.json()["error"]["code"]
    assert as_ghost == ghost.text, "a foreign id must be indistinguishable from an unknown one"
    return response


@pytest.mark.parametrize(
    ("kind", "call"), [case[1:] for case in PATH_CASES], ids=[case[0] for case in PATH_CASES]
)
async def test_foreign_path_id_is_404(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    theirs: World,
    mine: World,
    kind: str,
    call: Call,
) -> None:
    before = await theirs.snapshot(other_client)
    mine_before = await mine.snapshot(client)
    response = await _same_as_ghost(client, call, kind, theirs.ids, mine.ids)
    assert error(response, 404, "NOT_FOUND") == {"id": theirs.ids[kind]}
    assert await theirs.snapshot(other_client) == before
    assert await mine.snapshot(client) == mine_before


@pytest.mark.parametrize(
    ("kind", "call"), [case[1:] for case in BODY_CASES], ids=[case[0] for case in BODY_CASES]
)
async def test_foreign_body_id_is_400(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    theirs: World,
    mine: World,
    kind: str,
    call: Call,
) -> None:
    before = await theirs.snapshot(other_client)
    mine_before = await mine.snapshot(client)
    campaigns_before = ok(await client.get("/campaigns"))
    response = await _same_as_ghost(client, call, kind, theirs.ids, mine.ids)
    details = error(response, 400, "VALIDATION_ERROR")
    if kind == "contact":
        assert details["unknownIds"] == [theirs.ids["contact"]]
    else:
        assert {"group": "groupId", "emailAccount": "emailAccountId"}[kind] in details
    assert await theirs.snapshot(other_client) == before
    assert await mine.snapshot(client) == mine_before
    assert ok(await client.get("/campaigns")) == campaigns_before


async def test_group_filter_with_a_foreign_group(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, theirs: World, mine: World
) -> None:
    foreign = await client.get("/contacts", params={"group": theirs.ids["group"]})
    ghost = await client.get("/contacts", params={"group": GHOSTS["group"]})
    assert foreign.status_code == ghost.status_code == 200
    assert (
        foreign.json()
        == ghost.json()
        == {"success": True, "data": [], "meta": {"page": 1, "perPage": 20, "total": 0}}
    )
    # Their group still has its member, seen from their side.
    assert len(ok(await other_client.get("/contacts", params={"group": theirs.ids["group"]}))) == 1


async def test_lists_and_filters_show_only_my_objects(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, theirs: World, mine: World
) -> None:
    their_contact = ok(await other_client.get(f"/contacts/{theirs.ids['contact']}"))
    for path, kind in [
        ("/contacts", "contact"),
        ("/groups", "group"),
        ("/email-accounts", "emailAccount"),
        ("/campaigns", "campaign"),
        ("/webhooks", "webhook"),
    ]:
        response = await client.get(path, params={"perPage": 100})
        listed = {item["id"] for item in ok(response)}
        assert mine.ids[kind] in listed
        assert not listed & set(theirs.ids.values()), path
        assert response.json()["meta"]["total"] == len(listed)
    found = ok(await client.get("/contacts", params={"email": their_contact["email"]}))
    assert found == []


async def test_same_unique_values_in_two_accounts(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, theirs: World
) -> None:
    their_contact = ok(await other_client.get(f"/contacts/{theirs.ids['contact']}"))
    their_account = ok(await other_client.get(f"/email-accounts/{theirs.ids['emailAccount']}"))
    assert ok(await client.post("/contacts", json={"email": their_contact["email"]}), 201)
    body = email_account_body(fromEmail=their_account["fromEmail"])
    assert ok(await client.post("/email-accounts", json=body), 201)
