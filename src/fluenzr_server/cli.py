"""`fluenzr-server serve | dev | sandbox | migrate | accounts create | keys create | keys revoke`.

`Settings()` is read once, in `main`, and handed to the command; commands that touch the database open
one `Resources` from them and close it when done. (The mock has its own command: `fluenzr-mock`.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts
from fluenzr_server.settings import Settings
from fluenzr_server.store.database import Database
from fluenzr_server.store.migrate import upgrade

T = TypeVar("T")
DEV_KEY_FILE = Path(".fluenzr") / "dev-api-key"


Command = Callable[[argparse.Namespace, Settings], None]


def with_resources(settings: Settings, action: Callable[[Resources], Awaitable[T]]) -> T:
    """Run `action` on one `Resources` opened from `settings` (closed afterwards), in a fresh event loop."""

    async def run() -> T:
        resources = Resources.open(settings)
        try:
            return await action(resources)
        finally:
            await resources.close()

    return asyncio.run(run())


def _with_db(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    return with_resources(settings, lambda resources: action(resources.database))


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from fluenzr_server.app import build_app
    from fluenzr_server.engine.embedded import embedded

    if workers > 1 and not settings.redis_url:
        print(
            "warning: several workers without FLUENZR_REDIS_URL keep separate rate-limit windows",
            file=sys.stderr,
        )
    # One worker serves the app built from these settings; several need an import string, and each
    # worker process then reads the same environment once (`app.asgi`).
    # The sending engine runs inside the app (its lifespan) unless FLUENZR_ENGINE=off.
    target: Any = build_app(settings, lifespan=embedded) if workers == 1 else "fluenzr_server.app:asgi"
    uvicorn.run(
        target,
        factory=workers > 1,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    _serve(settings, args.host, args.port, args.workers)


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> None:
    """The engine's tasks without the API, until SIGTERM/SIGINT (any number of these on PostgreSQL)."""
    import logging
    import signal

    from fluenzr_server.engine.process import run_engine

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print(f"worker {os.getpid()} running", flush=True)
        await run_engine(settings, stop)

    asyncio.run(run())


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> None:
    upgrade(settings.database_url)
    print("database is at the latest schema")


def cmd_accounts_create(args: argparse.Namespace, settings: Settings) -> None:
    async def action(db: Database) -> accounts.IssuedKey:
        account_id = await accounts.create_account(db, name=args.name, plan=args.plan)
        return await accounts.create_key(db, account_id=account_id)

    issued = _with_db(settings, action)
    print(f"account {issued.account_id} ({args.plan}) created; its API key is shown once, below:")
    print(issued.plaintext)


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> None:
    try:
        issued = _with_db(settings, lambda db: accounts.create_key(db, account_id=args.account))
    except LookupError as exc:
        sys.exit(f"error: {exc}")
    print(f"key created for {issued.account_id}; shown once, below:")
    print(issued.plaintext)


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> None:
    try:
        count = _with_db(settings, lambda db: accounts.revoke_keys(db, key_prefix=args.key_prefix))
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    if not count:
        sys.exit("error: no live key matches that prefix")
    print(f"revoked {count} key(s)")


def cmd_dev(args: argparse.Namespace, settings: Settings) -> None:
    """Local development: migrate, make a pro account and key on first run, print how to use it, serve."""
    upgrade(settings.database_url)
    key = DEV_KEY_FILE.read_text().strip() if DEV_KEY_FILE.exists() else ""
    if not key:

        async def action(db: Database) -> accounts.IssuedKey:
            account_id = await accounts.create_account(db, name="Local development", plan="pro")
            return await accounts.create_key(db, account_id=account_id)

        key = _with_db(settings, action).plaintext
        DEV_KEY_FILE.parent.mkdir(exist_ok=True)
        DEV_KEY_FILE.write_text(key + "\n")
        os.chmod(DEV_KEY_FILE, 0o600)
    base = f"http://{args.host}:{args.port}/v1"
    print(
        f"\nFluenzR API on {base}  (Swagger UI: {base}/ui/)\n"
        f"Your local pro API key (also in {DEV_KEY_FILE}):\n\n    {key}\n\n"
        f"Try it:\n\n    curl -s -H 'Authorization: Bearer {key}' {base}/contacts\n",
        flush=True,
    )
    _serve(settings, args.host, args.port, 1)


def cmd_sandbox(args: argparse.Namespace, _settings: Settings) -> None:
    # The sandbox builds its own settings: a throwaway database, whatever FLUENZR_DATABASE_URL says.
    from fluenzr_server.sandbox import run_sandbox

    run_sandbox(host=args.host, port=args.port)


