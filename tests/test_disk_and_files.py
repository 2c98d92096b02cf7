"""Disk and files, tried as they break: a release on a nearly full disk (a real tmpfs where this machine lets
the tests mount one, a simulated full disk otherwise) is reported as what it is; accounts and keyring files that
are links, devices or pipes are refused at once; an odd file a teammate pushes never blocks anyone's work."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, REVIEWER, V1, approved, keyring, run_cli
from workbench.files import read_versioned
from workbench.people import access, accounts
from workbench.publish.published import published

PAGE = 4096


@contextlib.contextmanager
def small_disk(where: Path, size: str = "16m") -> Iterator[Path | None]:
    """A tmpfs of `size` mounted at `where` (the tests run as root in CI), or None where mounting is not allowed."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True).returncode == 0
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def release_cli(folder: Path) -> tuple[int, str]:
    done = run_cli("release", str(folder), "--approver", REVIEWER, "--reason", "clinical sign-off")
    return done.returncode, done.stdout + done.stderr


def landed(folder: Path) -> bool:
    """Whether a release commit is in the history (read with git itself)."""
    subjects = subprocess.run(["git", "-C", str(folder.parent), "log", "--format=%s"], capture_output=True,
                              text=True).stdout
    return any(line.startswith("Release ") for line in subjects.splitlines())


