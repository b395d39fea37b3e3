"""The README's walk-through runs as written, twice in a row, against a live server with its sending engine,
a local SMTP sink and a local Dovecot (`make imap-mailbox`): the message arrives and the stats say
`sent: 1` (issues 10 and 13); then its open, its click, a reply read over IMAP and its one-click
unsubscribe each show in the stats, the lead and the webhook receiver (issue 16). Pasted into a shell
without `set -e`, a wrong key, a server that is not up, or a maildir without this run's message stops the
steps at once with one `error:` line, and the shell carries on."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluenzr_server.engine.imap_mailbox import Dovecot
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
def mailbox() -> Iterator[Dovecot]:
    """`make imap-mailbox` in small: plain IMAP, user sales / sales-password, on a free port."""
    folder = Path(tempfile.mkdtemp(prefix="fluenzr-readme-imap-"))
    server = Dovecot(folder, users={"sales": "sales-password"})
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def sending_server(tmp_path: Path) -> Iterator[tuple[str, str, SmtpSink]]:
    """`FLUENZR_ALLOW_PRIVATE_HOSTS=1 make run` in small: `serve` with the engine embedded, and a sink
    keeping a maildir as `make smtp-sink` does."""
    with SmtpSink(maildir=tmp_path / "maildir") as sink:
        port = free_port()
        env = {
            **os.environ,
            "FLUENZR_DATABASE_URL": f"sqlite:///{tmp_path / 'walk.db'}",
            "FLUENZR_ENVIRONMENT": "test",
            "FLUENZR_ALLOW_PRIVATE_HOSTS": "1",
            "FLUENZR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        env.pop("FLUENZR_ENGINE", None)
        cli(env, "migrate")
        key = cli(env, "accounts", "create", "--name", "Walk", "--plan", "pro").strip().splitlines()[-1]
        process = start_server(env, port, tmp_path / "server.log")
        try:
            yield f"http://127.0.0.1:{port}/v1", key, sink
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_runs_twice_as_written(
    sending_server: tuple[str, str, SmtpSink], mailbox: Dovecot, tmp_path: Path
) -> None:
    base_url, api_key, sink = sending_server
    script = walkthrough()
    env = {
        **os.environ,
        "KEY": api_key,
        "API": base_url,
        "SMTP_PORT": str(sink.port),
        "MAILDIR": str(tmp_path / "maildir"),
        "HOOK_PORT": str(free_port()),
        "HOOKS_LOG": str(tmp_path / "hooks.log"),
        "IMAP_PORT": str(mailbox.port),
    }
    # A wrong key: the first call's 401 stops everything, with the API's message; the shell goes on.
    wrong = pasted(script, {**env, "KEY": "fz_live_" + "0" * 32})
    assert wrong.stdout == "still here after exit status 1\n", wrong.stdout
    assert wrong.stderr == "error: UNAUTHORIZED: Invalid API key\n", wrong.stderr

    for run in (1, 2):
        # The block's own `set -e` stops at a failed step; `bash -e` makes the test fail on it too.
        result = subprocess.run(
            ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, (run, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr and "error" not in result.stderr, result.stderr
        outputs = envelopes(result.stdout)
        responses = [output for output in outputs if isinstance(output, dict)]
        assert [response["success"] for response in responses] == [True] * 9, result.stdout
        added_to_group, added_to_campaign, started, stats, leads, sending, replied, after, leads_after = (
            r["data"] for r in responses
        )
        assert added_to_group["added"] == 1 and added_to_campaign["added"] == 1
        assert started["status"] == "running"
        assert stats["campaignId"] == started["id"] and stats["contacts"] == 1 and stats["sent"] == 1
        assert [lead["status"] for lead in leads] == ["completed"]
        assert sending["status"] == "completed"
        arrived = sink.wait_for(run, timeout=10)[-1]
        assert arrived.subject == "Quick question, Ada"
        assert arrived.rcpt_tos[0].startswith("ada+") and arrived.mail_from.startswith("sales+")

        # The open, the click (to the message's own link), the reply read over IMAP and the one-click
        # unsubscribe, over HTTP.
        lines = [output for output in outputs if isinstance(output, str)]
        assert lines == ["200 image/gif", "302 https://acme.example/jobs", "200"], result.stdout
        assert [lead["status"] for lead in replied] == ["replied"]
        counted = ("sent", "opened", "clicked", "replied", "unsubscribed")
        assert [after[name] for name in counted] == [1, 1, 1, 1, 1], after
        assert (after["openRate"], after["clickRate"], after["replyRate"]) == (100.0, 100.0, 100.0)
        (lead,) = leads_after
        assert lead["status"] == "unsubscribed" and lead["openedAt"] and lead["clickedAt"]
        fired = result.stderr.split()
        kinds = ("email.sent", "email.opened", "email.clicked", "email.replied", "contact.unsubscribed")
        assert [fired.count(kind) for kind in kinds] == [1] * 5 and len(fired) == 5, result.stderr

    # A maildir holding only the earlier runs' messages: this run's message (found by its Message-ID) is
    # not there, so the run stops there rather than open, click and unsubscribe an earlier run's message.
    stale = tmp_path / "stale-maildir"
    shutil.copytree(tmp_path / "maildir", stale)
    before = sorted(path.name for path in (stale / "new").iterdir())
    assert len(before) == 2
    stopped = pasted(script, {**env, "MAILDIR": str(stale)})
    assert stopped.stdout.endswith("still here after exit status 1\n"), stopped.stdout
    (line,) = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert re.fullmatch(rf"error: <[^>]+> is not in {re.escape(str(stale))}/new: .*", line), stopped.stderr
    fetched = [out for out in envelopes(stopped.stdout) if isinstance(out, str) and re.match(r"\d{3} ", out)]
    assert fetched == [], stopped.stdout  # no pixel fetched, no link clicked
    assert sink.wait_for(3, timeout=10)[-1].subject == "Quick question, Ada"  # it was sent, elsewhere


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_walkthrough_stops_at_once_when_the_server_is_not_up(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KEY": "fz_live_" + "0" * 32,
        "API": f"http://127.0.0.1:{free_port()}/v1",
        "HOOK_PORT": str(free_port()),
        "HOOKS_LOG": str(tmp_path / "hooks.log"),
        "MAILDIR": str(tmp_path / "maildir"),
    }
    result = pasted(walkthrough(), env)
    assert result.stdout == "still here after exit status 1\n", result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: no answer from {env['API']}: is the API running?"], result.stderr
    assert not (tmp_path / "hooks.log").exists()  # stopped before the webhook receiver's step


def pasted(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The block as pasted into a shell without `set -e`, followed by one more command of the user's."""
    user_shell = script + '\necho "still here after exit status $?"\n'
    return subprocess.run(
        ["bash", "-c", user_shell], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def envelopes(output: str) -> list[Any]:
    """The JSON envelopes curl printed back to back (dicts), and the lines of `curl -w` (strings)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        if output[position] == "{":
            value, position = decoder.raw_decode(output, position)
        else:
            end = output.find("\n", position)
            end = len(output) if end < 0 else end
            value, position = output[position:end].strip(), end
        found.append(value)
    return found
