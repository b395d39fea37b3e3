"""The engine of `serve`, `dev` and `make run`: started and stopped with the app (its lifespan).

It runs in a child process that `serve` supervises (`engine/process.py`: why, and how it is restarted and
stopped). A database only this process can see (in-memory SQLite) keeps the engine on the app's own
event loop instead, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url

from fluenzr_server.engine.process import close_tasks, engine_process
from fluenzr_server.engine.runner import run_tasks
from fluenzr_server.engine.tasks import default_tasks
from fluenzr_server.resources import Resources

log = logging.getLogger("fluenzr.engine")
STOP_TIMEOUT_SECONDS = 30.0


def in_memory(database_url: str) -> bool:
    """Whether the database lives in this process only (SQLite `:memory:` or `mode=memory`)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


@asynccontextmanager
async def embedded(resources: Resources) -> AsyncIterator[None]:
    """Run the engine while the block runs; nothing when FLUENZR_ENGINE=off.

    On exit the engine finishes its current batch (at most `STOP_TIMEOUT_SECONDS`, then it is stopped
    hard: work not started is given back, a conversation cut short becomes `unknown`).
    """
    if not resources.settings.engine:
        yield
        return
    if not in_memory(resources.settings.database_url):
        async with engine_process(resources.settings, stop_timeout=STOP_TIMEOUT_SECONDS):
            yield
        return
    async with in_process(resources):
        yield


@asynccontextmanager
async def in_process(resources: Resources) -> AsyncIterator[None]:
    """The engine's tasks on this event loop, with these resources, while the block runs."""
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
        await close_tasks(list(tasks))