def test_a_release_that_lands_on_a_nearly_full_disk_is_reported_as_released(
        tmp_path: Path, signers: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The red team: the release landed and was served while the CLI said REFUSED and exited 1. Now the CLI says
    what landed: each try with one more page of room either leaves no release and says so, or lands the release
    and says Released (exit 0) even when its file did not fit, which the next action writes once there is room."""
    with small_disk(tmp_path / "disk") as disk:
        root = (disk or tmp_path) / "rulesets"
        shutil.copytree(V1, root / "upper-back-pain")
        folder = root / "upper-back-pain"
        approved(folder, signers)
        if disk is not None:
            filler = disk / "filler"
            filler.write_bytes(b"\0" * (free_bytes(disk) - 2 * PAGE))
        else:  # simulated: the disk refuses the release file, as a full disk would
            from workbench.publish import repository as repository_module

            real = repository_module.atomic_write

            def full(path: Path, data: bytes, mode: int | None = None) -> None:
                if "/releases/" in str(path):
                    raise OSError(errno.ENOSPC, "No space left on device")
                real(path, data, mode)
            monkeypatch.setattr(repository_module, "atomic_write", full)
        tries = []
        while True:
            code, said = release_cli(folder)
            tries.append(code)
            assert "Traceback" not in said
            if landed(folder):
                break
            assert code == 1 and "REFUSED" in said and not (folder / "releases" / "1.0.0.json").exists(), said
            assert disk is not None and len(tries) < 40, said
            # one page more room than the last try had (a failed try may keep the objects git wrote)
            os.truncate(filler, max(0, filler.stat().st_size - ((len(tries) + 2) * PAGE - free_bytes(disk))))
        assert code == 0 and "Released upper-back-pain 1.0.0" in said, said
        assert "WB1038" in said and not (folder / "releases" / "1.0.0.json").exists()  # landed, file left for later
        found, problems = published(root, keyring())
        assert [r.version for r in found] == ["1.0.0"] and problems == []  # served from the history
        history = run_cli("history", str(folder))
        assert history.returncode == 0, history.stdout
        if disk is not None:
            filler.unlink()
        else:
            monkeypatch.undo()
        path = folder / "ruleset.yaml"
        text, version = read_versioned(path)
        access.save_ruleset(access.local_identity(AUTHOR), path, (text or "").replace("version: 1.0.0",
                                                                                      "version: 1.0.1"), version,
                            "next version")  # the next action finishes the file
        data = (folder / "releases" / "1.0.0.json").read_bytes()
        assert [r.data for r in published(root, keyring())[0]] == [data]


# --- accounts and keyring files that are not files ------------------------------------------------------------

def not_a_file(kind: str, path: Path, elsewhere: Path) -> None:
    if kind == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "named pipe":
        os.mkfifo(path)
    elif kind == "link to a real file":
        path.symlink_to(elsewhere)
    elif kind == "too large":
        path.write_bytes(b'{"users": [], "keys": []' + b" " * 2_000_000 + b"}")


KINDS = ["link to /dev/zero", "named pipe", "link to a real file", "too large"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_accounts_file_that_is_not_a_plain_file_fails_closed_at_once(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "real-users.json"
    accounts.add_account("Dr Admin", ["author"], "long enough password", path=real)
    users = tmp_path / "users.json"
    not_a_file(kind, users, real)
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "user", "list", "--users", str(users)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "WB1002" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    signin = subprocess.run([sys.executable, "-m", "workbench.cli", "submit", str(tmp_path), "--author", "Dr Admin",
                             "--password-stdin", "--users", str(users)], input="long enough password\n",
                            capture_output=True, text=True, timeout=60)
    assert signin.returncode != 0 and "Traceback" not in signin.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_a_keyring_that_is_not_a_plain_file_trusts_nobody_and_never_hangs_serve(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "real-keyring.json"
    real.write_text(json.dumps({"keys": []}), encoding="utf-8")
    ring = tmp_path / "keyring.json"
    not_a_file(kind, ring, real)
    (tmp_path / "rulesets").mkdir()
    listed = subprocess.run([sys.executable, "-m", "workbench.cli", "key", "list", "--keyring", str(ring)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 2 and "WB907" in listed.stderr, listed.stderr
    served = subprocess.run([sys.executable, "-m", "workbench.cli", "serve", "--rulesets", str(tmp_path / "rulesets"),
                             "--keyring", str(ring), "--port", "1"], capture_output=True, text=True, timeout=60)
    assert served.returncode == 2 and "cannot be trusted" in served.stderr, served.stderr
    assert "Traceback" not in served.stderr + listed.stderr


# --- a file from a teammate -------------------------------------------------------------------------------

def git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_a_hidden_file_pushed_by_a_teammate_is_named_and_blocks_nothing(tmp_path: Path, signers: dict) -> None:
    remote, ada = tmp_path / "team.git", tmp_path / "ada"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    shutil.copytree(V1, seed / "upper-back-pain")
    assert run_cli("init", str(ada), "--from", str(seed)).returncode == 0
    assert run_cli("sync", str(ada), "--name", "Dr Ada", "--remote", str(remote)).returncode == 0
    mallory = tmp_path / "mallory"  # a teammate with plain git
    git("clone", "-q", str(remote), str(mallory))
    (mallory / "upper-back-pain" / ".hidden.yaml").write_text("hidden: true\n", encoding="utf-8")
    (mallory / ".workbench-notes").write_text("notes\n", encoding="utf-8")
    (mallory / "upper-back-pain" / "vignettes" / "passwd.yaml").symlink_to("/etc/passwd")
    git("add", "-A", cwd=mallory)
    git("-c", "user.name=Mallory", "-c", "user.email=m@x", "commit", "-q", "-m", "odd files", cwd=mallory)
    git("push", "-q", "origin", "main", cwd=mallory)

    done = run_cli("sync", str(ada), "--name", "Dr Ada")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    for path in ("upper-back-pain/.hidden.yaml", ".workbench-notes", "upper-back-pain/vignettes/passwd.yaml"):
        assert path in said and "WB1037" in said, said
    assert not (ada / ".workbench-notes").exists() and not (ada / "upper-back-pain" / ".hidden.yaml").exists()
    assert not (ada / "upper-back-pain" / "vignettes" / "passwd.yaml").is_symlink()
    folder = ada / "upper-back-pain"
    path = folder / "ruleset.yaml"
    text, version = read_versioned(path)
    access.save_ruleset(access.local_identity(AUTHOR), path, (text or "") + "# saved\n", version, "after the sync")
    assert run_cli("submit", str(folder), "--author", AUTHOR).returncode == 0
    assert run_cli("approve", str(folder), "--reviewer", REVIEWER).returncode == 0
    code, said = release_cli(folder)
    assert code == 0 and (folder / "releases" / "1.0.0.json").is_file(), said
    assert run_cli("sync", str(ada), "--name", "Dr Ada").returncode == 0
