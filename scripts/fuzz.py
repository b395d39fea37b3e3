"""`make fuzz`: Schemathesis against a freshly started server, over HTTP, against the YAML contract.

Targets: `sqlite` and `postgresql` run the real server (two pro tenants as peers, every check, every
phase including the stateful one); `mock` runs the mock server (stateless phases). Exit status is
Schemathesis's; a failure prints its reproduction (curl) lines and the server log's tail.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "fluenzr-v1.yaml"
BIN = Path(sys.executable).parent
STATELESS = "examples,coverage,fuzzing"
ALL_PHASES = "examples,coverage,fuzzing,stateful"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    command = [str(BIN / "fluenzr-server"), *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def fresh_postgres(admin_url: str, name: str) -> str:
    from fluenzr_server.store.engine import sync_url

    engine = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sync_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, name: str) -> None:
    from fluenzr_server.store.engine import sync_url

    engine = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def wait_healthy(base_url: str, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit("server did not become healthy within 30 s")


def seed_objects(base_url: str, api_key: str) -> dict[str, str]:
    """A ready-to-start campaign and a group, so operations on them meet real objects in every phase."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as http:
        account = http.post(
            "/email-accounts",
            json={
                "fromEmail": "fuzz@acme.example",
                "fromName": "Fuzz",
                "smtp": {"host": "smtp.acme.example", "port": 587, "username": "fuzz", "password": "pw"},
            },
        ).json()["data"]["id"]
        contact = http.post("/contacts", json={"email": "seeded@example.com"}).json()["data"]["id"]
        body = {"name": "Fuzz seed", "emailAccountId": account, "steps": [{"subject": "Hi", "body": "Hello"}]}
        campaign = http.post("/campaigns", json=body).json()["data"]["id"]
        http.post(f"/campaigns/{campaign}/contacts", json={"contactIds": [contact]}).raise_for_status()
        group = http.post("/groups", json={"name": "Fuzz seed"}).json()["data"]["id"]
        return {
            "FUZZ_CAMPAIGN_ID": str(campaign),
            "FUZZ_GROUP_ID": str(group),
            "FUZZ_CONTACT_ID": str(contact),
        }


