"""Shared fixtures: paths to the shipped and test rulesets, and the console script."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.drafts import DRAFTS_ENV
from workbench.publish import lifecycle
from workbench.publish.repository import Person, Repository
from workbench.publish.signing import KEYRING_ENV, KEYS_ENV, Keyring, SigningKey, create_key, load_keyring, trust

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHIPPED = ROOT / "rulesets" / "upper-back-pain"
V1 = FIXTURES / "upper-back-pain-1.0.0"
"""Upper back pain as released in 1.0.0, with its 56 vignettes, frozen: the tests of the machinery (release, API,
export, graph, UI) run on it, so they do not move when the shipped content does. Tests of the shipped content
use SHIPPED."""
V2 = FIXTURES / "upper-back-pain-2.0.0"
"""Upper back pain as released in 2.0.0 (brief version 2), with its 140 vignettes, frozen: the version 3.0.0 is
compared with and released beside."""
MINI = FIXTURES / "mini.yaml"


def console_script() -> str:
    """The installed `workbench` script beside this interpreter (tests go through it, as users do)."""
    candidate = Path(sys.executable).parent / "workbench"
    return str(candidate) if candidate.exists() else shutil.which("workbench") or "workbench"


@dataclass(frozen=True)
class CliRun:
    """What one run of the CLI gave: its exit code and what it wrote (as subprocess.CompletedProcess has them)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path = ROOT, stdin: str = "", env: dict[str, str] | None = None) -> CliRun:
    """The CLI run in this process, as sqlite-utils tests its own: the same arguments, exit code and output as
    the console script, without a second of interpreter start-up each time. (test_cli.py runs the installed
    script itself, to show the two are the same program.)"""
    from workbench.cli import main

    saved, folder = (sys.stdin, sys.stdout, sys.stderr), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    environment = dict(os.environ)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        code = main(list(args))
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(environment)
    return CliRun(code, out.getvalue(), err.getvalue())


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


# --- people, keys and the history -------------------------------------------------------------------

AUTHOR, REVIEWER = "Dr Ada Author", "Dr Rex Reviewer"


@pytest.fixture(autouse=True, scope="session")
def components_scanned_once() -> Iterator[None]:
    """Each new AppTest scans every installed package's metadata for Streamlit components (0.47 s, 45 % of the
    AppTest tests' time, measured with cProfile); the packages do not change during a run, so it is scanned once."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    patch = pytest.MonkeyPatch()
    patch.setattr(manifest_scanner, "scan_component_manifests", lambda *args, **kwargs: list(found))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test has its own (empty) accounts file, keys folder, keyring and drafts, never the developer's, and outside
    any rulesets folder the test works on. Its own MonkeyPatch, so a test's monkeypatch.undo() keeps it."""
    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_HOME", str(home))
    patch.setenv("DOWNSTREAM_STATE", str(home / "trusted-releases.json"))
    patch.setenv("WORKBENCH_USERS", str(home / "users.json"))
    patch.setenv(KEYS_ENV, str(home / "keys"))
    patch.setenv(KEYRING_ENV, str(home / "keyring.json"))
    patch.setenv(DRAFTS_ENV, str(home / "drafts"))
    yield home
    patch.undo()


@pytest.fixture
def signers(isolated_home: Path) -> dict[str, SigningKey]:
    """Signing keys for the author and the reviewer, both trusted by the keyring."""
    made = {}
    for name in (AUTHOR, REVIEWER):
        _, key = create_key(name, None, isolated_home / "keys")
        trust(name, key.key.public_key(), isolated_home / "keyring.json")
        made[name] = key
    return made


@pytest.fixture
def key_for(isolated_home: Path):  # type: ignore[no-untyped-def]
    """name -> that person's signing key, made and trusted on first use."""
    made: dict[str, SigningKey] = {}

    def get(name: str) -> SigningKey:
        if name not in made:
            _, made[name] = create_key(name, None, isolated_home / "keys")
            trust(name, made[name].key.public_key(), isolated_home / "keyring.json")
        return made[name]
    return get


def keyring() -> Keyring:
    return load_keyring(required=False)


def submitted(folder: Path, author: str = AUTHOR) -> lifecycle.Outcome:
    repository = Repository.open(folder.parent)
    outcome = lifecycle.submit(repository, folder.name, Person(author), "first version", keyring())
    assert outcome.ok, outcome.problems
    return outcome


def approved(folder: Path, signers: dict[str, SigningKey], author: str = AUTHOR,
             reviewer: str = REVIEWER) -> lifecycle.Outcome:
    submitted(folder, author)
    outcome = lifecycle.approve(Repository.open(folder.parent), folder.name, Person(reviewer), "checked",
                                signers[reviewer], keyring())
    assert outcome.ok, outcome.problems
    return outcome


def released(folder: Path, signers: dict[str, SigningKey], author: str = AUTHOR, reviewer: str = REVIEWER) -> Path:
    """Submit, approve and release the ruleset in `folder` through the gate; the release file."""
    approved(folder, signers, author, reviewer)
    outcome = lifecycle.release(Repository.open(folder.parent), folder.name, Person(reviewer), "clinical sign-off",
                                signers[reviewer], keyring())
    assert outcome.ok, outcome.problems
    assert outcome.release is not None and outcome.release.path is not None
    return folder.parent / outcome.release.path
