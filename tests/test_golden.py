"""Golden files: the exact text of the CLI's DOT and JSON outputs for a small ruleset, so a change to any of
them shows up as a diff a reviewer reads, not as a silent drift downstream tools discover.

To accept a deliberate change: `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py`, then
read the diff of tests/golden/ before committing it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import run_cli

HERE = Path(__file__).resolve().parent
MINI = HERE / "fixtures" / "mini.yaml"
CASE = json.dumps({"age": 70, "known_cancer": True, "limb_weakness": False, "pain_site": "thoracic"})

OUTPUTS = {
    "mini.dot": ("graph", str(MINI), "--format", "dot"),
    "mini.evaluate.json": ("evaluate", str(MINI), "--inputs", CASE, "--format", "json"),
    "mini.evaluate-unknown.json": ("evaluate", str(MINI), "--inputs", "{}", "--format", "json"),
    "mini.validate.json": ("validate", str(MINI), "--format", "json"),
    "mini.verify.json": ("verify", str(MINI), "--format", "json"),
}


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_output_matches_its_golden_file(name: str) -> None:
    done = run_cli(*OUTPUTS[name], cwd=HERE.parent)
    assert "Traceback" not in done.stderr
    text = done.stdout.replace(str(HERE.parent), "<repo>")
    golden = HERE / "golden" / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(encoding="utf-8"), f"{name} differs from tests/golden/{name}"
