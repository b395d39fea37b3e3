"""The public API page's three usage examples (shared/seed/api-rest.es.md, "Ejemplos de uso"), end to end.

Each runs over real HTTP against the `live_server` fixture with plain httpx, exactly as a customer would
script it: sync a CRM, automate a campaign, export statistics. The live server's accounts are shared with
other tests of the session, so every test works on its own uniquely named data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer


@pytest.fixture
def fluenzr(live_server: LiveServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {live_server.api_key}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=10) as client:
        yield client


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is True
    data: dict[str, Any] = body["data"]
    return data


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def list_all(client: httpx.Client, path: str, per_page: int = 2, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page after page, checking the pagination envelope on the way."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(path, params={**params, "page": page, "perPage": per_page})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"]["page"] == page
        assert body["meta"]["perPage"] == per_page
        assert len(body["data"]) <= per_page
        items.extend(body["data"])
        if not body["data"] or len(items) >= body["meta"]["total"]:
            assert len(items) == body["meta"]["total"]
            return items
        page += 1


def fake_crm(domain: str) -> list[dict[str, str]]:
    """What `myCRM.getNewContacts()` returns: the CRM's own snake_case field names."""
    people = [
        ("ada", "Ada", "Lovelace", "Analytical Engines Ltd"),
        ("grace", "Grace", "Hopper", "COBOL Inc"),
        ("katherine", "Katherine", "Johnson", "NASA"),
        ("alan", "Alan", "Turing", "Bletchley Park"),
        ("hedy", "Hedy", "Lamarr", "Frequency Hopping SL"),
    ]
    return [
        {"email": f"{user}@{domain}", "first_name": first, "last_name": last, "company": company}
        for user, first, last, company in people
    ]


def sync_crm(client: httpx.Client, crm_contacts: list[dict[str, str]]) -> list[httpx.Response]:
    """The seed's loop: `fluenzr.contacts.create({email, firstName, lastName, company})` per CRM contact."""
    return [
        client.post(
            "/contacts",
            json={
                "email": contact["email"],
                "firstName": contact["first_name"],
                "lastName": contact["last_name"],
                "company": contact["company"],
            },
        )
        for contact in crm_contacts
    ]


def test_example_sync_a_crm(fluenzr: httpx.Client) -> None:
    """Sincronizar un CRM: create the CRM's contacts, find them all by domain, and re-sync safely."""
    domain = f"crm-{secrets.token_hex(4)}.example.com"
    crm_contacts = fake_crm(domain)

    first_run = [created(response) for response in sync_crm(fluenzr, crm_contacts)]
    for contact, crm in zip(first_run, crm_contacts, strict=True):
        assert contact["id"].startswith("ctc_")
        assert contact["email"] == crm["email"]
        assert (contact["firstName"], contact["lastName"]) == (crm["first_name"], crm["last_name"])
        assert contact["company"] == crm["company"]
        assert contact["groupIds"] == []

    found = list_all(fluenzr, "/contacts", email=domain)
    assert sorted(c["email"] for c in found) == sorted(c["email"] for c in crm_contacts)
    assert {c["id"] for c in found} == {c["id"] for c in first_run}
    # The domain filter is case-insensitive: a CRM that upper-cases domains finds the same people.
    assert len(list_all(fluenzr, "/contacts", email=domain.upper())) == len(crm_contacts)

    # Re-running the sync (the CRM hands back the same contacts, some with different capitalisation)
    # creates nothing: every create is a 409 CONFLICT pointing at the existing contact.
    rerun = [dict(c, email=c["email"].upper()) if i % 2 else c for i, c in enumerate(crm_contacts)]
    for response, original in zip(sync_crm(fluenzr, rerun), first_run, strict=True):
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "CONFLICT"
        assert error["details"]["existingId"] == original["id"]
    after = list_all(fluenzr, "/contacts", email=domain)
    assert sorted(c["id"] for c in after) == sorted(c["id"] for c in first_run)