def cmd_smtp_sink(args: argparse.Namespace, _settings: Settings) -> None:
    """A local SMTP server that prints each message it receives and keeps it in a Maildir folder."""
    import logging

    from fluenzr_server.engine.smtp_sink import ReceivedMessage, SmtpSink, serve

    # aiosmtpd warns that AUTH without TLS is unsafe: on a local sink on loopback that is the point.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    credentials: tuple[str, str] | None = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        credentials = (user, password)

    def ready(sink: SmtpSink) -> None:
        where = f" and keeps them in {args.maildir}" if args.maildir else ""
        auth = "AUTH required" if credentials else "any AUTH accepted"
        print(f"SMTP sink on {sink.host}:{sink.port} ({auth}); prints each message{where}", flush=True)

    def show(message: ReceivedMessage) -> None:
        print(f"{message.received_at:%H:%M:%S} {message.summary()}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                host=args.host,
                port=args.port,
                maildir=args.maildir,
                credentials=credentials,
                on_message=None if args.quiet else show,
                on_ready=ready,
            )
        )


def cmd_imap_mailbox(args: argparse.Namespace, _settings: Settings) -> None:
    """A local IMAP mailbox (a throwaway Dovecot) to drop replies and bounce reports into."""
    import signal
    import time

    from fluenzr_server.engine.imap_mailbox import Dovecot

    server = Dovecot(Path(args.dir), users={args.user: args.password}, port=args.port)
    try:
        server.start()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    where = f"imap://127.0.0.1:{server.port}/INBOX"
    print(
        f"IMAP mailbox on 127.0.0.1:{server.port} (plain IMAP, loopback only), maildir in "
        f"{server.maildir(args.user)}\n"
        f'Email account settings: "imap": {{"host": "127.0.0.1", "port": {server.port}, '
        f'"username": "{args.user}", "password": "{args.password}", "security": "none"}} '
        "(the API needs FLUENZR_ALLOW_PRIVATE_HOSTS=1)\n"
        f"Drop a message into it:  curl -T reply.eml '{where}' -u {args.user}:{args.password}",
        flush=True,
    )

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fluenzr-server", description="FluenzR API server and tools")
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Command, help_text: str, **kw: Any) -> Any:
        sub = commands.add_parser(name, help=help_text, **kw)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "serve the API (run `migrate` first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    dev = add("dev", cmd_dev, "migrate, create a local pro key on first run, and serve (make run)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    add("migrate", cmd_migrate, "upgrade the database to the latest schema")
    add("worker", cmd_worker, "run the sending engine without the API (any number of them on PostgreSQL)")

    sandbox = add(
        "sandbox", cmd_sandbox, "the real server on a throwaway database with demo data (make sandbox)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=4020)

    sink = add("smtp-sink", cmd_smtp_sink, "a local SMTP server that prints and keeps what it receives")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=2525, help="0 picks a free port")
    sink.add_argument("--maildir", default=None, help="also keep each message in this Maildir folder")
    sink.add_argument("--auth", default=None, metavar="USER:PASSWORD", help="require these credentials")
    sink.add_argument("--quiet", action="store_true", help="print nothing per message (benchmarks)")

    mailbox = add(
        "imap-mailbox", cmd_imap_mailbox, "a local IMAP mailbox (Dovecot) to drop replies into (as root)"
    )
    mailbox.add_argument("--port", type=int, default=1143)
    mailbox.add_argument("--dir", default=".fluenzr/imap", help="its configuration and maildir")
    mailbox.add_argument("--user", default="sales")
    mailbox.add_argument("--password", default="sales-password")

    accounts_cmd = commands.add_parser("accounts", help="manage accounts")
    accounts_sub = accounts_cmd.add_subparsers(dest="accounts_command", required=True)
    create = accounts_sub.add_parser("create", help="create an account and its first API key")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, choices=accounts.PLANS)
    create.set_defaults(handler=cmd_accounts_create)

    keys_cmd = commands.add_parser("keys", help="manage API keys")
    keys_sub = keys_cmd.add_subparsers(dest="keys_command", required=True)
    key_create = keys_sub.add_parser("create", help="issue another key for an account")
    key_create.add_argument("--account", required=True)
    key_create.set_defaults(handler=cmd_keys_create)
    key_revoke = keys_sub.add_parser(
        "revoke", help="revoke keys by their first characters (fz_live_XXXXXXXX)"
    )
    key_revoke.add_argument("key_prefix")
    key_revoke.set_defaults(handler=cmd_keys_revoke)
    return parser


def main(argv: list[str] | None = None) -> None:
    # Connexion imports Starlette's TestClient at start-up, which warns about httpx; not ours to act on.
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    args = build_parser().parse_args(argv)
    command: Command = args.handler
    command(args, Settings())


if __name__ == "__main__":
    main()
