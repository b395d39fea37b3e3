"""The README's five-line receiver, run as written behind a real server, fed by the real dispatcher."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fluenzr import verify_webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources
from tests.conftest import ROOT, free_port
from tests.utils.factories import create_contact
from tests.webhooks.conftest import drain

README = (ROOT / "README.md").read_text()


def readme_receiver(seen: dict[str, Any]) -> Any:
    block = re.search(r"<!-- webhook-receiver:.*?-->\n```python\n(.*?)```", README, re.S)
    assert block, "the README's receiver block is missing"
    code = block.group(1)
    assert len(code.strip().splitlines()) == 5
    scope: dict[str, Any] = {"Request": Request, "Response": Response, "verify_webhook": verify_webhook}
    scope.update(os=os, seen=seen)
    exec(code, scope)  # noqa: S102 - our own README, the point of the test
    return scope["fluenzr_webhook"]


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: dict[str, Any] = {}
    app = Starlette(routes=[Route("/hooks/fluenzr", readme_receiver(seen), methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/hooks/fluenzr", seen
    server.should_exit = True
    thread.join(timeout=10)


async def test_the_readme_receiver_accepts_real_deliveries_and_refuses_forged_ones(
    api: httpx.AsyncClient,
    served: tuple[str, dict[str, Any]],
    dispatcher: WebhookDispatcher,
    hook_resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen = served
    created = (await api.post("/webhooks", json={"url": url, "events": ["contact.created"]})).json()["data"]
    monkeypatch.setenv("FLUENZR_WEBHOOK_SECRET", created["secret"])
    contact = await create_contact(api)
    await drain(dispatcher, hook_resources)
    assert list(seen.values()) == [contact]
    (delivery,) = (await api.get(f"/webhooks/{created['id']}/deliveries")).json()["data"]
    assert delivery["status"] == "delivered" and delivery["attempts"][0]["statusCode"] == 204

    forged_headers = {
        "webhook-id": "evt_x",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAA",
    }
    async with httpx.AsyncClient() as outsider:
        forged = await outsider.post(url, content=b"{}", headers=forged_headers)
    assert forged.status_code == 500 and len(seen) == 1
