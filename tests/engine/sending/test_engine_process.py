"""The embedded engine's own process (engine/process.py): started with the app, restarted when it dies,
stopped with the app, and gone when `serve` is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from fluenzr_server.engine import process as engine_process_module
from fluenzr_server.engine.embedded import embedded, in_memory
from fluenzr_server.engine.process import engine_process
from fluenzr_server.resources import Resources
from tests.conftest import cli, free_port, start_server
from tests.engine.conftest import SinkFactory
from tests.engine.sending.conftest import SINK_LOGIN, Harness, engine_settings
from tests.engine.sending.test_workers import wait_until


def children_of(pid: int) -> list[int]:
    """Linux: the live processes whose parent is `pid` and that run a spawned child's main (not
    multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) != pid or fields[0] == "Z":
            continue
        with contextlib.suppress(OSError):
            if b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


async def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def sent(harness: Harness, campaign_id: str, count: int) -> bool:
    return bool((await harness.stats(campaign_id))["sent"] >= count)


async def test_the_engine_sends_from_its_own_process_and_a_dead_one_is_replaced(
    harness: Harness, sink_factory: SinkFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_process_module, "RESTART_DELAYS", (0.2,))
    sink = await sink_factory(credentials=SINK_LOGIN)
    mailbox = await harness.mailbox(sink)
    settings = engine_settings(database_url)
    async with engine_process(settings, stop_timeout=30) as engine:
        first = engine.process
        assert first is not None and first.pid != os.getpid()
        # Between fork and exec the child's command line is still this process's: give it a moment.
        assert await wait_for(lambda: first.pid in children_of(os.getpid()), 5)
        campaign = await harness.campaign(mailbox, await harness.contacts(2))
        await sink.wait_for_async(2, seconds=30)
        await wait_until(lambda: sent(harness, campaign["id"], 2), seconds=30, what="2 recorded as sent")

        os.kill(first.pid, signal.SIGKILL)
        assert await wait_for(lambda: engine.starts == 2 and engine.process is not first, 15)
        second = engine.process
        assert second is not None and second.pid != first.pid
        later = await harness.campaign(mailbox, await harness.contacts(1))
        await sink.wait_for_async(3, seconds=30)  # the new process sends
    assert second.exitcode == 0  # asked to stop (SIGTERM): it finished its batch and left
    assert not alive(second.pid)
    assert (await harness.stats(campaign["id"]))["sent"] == 2
    assert (await harness.stats(later["id"]))["sent"] == 1
    assert len(sink.message_ids()) == len(set(sink.message_ids())) == 3


async def test_engine_off_starts_no_process(harness: Harness, database_url: str) -> None:
    before = set(children_of(os.getpid()))
    off = engine_settings(database_url, engine=False)
    async with embedded(Resources.open(off, database=harness.database)):
        await asyncio.sleep(0.5)
        assert set(children_of(os.getpid())) == before


def test_only_a_database_of_this_process_keeps_the_engine_in_process() -> None:
    assert in_memory("sqlite://") and in_memory("sqlite:///:memory:")
    assert in_memory("sqlite:///file:x?mode=memory&cache=shared&uri=true")
    assert not in_memory("sqlite:////tmp/fluenzr.db") and not in_memory("sqlite:///./fluenzr.db")
    assert not in_memory("postgresql://user@127.0.0.1/fluenzr")


def test_serve_owns_its_engine_process_which_leaves_when_serve_is_killed(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FLUENZR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "FLUENZR_ENVIRONMENT": "test",
        "FLUENZR_ALLOW_PRIVATE_HOSTS": "1",
    }
    env.pop("FLUENZR_ENGINE", None)
    cli(env, "migrate")
    port = free_port()
    server = start_server(env, port, tmp_path / "server.log")
    try:
        deadline = time.monotonic() + 30
        while not children_of(server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        (child,) = children_of(server.pid)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).status_code == 200
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), "the engine outlived its server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def test_serve_stops_its_engine_process_with_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FLUENZR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "FLUENZR_ENVIRONMENT": "test",
    }
    env.pop("FLUENZR_ENGINE", None)
    cli(env, "migrate")
    server = start_server(env, free_port(), tmp_path / "server.log")
    deadline = time.monotonic() + 30
    while not children_of(server.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    (child,) = children_of(server.pid)
    server.send_signal(signal.SIGINT)  # Ctrl-C: the engine ignores it and is stopped by serve
    assert server.wait(timeout=40) == 0
    assert not alive(child)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


async def test_a_database_of_this_process_only_keeps_the_engine_on_its_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticked: list[Resources] = []

    class Recorder:
        name = "recorder"

        async def tick(self, resources: Resources) -> int:
            ticked.append(resources)
            return 0

    monkeypatch.setattr("fluenzr_server.engine.embedded.default_tasks", lambda resources: [Recorder()])
    resources = Resources.open(engine_settings("sqlite:///:memory:"))
    before = set(children_of(os.getpid()))
    try:
        async with embedded(resources):
            assert await wait_for(lambda: bool(ticked), 5)
            assert set(children_of(os.getpid())) == before
    finally:
        await resources.close()
    assert all(seen is resources for seen in ticked)
