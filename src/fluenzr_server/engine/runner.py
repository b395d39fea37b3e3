"""Runs the engine's periodic tasks until told to stop: inside `serve` (embedded) or as `worker`.

Each task's `tick` does one bounded batch of work and returns how many items it handled; a busy task is
ticked again at once, an idle one after `idle_seconds`. A tick that raises is logged and retried after a
pause: one bad batch never stops the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from fluenzr_server.resources import Resources

log = logging.getLogger("fluenzr.engine")


class Task(Protocol):
    name: str

    async def tick(self, resources: Resources) -> int:
        """Handle one batch of due work; the number of items handled (0 when there was none)."""
        ...


async def run_task(
    task: Task, resources: Resources, stop: asyncio.Event, *, idle_seconds: float = 0.5
) -> None:
    while not stop.is_set():
        try:
            handled = await task.tick(resources)
        except Exception:
            log.exception("engine task %s failed; retrying", task.name)
            handled = 0
        if handled == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
        else:
            await asyncio.sleep(0)  # let the API and other tasks run between busy batches


async def run_tasks(
    tasks: Sequence[Task], resources: Resources, stop: asyncio.Event, *, idle_seconds: float = 0.5
) -> None:
    """Run every task concurrently until `stop` is set; returns when all have finished their batch."""
    await asyncio.gather(*(run_task(t, resources, stop, idle_seconds=idle_seconds) for t in tasks))
