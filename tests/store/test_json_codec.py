"""JSON columns are written by orjson (`store.json_codec`) and read back as the same values, on both
databases, including the values orjson refuses (written by the standard library as before)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sqlalchemy import select

from fluenzr_server.ids import new_id
from fluenzr_server.services.common import now
from fluenzr_server.store import json_codec
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from tests.conftest import Tenant

VALUES: list[Any] = [
    {},
    {"s": 'ñ 😀 \u2028 \x01 "q" \\u0000', "n": 1e2, "f": 1.5e-7, "z": -0.0, "b": False, "x": None},
    {"big": 2**70, "neg": -(2**64)},  # orjson refuses: the standard library writes it
    {"lone": "\ud800"},  # a lone surrogate: orjson refuses it too
    {"nested": [1, 2.5, None, True, {"deep": ["a", {"b": []}]}]},
    [1, "two", 3.0],
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_reads_back_as_the_same_value(value: Any) -> None:
    text = json_codec.dumps(value)
    assert isinstance(text, str)
    assert json.loads(text) == value
    assert repr(json.loads(text)) == repr(value)  # -0.0 stays -0.0, 100.0 stays a float


def test_what_orjson_refuses_is_written_as_json_dumps_wrote_it() -> None:
    assert json_codec.dumps({"big": 2**70}) == json.dumps({"big": 2**70})
    assert json_codec.dumps({1: "int key"}) == json.dumps({1: "int key"}) == '{"1": "int key"}'
    assert json_codec.dumps({"lone": "\ud800"}) == '{"lone": "\\ud800"}'
    assert json_codec.dumps({"a": [1, 2]}) == '{"a":[1,2]}'  # orjson's compact form otherwise


def test_nan_is_written_as_null() -> None:
    # The one documented difference (PostgreSQL's json refuses NaN; request bodies never carry one).
    assert json.loads(json_codec.dumps({"x": math.nan})) == {"x": None}


async def test_json_columns_store_and_load_every_value(database: Database, tenant: Tenant) -> None:
    ids = [new_id("evt") for _ in VALUES]
    rows = [
        {"id": event_id, "account_id": tenant.account_id, "type": "contact.created", "data": value}
        for event_id, value in zip(ids, VALUES, strict=True)
    ]
    async with database.write() as conn:
        await conn.execute(t.events.insert(), [{**row, "created_at": now()} for row in rows])
    async with database.read() as conn:
        query = select(t.events).where(t.events.c.id.in_(ids))
        stored = {row.id: row.data for row in await conn.execute(query)}
    for event_id, value in zip(ids, VALUES, strict=True):
        assert stored[event_id] == value and repr(stored[event_id]) == repr(value)
