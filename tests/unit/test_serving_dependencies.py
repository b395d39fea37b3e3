"""`make run` installs only the server's own dependencies (`pip install -e .`): serving, the mock and the
sandbox must not import anything that only `.[dev]` brings (issue 10, "Also")."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Import names of the `.[dev]` extra (and of what those bring), none of which serving may need.
DEV_ONLY = [
    "pytest",
    "pytest_asyncio",
    "schemathesis",
    "hypothesis",
    "openapi_spec_validator",
    "prance",
    "ruff",
    "mypy",
    "aiosmtpd",
    "aiosmtplib",
    "fluenzr",  # the SDK (sdk/python)
]

PROGRAM = """
import sys, importlib.abc

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"serving imported a development-only module: {name}")
        return None

sys.meta_path.insert(0, Refuse())
from fluenzr_server import cli
from fluenzr_server.app import build_app
from fluenzr_server.settings import Settings
from fluenzr_mock.server import build_mock_app
import fluenzr_server.sandbox
build_app(Settings(_env_file=None, database_url="sqlite:///:memory:"))
build_mock_app()
cli.build_parser().parse_args(["dev"])
print("ok")
"""


def test_serving_imports_nothing_from_the_dev_extra() -> None:
    program = f"BLOCKED = {set(DEV_ONLY)!r}\n{PROGRAM}"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_make_run_installs_only_the_serving_dependencies() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = {
        line.split(":", 1)[0]: line for line in makefile.splitlines() if line and not line[0].isspace()
    }
    for target in ("run", "mock", "sandbox"):
        assert targets[target].startswith(f"{target}: install-serve "), targets[target]
    assert "-e .\n" in makefile  # the serve stamp installs the package without extras
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(requirement.startswith("schemathesis==") for requirement in dev)
