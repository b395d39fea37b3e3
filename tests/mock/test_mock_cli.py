"""`fluenzr-mock` as a real process on a free port, over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ORIGIN = "https://app.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mock_process() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    script = Path(sys.executable).with_name("fluenzr-mock")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "fluenzr_mock.cli"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--seed", "3", "--cors-origin", ORIGIN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mock exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base_url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mock_command_serves_the_contract_over_http(mock_process: tuple[str, subprocess.Popen[str]]) -> None:
    base_url, process = mock_process
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer demo"}, timeout=5) as http:
        contacts = http.get("/contacts")
        assert contacts.status_code == 200
        assert contacts.json()["data"][0]["email"] == "ada@example.com"
        assert contacts.headers["X-RateLimit-Remaining"] == "950"

        # --seed 3: dynamic answers repeat across requests.
        first = http.get("/campaigns", headers={"Prefer": "dynamic=true"}).json()
        assert first == http.get("/campaigns", headers={"Prefer": "dynamic=true"}).json()
        assert first["success"] is True

        # --cors-origin: that origin, and only that one, is allowed.
        preflight = http.options(
            "/contacts", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST"
        other = http.get("/contacts", headers={"Origin": "https://elsewhere.example"})
        assert "Access-Control-Allow-Origin" not in other.headers

        assert http.get("/contacts", headers={"Authorization": ""}).status_code == 401

    process.terminate()
    output = process.communicate(timeout=10)[0]
    assert f"FluenzR mock on {base_url}" in output
