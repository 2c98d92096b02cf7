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
V1 = FIXTURES / "upper-back-pain-1.0.0"
"""Upper back pain as released in 1.0.0, with its 56 vignettes, frozen: the tests of the machinery (release, API,
export, graph, UI) run on it, so they do not move when the shipped content does. Tests of the shipped content
use SHIPPED."""
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
def v1_copy(tmp_path: Path) -> Path:
    """A writable copy of the frozen 1.0.0 ruleset folder; tests never write into rulesets/ or fixtures/."""
    target = tmp_path / "upper-back-pain"
    shutil.copytree(V1, target)
    return target
