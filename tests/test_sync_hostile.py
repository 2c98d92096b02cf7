"""Sync never runs code from a remote. A teammate (or whoever can write the shared folder) who controls the team
remote can put hooks, a hooks path, an include, core.fsmonitor, an alternate-refs command or a filter and the
attributes that call it into the bare repository or its history; the clinician who syncs, or who copies the team's
history with `workbench init --remote`, never runs any of them. Each planted program would leave a marker file."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import V1, run_cli
from workbench.files import read_versioned
from workbench.people import access

HOOKS = ("pre-receive", "update", "post-receive", "post-update", "reference-transaction", "proc-receive",
         "push-to-checkout", "pre-auto-gc", "post-checkout", "post-merge", "fsmonitor-watchman")


def program(path: Path, marker: Path) -> Path:
    """An executable that leaves `marker` when it runs (and reads its input, as a hook or filter would)."""
    path.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat >/dev/null 2>&1 || true\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env).stdout


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path]:
    """A bare team remote holding Ada's history (pushed with plain git, before anything was planted), and Ada's
    rulesets folder, which syncs with it."""
    remote, ada = tmp_path / "team.git", tmp_path / "ada"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    shutil.copytree(V1, seed / "upper-back-pain")
    assert run_cli("init", str(ada), "--from", str(seed)).returncode == 0
    done = run_cli("sync", str(ada), "--name", "Dr Ada", "--remote", str(remote))
    assert done.returncode == 0, done.stdout + done.stderr
    return remote, ada


def plant(kind: str, remote: Path, tmp_path: Path, marker: Path) -> None:
    evil = program(tmp_path / "evil.sh", marker)
    config = remote / "config"
    if kind == "hooks":
        for hook in HOOKS:
            program(remote / "hooks" / hook, marker)
    elif kind == "hooks path":
        hooks = tmp_path / "their-hooks"
        hooks.mkdir()
        for hook in HOOKS:
            program(hooks / hook, marker)
        git("config", "--file", str(config), "core.hooksPath", str(hooks))
    elif kind == "include":
        hooks = tmp_path / "included-hooks"
        hooks.mkdir()
        for hook in HOOKS:
            program(hooks / hook, marker)
        included = tmp_path / "included.cfg"
        included.write_text(f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {evil}\n", encoding="utf-8")
        git("config", "--file", str(config), "include.path", str(included))
    elif kind == "fsmonitor":
        git("config", "--file", str(config), "core.fsmonitor", str(evil))
    elif kind == "alternate refs":
        other = tmp_path / "other.git"
        git("init", "-q", "--bare", str(other))
        (remote / "objects" / "info").mkdir(exist_ok=True)
        (remote / "objects" / "info" / "alternates").write_text(f"{other}/objects\n", encoding="utf-8")
        git("config", "--file", str(config), "core.alternateRefsCommand", str(evil))
    elif kind == "filter and attributes":
        # a commit in the team's history whose .gitattributes sends every file through a filter the remote
        # defines, and that a user may have defined too (as git-lfs users have)
        work = tmp_path / "mallory"
        git("clone", "-q", str(remote), str(work))
        (work / ".gitattributes").write_text("* filter=evil\n*.yaml filter=evil diff=evil merge=evil\n",
                                             encoding="utf-8")
        git("add", ".gitattributes", cwd=work)
        git("-c", "user.name=Mallory", "-c", "user.email=m@x", "commit", "-q", "-m", "attributes", cwd=work)
        git("push", "-q", "origin", "main", cwd=work)
    elif kind == "filter settings":
        for section in ("filter.evil.smudge", "filter.evil.clean", "filter.evil.process", "diff.evil.textconv",
                        "merge.evil.driver"):
            git("config", "--file", str(config), section, str(evil))
    else:
        raise AssertionError(kind)


KINDS = ["hooks", "hooks path", "include", "fsmonitor", "alternate refs", "filter settings", "filter and attributes"]


@pytest.mark.parametrize("kind", KINDS)
def test_syncing_with_a_remote_that_carries_programs_never_runs_them(team: tuple[Path, Path], tmp_path: Path,
                                                                      kind: str) -> None:
    remote, ada = team
    marker = tmp_path / "it-ran"
    plant(kind, remote, tmp_path, marker)
    path = ada / "upper-back-pain" / "ruleset.yaml"
    text, version = read_versioned(path)
    access.save_ruleset(access.local_identity("Dr Ada"), path, (text or "") + "# Ada\n", version, "a change")
    done = run_cli("sync", str(ada), "--name", "Dr Ada")
    said = done.stdout + done.stderr
    assert "Traceback" not in said
    ben = tmp_path / "ben"
    cloned = run_cli("init", str(ben), "--remote", str(remote))
    assert "Traceback" not in cloned.stdout + cloned.stderr
    assert not marker.exists(), marker.read_text()
    if kind in ("hooks",):  # hooks that never run are no reason to refuse: the team keeps working
        assert done.returncode == 0, said
        assert cloned.returncode == 0, cloned.stdout + cloned.stderr
        assert "# Ada" in (ben / "upper-back-pain" / "ruleset.yaml").read_text(encoding="utf-8")
    elif kind == "filter and attributes":
        assert done.returncode == 0 and cloned.returncode == 0, said + cloned.stdout + cloned.stderr
        assert "WB1037" in said and ".gitattributes" in said  # named, never written
        assert not (ben / ".gitattributes").exists()  # a file the workbench does not keep is never written
    else:  # a setting that names a program: refused, saying which
        assert done.returncode != 0 and "WB1036" in said, (kind, said)
        assert cloned.returncode != 0 and "WB1036" in cloned.stdout + cloned.stderr


def test_copying_a_history_with_a_filter_the_user_has_installed_never_runs_it(team: tuple[Path, Path],
                                                                              tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own git settings define a filter (as git-lfs does); attributes pushed into the team's history
    name it for every file. `workbench init --remote` reads no user or system settings and checks out nothing
    through git, so the filter never runs."""
    remote, _ = team
    marker = tmp_path / "it-ran"
    plant("filter and attributes", remote, tmp_path, marker)
    evil = tmp_path / "evil.sh"
    settings = tmp_path / "users-gitconfig"
    settings.write_text(f"[filter \"evil\"]\n\tsmudge = {evil}\n\tclean = {evil}\n\trequired = true\n"
                        f"[core]\n\tfsmonitor = {evil}\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(settings))
    ben = tmp_path / "ben"
    done = run_cli("init", str(ben), "--remote", str(remote))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists(), marker.read_text()
    assert (ben / "upper-back-pain" / "ruleset.yaml").is_file()
    edit = run_cli("sync", str(ben), "--name", "Dr Ben")
    assert edit.returncode == 0, edit.stdout + edit.stderr
    assert not marker.exists()
