"""The README's walk-through runs as written, twice in a row, against a live server with its sending engine
and a local SMTP sink: the message arrives and the stats say `sent: 1` (issues 10 and 13)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluenzr_server.engine.smtp_sink import SmtpSink
from tests.conftest import cli, free_port, start_server

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walk-through", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's walk-through has no bash block"
    return match.group(1)


@pytest.fixture
def sending_server(tmp_path: Path) -> Iterator[tuple[str, str, SmtpSink]]:
    """`FLUENZR_ALLOW_PRIVATE_HOSTS=1 make run` in small: `serve` with the engine embedded, and a sink."""
    with SmtpSink() as sink:
        env = {
            **os.environ,
            "FLUENZR_DATABASE_URL": f"sqlite:///{tmp_path / 'walk.db'}",
            "FLUENZR_ENVIRONMENT": "test",
            "FLUENZR_ALLOW_PRIVATE_HOSTS": "1",
        }
        env.pop("FLUENZR_ENGINE", None)
        cli(env, "migrate")
        key = cli(env, "accounts", "create", "--name", "Walk", "--plan", "pro").strip().splitlines()[-1]
        port = free_port()
        process = start_server(env, port, tmp_path / "server.log")
        try:
            yield f"http://127.0.0.1:{port}/v1", key, sink
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_runs_twice_as_written(sending_server: tuple[str, str, SmtpSink]) -> None:
    base_url, api_key, sink = sending_server
    script = walkthrough()
    env = {**os.environ, "KEY": api_key, "API": base_url, "SMTP_PORT": str(sink.port)}
    for run in (1, 2):
        # -e: a failed step (an error envelope, which data_id turns into a non-zero exit) fails the run.
        result = subprocess.run(
            ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, (run, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr and "error" not in result.stderr, result.stderr
        responses = envelopes(result.stdout)
        assert [response["success"] for response in responses] == [True] * 6, result.stdout
        added_to_group, added_to_campaign, started, stats, leads, sending = (r["data"] for r in responses)
        assert added_to_group["added"] == 1 and added_to_campaign["added"] == 1
        assert started["status"] == "running"
        assert stats["campaignId"] == started["id"] and stats["contacts"] == 1 and stats["sent"] == 1
        assert [lead["status"] for lead in leads] == ["completed"]
        assert sending["status"] == "completed"
        arrived = sink.wait_for(run, timeout=10)[-1]
        assert arrived.subject == "Quick question, Ada"
        assert arrived.rcpt_tos[0].startswith("ada+") and arrived.mail_from.startswith("sales+")


def envelopes(output: str) -> list[dict[str, Any]]:
    """The JSON envelopes curl printed back to back."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(output, position)
        found.append(value)
    return found
