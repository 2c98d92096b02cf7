"""Faults: a full or read-only disk, a damaged release file, no Graphviz, a ruleset folder deleted while in use.

Each gives a clear problem (never a traceback) and loses nothing: the file on disk after a failed save is the
file from before it, byte for byte, and a failed release leaves no half-written release or history.
Tests run as root in CI, where chmod does not stop writes, so the read-only disk is also simulated.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.asgi_support import call
from tests.conftest import V1, run_cli
from tests.downstream_support import KEYRING, shipped_data, write_release
from workbench import files, load_ruleset
from workbench.api import create_app
from workbench.drawing.graph import GraphvizNotFound, render
from workbench.files import read_versioned
from workbench.people import access
from workbench.people.access import Identity
from workbench.problems import ProblemError
from workbench.publish import lifecycle
from workbench.publish.export import export
from workbench.publish.published import published
from workbench.publish.repository import GitError, Repository
from workbench.publish.signing import SigningKey
from workbench.run.engine import RulesetError
from workbench.run.replay import replay_ruleset

AUTHOR = Identity("Dr Ada Author", frozenset({"author", "qa"}))
REVIEWER = Identity("Dr Rex Reviewer", frozenset({"reviewer"}))


def codes(problems: list[Any]) -> set[str]:
    return {p.code for p in problems}


def failing(code: int) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))
    return fail


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def everything(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


# --- a full or read-only disk during a save ---------------------------------------------------

@pytest.mark.parametrize(("target", "code", "words"), [
    ("tempfile.mkstemp", errno.ENOSPC, "the disk is full"),
    ("os.fsync", errno.ENOSPC, "the disk is full"),
    ("os.replace", errno.ENOSPC, "the disk is full"),
    ("tempfile.mkstemp", errno.EROFS, "the disk is read-only"),
    ("os.replace", errno.EROFS, "the disk is read-only"),
    ("tempfile.mkstemp", errno.EDQUOT, "quota"),
    ("os.replace", errno.EACCES, "no permission"),
])
@pytest.mark.parametrize("kind", ["ruleset", "vignettes"])
def test_a_save_the_disk_refuses_is_a_clear_problem_and_the_file_is_untouched(
        v1_copy: Path, monkeypatch: pytest.MonkeyPatch, target: str, code: int, words: str, kind: str) -> None:
    Repository.open(v1_copy.parent)  # the rulesets folder has its history already, as it does once ./run ran
    path = v1_copy / "ruleset.yaml" if kind == "ruleset" else sorted((v1_copy / "vignettes").glob("*"))[0]
    text, version = read_versioned(path)
    module, name = target.split(".")
    monkeypatch.setattr({"os": os, "tempfile": tempfile}[module], name, failing(code))
    save = access.save_ruleset if kind == "ruleset" else access.save_vignettes
    with pytest.raises(ProblemError) as refused:
        save(AUTHOR, path, (text or "") + "# my careful edit\n", version)
    monkeypatch.undo()
    problem = refused.value.problems[0]
    assert problem.code == "WB1020" and words in problem.message and "Nothing on disk was changed" in problem.message
    assert read_versioned(path) == (text, version)
    assert leftovers(v1_copy) == []
    assert save(AUTHOR, path, (text or "") + "# my careful edit\n", version)  # nothing stuck: it saves now


def test_a_really_full_disk_is_refused_by_the_kernel_and_the_file_is_untouched(v1_copy: Path) -> None:
    """A real write failure, not a stand-in: the save runs in a process whose files may not grow past 4 KiB."""
    path = v1_copy / "ruleset.yaml"
    before = path.read_bytes()
    Repository.open(v1_copy.parent)
    script = f"""
import resource, signal, sys
from pathlib import Path
from workbench.people import access
from workbench.problems import ProblemError
from workbench.files import read_versioned
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
path = Path({str(path)!r})
text, version = read_versioned(path)
try:
    access.save_ruleset(access.Identity("Dr A", frozenset({{"author"}})), path, text + "#" * 100_000, version)
except ProblemError as exc:
    print(exc.problems[0].code, exc.problems[0].message)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("WB1020 ruleset.yaml could not be saved: the file would be larger"), done.stderr
    assert path.read_bytes() == before and leftovers(v1_copy) == []


def without_root_powers() -> list[str]:
    """The command prefix that takes root's power to write anywhere away, so a read-only folder means what it
    says even in CI, which runs as root (setpriv drops every capability; the user id stays)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test a read-only folder as root"
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def test_a_read_only_folder_refuses_the_save_with_a_clear_problem(v1_copy: Path) -> None:
    path = v1_copy / "ruleset.yaml"
    text, version = read_versioned(path)
    Repository.open(v1_copy.parent)
    script = f"""
