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
from workbench.cli import main
from workbench.files import read_versioned
from workbench.people import access
from workbench.publish.repository import Repository

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
    real = Repository.transfer

    def fetch_then_ben_sends(self: Repository, verb: str, *args: str, **kwargs: object) -> object:
        done = real(self, verb, *args, **kwargs)  # type: ignore[arg-type]
        if verb == "fetch" and self.root == ada.resolve():
            monkeypatch.setattr(Repository, "transfer", real)
            assert cli("sync", str(ben), "--name", "Dr Ben", capsys=capsys)[0] == 0
        return done

    monkeypatch.setattr(Repository, "transfer", fetch_then_ben_sends)
    code, out = cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)
    monkeypatch.setattr(Repository, "transfer", real)
    assert code == 1 and "nothing was overwritten" in out, out
    bens = subprocess.run(["git", "-C", str(remote), "log", "-1", "--format=%an", "main"], capture_output=True,
                          text=True).stdout.strip()
    assert bens == "Dr Ben"
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    assert "# Ben" in (ada / "upper-back-pain/vignettes/cancer.yaml").read_text(encoding="utf-8")
    assert "(Ada)" in (ada / RULESET).read_text(encoding="utf-8")


def test_keeping_a_side_of_a_conflict_needs_the_right_to_save_that_file(
        team: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A viewer may bring in and send the team's history, but keeping one version of a rule is an edit."""
    _, ada, ben = team
    edit(ada, "Dr Ada", "version: 1.0.0", "version: 1.1.0")
    assert cli("sync", str(ada), "--name", "Dr Ada", capsys=capsys)[0] == 0
    edit(ben, "Dr Ben", "version: 1.0.0", "version: 2.0.0")
    viewer = access.Identity("Dr Vic Viewer", frozenset({"viewer"}))
    with pytest.raises(access.AccessDenied) as refused:
        access.sync_team(viewer, ben, {RULESET: "mine"})
    assert "cannot edit rulesets" in refused.value.problems[0].message
    assert "version: 2.0.0" in (ben / RULESET).read_text(encoding="utf-8")


def test_the_rulesets_page_syncs_and_shows_a_conflict_with_both_versions(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ben works in the workbench: Sync brings in Ada's change; when both changed the same line he sees both
    versions, who changed the team's and why, keeps the team's, and his own stays in the history."""
    from streamlit.testing.v1 import AppTest

    from tests.ui.test_ui_apptest import script, texts

    _, ada, ben = team
    monkeypatch.setenv("WORKBENCH_RULESETS", str(ben))
    monkeypatch.setenv("WORKBENCH_USERS", str(ben.parent / "no-accounts.json"))
    edit(ada, "Dr Ada", "title: Upper back and neck pain", "title: Upper back and neck pain (team)")
    main(["sync", str(ada), "--name", "Dr Ada"])
    at = AppTest.from_string(script("rulesets"), default_timeout=60).run()
    assert "Shared through" in texts(at)
    at.button(key="team.sync").click().run()
    assert not at.exception and "In step with the team: 1 change received, 0 sent." in texts(at)
    assert "(team)" in (ben / RULESET).read_text(encoding="utf-8")

    edit(ada, "Dr Ada", "version: 1.0.0", "version: 1.1.0")
    main(["sync", str(ada), "--name", "Dr Ada"])
    edit(ben, "local", "version: 1.0.0", "version: 2.0.0")
    at.button(key="team.sync").click().run()
    page = texts(at)
    assert "You and the team changed the same lines. Nothing has been changed yet" in page
    assert "changed by Dr Ada — *Dr Ada's change*" in page
    assert "-version: 2.0.0" in at.code[0].value and "+version: 1.1.0" in at.code[0].value
    assert "version: 2.0.0" in (ben / RULESET).read_text(encoding="utf-8")
    at.radio(key=f"team.keep.{RULESET}").set_value("theirs").run()
    at.button(key="team.resolve").click().run()
    assert not at.exception and "version: 1.1.0" in (ben / RULESET).read_text(encoding="utf-8")
    bens = next(c for c in Repository(ben).log() if c.author == "local" and RULESET in c.paths)
    assert b"version: 2.0.0" in (Repository(ben).read(RULESET, bens.id) or b"")
