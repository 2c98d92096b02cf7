"""A team on several machines: two clinicians, each with a clone, share one history through a bare remote;
separate edits join, the same line edited twice is shown with both versions and never lost."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import V1
from workbench import access
from workbench.cli import main
from workbench.publish.repository import Repository
from workbench.store import read_versioned

RULESET = "upper-back-pain/ruleset.yaml"


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    sys.stdin = io.StringIO("")
    try:
        code = main(list(args))
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def edit(folder: Path, who: str, old: str, new: str, file: str = RULESET) -> None:
    """A save in the workbench, by `who`."""
    path = folder / file
    text, version = read_versioned(path)
    assert text is not None and old in text, old
    writer = access.save_ruleset if path.name == "ruleset.yaml" else access.save_vignettes
    writer(access.local_identity(who), path, text.replace(old, new, 1), version, f"{who}'s change")


@pytest.fixture
def team(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    """A bare team remote; Dr Ada's rulesets folder, which started it; Dr Ben's clone of it."""
    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    seed = tmp_path / "seed"
    shutil.copytree(V1, seed / "upper-back-pain")
    ada, ben = tmp_path / "ada", tmp_path / "ben"
    assert cli("init", str(ada), "--from", str(seed), capsys=capsys)[0] == 0
    code, out = cli("sync", str(ada), "--name", "Dr Ada", "--remote", str(remote), capsys=capsys)
    assert code == 0 and "sent" in out, out
    assert cli("init", str(ben), "--remote", str(remote), capsys=capsys)[0] == 0
    return remote, ada, ben


def test_two_clinicians_share_one_history(team: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, ada, ben = team
    edit(ada, "Dr Ada", "title: Upper back and neck pain", "title: Upper back and neck pain (team)")
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    edit(ben, "Dr Ben", "ruleset: upper-back-pain", "ruleset: upper-back-pain\n# Ben's cases",
         "upper-back-pain/vignettes/cancer.yaml")
    code, out = cli("sync", str(ben), "--name", "Dr Ben", capsys=capsys)
    assert code == 0 and "1 commit received" in out and "joined with a merge commit" in out, out
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    assert Repository(ada).head() == Repository(ben).head()
    for folder in (ada, ben):
        assert "(team)" in (folder / RULESET).read_text(encoding="utf-8")
        assert "# Ben's cases" in (folder / "upper-back-pain/vignettes/cancer.yaml").read_text(encoding="utf-8")
    authors = {c.author for c in Repository(ada).log()}
    assert {"Dr Ada", "Dr Ben"} <= authors


def test_the_same_line_changed_by_both_is_shown_with_both_versions_and_never_lost(
        team: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, ada, ben = team
    edit(ada, "Dr Ada", "version: 1.0.0", "version: 1.1.0")
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    edit(ben, "Dr Ben", "version: 1.0.0", "version: 2.0.0")
    mine, head = (ben / RULESET).read_bytes(), Repository(ben).head()
    code, out = cli("sync", str(ben), "--name", "Dr Ben", capsys=capsys)
    assert code == 1 and f"CONFLICT in {RULESET}" in out and "Dr Ada" in out, out
    assert "-version: 2.0.0" in out and "+version: 1.1.0" in out  # both versions, as a diff
    assert (ben / RULESET).read_bytes() == mine and Repository(ben).head() == head  # nothing changed
    code, out = cli("sync", str(ben), "--name", "Dr Ben", "--keep", "mine", RULESET, capsys=capsys)
    assert code == 0 and "joined with a merge commit" in out, out
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    assert "version: 2.0.0" in (ada / RULESET).read_text(encoding="utf-8")
    adas = next(c for c in Repository(ada).log() if c.author == "Dr Ada" and RULESET in c.paths)
    assert b"version: 1.1.0" in (Repository(ada).read(RULESET, adas.id) or b"")  # her version is still there
    merge = Repository(ada).log()[0]
    assert merge.author == "Dr Ben" and "kept mine" in merge.reason


def test_a_push_racing_another_never_overwrites_it(team: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Ben sends his change in the moment between Ada fetching and sending: Ada's send is refused, nothing on the
    remote is overwritten, and her next sync joins both."""
    remote, ada, ben = team
    edit(ada, "Dr Ada", "title: Upper back and neck pain", "title: Upper back and neck pain (Ada)")
    edit(ben, "Dr Ben", "ruleset: upper-back-pain", "ruleset: upper-back-pain\n# Ben",
         "upper-back-pain/vignettes/cancer.yaml")
    real = Repository.git

    def fetch_then_ben_sends(self: Repository, *args: str, **kwargs: object) -> str:
        done = real(self, *args, **kwargs)  # type: ignore[arg-type]
        if args[:1] == ("fetch",) and self.root == ada.resolve():
            monkeypatch.setattr(Repository, "git", real)
            assert cli("sync", str(ben), "--name", "Dr Ben", capsys=capsys)[0] == 0
        return done

    monkeypatch.setattr(Repository, "git", fetch_then_ben_sends)
    code, out = cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)
    monkeypatch.setattr(Repository, "git", real)
    assert code == 1 and "nothing was overwritten" in out, out
    bens = subprocess.run(["git", "-C", str(remote), "log", "-1", "--format=%an", "main"], capture_output=True,
                          text=True).stdout.strip()
    assert bens == "Dr Ben"
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    assert "# Ben" in (ada / "upper-back-pain/vignettes/cancer.yaml").read_text(encoding="utf-8")
    assert "(Ada)" in (ada / RULESET).read_text(encoding="utf-8")
