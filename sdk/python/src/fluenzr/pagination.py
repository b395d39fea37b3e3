"""Pages of a list, which also iterate over every item of every following page, fetched lazily.

```python
page = client.contacts.list(per_page=100)  # one request
page.data, page.total, page.has_next_page()
for contact in page:  # the next page is fetched when this one is used up
    ...

async for contact in async_client.contacts.list():  # async: iterate directly,
    ...
page = await async_client.contacts.list()  # or await the first page
```
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._exceptions import FluenzrError

__all__ = ["AsyncPage", "AsyncPageRequest", "SyncPage"]

_T = TypeVar("_T")


class _BasePage(Generic[_T]):
    data: list[_T]
    """The items of this page only."""
    page: int
    per_page: int
    total: int
    """How many items match the filters, over all pages."""

    def __init__(self, *, data: list[_T], page: int, per_page: int, total: int) -> None:
        self.data = data
        self.page = page
        self.per_page = per_page
        self.total = total

    def has_next_page(self) -> bool:
        # An empty page ends the iteration even if `total` grew meanwhile, so it can never loop forever.
        return bool(self.data) and (self.page - 1) * self.per_page + len(self.data) < self.total

    def _next_page_number(self) -> int:
        if not self.has_next_page():
            raise FluenzrError("This is the last page; check has_next_page() first.")
        return self.page + 1

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(page={self.page}, per_page={self.per_page}, total={self.total}, "
            f"data=[{len(self.data)} items])"
        )


class SyncPage(_BasePage[_T]):
    def __init__(
        self, *, data: list[_T], page: int, per_page: int, total: int, fetch: Callable[[int], SyncPage[_T]]
    ) -> None:
        super().__init__(data=data, page=page, per_page=per_page, total=total)
        self._fetch = fetch

    def get_next_page(self) -> SyncPage[_T]:
        """Fetch the following page (same filters, sort and page size)."""
        return self._fetch(self._next_page_number())

    def iter_pages(self) -> Iterator[SyncPage[_T]]:
        """This page, then each following page as it is fetched."""
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[_T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_BasePage[_T]):
    def __init__(
        self,
        *,
        data: list[_T],
        page: int,
        per_page: int,
        total: int,
        fetch: Callable[[int], Awaitable[AsyncPage[_T]]],
    ) -> None:
        super().__init__(data=data, page=page, per_page=per_page, total=total)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[_T]:
        return await self._fetch(self._next_page_number())

    async def iter_pages(self) -> AsyncIterator[AsyncPage[_T]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[_T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPageRequest(Generic[_T]):
    """What an async `list()` returns: await it for the first page, or `async for` over every item."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncPage[_T]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncPage[_T]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[_T]:
        page = await self
        async for item in page:
            yield item


def parse_page(envelope: dict[str, Any], cast: Callable[[Any], _T]) -> tuple[list[_T], int, int, int]:
    """`(items, page, per_page, total)` from a list envelope."""
    meta = envelope["meta"]
    items = envelope["data"]
    if not isinstance(items, list):
        raise TypeError("data is not a list")
    return [cast(item) for item in items], int(meta["page"]), int(meta["perPage"]), int(meta["total"])
