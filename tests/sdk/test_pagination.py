"""Pages, and iteration over every item of every page, fetched lazily."""

from __future__ import annotations

import httpx
import pytest
from fluenzr import AsyncFluenzrClient, AsyncPage, FluenzrClient, FluenzrError, SyncPage
from sdk_stub import StubAPI, contact, page

TOTAL = 5
PER_PAGE = 2


def paged_contacts(request: httpx.Request) -> httpx.Response:
    """5 contacts, served `perPage` at a time."""
    number = int(request.url.params.get("page", "1"))
    per_page = int(request.url.params.get("perPage", "20"))
    start = (number - 1) * per_page
    items = [contact(f"ctc_{i}", f"c{i}@example.com") for i in range(start, min(start + per_page, TOTAL))]
    return page(items, page=number, per_page=per_page, total=TOTAL)


def test_page_fields(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    first = client.contacts.list(per_page=PER_PAGE)
    assert isinstance(first, SyncPage)
    assert (first.page, first.per_page, first.total) == (1, 2, 5)
    assert [c.id for c in first.data] == ["ctc_0", "ctc_1"]
    assert first.has_next_page()
    assert "total=5" in repr(first)


def test_iteration_is_lazy_and_covers_every_page(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    first = client.contacts.list(per_page=PER_PAGE, email="example.com", sort="email", order="asc")
    assert len(stub.requests) == 1

    items = iter(first)
    assert [next(items).id, next(items).id] == ["ctc_0", "ctc_1"]
    assert len(stub.requests) == 1  # the first page is used up, nothing fetched yet
    assert next(items).id == "ctc_2"
    assert len(stub.requests) == 2
    assert [c.id for c in items] == ["ctc_3", "ctc_4"]
    assert len(stub.requests) == 3  # 5 items / 2 per page, no extra request past the last page

    pages = [dict(r.url.params) for r in stub.requests]
    assert pages[0] == {"perPage": "2", "email": "example.com", "sort": "email", "order": "asc"}
    assert pages[1] == {**pages[0], "page": "2"}
    assert pages[2] == {**pages[0], "page": "3"}


def test_iterating_twice_refetches_following_pages(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    first = client.contacts.list(per_page=PER_PAGE)
    assert len(list(first)) == TOTAL
    assert len(list(first)) == TOTAL
    assert len(stub.requests) == 5


def test_iter_pages_and_get_next_page(client: FluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    pages = list(client.contacts.list(per_page=PER_PAGE).iter_pages())
    assert [p.page for p in pages] == [1, 2, 3]
    assert not pages[-1].has_next_page()
    with pytest.raises(FluenzrError, match="last page"):
        pages[-1].get_next_page()
    assert pages[0].get_next_page().data[0].id == "ctc_2"


def test_an_empty_page_ends_iteration(client: FluenzrClient, stub: StubAPI) -> None:
    # total claims more, but the server ran out (objects deleted meanwhile): stop instead of looping
    stub.queue(page([contact("ctc_1")], per_page=1, total=10), page([], page=2, per_page=1, total=10))
    assert [c.id for c in client.contacts.list(per_page=1)] == ["ctc_1"]
    assert len(stub.requests) == 2


def test_empty_list(client: FluenzrClient, stub: StubAPI) -> None:
    stub.queue(page([]))
    first = client.contacts.list()
    assert first.data == [] and first.total == 0 and not first.has_next_page()
    assert list(first) == []
    assert dict(stub.last.url.params) == {}  # nothing sent that was not given


async def test_async_iteration_is_lazy(async_client: AsyncFluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    seen: list[tuple[str, int]] = []
    async for item in async_client.contacts.list(per_page=PER_PAGE):
        seen.append((item.id, len(stub.requests)))
    assert seen == [("ctc_0", 1), ("ctc_1", 1), ("ctc_2", 2), ("ctc_3", 2), ("ctc_4", 3)]


async def test_async_awaited_page(async_client: AsyncFluenzrClient, stub: StubAPI) -> None:
    stub.default = paged_contacts
    first = await async_client.contacts.list(per_page=PER_PAGE)
    assert isinstance(first, AsyncPage)
    assert (first.page, first.per_page, first.total, first.has_next_page()) == (1, 2, 5, True)
    assert len(stub.requests) == 1
    assert [c.id async for c in first] == [f"ctc_{i}" for i in range(TOTAL)]
    assert [p.page async for p in first.iter_pages()] == [1, 2, 3]
    second = await first.get_next_page()
    assert second.data[0].id == "ctc_2"
