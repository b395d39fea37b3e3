"""`make fuzz`'s configuration: the stateful phase runs without the objects pinned for the stateless ones
(scripts/fuzz.py `without_pins`), and keeps everything else."""

from __future__ import annotations

import importlib
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_fuzz_configs_carry_the_seeded_contact_and_the_stateful_one_has_no_pins() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        fuzz = importlib.import_module("fuzz")
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    config = ROOT / "schemathesis.toml"
    with tempfile.TemporaryDirectory() as folder:
        stateless = fuzz.rendered(config, Path(folder), "a.toml", ["ctc_a", "ctc_b"]).read_text()
        stateful = fuzz.rendered(config, Path(folder), "b.toml", ["ctc_a", "ctc_b"], pins=False).read_text()
    # Schemathesis reads no `${…}` in a dictionary's values: the seeded ids are written in.
    assert tomllib.loads(stateless)["dictionaries"]["seeded-contacts"]["values"] == ["ctc_a", "ctc_b"]
    assert stateless == config.read_text().replace('"${FUZZ_CONTACT_IDS}"', '"ctc_a", "ctc_b"')
    everything = tomllib.loads(stateless)
    kept = tomllib.loads(stateful)
    pinned = ("${FUZZ_GROUP_ID}", "${FUZZ_CAMPAIGN_ID}")
    assert all(pin in stateless for pin in pinned)
    assert not any(pin in stateful for pin in pinned)  # links carry those ids in the stateful phase
    assert {k: v for k, v in kept.items() if k != "operations"} == {
        k: v for k, v in everything.items() if k != "operations"
    }
    assert kept["operations"] == [op for op in everything["operations"] if op in kept["operations"]]
    assert len(kept["operations"]) == len(everything["operations"]) - 4
    (binding,) = [op for op in kept["operations"] if "body.contactIds[*]" in op.get("parameters", {})]
    assert binding["parameters"]["body.contactIds[*]"]["dictionary"] == "seeded-contacts"
