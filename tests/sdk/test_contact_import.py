"""`contacts.create_many` and `contacts.import_all`: chunking, merged results, concurrency, rate limits."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fluenzr import AsyncFluenzrClient, ContactBatch, FluenzrClient, ValidationError
from fluenzr._batching import MAX_BATCH_BYTES, FirstWins, chunks, wire_row

from fluenzr_server.app import build_app
from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.resources import Resources
from tests.conftest import LiveServer, Tenant, resources_for
from tests.conftest import test_settings as settings_for


def domain() -> str:
    return f"import-{secrets.token_hex(4)}.example.com"


# --- chunking (no server) ---------------------------------------------------------------------------------


def test_chunks_of_at_most_1000_rows_with_their_input_offsets() -> None:
    rows = [{"email": f"u{i}@example.com"} for i in range(2500)]
    cut = list(chunks(rows))
    assert [(chunk.start, len(chunk.rows)) for chunk in cut] == [(0, 1000), (1000, 1000), (2000, 500)]
    assert [row for chunk in cut for row in chunk.rows] == rows


def test_chunks_stay_under_the_body_limit() -> None:
    big = {f"field{i}": "x" * 1000 for i in range(20)}  # about 20 KB a row: 1,000 rows would be 20 MB
    rows = [{"email": f"u{i}@example.com", "customFields": big} for i in range(300)]
    cut = list(chunks(rows))
    assert len(cut) > 1 and sum(len(chunk.rows) for chunk in cut) == 300
    for chunk in cut:
        body = json.dumps({"contacts": chunk.rows, "mode": "create"}, ensure_ascii=False).encode()
        assert len(body) <= MAX_BATCH_BYTES < 1_048_576
    assert [chunk.start for chunk in cut] == [sum(len(c.rows) for c in cut[:i]) for i in range(len(cut))]


def test_chunks_read_the_input_lazily() -> None:
    consumed = 0

    def endless() -> Iterator[dict[str, str]]:
        nonlocal consumed
        while True:
            consumed += 1
            yield {"email": f"u{consumed}@example.com"}

    first = next(chunks(endless(), batch_size=10))
    assert len(first.rows) == 10 and consumed == 11  # one row read ahead, no more


def test_rows_take_snake_case_or_wire_names_and_odd_rows_pass_through() -> None:
    assert wire_row({"email": "a@b.co", "first_name": "A", "lastName": "B", "custom_fields": {"x_y": 1}}) == {
        "email": "a@b.co",
        "firstName": "A",
        "lastName": "B",
        "customFields": {"x_y": 1},  # your own keys are never renamed
    }
    assert wire_row("not a row") == "not a row"
    with pytest.raises(TypeError):
        list(chunks({"email": "a@b.co"}))  # type: ignore[arg-type]


# --- against the live server -----------------------------------------------------------------------------


@pytest.fixture
def requests_sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def live(live_server: LiveServer, requests_sent: list[httpx.Request]) -> Iterator[FluenzrClient]:
    http = httpx.Client(event_hooks={"request": [requests_sent.append]}, timeout=60)
    with FluenzrClient(
        api_key=live_server.api_key, base_url=live_server.base_url, http_client=http
    ) as client:
        yield client
    http.close()


def test_create_many_answers_one_result_per_row(live: FluenzrClient) -> None:
    where = domain()
    existing = live.contacts.create(email=f"old@{where}", first_name="Old")
    group = live.groups.create(name=f"Import {where}")
    answer = live.contacts.create_many(
        [
            {"email": f"new@{where}", "first_name": "New", "custom_fields": {"score": 3}},
            {"email": f"OLD@{where}", "company": "Acme"},
            {"email": "broken"},
        ],
        mode="upsert",
        group_id=group.id,
    )
    assert isinstance(answer, ContactBatch)
    assert (answer.mode, answer.group_id) == ("upsert", group.id)
    assert (answer.counts.created, answer.counts.updated, answer.counts.error) == (1, 1, 1)
    assert [r.status for r in answer.results] == ["created", "updated", "error"]
    assert answer.results[1].id == existing.id
    assert answer.errors[0].index == 2 and answer.errors[0].error is not None
    assert answer.errors[0].error.code == "VALIDATION_ERROR" and "email" in answer.errors[0].error.details
    created = live.contacts.get(answer.results[0].id or "")
    assert (created.first_name, created.custom_fields, created.group_ids) == ("New", {"score": 3}, [group.id])
    assert live.contacts.get(existing.id).company == "Acme"
    with pytest.raises(ValidationError):
        live.contacts.create_many([{"email": f"x{i}@{where}"} for i in range(1001)])


def test_import_all_merges_batches_in_input_order(
    live: FluenzrClient, requests_sent: list[httpx.Request]
) -> None:
    where = domain()
    rows: list[Any] = [{"email": f"p{i}@{where}", "last_name": f"L{i}"} for i in range(2345)]
    rows[1500] = {"email": "broken"}
    rows[2001] = {"email": f"P10@{where}"}  # a duplicate of row 10, which an earlier batch created
    answer = live.contacts.import_all(iter(rows))
    batches = [r for r in requests_sent if r.url.path.endswith("/contacts/batch")]
    assert len(batches) == 3  # row 10's batch is answered before row 2001 is sent: it goes with earlierEmails
    assert len({r.headers["Idempotency-Key"] for r in batches}) == 3
    assert json.loads(batches[2].content)["earlierEmails"] == {f"p10@{where}": 10}
    assert [r.index for r in answer.results] == list(range(2345))
    assert (answer.counts.created, answer.counts.error) == (2343, 2)
    assert answer.results[1500].status == "error"
    duplicate = answer.results[2001].error
    assert duplicate is not None and duplicate.code == "CONFLICT"
    assert duplicate.details == {"email": f"p10@{where}", "firstIndex": 10}
    assert live.contacts.list(email=where).total == 2343


def test_import_all_keeps_each_results_suppressed_flag(live: FluenzrClient) -> None:
    where = domain()
    live.suppressions.create(emails=[f"p1@{where}", f"p1500@{where}"])
    answer = live.contacts.import_all([{"email": f"p{i}@{where}"} for i in range(1600)])
    assert [r.index for r in answer.results if r.suppressed] == [1, 1500]  # one in each batch
    assert answer.counts.created == 1600 and answer.results[1500].status == "created"


def duplicate_rows(where: str) -> list[Any]:
    """600 rows with duplicate emails across (and inside) batches of 50: valid and invalid first rows."""
    rows: list[Any] = [{"email": f"d{i}@{where}", "first_name": f"F{i}"} for i in range(600)]
    rows[7] = {"email": f"d7@{where}", "first_name": 7}  # invalid: the first VALID row with d7 wins
    rows[20] = {"email": f"D5@{where}", "first_name": "same batch as row 5"}
    rows[450] = {"email": f"D5@{where.upper()}", "first_name": "later batch"}
    rows[455] = {"email": f"d5@{where}", "first_name": 5}  # an invalid duplicate: its own error first
    rows[460] = {"email": f"d7@{where}", "first_name": "first valid d7"}
    rows[470] = {"email": f"D7@{where}", "first_name": "after the first valid d7"}
    rows[480] = {"email": f"d7@{where}", "first_name": 8}
    rows[599] = {"email": f"d599@{where}", "company": "Last"}
    return rows


def comparable(answer: ContactBatch, where: str) -> list[Any]:
    return [
        (
            r.index,
            r.status,
            r.error and (r.error.code, r.error.message, json.dumps(r.error.details).replace(where, "~")),
        )
        for r in answer.results
    ]


@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_import_all_answers_duplicates_across_batches_as_one_batch_does(
    live_server: LiveServer, mode: Any
) -> None:
    async with AsyncFluenzrClient(api_key=live_server.api_key, base_url=live_server.base_url) as client:
        one, split = domain(), domain()
        whole = await client.contacts.create_many(duplicate_rows(one), mode=mode)
        parts = await client.contacts.import_all(
            duplicate_rows(split), mode=mode, batch_size=50, concurrency=3
        )
        assert comparable(parts, split) == comparable(whole, one)
        assert parts.counts == whole.counts and parts.counts.error == 6
        d5 = parts.results[450].error
        assert (
            d5 is not None
            and d5.code == "CONFLICT"
            and d5.details == {"email": f"d5@{split}", "firstIndex": 5}
        )
        assert parts.results[455].error is not None and parts.results[455].error.code == "VALIDATION_ERROR"
        assert parts.results[460].status == "created"
        assert parts.results[470].error is not None and parts.results[470].error.details["firstIndex"] == 460
        stored = await client.contacts.get(parts.results[5].id or "")
        assert stored.first_name == "F5"  # the first row won: no later row changed it
    with FluenzrClient(api_key=live_server.api_key, base_url=live_server.base_url) as sync:
        again = domain()
        sequential = sync.contacts.import_all(duplicate_rows(again), mode=mode, batch_size=50)
        assert comparable(sequential, again) == comparable(whole, one)


def test_first_wins_holds_rows_until_their_email_is_answered() -> None:
    plan = FirstWins(batch_size=2)
    rows = [{"email": "a@x.io"}, {"email": "A@x.io"}, {"email": "b@x.io"}, {"email": "a@x.io"}, "odd"]
    first = list(plan.first_round(rows))
    assert [chunk.positions for chunk in first] == [[0, 2], [4]] and not any(chunk.earlier for chunk in first)
    refused = {"code": "VALIDATION_ERROR", "message": "m", "details": {}}
    plan.record(
        first[0],
        ContactBatch.from_dict(
            {
                "mode": "create",
                "counts": {},
                "results": [
                    {"index": 0, "status": "error", "error": refused},
                    {"index": 1, "status": "created", "id": "ctc_b"},
                ],
            }
        ),
    )
    second = plan.next_round()  # row 0 failed its checks: row 1 is a first row now, row 3 waits for it
    assert [(chunk.positions, chunk.earlier) for chunk in second] == [([1], {})]
    plan.record(
        second[0],
        ContactBatch.from_dict(
            {"mode": "create", "counts": {}, "results": [{"index": 0, "status": "created", "id": "ctc_a"}]}
        ),
    )
    third = plan.next_round()
    assert [(chunk.positions, chunk.earlier) for chunk in third] == [([3], {"a@x.io": 1})]
    assert plan.next_round() == []


async def test_async_import_all_runs_batches_in_parallel(live_server: LiveServer) -> None:
    where = domain()
    in_flight = 0
    most = 0

    async def before(_request: httpx.Request) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)

    async def after(_response: httpx.Response) -> None:
        nonlocal in_flight
        in_flight -= 1

    async def crm() -> AsyncIterator[dict[str, Any]]:
        for i in range(2100):
            yield {"email": f"a{i}@{where}", "company": "First"}

    http = httpx.AsyncClient(event_hooks={"request": [before], "response": [after]}, timeout=60)
    async with AsyncFluenzrClient(
        api_key=live_server.api_key, base_url=live_server.base_url, http_client=http
    ) as client:
        first = await client.contacts.import_all(crm(), concurrency=3, batch_size=300)
        assert first.counts.created == 2100 and most >= 2
        assert most <= 3
        changed = [{"email": f"a{i}@{where}", "company": "Second" if i % 2 else "First"} for i in range(2100)]
        second = await client.contacts.import_all(changed, mode="upsert", concurrency=3, batch_size=300)
    await http.aclose()
    assert [r.index for r in second.results] == list(range(2100))
    assert [r.id for r in second.results] == [r.id for r in first.results]
    assert (second.counts.updated, second.counts.unchanged) == (1050, 1050)
    assert [r.status for r in second.results[:4]] == ["unchanged", "updated", "unchanged", "updated"]


async def test_import_all_waits_out_the_rate_limit(
    resources: Resources, database_url: str, tenant: Tenant
) -> None:
    settings = settings_for(database_url, rate_limit="2/second")
    app = build_app(resources_for(resources, settings), limiter=RateLimiter("2/second"))
    where = domain()
    rows = [{"email": f"r{i}@{where}"} for i in range(70)]
    async with AsyncFluenzrClient(
        api_key=tenant.api_key, base_url="http://testserver/v1", transport=httpx.ASGITransport(app=app)
    ) as client:
        started = time.monotonic()
        answer = await client.contacts.import_all(rows, batch_size=10, concurrency=2)
        elapsed = time.monotonic() - started
    assert answer.counts.created == 70 and [r.index for r in answer.results] == list(range(70))
    assert elapsed >= 2.0  # 7 requests at 2 a second cannot all be answered in under 3 windows


async def test_a_batch_refused_as_a_whole_raises_and_stops_the_import(live_server: LiveServer) -> None:
    where = domain()
    rows = [{"email": f"g{i}@{where}"} for i in range(2500)]
    async with AsyncFluenzrClient(api_key=live_server.api_key, base_url=live_server.base_url) as client:
        with pytest.raises(ValidationError) as refused:
            await client.contacts.import_all(rows, group_id="grp_notMine", concurrency=2)
        assert refused.value.body is not None
        assert (await client.contacts.list(email=where)).total == 0
        with pytest.raises(TypeError):
            await client.contacts.create_many({"email": f"one@{where}"})  # type: ignore[arg-type]
