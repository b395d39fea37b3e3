"""Chunking rows into `POST /contacts/batch` requests and merging the answers (no I/O here).

A batch holds at most `MAX_BATCH_ROWS` rows and its JSON body must stay under the server's 1 MiB body
limit; `chunks` cuts any iterable lazily so that both hold, and `merge` joins the per-batch answers into
one `ContactBatch` whose `index`es count from the start of the whole input.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._rate_limit import RateLimit
from ._retry import MAX_RETRY_DELAY
from ._types import NotGiven
from .models import ContactBatch, ContactBatchCounts, ContactBatchMode, ContactBatchRowResult, to_camel

MAX_BATCH_ROWS = 1000
# The server refuses bodies over 1 MiB (1,048,576 bytes); this leaves room for the envelope around rows.
MAX_BATCH_BYTES = 1_000_000


def wire_row(row: Any) -> Any:
    """A row as the API takes it: top-level keys in camelCase (`first_name` -> `firstName`).

    Anything that is not a mapping is sent as it is, so the server reports it in that row's result.
    """
    if not isinstance(row, Mapping):
        return row
    return {to_camel(key) if isinstance(key, str) else key: value for key, value in row.items()}


def _size(row: Any) -> int:
    # ASCII escapes and spaced separators make this an upper bound of the bytes httpx will send.
    try:
        return len(json.dumps(row)) + 1
    except (TypeError, ValueError):
        return 0  # not JSON at all: httpx will refuse it when the batch is sent


@dataclass(frozen=True)
class Chunk:
    start: int
    """The input index of the chunk's first row."""
    rows: list[Any]


class _Cutter:
    def __init__(self, batch_size: int) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ROWS:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_ROWS}")
        self.batch_size = batch_size
        self.start = 0
        self.rows: list[Any] = []
        self.bytes = 0

    def add(self, row: Any) -> Chunk | None:
        """Add a row; the full chunk it closes, if any."""
        wire = wire_row(row)
        size = _size(wire)
        full = None
        if self.rows and (len(self.rows) >= self.batch_size or self.bytes + size > MAX_BATCH_BYTES):
            full = self.flush()
        self.rows.append(wire)
        self.bytes += size
        return full

    def flush(self) -> Chunk | None:
        if not self.rows:
            return None
        chunk = Chunk(self.start, self.rows)
        self.start += len(self.rows)
        self.rows, self.bytes = [], 0
        return chunk


def check_rows(rows: object) -> None:
    # A lone mapping or string is iterable too, and would be sent as one row per key or character.
    if isinstance(rows, str | bytes | Mapping):
        raise TypeError("Expected an iterable of rows (mappings), got a single value")


def wire_rows(rows: Iterable[Any]) -> list[Any]:
    """A whole batch's rows as the API takes them."""
    check_rows(rows)
    return [wire_row(row) for row in rows]


def chunks(rows: Iterable[Any], batch_size: int = MAX_BATCH_ROWS) -> Iterator[Chunk]:
    """Consecutive chunks of at most `batch_size` rows and `MAX_BATCH_BYTES` of JSON, read lazily."""
    check_rows(rows)
    cutter = _Cutter(batch_size)
    for row in rows:
        if (chunk := cutter.add(row)) is not None:
            yield chunk
    if (chunk := cutter.flush()) is not None:
        yield chunk


async def achunks(
    rows: Iterable[Any] | AsyncIterable[Any], batch_size: int = MAX_BATCH_ROWS
) -> AsyncIterator[Chunk]:
    """`chunks` for a sync or async iterable."""
    check_rows(rows)
    if not isinstance(rows, AsyncIterable):
        for whole in chunks(rows, batch_size):
            yield whole
        return
    cutter = _Cutter(batch_size)
    async for row in rows:
        if (full := cutter.add(row)) is not None:
            yield full
    if (last := cutter.flush()) is not None:
        yield last


def merge(
    mode: ContactBatchMode, group_id: str | NotGiven, answers: Iterable[tuple[Chunk, ContactBatch]]
) -> ContactBatch:
    """One `ContactBatch` for the whole input, results in input order with input-relative indexes."""
    results: list[ContactBatchRowResult] = []
    counts: dict[str, int] = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
    for chunk, answer in sorted(answers, key=lambda pair: pair[0].start):
        for result in answer.results:
            results.append(
                ContactBatchRowResult(
                    index=chunk.start + result.index,
                    status=result.status,
                    id=result.id,
                    error=result.error,
                    extra=result.extra,
                )
            )
            if result.status in counts:
                counts[result.status] += 1
    return ContactBatch(
        mode=mode,
        group_id=None if isinstance(group_id, NotGiven) else group_id,
        counts=ContactBatchCounts(
            created=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            error=counts["error"],
        ),
        results=results,
    )


def rate_limit_wait(rate_limit: RateLimit, now: float) -> float:
    """Seconds to wait before the next batch: until the window resets when none is left, else 0."""
    if rate_limit.remaining is None or rate_limit.remaining > 0 or rate_limit.reset is None:
        return 0.0
    return min(max(rate_limit.reset - now, 0.0), MAX_RETRY_DELAY)


def batch_body(rows: list[Any], mode: ContactBatchMode, group_id: str | NotGiven) -> dict[str, Any]:
    body: dict[str, Any] = {"contacts": rows, "mode": mode}
    if not isinstance(group_id, NotGiven):
        body["groupId"] = group_id
    return body