from pathlib import Path
from workbench.people import access
from workbench.problems import ProblemError
from workbench.files import read_versioned
path = Path({str(path)!r})
text, version = read_versioned(path)
try:
    access.save_ruleset(access.Identity("Dr A", frozenset({{"author"}})), path, text + "# edit\\n", version)
except ProblemError as exc:
    print(exc.problems[0].code, exc.problems[0].message)
"""
    v1_copy.chmod(0o555)
    try:
        done = subprocess.run([*without_root_powers(), sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60)
    finally:
        v1_copy.chmod(0o755)
    assert done.stdout.startswith("WB1020 ruleset.yaml could not be saved"), done.stdout + done.stderr
    assert "no permission" in done.stdout
    assert read_versioned(path) == (text, version) and leftovers(v1_copy) == []


# --- a full disk during review and release ----------------------------------------------------

@pytest.fixture
def approved(v1_copy: Path, key_for: Any) -> Path:
    assert access.submit(AUTHOR, v1_copy, "ready").ok
    assert access.approve(REVIEWER, v1_copy, "checked", key_for(REVIEWER.name)).ok
    return v1_copy


def history_of(folder: Path) -> lifecycle.History:
    return lifecycle.history(Repository(folder.parent), folder.name, access.keyring())


@pytest.mark.parametrize("step", ["hash-object", "commit-tree", "update-ref"])
def test_a_release_the_disk_refuses_leaves_no_release_and_can_be_retried(approved: Path, step: str, key_for: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    before, head = everything(approved), Repository(approved.parent).head()
    real = Repository.git

    def full(self: Repository, *args: str, **kwargs: Any) -> str:
        if args and args[0] == step:
            raise GitError([files.Problem("WB1020", "The history cannot be written: the disk is full. Nothing "
                                          "was recorded; free some space and try again.")])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Repository, "git", full)
    with pytest.raises(ProblemError) as refused:
        access.release(REVIEWER, approved, "sign-off", key_for(REVIEWER.name))
    monkeypatch.undo()
    assert codes(refused.value.problems) == {"WB1020"} and "the disk is full" in refused.value.problems[0].message
    assert everything(approved) == before and Repository(approved.parent).head() == head
    assert history_of(approved).review.state == "approved"  # still approved: nothing was recorded
    done = access.release(REVIEWER, approved, "sign-off", key_for(REVIEWER.name))
    assert done.ok and history_of(approved).ok and [r.version for r in history_of(approved).releases] == ["1.0.0"]


def test_a_lock_the_disk_refuses_is_a_problem_not_a_traceback(v1_copy: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    Repository.open(v1_copy.parent)
    real_open = files.os.open

    def lock_refused(path: Any, *args: Any, **kwargs: Any) -> Any:  # only the lock: the keyring is still read
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(files.os, "open", lock_refused)
    with pytest.raises(ProblemError) as refused:
        access.submit(AUTHOR, v1_copy, "ready")
    monkeypatch.undo()
    assert codes(refused.value.problems) == {"WB1020"} and "read-only" in refused.value.problems[0].message


# --- damaged release files ----------------------------------------------------------------------

DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:200]),
    "empty": lambda p: p.write_bytes(b""),
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "not an object": lambda p: p.write_text("[1, 2, 3]", encoding="utf-8"),
    "content changed": lambda p: p.write_bytes(p.read_bytes().replace(b"Emergency", b"Routine", 1)),
    "huge": lambda p: p.write_bytes(b" " * 1_000_001),
    "a folder": lambda p: (p.unlink(), p.mkdir()),  # type: ignore[func-returns-value]
}


@pytest.fixture
def damaged_root(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    root = tmp_path / "rulesets"
    write_release(root, shipped_data(version="1.0.0"))
    write_release(root, shipped_data(version="1.2.0", title="Upper back pain 1.2.0"))
    DAMAGE[request.param](write_release(root, shipped_data(version="1.1.0")))
    shutil.copy(V1 / "ruleset.yaml", root / "upper-back-pain" / "ruleset.yaml")
    return root


@pytest.mark.parametrize("damaged_root", list(DAMAGE), indirect=True)
def test_a_damaged_release_is_reported_and_the_others_still_served(damaged_root: Path, tmp_path: Path) -> None:
    found, problems = published(damaged_root, KEYRING)
    assert sorted(r.version for r in found) == ["1.0.0", "1.2.0"]
    assert codes(problems) & {"WB901", "WB902", "WB906", "WB1023"}
    report = export(damaged_root, tmp_path / "out", KEYRING)
    assert sorted(p.name for p in (tmp_path / "out" / "upper-back-pain").iterdir()) == [
        "1.0.0.json", "1.2.0.json", "latest.json"]
    assert codes(report.problems) & {"WB901", "WB902", "WB906", "WB1023"}
    app = create_app(damaged_root, KEYRING)
    status, _, body = call(app, "GET", "/rulesets")
    assert status == 200 and json.loads(body)["rulesets"][0]["versions"] == ["1.0.0", "1.2.0"]
    assert call(app, "GET", "/rulesets/upper-back-pain/versions/1.0.0")[0] == 200
    assert json.loads(call(app, "GET", "/rulesets/upper-back-pain")[2])["version"] == "1.2.0"
    status, headers, body = call(app, "GET", "/rulesets/upper-back-pain/versions/1.1.0")
    assert status == 404 and headers["content-type"] == "application/problem+json"


# --- no Graphviz --------------------------------------------------------------------------------

def test_without_graphviz_drawing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound, match="not installed.*apt-get install graphviz"):
        render("digraph { a }", "svg")


def test_without_graphviz_the_cli_exits_2_for_svg_and_still_writes_dot(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    ruleset = str(V1 / "ruleset.yaml")
    svg = subprocess.run([str(Path(sys.executable).parent / "workbench"), "graph", ruleset, "--format", "svg"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert svg.returncode == 2 and "Graphviz" in svg.stderr and "Traceback" not in svg.stderr
    dot = subprocess.run([str(Path(sys.executable).parent / "workbench"), "graph", ruleset, "--format", "dot"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert dot.returncode == 0 and dot.stdout.startswith("digraph")


# --- a ruleset folder deleted while in use ------------------------------------------------------

def test_saves_into_a_deleted_ruleset_folder_are_refused_and_do_not_recreate_it(v1_copy: Path) -> None:
    ruleset, vignettes = v1_copy / "ruleset.yaml", sorted((v1_copy / "vignettes").glob("*"))[0]
    _, version = read_versioned(ruleset)
    _, vignettes_version = read_versioned(vignettes)
    shutil.rmtree(v1_copy)
    for save, path, token in ((access.save_ruleset, ruleset, version), (access.save_vignettes, vignettes,
                                                                          vignettes_version)):
        with pytest.raises(ProblemError) as refused:
            save(AUTHOR, path, "id: x\n", token)
        assert codes(refused.value.problems) == {"WB1021"} and "deleted or moved" in refused.value.problems[0].message
    assert not v1_copy.exists()


def test_a_file_deleted_since_it_was_opened_is_not_silently_recreated(v1_copy: Path) -> None:
    path = v1_copy / "ruleset.yaml"
    text, version = read_versioned(path)
    path.unlink()
    with pytest.raises(ProblemError) as refused:
        access.save_ruleset(AUTHOR, path, text or "", version)
    assert codes(refused.value.problems) == {"WB1021"} and not path.exists()


ANY_KEY = SigningKey(REVIEWER.name, Ed25519PrivateKey.generate())


@pytest.mark.parametrize("act", [
    lambda folder: access.submit(AUTHOR, folder, "x"), lambda folder: access.approve(REVIEWER, folder, "", ANY_KEY),
    lambda folder: access.reject(REVIEWER, folder, "x"), lambda folder: access.release(REVIEWER, folder, "x", ANY_KEY)])
def test_review_actions_on_a_deleted_folder_are_refused_and_do_not_recreate_it(
        v1_copy: Path, act: Callable[[Path], Any]) -> None:
    shutil.rmtree(v1_copy)
    with pytest.raises(ProblemError) as refused:
        act(v1_copy)
    assert codes(refused.value.problems) == {"WB1021"}
    assert not v1_copy.exists()


def test_reading_a_deleted_ruleset_gives_problems_not_tracebacks(v1_copy: Path) -> None:
    ruleset = v1_copy / "ruleset.yaml"
    shutil.rmtree(v1_copy)
    assert codes(replay_ruleset(ruleset).problems) == {"WB001"}
    with pytest.raises(RulesetError) as refused:
        load_ruleset(ruleset)
    assert codes(refused.value.problems) == {"WB001"}
    with pytest.raises(ProblemError) as refused:
        lifecycle.open_ruleset(v1_copy)
    assert codes(refused.value.problems) == {"WB1021"}
    for args in (["replay", str(v1_copy)], ["validate", str(ruleset)], ["history", str(v1_copy)],
                 ["submit", str(v1_copy), "--author", "Dr A"]):
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, args


