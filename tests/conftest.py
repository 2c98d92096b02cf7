"""Shared fixtures: paths to the shipped and test rulesets, and the console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHIPPED = ROOT / "rulesets" / "upper-back-pain"
MINI = FIXTURES / "mini.yaml"


def console_script() -> str:
    """The installed `workbench` script beside this interpreter (tests go through it, as users do)."""
    candidate = Path(sys.executable).parent / "workbench"
    return str(candidate) if candidate.exists() else shutil.which("workbench") or "workbench"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([console_script(), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def run_json(*args: str) -> tuple[int, object]:
    done = run_cli(*args, "--format", "json")
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def mini_text() -> str:
    return MINI.read_text(encoding="utf-8")


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped ruleset folder; tests never write into rulesets/."""
    target = tmp_path / "upper-back-pain"
    shutil.copytree(SHIPPED, target)
    return target
