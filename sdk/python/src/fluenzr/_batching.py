"""Chunking rows into `POST /contacts/batch` requests and merging the answers (no I/O here).

A batch holds at most `MAX_BATCH_ROWS` rows and its JSON body must stay under the server's 1 MiB body
limit; `chunks` cuts any iterable lazily so that both hold, and `merge` joins the per-batch answers into
one `ContactBatch` whose `index`es count from the start of the whole input.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
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


def email_key(row: Any) -> str | None:
    """A row's email as the server compares emails (lower-cased), or None when it gives no string email."""
    if isinstance(row, Mapping):
        email = row.get("email")
        if isinstance(email, str):
            return email.lower()
    return None


@dataclass(frozen=True)
class Chunk:
    start: int
    """The input index of the chunk's first row."""
    rows: list[Any]
    positions: list[int] = field(default_factory=list)
    """The input index of each row (consecutive from `start` unless rows were held back)."""
    earlier: dict[str, int] = field(default_factory=dict)
    """`earlierEmails`: emails of these rows that earlier batches gave, with the winning row's index."""

    def position(self, index: int) -> int:
        return self.positions[index] if self.positions else self.start + index


class _Cutter:
    def __init__(self, batch_size: int) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ROWS:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_ROWS}")
        self.batch_size = batch_size
        self.rows: list[Any] = []
        self.positions: list[int] = []
        self.earlier: dict[str, int] = {}
        self.bytes = 0

    def add(self, position: int, wire: Any, earlier: tuple[str, int] | None = None) -> Chunk | None:
        """Add a row (already in wire form) at input `position`; the full chunk it closes, if any."""
        size = _size(wire) + (_size(earlier[0]) + 12 if earlier and earlier[0] not in self.earlier else 0)
        full = None
        if self.rows and (len(self.rows) >= self.batch_size or self.bytes + size > MAX_BATCH_BYTES):
            full = self.flush()
        self.rows.append(wire)
        self.positions.append(position)
        if earlier is not None:
            self.earlier[earlier[0]] = earlier[1]
        self.bytes += size
        return full

    def flush(self) -> Chunk | None:
        if not self.rows:
            return None
        chunk = Chunk(self.positions[0], self.rows, self.positions, self.earlier)
        self.rows, self.positions, self.earlier, self.bytes = [], [], {}, 0
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
    for position, row in enumerate(rows):
        if (chunk := cutter.add(position, wire_row(row))) is not None:
            yield chunk
    if (chunk := cutter.flush()) is not None:
        yield chunk


class FirstWins:
    """Cuts one import into batches so that a duplicate email is answered as inside one batch.

    In one batch, the first row with an email that passes `create`'s checks wins and each later row with
    that email (once it passes them too) is a `CONFLICT` with `details.firstIndex`. Across batches: a row
    whose email a row of a batch still unanswered also gives is held back; once the earlier batches are
    answered (`record`), `next_round` sends the held rows, each with `earlierEmails` naming the winning
    row when there is one (the server then answers it exactly so), or as a new first row when every
    earlier one failed its checks. Rows without duplicates go out in the first round, in input order.
    """

    def __init__(self, batch_size: int = MAX_BATCH_ROWS) -> None:
        self._cutter = _Cutter(batch_size)
        self._winners: dict[str, int] = {}
        self._sent: set[str] = set()
        self._held: list[tuple[int, Any]] = []

    def _place(self, position: int, wire: Any) -> Chunk | None:
        key = email_key(wire)
        if key is not None:
            if key in self._winners:
                return self._cutter.add(position, wire, (key, self._winners[key]))
            if key in self._sent:
                self._held.append((position, wire))
                return None
            self._sent.add(key)
        return self._cutter.add(position, wire)

    def first_round(self, rows: Iterable[Any]) -> Iterator[Chunk]:
        check_rows(rows)
        for position, row in enumerate(rows):
            if (chunk := self._place(position, wire_row(row))) is not None:
                yield chunk
        if (chunk := self._cutter.flush()) is not None:
            yield chunk

    async def afirst_round(self, rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Chunk]:
        check_rows(rows)
        if not isinstance(rows, AsyncIterable):
            for chunk in self.first_round(rows):
                yield chunk
            return
        position = 0
        async for row in rows:
            if (full := self._place(position, wire_row(row))) is not None:
                yield full
            position += 1
        if (last := self._cutter.flush()) is not None:
            yield last

    def next_round(self) -> list[Chunk]:
        """The batches of the held rows; call once every batch sent so far is `record`ed. Empty: done."""
        held, self._held, self._sent = self._held, [], set()
        out = [chunk for position, wire in held if (chunk := self._place(position, wire)) is not None]
        if (chunk := self._cutter.flush()) is not None:
            out.append(chunk)
        return out

    def record(self, chunk: Chunk, answer: ContactBatch) -> None:
        """Learn from a batch's answer which of its rows won their email (passed the row checks)."""
        for result in answer.results:
            key = email_key(chunk.rows[result.index])
            if key is None or key in self._winners:
                continue
            refused = result.error is not None and result.error.code == "VALIDATION_ERROR"
            if not refused:
                self._winners[key] = chunk.position(result.index)


def merge(
    mode: ContactBatchMode, group_id: str | NotGiven, answers: Iterable[tuple[Chunk, ContactBatch]]
) -> ContactBatch:
    """One `ContactBatch` for the whole input, results in input order with input-relative indexes."""
    results: list[ContactBatchRowResult] = []
    counts: dict[str, int] = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
    for chunk, answer in answers:
        for result in answer.results:
            results.append(
                ContactBatchRowResult(
                    index=chunk.position(result.index),
                    status=result.status,
                    id=result.id,
                    error=result.error,
                    suppressed=result.suppressed,
                    extra=result.extra,
                )
            )
            if result.status in counts:
                counts[result.status] += 1
    results.sort(key=lambda result: result.index)
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


def batch_body(
    rows: list[Any],
    mode: ContactBatchMode,
    group_id: str | NotGiven,
    earlier: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"contacts": rows, "mode": mode}
    if not isinstance(group_id, NotGiven):
        body["groupId"] = group_id
    if earlier:
        body["earlierEmails"] = dict(earlier)
    return body
