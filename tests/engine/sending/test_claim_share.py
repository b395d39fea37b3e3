"""A claim is shared out between the mailboxes that may send (sending._pick_leads): every mailbox's
connection gets work at once, and a mailbox that keeps an interval between sends gets one lead, not a
batch it cannot send."""

from __future__ import annotations

from collections import Counter

from fluenzr_server.engine import sending
from fluenzr_server.services.common import now
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness


async def shares(harness: Harness, campaign_ids: list[str], limit: int) -> Counter[str]:
    """How many leads of each of these campaigns one claim of `limit` would take (rolled back)."""
    async with harness.database.write() as conn:
        sendable = await sending.sendable_campaigns(conn, now=now())
        mine = {campaign_id: sendable[campaign_id] for campaign_id in campaign_ids if campaign_id in sendable}
        leads = await sending._pick_leads(conn, mine, now=now(), limit=limit)
        await conn.rollback()
    return Counter(lead.campaign_id for lead in leads)


async def test_each_mailbox_gets_its_share_of_a_claim(harness: Harness, sink_factory: SinkFactory) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    first = await harness.campaign(await harness.mailbox(sink), await harness.contacts(12))
    second = await harness.campaign(await harness.mailbox(sink), await harness.contacts(12))
    assert await shares(harness, [first["id"], second["id"]], limit=10) == {first["id"]: 5, second["id"]: 5}
    assert await shares(harness, [first["id"], second["id"]], limit=7) == {first["id"]: 4, second["id"]: 3}


async def test_an_interval_mailbox_is_given_one_lead_per_claim(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    spaced = await harness.campaign(
        await harness.mailbox(sink, minIntervalSeconds=60), await harness.contacts(5)
    )
    warm = await harness.campaign(await harness.mailbox(sink), await harness.contacts(20))
    taken = await shares(harness, [spaced["id"], warm["id"]], limit=20)
    assert taken == {spaced["id"]: 1, warm["id"]: 10}


async def test_a_mailbox_near_its_daily_limit_is_given_what_is_left(
    harness: Harness, sink_factory: SinkFactory
) -> None:
    sink = await sink_factory(credentials=SINK_LOGIN)
    small = await harness.campaign(await harness.mailbox(sink, dailyLimit=3), await harness.contacts(6))
    assert await shares(harness, [small["id"]], limit=50) == {small["id"]: 3}
    assert await harness.drain() >= 3
    assert await shares(harness, [small["id"]], limit=50) == Counter()  # the limit is used up today
