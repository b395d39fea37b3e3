"""The engine inside the API process (`serve`, `dev`, `make run`): started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fluenzr_server.engine.runner import Task, run_tasks
from fluenzr_server.engine.tasks import default_tasks
from fluenzr_server.resources import Resources

log = logging.getLogger("fluenzr.engine")
STOP_TIMEOUT_SECONDS = 30.0


async def close_tasks(tasks: Sequence[Task]) -> None:
    for task in tasks:
        close = getattr(task, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


@asynccontextmanager
async def embedded(resources: Resources) -> AsyncIterator[None]:
    """Run `default_tasks` in the background while the block runs; nothing when FLUENZR_ENGINE=off.

    On exit the tasks finish their current batch (at most `STOP_TIMEOUT_SECONDS`, then they are
    cancelled: work not started is given back, a conversation cut short becomes `unknown`).
    """
    if not resources.settings.engine:
        yield
        return
    tasks = default_tasks(resources)
    stop = asyncio.Event()
    runner = asyncio.create_task(run_tasks(tasks, resources, stop), name="fluenzr-engine")
    log.info("engine started in-process: %s", ", ".join(task.name for task in tasks) or "no tasks")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(runner, timeout=STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("engine tasks did not stop in %s s; cancelled", STOP_TIMEOUT_SECONDS)
        await close_tasks(tasks)