def seed_contacts(base_url: str, api_key: str, tag: str, count: int = 20) -> list[str]:
    """Contacts whose ids fill the `seeded-contacts` dictionary. Several: every phase deletes a few of the
    contacts it finds in list responses, and a body naming one deleted contact is a 400 like any other."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as http:
        ids = []
        for number in range(count):
            response = http.post(
                "/contacts", json={"email": f"seeded-{tag}-{number}-{os.getpid()}@example.com"}
            )
            response.raise_for_status()
            ids.append(str(response.json()["data"]["id"]))
        return ids


PINS_BEGIN = "# --- pinned objects: begin"
PINS_END = "# --- pinned objects: end"


def rendered(config: Path, folder: Path, name: str, contact_ids: list[str], *, pins: bool = True) -> Path:
    """A copy of the Schemathesis config in `folder`, with the seeded contacts' ids written into it (a
    dictionary's `values` are not read for `${…}` variables, unlike parameters), and, for the stateful
    phase, without its pinned objects (`pins=False`): there every id comes from a link (a pin would
    override the id of the object just created), and an object pinned for the stateless phases may be
    gone by then (one of them may delete it, which is not a server bug)."""
    text = config.read_text().replace('"${FUZZ_CONTACT_IDS}"', ", ".join(f'"{i}"' for i in contact_ids))
    if not pins:
        start, end = text.index(PINS_BEGIN), text.index(PINS_END)
        text = text[:start] + text[text.index("\n", end) + 1 :]
    copy = folder / name
    copy.write_text(text)
    return copy


def write_auth_file(path: Path, keys: dict[str, str]) -> None:
    lines = ["auth:"]
    for name, key in keys.items():
        lines += [
            f"  - name: {name}",
            "    fixedHeaders:",
            f'      - {{name: Authorization, value: "Bearer {key}"}}',
        ]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=["sqlite", "postgresql", "mock"], default="sqlite")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", "25")))
    parser.add_argument("--phases", default=None, help=f"default: {ALL_PHASES} (mock: {STATELESS})")
    parser.add_argument("--seed", default=os.environ.get("FUZZ_SEED"))
    parser.add_argument("extra", nargs="*", help="more Schemathesis options, after `--` (e.g. --report vcr)")
    args = parser.parse_args()
    extra: list[str] = args.extra

    with tempfile.TemporaryDirectory(prefix="fluenzr-fuzz-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        env = {
            **os.environ,
            "FLUENZR_ENVIRONMENT": "test",
            "FLUENZR_VALIDATE_RESPONSES": "1",
            "FLUENZR_RATE_LIMIT": "100000000/minute",
            # The API alone: the engine would send to the fuzzed hosts and pause campaigns by itself.
            "FLUENZR_ENGINE": "off",
            # testWebhook (and the engine, when embedded) deliver to the generated URLs: keep it on loopback.
            "FLUENZR_WEBHOOK_LOOPBACK_ONLY": "1",
        }
        if args.target == "mock":
            command = [str(BIN / "fluenzr-mock"), "--port", str(port), "--seed", "1"]
            config = ROOT / "mock" / "schemathesis.toml"
            phases = args.phases or STATELESS
        else:
            if args.target == "postgresql":
                admin = os.environ.get("FLUENZR_TEST_POSTGRES_URL")
                if not admin:
                    sys.exit("set FLUENZR_TEST_POSTGRES_URL (bash .ci/services.sh prints it)")
                # One database per run: concurrent runs on a shared server must not drop each other's.
                env["FLUENZR_DATABASE_URL"] = fresh_postgres(admin, f"fluenzr_fuzz_{os.getpid()}")
            else:
                env["FLUENZR_DATABASE_URL"] = f"sqlite:///{workdir / 'fuzz.db'}"
            cli(env, "migrate")
            keys = {
                name: cli(env, "accounts", "create", "--name", name, "--plan", "pro").strip().splitlines()[-1]
                for name in ("tenant-a", "tenant-b")
            }
            write_auth_file(workdir / "auth.yaml", keys)
            env["FUZZ_AUTH_FILE"] = str(workdir / "auth.yaml")
            env["FUZZ_HOOKS"] = str(ROOT / "scripts" / "fuzz_hooks.py")
            command = [str(BIN / "fluenzr-server"), "serve", "--port", str(port)]
            config = ROOT / "schemathesis.toml"
            phases = args.phases or ALL_PHASES

        log = workdir / "server.log"
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_healthy(base_url, server, log)
            if args.target != "mock":
                env.update(seed_objects(base_url, keys["tenant-a"]))
            # The stateful phase runs on its own, after the others, without the pins (`rendered`).
            wanted = phases.split(",")
            runs = [(True, ",".join(p for p in wanted if p != "stateful"))]
            if "stateful" in wanted and args.target != "mock":
                runs = [run for run in runs if run[1]] + [(False, "stateful")]
            status = 0
            for pins, run_phases in runs:
                run_config = config
                if args.target != "mock":
                    name = "stateless" if pins else "stateful"
                    contacts = seed_contacts(base_url, keys["tenant-a"], name)
                    run_config = rendered(config, workdir, f"schemathesis-{name}.toml", contacts, pins=pins)
                fuzz = [
                    str(BIN / "schemathesis"),
                    "--config-file",
                    str(run_config),
                    "run",
                    str(SPEC),
                    "--url",
                    base_url,
                    "--checks",
                    "all",
                    "--phases",
                    run_phases,
                    "--max-examples",
                    str(args.examples),
                    "--workers",
                    # One worker against the real server: every worker acts as the same tenant, and a second
                    # one deletes objects (found through list responses) that the first has just created.
                    "2" if args.target == "mock" else "1",
                ]
                if args.target == "mock":
                    # The mock accepts any token by design; ignored_auth probes with a bogus one, wants a 401.
                    fuzz += ["--exclude-checks", "ignored_auth"]
                if args.seed:
                    fuzz += ["--seed", args.seed]
                fuzz += extra
                print(f"fuzz[{args.target}]: {' '.join(fuzz)}", flush=True)
                status = subprocess.run(fuzz, env=env, cwd=workdir).returncode or status
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
            if args.target == "postgresql":
                drop_postgres(os.environ["FLUENZR_TEST_POSTGRES_URL"], f"fluenzr_fuzz_{os.getpid()}")
        errors = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        if status != 0 or errors:
            print(f"\n--- server log tail ({log}) ---\n" + log.read_text(errors="replace")[-6000:])
        if errors and status == 0:
            print("fuzz: the server logged errors although every check passed")
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main())
