"""Layout rules a newcomer can rely on: the server never imports the mock, and each resource's wire
mapping lives in `fluenzr_server/wire/<resource>.py` (services use it, they do not define their own)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from fluenzr_server.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ["contacts", "groups", "campaigns", "email_accounts", "webhooks", "suppressions"]

_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import fluenzr_server, handlers
for package in (fluenzr_server, handlers):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" not in module.name:  # Alembic scripts run only inside Alembic
            importlib.import_module(module.name)
print(sorted(name for name in sys.modules if name.startswith("fluenzr_mock")))
"""


def test_the_server_package_does_not_import_the_mock() -> None:
    for path in [*(ROOT / "src").rglob("*.py")]:
        assert "fluenzr_mock" not in path.read_text(), f"{path} names the mock package"
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_server_cli_has_no_mock_command() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mock"])


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_resource_has_one_wire_mapping_that_its_service_uses(resource: str) -> None:
    wire = importlib.import_module(f"fluenzr_server.wire.{resource}")
    service = importlib.import_module(f"fluenzr_server.services.{resource}")
    assert service.present is wire.present
    assert "def present(" not in Path(service.__file__ or "").read_text()
