"""Crashes, as kill -9 makes them: a real process killed at each step of a release and of a save, and at random
moments. Afterwards there is either no release or a complete one, never a false alarm; a save is either in the
history or still on disk, never lost or half written; and the next action finishes what was left and works."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REVIEWER, ROOT, approved, keyring
from workbench.publish import lifecycle
from workbench.publish.published import published
from workbench.publish.repository import CRASH_ENV, Person, Repository

RELEASE = """
import sys
from pathlib import Path
from workbench.publish import lifecycle
from workbench.publish.repository import Person, Repository
from workbench.publish.signing import load_key, load_keyring
folder = Path(sys.argv[1])
outcome = lifecycle.release(Repository.open(folder.parent), folder.name, Person(sys.argv[2]), "sign-off",
                            load_key(sys.argv[2], None), load_keyring(required=False))
print("released" if outcome.ok else outcome.problems)
"""

SAVE = """
import sys
from pathlib import Path
from workbench.people import access
from workbench.files import read_versioned
path = Path(sys.argv[1])
text, version = read_versioned(path)
access.save_ruleset(access.Identity("Dr Ada Author", frozenset({"author"})), path, text + sys.argv[2], version,
                    "crash test")
print("saved")
"""

STEPS = ["release:signed", "commit:written", "commit:journal", "commit:landed", "commit:files"]


def run(script: str, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, CRASH_ENV: crash or ""}
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)


def releases_and_alarms(folder: Path) -> tuple[list[str], list[str]]:
    found, problems = published(folder.parent, keyring())
    history = lifecycle.history(Repository(folder.parent), folder.name, keyring())
    return [r.version for r in found], [p.message for p in [*problems, *history.problems]]


@pytest.mark.parametrize("step", STEPS)
def test_a_release_killed_at_each_step_leaves_no_release_or_a_whole_one(v1_copy: Path, signers: dict,
                                                                        step: str) -> None:
    approved(v1_copy, signers)
    done = run(RELEASE, str(v1_copy), REVIEWER, crash=step)
    assert done.returncode == -signal.SIGKILL, done.stderr
    versions, alarms = releases_and_alarms(v1_copy)
    landed = step in ("commit:landed", "commit:files")
    assert versions == (["1.0.0"] if landed else []) and alarms == []  # whole or nothing, and no false alarm
    state = lifecycle.review_state(Repository(v1_copy.parent), v1_copy.name, keyring())
    assert (state.state, state.last_release) == (("draft", "1.0.0") if landed else ("approved", None))
    again = run(RELEASE, str(v1_copy), REVIEWER)  # the next action finishes the job, or does the release now
    assert ("WB706" in again.stdout) if landed else (again.stdout.strip() == "released"), again.stdout
    assert releases_and_alarms(v1_copy) == (["1.0.0"], [])
    assert (v1_copy / "releases" / "1.0.0.json").is_file()
    status = subprocess.run(["git", "-C", str(v1_copy.parent), "status", "--porcelain"], capture_output=True,
                            text=True).stdout
    assert status == ""


@pytest.mark.parametrize("step", STEPS[1:])
def test_a_save_killed_at_each_step_is_in_the_history_or_on_disk_never_lost(v1_copy: Path, step: str) -> None:
    path = v1_copy / "ruleset.yaml"
    Repository.open(v1_copy.parent)
    before = path.read_bytes()
    done = run(SAVE, str(path), "# my careful edit\n", crash=step)
    assert done.returncode == -signal.SIGKILL, done.stderr
    on_disk = path.read_bytes()
    committed = Repository(v1_copy.parent).read(f"{v1_copy.name}/ruleset.yaml")
    assert on_disk == before + b"# my careful edit\n"  # written first, whole: never half a file
    assert committed in (before, on_disk)
    assert run(SAVE, str(path), "# another edit\n").stdout.strip() == "saved"
    assert Repository(v1_copy.parent).read(f"{v1_copy.name}/ruleset.yaml") == on_disk + b"# another edit\n"


KILLS = int(os.environ.get("WORKBENCH_CRASH_KILLS", "6"))


def test_releases_killed_at_random_moments_never_leave_half_a_release(v1_copy: Path, signers: dict) -> None:
    """KILLS real processes (200 with WORKBENCH_CRASH_KILLS=200), each killed a random time into a release of
    a fresh approval; after each: no release or a whole one, no false alarm, and the gate works again."""
    rng = random.Random(20261128)
    repository = Repository.open(v1_copy.parent)
    version = 0
    for _ in range(KILLS):
        version += 1
        text = (v1_copy / "ruleset.yaml").read_text(encoding="utf-8")
        current = text.split("version: ", 1)[1].split("\n", 1)[0]
        repository.commit({f"{v1_copy.name}/ruleset.yaml": text.replace(f"version: {current}",
                                                                          f"version: 1.{version}.0").encode()},
                          "Raise the version\n", Person("Dr Ada Author"))
        approved(v1_copy, signers)
        process = subprocess.Popen([sys.executable, "-c", RELEASE, str(v1_copy), REVIEWER], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.5))
        process.kill()
        process.communicate()
        versions, alarms = releases_and_alarms(v1_copy)
        assert alarms == [], alarms
        if f"1.{version}.0" not in versions:
            assert run(RELEASE, str(v1_copy), REVIEWER).stdout.strip() == "released"
        assert f"1.{version}.0" in releases_and_alarms(v1_copy)[0]