def test_example_automate_a_campaign(fluenzr: httpx.Client) -> None:
    """Automatizar una campaña: a campaign on one of our mailboxes, a group of contacts added by groupId,
    then started."""
    run = secrets.token_hex(4)
    account = created(
        fluenzr.post(
            "/email-accounts",
            json={
                "fromEmail": f"ventas-{run}@acme.example",
                "fromName": "Acme Ventas",
                "smtp": {
                    "host": "smtp.acme.example",
                    "port": 587,
                    "username": f"ventas-{run}@acme.example",
                    "password": "app-password-123",
                    "security": "starttls",
                },
            },
        )
    )
    assert account["id"].startswith("acc_")

    campaign = created(
        fluenzr.post(
            "/campaigns",
            json={
                "name": "Automatizada Q1 2025",
                "emailAccountId": account["id"],
                "steps": [
                    {"subject": "Hola {{firstName}}", "body": "¿Contrata {{company}} este trimestre?"},
                    {"subject": "Re: Hola {{firstName}}", "body": "¿Lo hablamos?", "delayDays": 3},
                ],
                "schedule": {"timezone": "Europe/Madrid", "days": ["mon", "tue", "wed", "thu", "fri"]},
            },
        )
    )
    assert campaign["id"].startswith("cmp_")
    assert (campaign["name"], campaign["status"], campaign["contactCount"]) == (
        "Automatizada Q1 2025",
        "draft",
        0,
    )
    assert campaign["emailAccountId"] == account["id"]

    group = created(fluenzr.post("/groups", json={"name": f"Q1 2025 prospects {run}"}))
    assert group["id"].startswith("grp_")
    contacts = [
        created(
            fluenzr.post(
                "/contacts", json={"email": f"lead{n}-{run}@prospects.example", "firstName": f"L{n}"}
            )
        )
        for n in range(3)
    ]
    membership = ok(
        fluenzr.post(f"/groups/{group['id']}/contacts", json={"contactIds": [c["id"] for c in contacts]})
    )
    assert membership == {"groupId": group["id"], "added": 3, "contactCount": 3}

    # fluenzr.campaigns.addContacts(campaign.id, { groupId: 'grp_456' })
    added = ok(fluenzr.post(f"/campaigns/{campaign['id']}/contacts", json={"groupId": group["id"]}))
    assert added == {
        "campaignId": campaign["id"],
        "added": 3,
        "contactCount": 3,
        "suppressed": 0,
        "suppressedContactIds": [],
    }

    # fluenzr.campaigns.start(campaign.id)
    started = ok(fluenzr.post(f"/campaigns/{campaign['id']}/start"))
    assert started["status"] == "running"
    assert started["contactCount"] == 3
    assert ok(fluenzr.get(f"/campaigns/{campaign['id']}"))["status"] == "running"
    running_ids = {c["id"] for c in list_all(fluenzr, "/campaigns", per_page=100, status="running")}
    assert campaign["id"] in running_ids
    assert ok(fluenzr.get(f"/campaigns/{campaign['id']}/stats"))["contacts"] == 3


def test_example_export_stats(fluenzr: httpx.Client) -> None:
    """Exportar estadísticas: list every campaign (all pages), get each one's stats, print the seed's line."""
    run = secrets.token_hex(4)
    mine = [created(fluenzr.post("/campaigns", json={"name": f"Export {run} #{n}"})) for n in range(5)]

    campaigns = list_all(fluenzr, "/campaigns", per_page=2)
    ids = [c["id"] for c in campaigns]
    assert len(ids) == len(set(ids)), "paging repeated a campaign"
    assert {c["id"] for c in mine} <= set(ids), "paging skipped a campaign"

    lines = {}
    for campaign in campaigns:
        stats = ok(fluenzr.get(f"/campaigns/{campaign['id']}/stats"))
        assert stats["campaignId"] == campaign["id"]
        for rate in ("openRate", "clickRate", "replyRate", "bounceRate"):
            value = stats[rate]
            assert isinstance(value, int | float) and not isinstance(value, bool), (rate, value)
            assert 0 <= value <= 100, (rate, value)
        for count in ("contacts", "sent", "opened", "clicked", "replied", "bounced", "unsubscribed"):
            assert isinstance(stats[count], int) and stats[count] >= 0, (count, stats)
        assert stats["sent"] <= stats["contacts"]
        # console.log(`${campaign.name}: ${stats.openRate}% aperturas, ${stats.replyRate}% respuestas`)
        lines[campaign["id"]] = (
            f"{campaign['name']}: {stats['openRate']}% aperturas, {stats['replyRate']}% respuestas"
        )

    for n, campaign in enumerate(mine):
        assert lines[campaign["id"]] == f"Export {run} #{n}: 0.0% aperturas, 0.0% respuestas"
