"""The README's reply block ("Replies, auto-replies and late bounces") runs as written after the
walk-through's, in the same shell, against a live server (engine embedded), an SMTP sink keeping a maildir
and a local Dovecot like `make imap-mailbox`: the reply is read and the stats say `replied: 1`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluenzr_server.engine.imap_mailbox import Dovecot
from fluenzr_server.engine.smtp_sink import SmtpSink
from tests.acceptance.test_readme_walkthrough import ROOT, walkthrough
from tests.conftest import cli, free_port, start_server


def reply_block() -> str:
    section = (ROOT / "README.md").read_text().split("## Replies, auto-replies and late bounces", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the README's reply section has no bash block"
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


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_readme_reply_block_runs_after_the_walkthrough(tmp_path: Path, mailbox: Dovecot) -> None:
    maildir = tmp_path / "maildir"
    with SmtpSink(maildir=maildir) as sink:
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
            script = walkthrough() + "\n" + reply_block()
            run_env = {
                **env,
                "KEY": key,
                "API": f"http://127.0.0.1:{port}/v1",
                "SMTP_PORT": str(sink.port),
                "IMAP_PORT": str(mailbox.port),
                "MAILDIR": str(maildir),
            }
            result = subprocess.run(
                ["bash", "-e", "-c", script],
                env=run_env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert "error" not in result.stderr, result.stderr
    # The last thing printed: the stats after the reply was read.
    last = result.stdout[result.stdout.rindex('{"success"') :]
    stats = json.JSONDecoder().raw_decode(last)[0]["data"]
    assert (stats["sent"], stats["replied"], stats["replyRate"]) == (1, 1, 100.0), result.stdout
    # Still there (curl's APPEND marks it \\Seen itself; that nothing is flagged by the poller is
    # tests/engine/sending/test_inbox.py::test_nothing_in_the_mailbox_is_changed).
    box = mailbox.maildir("sales")
    assert len([*(box / "new").iterdir(), *(box / "cur").iterdir()]) == 1
