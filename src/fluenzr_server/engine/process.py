"""The engine in a process of its own, supervised by `serve`: started and stopped with the app, restarted
if it dies, gone if `serve` dies.

Why a process and not the API's event loop (or a thread of it): the engine's work is CPU-bound Python
(claims, rendering, building, recording) between many short network waits. On the API's loop every
request delays every SMTP reply and the reverse; in a thread, the engine must win back the GIL after
each of its four SMTP round trips per message while API requests hold it, so it gets a few per cent of
a busy server (measured in `bench/results/engine.md`). A child process has its own interpreter, loop and
database connections, and the operating system shares the cores. On SQLite, WAL lets the API read while
the engine writes, and writers queue on SQLite's lock, as two `serve` workers do. Nothing more to start
for the user: `serve` owns the child.

- The child runs `default_tasks`, exactly as `fluenzr-server worker` does (`run_engine`).
- SIGTERM asks it to finish its current batch and stop; SIGINT is ignored (Ctrl-C reaches the whole
  process group; `serve` decides when its engine stops, after the API has drained).
- It stops on its own when its parent is gone (`serve` killed with SIGKILL), within
  `PARENT_CHECK_SECONDS`; work it had claimed is then given back or swept, as after any crash.
- A child that exits while `serve` runs is started again after `RESTART_DELAYS` (the last repeats; the
  count starts over once a child has lived `STABLE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.process import BaseProcess

from fluenzr_server.engine.runner import run_tasks
from fluenzr_server.engine.tasks import default_tasks
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings

log = logging.getLogger("fluenzr.engine")

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_SECONDS = 60.0
PARENT_CHECK_SECONDS = 1.0
# A fresh interpreter (not a fork of the server: no copied event loop, sockets or connection pools).
_CONTEXT = multiprocessing.get_context("spawn")


async def close_tasks(tasks: list[object]) -> None:
    for task in tasks:
        close = getattr(task, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


async def run_engine(settings: Settings, stop: asyncio.Event) -> None:
    """Run the engine's tasks on resources opened from `settings` until `stop` is set; their current
    batch is finished, then the resources are closed (`worker` and the embedded child both run this)."""
    resources = Resources.open(settings)
    tasks = default_tasks(resources)
    log.info("engine %s running: %s", os.getpid(), ", ".join(task.name for task in tasks))
    try:
        await run_tasks(tasks, resources, stop)
    finally:
        await close_tasks(list(tasks))
        await resources.close()


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("engine %s: its server process %s is gone; stopping", os.getpid(), parent)
            stop.set()
            return
        await asyncio.sleep(PARENT_CHECK_SECONDS)


def _child_main(settings: Settings, parent: int) -> None:
    """The child process's entry point (spawned: `settings` arrive pickled)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        watch = asyncio.create_task(_watch_parent(parent, stop))
        try:
            await run_engine(settings, stop)
        finally:
            watch.cancel()

    asyncio.run(main())


class EngineProcess:
    """One supervised engine child of this process (see the module docstring)."""

    def __init__(self, settings: Settings, *, stop_timeout: float) -> None:
        self.settings = settings
        self.stop_timeout = stop_timeout
        self.process: BaseProcess | None = None
        self.starts = 0  # children started so far (tests of the restart)
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="fluenzr-engine-supervisor")

    def _spawn(self) -> None:
        process = _CONTEXT.Process(
            target=_child_main, args=(self.settings, os.getpid()), name="fluenzr-engine", daemon=True
        )
        process.start()
        self.process = process
        self.starts += 1
        log.info("engine started in process %s", process.pid)

    async def _exited(self, process: BaseProcess) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def exited() -> None:
            if not done.done():
                done.set_result(None)

        loop.add_reader(process.sentinel, exited)
        try:
            await done
        finally:
            loop.remove_reader(process.sentinel)

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            process = self.process
            assert process is not None
            began = time.monotonic()
            await self._exited(process)
            if self._stopping:
                return
            process.join()
            failures = 0 if time.monotonic() - began >= STABLE_SECONDS else failures
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            log.error(
                "engine process %s exited (code %s); starting another in %.0f s",
                process.pid,
                process.exitcode,
                delay,
            )
            await asyncio.sleep(delay)
            while not self._stopping:
                try:
                    self._spawn()
                    break
                except OSError:  # out of processes or memory, for now: try again later
                    log.exception("cannot start the engine process; trying again in %s s", RESTART_DELAYS[-1])
                    await asyncio.sleep(RESTART_DELAYS[-1])

    async def stop(self) -> None:
        """Ask the child to finish its batch and stop (SIGTERM); killed after `stop_timeout`."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process = self.process
        if process is None or process.exitcode is not None:
            return
        process.terminate()
        await asyncio.to_thread(process.join, self.stop_timeout)
        if process.exitcode is None:
            log.warning("engine process %s did not stop in %s s; killed", process.pid, self.stop_timeout)
            process.kill()
            await asyncio.to_thread(process.join)


@asynccontextmanager
async def engine_process(settings: Settings, *, stop_timeout: float) -> AsyncIterator[EngineProcess]:
    """A supervised engine child for the duration of the block."""
    engine = EngineProcess(settings, stop_timeout=stop_timeout)
    engine.start()
    try:
        yield engine
    finally:
        await engine.stop()
