"""A throwaway Dovecot IMAP server on loopback: the tests' IMAP server and `fluenzr-server imap-mailbox`
(`make imap-mailbox`), a local mailbox to drop replies and bounce reports into while trying the product.

Debian's `dovecot-imapd` (`.ci/services.sh` installs it), run in the foreground with a configuration file
of its own in `folder` (nothing of the system's `/etc/dovecot` is read): passwd-file users (one file
each) with plain passwords, one maildir per user under `folder`, listening on 127.0.0.1 only; plain IMAP
with STARTTLS on `port` and implicit TLS on `tls_port` when a certificate is given (PEM), plain IMAP only
otherwise. Run as root (as CI and the development machines are), mail files belong to the `dovecot` user.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

DOVECOT = "/usr/sbin/dovecot"


def dovecot_binary() -> str | None:
    """The `dovecot` executable, or None when the package is not installed."""
    found = shutil.which("dovecot") or (DOVECOT if os.access(DOVECOT, os.X_OK) else None)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Dovecot:
    """One Dovecot instance; `start()`/`stop()` or a `with` block."""

    def __init__(
        self,
        folder: Path,
        *,
        users: dict[str, str],
        port: int | None = None,
        tls_port: int | None = None,
        cert_pem: bytes | None = None,
        key_pem: bytes | None = None,
    ) -> None:
        self.folder = folder.resolve()
        self.users = dict(users)
        self.port = port or free_port()
        self.tls = cert_pem is not None and key_pem is not None
        self.tls_port = (tls_port or free_port()) if self.tls else None
        self._cert_pem = cert_pem
        self._key_pem = key_pem
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "dovecot.log"

    def maildir(self, user: str) -> Path:
        return self.folder / "home" / user / "Maildir"

    def _accounts(self) -> tuple[str, str, str, int, int]:
        """(internal user, login user, mail user name, uid, gid)."""
        if os.geteuid() == 0:
            mail = pwd.getpwnam("dovecot")
            return "dovecot", "dovenull", "dovecot", mail.pw_uid, mail.pw_gid
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_name, me.pw_uid, me.pw_gid

    def _check_reachable(self) -> None:
        """Dovecot's own processes (user `dovecot`) read the users file and the maildirs under `folder`:
        every folder above it must let others through (`x`)."""
        if os.geteuid() != 0:
            return
        for ancestor in [self.folder, *self.folder.parents]:
            if not ancestor.stat().st_mode & 0o001:
                raise RuntimeError(
                    f"{ancestor} must be searchable by other users (chmod o+x) for Dovecot's processes; "
                    "or use a folder under /tmp"
                )

    def write_config(self) -> None:
        internal, login, _, uid, gid = self._accounts()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o711)
        self._check_reachable()
        for name in ("run", "state", "home"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        self._write_users()
        ssl_lines = ["ssl = no"]
        listeners = [f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}"]
        if self.tls and self._cert_pem is not None and self._key_pem is not None:
            cert, key = self.folder / "cert.pem", self.folder / "key.pem"
            cert.write_bytes(self._cert_pem)
            key.write_bytes(self._key_pem)
            key.chmod(0o600)
            ssl_lines = ["ssl = yes", f"ssl_cert = <{cert}", f"ssl_key = <{key}"]
            listeners.append(
                f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n"
                "    ssl = yes\n  }"
            )
        else:
            listeners.append("  inet_listener imaps {\n    port = 0\n  }")
        lines = [
            f"instance_name = fluenzr-imap-{self.port}",
            f"base_dir = {self.folder / 'run'}",
            f"state_dir = {self.folder / 'state'}",
            f"log_path = {self.log_path}",
            "protocols = imap",
            "listen = 127.0.0.1",
            *ssl_lines,
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            f"default_internal_user = {internal}",
            f"default_login_user = {login}",
            "first_valid_uid = 1",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {self.folder / 'users'}/%u",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={uid} gid={gid} home={self.folder / 'home'}/%u",
            "}",
            "mail_location = maildir:~/Maildir",
            "service imap-login {",
            *listeners,
            "}",
            "",
        ]
        self.config_path.write_text("\n".join(lines))

    def start(self, *, timeout: float = 10.0) -> None:
        """Write the configuration, start Dovecot in the foreground, wait until it accepts connections.
        Raises `RuntimeError` (with its log) when it does not come up."""
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        self.write_config()
        with contextlib.suppress(FileNotFoundError):
            (self.folder / "run" / "master.pid").unlink()
        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config file
            [binary, "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "dovecot.stderr").open("wb"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not start: {self.describe_failure()}")

    def describe_failure(self) -> str:
        texts = []
        for path in (self.folder / "dovecot.stderr", self.log_path):
            with contextlib.suppress(OSError):
                texts.append(path.read_text(errors="replace")[-2000:])
        return " | ".join(t for t in texts if t) or "no output"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def add_user(self, user: str, password: str) -> None:
        """A new mailbox user, usable at once (Dovecot re-reads the users file when it changes)."""
        self.users[user] = password
        self._write_users()

    def _write_users(self) -> None:
        # One passwd-file per user (the path has `%u`): Dovecot re-reads a changed file at most once a
        # second, a new file at once.
        _, _, _, uid, gid = self._accounts()
        users = self.folder / "users"
        users.mkdir(exist_ok=True)
        users.chmod(0o755)
        for user, password in self.users.items():
            entry = users / user
            entry.write_text(f"{user}:{{PLAIN}}{password}\n")
            entry.chmod(0o644)
        for user in self.users:
            home = self.folder / "home" / user
            home.mkdir(parents=True, exist_ok=True)
            os.chown(home, uid, gid)

    def append(self, user: str, raw: bytes) -> None:
        """Deliver `raw` (an RFC 5322 message) into the user's INBOX with IMAP APPEND (RFC 3501 §6.3.11)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(user, self.users[user])
            status, data = client.append("INBOX", None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
        finally:
            client.logout()

    def reset_uid_validity(self, user: str) -> None:
        """Make the user's INBOX take a new UIDVALIDITY (as after a server migration or a rebuilt index):
        its UID list and indexes are removed; Dovecot numbers the messages again under UIDVALIDITY + 1."""
        for path in self.maildir(user).iterdir():
            if path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index"):
                path.unlink()

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
