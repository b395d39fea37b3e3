"""`fluenzr-server smtp-sink` as a real process: prints each message and keeps it in a Maildir folder."""

from __future__ import annotations

import mailbox
import re
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest


@pytest.fixture
def sink_process(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str], Path]]:
    script = Path(sys.executable).with_name("fluenzr-server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "fluenzr_server.cli"]
    maildir = tmp_path / "Maildir"
    process = subprocess.Popen(
        [*command, "smtp-sink", "--port", "0", "--maildir", str(maildir), "--auth", "sam:pw"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"SMTP sink on 127\.0\.0\.1:(\d+) \(AUTH required\)", first)
        assert found, first
        yield int(found.group(1)), process, maildir
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_smtp_sink_command_prints_and_keeps_messages(
    sink_process: tuple[int, subprocess.Popen[str], Path],
) -> None:
    port, process, maildir = sink_process
    message = EmailMessage()
    message["From"] = "Sam <sales@acme.example>"
    message["To"] = "Ada <ada@example.com>"
    message["Subject"] = "Quick question, Ada"
    message["Message-ID"] = "<cli.1@acme.example>"
    message.set_content("Hi Ada!\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("sam", "wrong")
        client.login("sam", "pw")
        client.send_message(message)
    assert process.stdout is not None
    line = process.stdout.readline()  # nothing else is printed before it (no library warnings)
    assert "From: Sam <sales@acme.example>" in line
    assert "To: Ada <ada@example.com>" in line
    assert "Subject: Quick question, Ada" in line
    assert "Message-ID: <cli.1@acme.example>" in line
    [kept] = list(mailbox.Maildir(maildir, create=False))
    assert str(kept["Message-ID"]) == "<cli.1@acme.example>"
