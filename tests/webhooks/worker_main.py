"""A webhook worker process for the fault tests: `python -m tests.webhooks.worker_main URL ACCOUNT LEASE`.

Runs the real engine loop (`engine.runner.run_tasks`) with one `WebhookDispatcher` limited to one account,
with loopback endpoints allowed and a short lease, until SIGTERM (or SIGKILL, which is the point).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from fluenzr_server.engine.runner import run_tasks
from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings


async def main(database_url: str, account_id: str, lease_seconds: float) -> None:
    settings = Settings(
        _env_file=None, environment="test", database_url=database_url, allow_private_hosts=True
    )
    hook_resources = Resources.open(settings)
    dispatcher = WebhookDispatcher(lease=timedelta(seconds=lease_seconds), account_ids=[account_id], batch=50)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("worker ready", flush=True)
    try:
        await run_tasks([dispatcher], hook_resources, stop, idle_seconds=0.05)
    finally:
        await dispatcher.close()
        await hook_resources.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
