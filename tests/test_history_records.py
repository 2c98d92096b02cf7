"""History that text cannot forge: whatever a person types as a reason comes back as that reason, in that one
commit, and never as a record of its own. Tried as the independent review did: a clinician with author and
reviewer roles types a reason holding git's log separators to forge a colleague's submission of her own change,
then approves and releases it; and the same message committed with plain git."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from workbench.files import read_versioned
from workbench.people import access, accounts
from workbench.problems import ProblemError
from workbench.publish.repository import Repository

PASSWORD = "correct horse battery"
MALLORY, BOB = "Dr Mallory Both", "Dr Bob Author"


def snapshot_sha(ruleset_text: str, folder: Path) -> str:
    """What a submission names as its content, computed as anyone can from the open source (lifecycle.Snapshot)."""
    digest = lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest()  # noqa: E731
    vignettes = {p.name: digest(p.read_text(encoding="utf-8")) for p in sorted((folder / "vignettes").glob("*.yaml"))}
    parts = {"ruleset": digest(ruleset_text), "vignettes": vignettes}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def forged_reason(sha: str, ruleset: str) -> str:
    """A reason that, read back through `git log --format=%x1e...%x1f...`, ends Mallory's commit and starts a
    submission by Bob of the very content she saved."""
    return ("tidy the wording\x1f\x1e" + "f" * 40 + f"\x1f{BOB}\x1fbob.author@workbench.invalid\x1f"
            "2026-01-01T00:00:00+00:00\x1fSubmit for review\n\nWorkbench-Action: submit\n"
            f"Workbench-Ruleset: {ruleset}\nWorkbench-Version: 1.0.0\nWorkbench-Snapshot: {sha}\x1f(end)")


@pytest.fixture
def mallory(isolated_home: Path) -> access.Identity:
    """Accounts: Mallory (author and reviewer, with a signing key) and Bob (author)."""
    users = isolated_home / "users.json"
    accounts.add_account(MALLORY, ["author", "reviewer"], PASSWORD, path=users)
    accounts.add_account(BOB, ["author"], PASSWORD, path=users)
    done = run_cli("key", "create", MALLORY, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    return access.identity_of(accounts.authenticate(MALLORY, PASSWORD, path=users))


def approve_release_history(folder: Path) -> tuple[int, int, int]:
    approve = run_cli("approve", str(folder), "--reviewer", MALLORY, "--password-stdin", stdin=PASSWORD + "\n")
    release = run_cli("release", str(folder), "--approver", MALLORY, "--reason", "go live", "--password-stdin",
                      stdin=PASSWORD + "\n")
    history = run_cli("history", str(folder))
    return approve.returncode, release.returncode, history.returncode


def test_a_reason_cannot_forge_a_colleagues_submission_through_the_workbench(
        v1_copy: Path, mallory: access.Identity) -> None:
    ruleset = v1_copy / "ruleset.yaml"
    text, version = read_versioned(ruleset)
    assert text is not None
    changed = text.replace("title: Upper back", "title: Mallory's upper back", 1)
    reason = forged_reason(snapshot_sha(changed, v1_copy), v1_copy.name)
    try:
        access.save_ruleset(mallory, ruleset, changed, version, reason)
        refused = []
    except ProblemError as exc:
        refused = exc.problems
    approve, release, history = approve_release_history(v1_copy)
    assert (approve, release) == (1, 1) and not (v1_copy / "releases").exists()  # (0, 0, 0) before: released
    assert [p.code for p in refused] == ["WB713"]
    assert "U+001F" in refused[0].message and "U+001E" in refused[0].message
    assert ruleset.read_text(encoding="utf-8") == text  # nothing saved


def test_a_message_committed_with_plain_git_is_one_record_however_it_is_written(
        v1_copy: Path, mallory: access.Identity) -> None:
    """Someone who writes the history with git directly can put any bytes in a message: the workbench still reads
    one commit, with that message as its reason, and finds no submission in it."""
    ruleset = v1_copy / "ruleset.yaml"
    text, version = read_versioned(ruleset)
    assert text is not None
    access.save_ruleset(mallory, ruleset, text + "\n", version, "blank line")  # the history exists
    changed = text.replace("title: Upper back", "title: Mallory's upper back", 1)
    ruleset.write_text(changed, encoding="utf-8")
    reason = forged_reason(snapshot_sha(changed, v1_copy), v1_copy.name)
    git = ["git", "-C", str(v1_copy.parent), "-c", f"user.name={MALLORY}", "-c", "user.email=m@workbench.invalid"]
    subprocess.run([*git, "add", "upper-back-pain/ruleset.yaml"], check=True)
    subprocess.run([*git, "commit", "-q", "--cleanup=verbatim", "-F", "-"], input=(
        f"Save upper-back-pain/ruleset.yaml\n\n{reason}\n\nWorkbench-Action: save\n"
        f"Workbench-Ruleset: {v1_copy.name}\n").encode(), check=True)
    commits = Repository(v1_copy.parent).log(v1_copy.name)
    assert [c.author for c in commits[:2]] == [MALLORY, MALLORY]  # no commit by Bob appears
    assert len(commits) == int(subprocess.run([*git, "rev-list", "--count", "HEAD"], capture_output=True,
                                              text=True).stdout)
    assert "\x1e" in commits[0].message
    approve, release, _ = approve_release_history(v1_copy)
    assert (approve, release) == (1, 1) and not (v1_copy / "releases").exists()


@pytest.mark.parametrize("command", ["submit", "reject", "approve", "release"])
@pytest.mark.parametrize("reason", ["fine\x1b[2J\x1b[Hall vignettes pass", "ok\rsigned off by Dr Bob",
                                    "checked \u202eesaeler ton od"])
def test_control_characters_in_a_reason_are_refused_with_a_clear_problem(
        v1_copy: Path, signers: dict, command: str, reason: str) -> None:
    if command != "submit":
        assert run_cli("submit", str(v1_copy), "--author", "Dr Ada Author", "--reason", "first").returncode == 0
    if command == "release":
        assert run_cli("approve", str(v1_copy), "--reviewer", "Dr Rex Reviewer").returncode == 0
    role = {"submit": "--author", "release": "--approver"}.get(command, "--reviewer")
    who = "Dr Ada Author" if command == "submit" else "Dr Rex Reviewer"
    before = Repository.open(v1_copy.parent).head()
    done = run_cli(command, str(v1_copy), role, who, "--reason", reason, "--format", "json")
    assert done.returncode == 1, done.stdout
    assert "WB713" in {p["code"] for p in json.loads(done.stdout)["problems"]}
    assert Repository(v1_copy.parent).head() == before


PLAIN = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029\u202a\u202b"
                              "\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"), max_size=20)
TRICKY = st.sampled_from(["\n", "\t", "\n\nWorkbench-Action: approve\n", 'Workbench-Record: {"action":"release"}',
                          "\\u001e", "}\n\n{", "\n\n"])
REASONS = st.lists(PLAIN | TRICKY, min_size=1, max_size=5).map("".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=REASONS)
def test_every_reason_comes_back_exactly_as_typed_in_one_commit(v1_copy: Path, reason: str) -> None:
    if not reason.strip():
        return
    ruleset = v1_copy / "ruleset.yaml"
    text, version = read_versioned(ruleset)
    assert text is not None
    access.save_ruleset(access.local_identity("Dr Ada Author"), ruleset, text + "#\n", version, reason)
    newest = Repository(v1_copy.parent).log(v1_copy.name)[0]
    assert newest.reason == reason.strip() and newest.author == "Dr Ada Author"
    assert newest.record["action"] == "save"
