"""The README's walk-through runs as written, twice in a row, against a live server (issue 10, "Also")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walk-through", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's walk-through has no bash block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_runs_twice_as_written(live_server: LiveServer) -> None:
    script = walkthrough()
    env = {**os.environ, "KEY": live_server.api_key, "API": live_server.base_url}
    for run in (1, 2):
        # -e: a failed step (an error envelope, which data_id turns into a non-zero exit) fails the run.
        result = subprocess.run(
            ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, (run, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr and "error" not in result.stderr, result.stderr
        responses = envelopes(result.stdout)
        assert [response["success"] for response in responses] == [True] * 4, result.stdout
        added_to_group, added_to_campaign, started, stats = (response["data"] for response in responses)
        assert added_to_group["added"] == 1 and added_to_campaign["added"] == 1
        assert started["status"] == "running"
        assert stats["campaignId"] == started["id"] and stats["contacts"] == 1


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
