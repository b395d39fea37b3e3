"""Campaigns: CRUD, the draft → running ⇄ paused → completed machine, contacts, and statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.utils.assertions import assert_id, error, ok, timestamp, utcnow
from tests.utils.factories import (
    STEP,
    add_to_group,
    create_campaign,
    create_contact,
    create_email_account,
    create_group,
    ready_campaign,
    running_campaign,
)

CAMPAIGN_FIELDS = {
    "id",
    "name",
    "emailAccountId",
    "steps",
    "trackOpens",
    "trackClicks",
    "schedule",
    "status",
    "contactCount",
    "createdAt",
    "updatedAt",
}
DEFAULT_SCHEDULE = {
    "timezone": "UTC",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "startHour": 9,
    "endHour": 17,
}
STATS_FIELDS = {
    "campaignId",
    "contacts",
    "sent",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "unsubscribed",
    "openRate",
    "clickRate",
    "replyRate",
    "bounceRate",
}


async def _set_status(database: Database, campaign_id: str, status: str) -> None:
    async with database.write() as conn:
        await conn.execute(update(t.campaigns).where(t.campaigns.c.id == campaign_id).values(status=status))


# --- CRUD ---------------------------------------------------------------------------------------------


async def test_create_full_campaign(client: httpx.AsyncClient) -> None:
    account = await create_email_account(client)
    body = {
        "name": "Automatizada Q1 2025",
        "emailAccountId": account["id"],
        "steps": [
            {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}", "delayDays": 0},
            {"subject": "Re: Quick question", "body": "Bumping this up."},
        ],
        "schedule": {"timezone": "Europe/Madrid", "days": ["mon", "wed"], "startHour": 8, "endHour": 18},
    }
    created = ok(await client.post("/campaigns", json=body), 201)
    assert set(created) == CAMPAIGN_FIELDS
    assert_id(created["id"], "cmp")
    assert created["name"] == body["name"]
    assert created["emailAccountId"] == account["id"]
    assert created["steps"] == [
        {**body["steps"][0], "bodyHtml": None},
        {**body["steps"][1], "delayDays": 0, "bodyHtml": None},
    ]
    assert (created["trackOpens"], created["trackClicks"]) == (True, True)
    assert created["schedule"] == body["schedule"]
    assert (created["status"], created["contactCount"]) == ("draft", 0)
    assert timestamp(created["createdAt"], near=utcnow()) == timestamp(created["updatedAt"])
    assert ok(await client.get(f"/campaigns/{created['id']}")) == created


async def test_create_with_a_name_only_uses_defaults(client: httpx.AsyncClient) -> None:
    created = ok(await client.post("/campaigns", json={"name": "Draft"}), 201)
    assert created["emailAccountId"] is None
    assert created["steps"] == []
    assert created["schedule"] == DEFAULT_SCHEDULE


async def test_tracking_switches_and_html_steps_are_kept(client: httpx.AsyncClient) -> None:
    html_step = {"subject": "Hi", "body": "Hi {{firstName}}", "bodyHtml": "<p>Hi {{firstName}}</p>"}
    created = ok(
        await client.post("/campaigns", json={"name": "Tracked", "trackOpens": False, "steps": [html_step]}),
        201,
    )
    assert (created["trackOpens"], created["trackClicks"]) == (False, True)
    assert created["steps"] == [{**html_step, "delayDays": 0}]
    updated = ok(await client.put(f"/campaigns/{created['id']}", json={"trackClicks": False}))
    assert (updated["trackOpens"], updated["trackClicks"]) == (False, False)
    assert updated["steps"] == created["steps"]


@pytest.mark.parametrize(
    ("step", "field"),
    [
        ({"subject": "Bye {{unsubscribeUrl}}", "body": "x"}, "steps.0.subject"),
        ({"subject": "Hi", "body": "x", "bodyHtml": "<p>{{ firstName </p>"}, "steps.0.bodyHtml"),
    ],
)
async def test_unsubscribe_url_in_a_subject_or_a_broken_html_template_is_400(
    client: httpx.AsyncClient, step: dict[str, str], field: str
) -> None:
    response = await client.post("/campaigns", json={"name": "x", "steps": [step]})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Madrid", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kolkata"]
)
async def test_iana_time_zones_are_accepted(client: httpx.AsyncClient, zone: str) -> None:
    assert (await create_campaign(client, schedule={"timezone": zone}))["schedule"]["timezone"] == zone


async def test_partial_schedule_is_completed_with_defaults(client: httpx.AsyncClient) -> None:
    created = await create_campaign(client, schedule={"timezone": "America/New_York"})
    assert created["schedule"] == {**DEFAULT_SCHEDULE, "timezone": "America/New_York"}
    updated = ok(await client.put(f"/campaigns/{created['id']}", json={"schedule": {"startHour": 7}}))
    assert updated["schedule"] == {**DEFAULT_SCHEDULE, "timezone": "America/New_York", "startHour": 7}


@pytest.mark.parametrize(
    "zone",
    # Not IANA names, though ZoneInfo() opens some of them: `localtime` is the host's own zone.
    [
        "Mars/Olympus_Mons",
        "Not a zone",
        "../../etc/passwd",
        "/etc/localtime",
        "UTC\\x",
        "localtime",
        "posix/Europe/Madrid",
        "right/UTC",
        "posixrules",
        "utc",
    ],
)
async def test_unknown_timezone_is_400(client: httpx.AsyncClient, zone: str) -> None:
    error(
        await client.post("/campaigns", json={"name": "x", "schedule": {"timezone": zone}}),
        400,
        "VALIDATION_ERROR",
        fields=("schedule.timezone",),
    )
    campaign = await create_campaign(client)
    error(
        await client.put(f"/campaigns/{campaign['id']}", json={"schedule": {"timezone": zone}}),
        400,
        "VALIDATION_ERROR",
        fields=("schedule.timezone",),
    )
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["schedule"] == DEFAULT_SCHEDULE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "steps": [{"subject": "s"}]}, "steps.0.body"),
        ({"name": "x", "steps": [{**STEP, "delayDays": -1}]}, "steps.0.delayDays"),
        ({"name": "x", "steps": [STEP] * 21}, "steps"),
        ({"name": "x", "schedule": {"days": ["mon", "mon"]}}, "schedule.days"),
        ({"name": "x", "schedule": {"days": ["someday"]}}, "schedule.days.0"),
        ({"name": "x", "schedule": {"startHour": 24}}, "schedule.startHour"),
        ({"name": "x", "schedule": {"endHour": 25}}, "schedule.endHour"),
        ({"name": "x", "emailAccountId": "acc_doesNotExist"}, "emailAccountId"),
        ({"name": "x", "status": "running"}, "status"),
        ({"name": "x", "contactCount": 1}, "contactCount"),
    ],
)
async def test_create_rejects_invalid_bodies(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error(await client.post("/campaigns", json=body), 400, "VALIDATION_ERROR", fields=(field,))
    assert ok(await client.get("/campaigns")) == []


async def test_put_is_a_partial_update(client: httpx.AsyncClient) -> None:
    account = await create_email_account(client)
    created = await create_campaign(client, emailAccountId=account["id"], steps=[STEP])
    renamed = ok(await client.put(f"/campaigns/{created['id']}", json={"name": "Renamed"}))
    assert renamed["name"] == "Renamed"
    same = ("emailAccountId", "steps", "schedule", "status", "contactCount", "createdAt")
    assert {k: renamed[k] for k in same} == {k: created[k] for k in same}
    assert timestamp(renamed["updatedAt"]) > timestamp(created["updatedAt"])
    detached = ok(await client.put(f"/campaigns/{created['id']}", json={"emailAccountId": None, "steps": []}))
    assert (detached["emailAccountId"], detached["steps"], detached["name"]) == (None, [], "Renamed")
    assert ok(await client.get(f"/campaigns/{created['id']}")) == detached


async def test_put_checks_the_email_account(client: httpx.AsyncClient) -> None:
    created = await create_campaign(client)
    error(
        await client.put(f"/campaigns/{created['id']}", json={"emailAccountId": "acc_ghost"}),
        400,
        "VALIDATION_ERROR",
        fields=("emailAccountId",),
    )
    account = await create_email_account(client)
    assert (
        ok(await client.put(f"/campaigns/{created['id']}", json={"emailAccountId": account["id"]}))[
            "emailAccountId"
        ]
        == account["id"]
    )


async def test_put_rejects_read_only_and_empty_bodies(client: httpx.AsyncClient) -> None:
    created = await create_campaign(client)
    details = error(
        await client.put(f"/campaigns/{created['id']}", json={"status": "running"}), 400, "VALIDATION_ERROR"
    )
    assert "read-only" in details["status"]
    error(await client.put(f"/campaigns/{created['id']}", json={}), 400, "VALIDATION_ERROR")
    assert ok(await client.get(f"/campaigns/{created['id']}"))["status"] == "draft"


async def test_unknown_campaign_is_404_everywhere(client: httpx.AsyncClient) -> None:
    contact = await create_contact(client)
    error(await client.get("/campaigns/cmp_nope"), 404, "NOT_FOUND")
    error(await client.put("/campaigns/cmp_nope", json={"name": "x"}), 404, "NOT_FOUND")
    error(await client.post("/campaigns/cmp_nope/start"), 404, "NOT_FOUND")
    error(await client.post("/campaigns/cmp_nope/pause"), 404, "NOT_FOUND")
    error(
        await client.post("/campaigns/cmp_nope/contacts", json={"contactIds": [contact["id"]]}),
        404,
        "NOT_FOUND",
    )
    error(await client.get("/campaigns/cmp_nope/stats"), 404, "NOT_FOUND")


async def test_list_filters_by_status_and_sorts(client: httpx.AsyncClient) -> None:
    draft = await create_campaign(client, name="Bravo")
    running = await running_campaign(client)
    ok(await client.put(f"/campaigns/{draft['id']}", json={"name": "Alpha"}))
    response = await client.get("/campaigns", params={"status": "running"})
    assert [c["id"] for c in ok(response)] == [running["id"]]
    assert response.json()["meta"]["total"] == 1
    assert ok(await client.get("/campaigns", params={"status": "completed"})) == []
    by_status = ok(await client.get("/campaigns", params={"sort": "status", "order": "asc"}))
    assert [c["status"] for c in by_status] == ["draft", "running"]
    listed = ok(await client.get("/campaigns", params={"sort": "createdAt", "order": "asc"}))
    assert [c["id"] for c in listed] == [draft["id"], running["id"]]
    assert listed[1]["contactCount"] == 1
    error(
        await client.get("/campaigns", params={"status": "archived"}),
        400,
        "VALIDATION_ERROR",
        fields=("status",),
    )


# --- the state machine --------------------------------------------------------------------------------


async def test_start_lists_every_missing_piece(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    details = error(await client.post(f"/campaigns/{campaign['id']}/start"), 409, "INVALID_STATE")
    assert {"emailAccountId", "steps", "contacts"} <= set(details)
    assert details["status"] == "draft"

    account = await create_email_account(client)
    ok(
        await client.put(
            f"/campaigns/{campaign['id']}", json={"emailAccountId": account["id"], "steps": [STEP]}
        )
    )
    details = error(await client.post(f"/campaigns/{campaign['id']}/start"), 409, "INVALID_STATE")
    assert "contacts" in details
    assert "emailAccountId" not in details and "steps" not in details
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["status"] == "draft"


async def test_start_needs_steps_and_an_email_account(client: httpx.AsyncClient) -> None:
    campaign = await ready_campaign(client)
    ok(await client.put(f"/campaigns/{campaign['id']}", json={"steps": []}))
    details = error(await client.post(f"/campaigns/{campaign['id']}/start"), 409, "INVALID_STATE")
    assert "steps" in details and "contacts" not in details and "emailAccountId" not in details
    ok(await client.put(f"/campaigns/{campaign['id']}", json={"steps": [STEP], "emailAccountId": None}))
    details = error(await client.post(f"/campaigns/{campaign['id']}/start"), 409, "INVALID_STATE")
    assert set(details) - {"status"} == {"emailAccountId"}


async def test_lifecycle(client: httpx.AsyncClient) -> None:
    campaign = await ready_campaign(client)
    base = f"/campaigns/{campaign['id']}"
    error(await client.post(f"{base}/pause"), 409, "INVALID_STATE")  # a draft cannot be paused

    running = ok(await client.post(f"{base}/start"))
    assert running["status"] == "running"
    again = ok(await client.post(f"{base}/start"))  # no-op
    assert again == running
    details = error(await client.put(base, json={"name": "Edited"}), 409, "INVALID_STATE")
    assert details["status"] == "running"
    assert ok(await client.get(base))["name"] == campaign["name"]

    paused = ok(await client.post(f"{base}/pause"))
    assert paused["status"] == "paused"
    assert ok(await client.post(f"{base}/pause")) == paused  # no-op
    assert ok(await client.put(base, json={"name": "Edited"}))["name"] == "Edited"  # paused is editable

    resumed = ok(await client.post(f"{base}/start"))
    assert (resumed["status"], resumed["name"]) == ("running", "Edited")
    assert ok(await client.get(base))["status"] == "running"


async def test_completed_campaign_is_final(client: httpx.AsyncClient, database: Database) -> None:
    campaign = await ready_campaign(client)
    base = f"/campaigns/{campaign['id']}"
    await _set_status(database, campaign["id"], "completed")
    contact = await create_contact(client)
    for response in (
        await client.post(f"{base}/start"),
        await client.post(f"{base}/pause"),
        await client.put(base, json={"name": "x"}),
        await client.post(f"{base}/contacts", json={"contactIds": [contact["id"]]}),
    ):
        assert error(response, 409, "INVALID_STATE")["status"] == "completed"
    final = ok(await client.get(base))
    assert (final["status"], final["contactCount"], final["name"]) == ("completed", 1, campaign["name"])


# --- contacts -----------------------------------------------------------------------------------------


async def test_add_contacts_by_ids_is_idempotent(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    a, b, c = [(await create_contact(client))["id"] for _ in range(3)]
    url = f"/campaigns/{campaign['id']}/contacts"
    assert ok(await client.post(url, json={"contactIds": [a, b, a]})) == {
        "campaignId": campaign["id"],
        "added": 2,
        "contactCount": 2,
        "suppressed": 0,
        "suppressedContactIds": [],
    }
    assert ok(await client.post(url, json={"contactIds": [b, c]})) == {
        "campaignId": campaign["id"],
        "added": 1,
        "contactCount": 3,
        "suppressed": 0,
        "suppressedContactIds": [],
    }
    assert ok(await client.post(url, json={"contactIds": [a, b, c]}))["added"] == 0
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 3


async def test_add_contacts_by_group(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    group = await create_group(client)
    members = [(await create_contact(client))["id"] for _ in range(3)]
    await add_to_group(client, group["id"], members[:2])
    url = f"/campaigns/{campaign['id']}/contacts"
    assert ok(await client.post(url, json={"contactIds": [members[0]]}))["added"] == 1
    assert ok(await client.post(url, json={"groupId": group["id"]})) == {
        "campaignId": campaign["id"],
        "added": 1,
        "contactCount": 2,
        "suppressed": 0,
        "suppressedContactIds": [],
    }
    await add_to_group(client, group["id"], [members[2]])
    assert ok(await client.post(url, json={"groupId": group["id"]}))["contactCount"] == 3
    assert ok(await client.post(url, json={"groupId": group["id"]}))["added"] == 0
    empty = await create_group(client)
    assert ok(await client.post(url, json={"groupId": empty["id"]}))["added"] == 0


async def test_add_contacts_rejects_unknown_ids_atomically(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    real = (await create_contact(client))["id"]
    url = f"/campaigns/{campaign['id']}/contacts"
    details = error(
        await client.post(url, json={"contactIds": [real, "ctc_ghost"]}),
        400,
        "VALIDATION_ERROR",
        fields=("contactIds",),
    )
    assert details["unknownIds"] == ["ctc_ghost"]
    error(await client.post(url, json={"groupId": "grp_ghost"}), 400, "VALIDATION_ERROR", fields=("groupId",))
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contactIds": ["ctc_a"], "groupId": "grp_a"},
        {"contactIds": []},
        {"groupId": ""},
        {"contactIds": "ctc_a"},
        {"group": "grp_a"},
    ],
)
async def test_add_contacts_needs_exactly_one_source(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    campaign = await create_campaign(client)
    details = error(
        await client.post(f"/campaigns/{campaign['id']}/contacts", json=body), 400, "VALIDATION_ERROR"
    )
    assert details


async def test_add_contacts_both_sources_names_them(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    body = {"contactIds": ["ctc_a"], "groupId": "grp_a"}
    details = error(
        await client.post(f"/campaigns/{campaign['id']}/contacts", json=body), 400, "VALIDATION_ERROR"
    )
    assert "contactIds" in str(details) and "groupId" in str(details)


async def test_running_and_paused_campaigns_take_new_contacts(client: httpx.AsyncClient) -> None:
    campaign = await running_campaign(client)
    url = f"/campaigns/{campaign['id']}/contacts"
    assert (
        ok(await client.post(url, json={"contactIds": [(await create_contact(client))["id"]]}))[
            "contactCount"
        ]
        == 2
    )
    ok(await client.post(f"/campaigns/{campaign['id']}/pause"))
    assert (
        ok(await client.post(url, json={"contactIds": [(await create_contact(client))["id"]]}))[
            "contactCount"
        ]
        == 3
    )


async def test_deleting_a_contact_removes_it_from_campaigns(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    a, b = [(await create_contact(client))["id"] for _ in range(2)]
    ok(await client.post(f"/campaigns/{campaign['id']}/contacts", json={"contactIds": [a, b]}))
    ok(await client.delete(f"/contacts/{a}"))
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 1
    assert ok(await client.get(f"/campaigns/{campaign['id']}/stats"))["contacts"] == 1


# --- statistics ---------------------------------------------------------------------------------------


async def test_stats_of_a_new_campaign_are_zero(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    stats = ok(await client.get(f"/campaigns/{campaign['id']}/stats"))
    assert stats == {"campaignId": campaign["id"], **dict.fromkeys(STATS_FIELDS - {"campaignId"}, 0)}


async def database_account(database: Database, campaign_id: str) -> str:
    async with database.read() as conn:
        query = select(t.campaigns.c.account_id).where(t.campaigns.c.id == campaign_id)
        return str((await conn.execute(query)).scalar_one())


async def test_stats_are_computed_from_the_send_records(
    client: httpx.AsyncClient, database: Database
) -> None:
    campaign = await create_campaign(client)
    other = await create_campaign(client)  # its records must not count
    contacts = [(await create_contact(client))["id"] for _ in range(5)]
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    # (sent, opened, clicked, replied, bounced, unsubscribed) per contact; one contact not sent yet.
    records = [
        (True, True, True, True, False, False),
        (True, True, False, False, False, True),
        (True, False, False, False, True, False),
        (False, False, False, False, False, False),
    ]
    columns = ("sent_at", "opened_at", "clicked_at", "replied_at", "bounced_at", "unsubscribed_at")
    rows = [
        {
            "campaign_id": campaign["id"],
            "contact_id": contact_id,
            "current_step": 1 if flags[0] else 0,
            "added_at": start,
            **{column: (start + hour if flag else None) for column, flag in zip(columns, flags, strict=True)},
        }
        for contact_id, flags in zip(contacts, records, strict=False)
    ]
    rows.append(
        {
            "campaign_id": other["id"],
            "contact_id": contacts[4],
            "current_step": 1,
            "added_at": start,
            **dict.fromkeys(columns, start),
        }
    )
    # Messages as the engine leaves them: step 0 accepted for the first three, step 1 refused (5xx) for
    # the third; a message still being sent and one being retried are not counted.
    outcomes = [
        (campaign["id"], contacts[0], 0, "sent"),
        (campaign["id"], contacts[1], 0, "sent"),
        (campaign["id"], contacts[2], 0, "sent"),
        (campaign["id"], contacts[2], 1, "bounced"),
        (campaign["id"], contacts[0], 1, "sending"),
        (campaign["id"], contacts[1], 1, "retrying"),
        (other["id"], contacts[4], 0, "sent"),
    ]
    user = await database_account(database, campaign["id"])
    messages = [
        {
            "id": f"msg_stats{index}{campaign_id[-6:]}",
            "account_id": user,
            "campaign_id": campaign_id,
            "contact_id": contact_id,
            "step": step,
            "to_email": "x@example.com",
            "message_id": f"<{index}.{campaign_id}@example.com>",
            "status": status,
            "attempts": 1,
            "created_at": start,
            "updated_at": start,
        }
        for index, (campaign_id, contact_id, step, status) in enumerate(outcomes)
    ]
    async with database.write() as conn:
        await conn.execute(t.campaign_contacts.insert(), rows)
        await conn.execute(t.messages.insert(), messages)

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = [e.sync_engine for e in (database.engine, database.loop_engine) if e is not None]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        stats = ok(await client.get(f"/campaigns/{campaign['id']}/stats"))
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1  # every count in one statement (the key lookup runs through the driver)
    assert stats == {
        "campaignId": campaign["id"],
        "contacts": 4,
        "sent": 3,
        "opened": 2,
        "clicked": 1,
        "replied": 1,
        "bounced": 1,
        "unsubscribed": 1,
        "openRate": 66.7,
        "clickRate": 33.3,
        "replyRate": 33.3,
        "bounceRate": 25.0,  # of sent + bounced
    }
    assert ok(await client.get(f"/campaigns/{campaign['id']}"))["contactCount"] == 4
    other_stats = ok(await client.get(f"/campaigns/{other['id']}/stats"))
    assert (other_stats["contacts"], other_stats["sent"], other_stats["openRate"]) == (1, 1, 100.0)
