"""Which releases are published under a rulesets folder: the ones a signed release commit put in its history.

In a folder with a history (the workbench's own), a release is published when its file is in the last commit,
was added by a release commit that names its sha256, and verifies (releases.py). A file that is only on disk
(planted, or left by a crash before its commit landed), or was committed by hand, is reported and not served.
A plain folder without history (an export copied elsewhere, a test) is read file by file, each verified.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..problems import Problem, ProblemError
from .releases import RELEASES_DIR, Release, load_release, place, read_bytes
from .repository import Commit, Repository
from .signing import Keyring


def has_history(root: Path) -> bool:
    return (Path(root) / ".git").is_dir()


def published(root: Path, keyring: Keyring) -> tuple[list[Release], list[Problem]]:
    """Every published release under `root`, verified, and a problem for each file that is not one."""
    root = Path(root)
    if has_history(root):
        return _from_history(Repository(root), keyring)
    return _from_files(root, keyring)


class Watch:
    """What to look at to know whether `published` could return something else: cheap enough for every request.

    With a history: the branch's files under .git (a release lands only as a commit). Without: the rulesets
    folder, each ruleset folder, each releases folder (a file added, removed or renamed changes its folder) and
    each release file (changed in place). The paths are worked out once, at `refresh`, not per request."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.paths: list[str] = []
        self.refresh()

    def refresh(self) -> None:
        """Work out the paths again: after a change, new folders and files may need watching."""
        root = self.root
        if has_history(root):
            self.paths = [str(root / ".git" / name) for name in ("HEAD", "refs/heads/main", "packed-refs")]
            return
        folders = sorted(p for p in root.glob("*") if p.is_dir() and not p.is_symlink())
        self.paths = [str(root), *map(str, folders), *(str(f / RELEASES_DIR) for f in folders),
                      *map(str, sorted(root.glob(f"*/{RELEASES_DIR}/*.json")))]

    def stamp(self) -> tuple[int, ...]:
        parts: list[int] = []
        for path in self.paths:
            try:
                info = os.lstat(path)
                parts += [info.st_mtime_ns, info.st_size, info.st_ino]
            except OSError:
                parts += [0, 0, 0]
        return tuple(parts)


def _from_history(repository: Repository, keyring: Keyring) -> tuple[list[Release], list[Problem]]:
    releases: list[Release] = []
    problems: list[Problem] = []
    committed: dict[str, bytes] = {}
    for folder in sorted(p.name for p in repository.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        committed.update({path: data for path, data in repository.files(f"{folder}/{RELEASES_DIR}").items()
                          if place(path)})
    first, changed_by = _release_commits(repository)
    for path, data in sorted(committed.items()):
        if path not in first:
            problems.append(Problem("WB908", f"{path} was not added by a release through the workbench's gate (no "
                                    "release commit names it): it is not published.", file=path, line=1, column=1))
            continue
        commit, vouched = first[path]
        if path in changed_by:
            later = changed_by[path]
            problems.append(Problem("WB906", f"{path} was changed after its release, by commit {later.id[:12]} "
                                    f"({later.author}): a released version never changes. The release as first "
                                    "committed is the one published.", file=path, line=1, column=1))
            data = repository.read(path, commit) or b""
        if hashlib.sha256(data).hexdigest() != vouched:
            problems.append(Problem("WB908", f"{path} is not the document its release commit vouches for: it is not "
                                    "published.", file=path, line=1, column=1))
            continue
        try:
            releases.append(load_release(data, keyring, path, expect=place(path)))
        except ProblemError as exc:
            problems.extend(exc.problems)
    for path in sorted(repository.root.glob(f"*/{RELEASES_DIR}/*.json")):
        relative = path.relative_to(repository.root).as_posix()
        if relative not in committed:
            problems.append(Problem("WB908", f"{relative} is on disk but not in the history (planted, or its release "
                                    "never completed): it is not published.", file=relative, line=1, column=1))
        elif _on_disk(path) != committed[relative]:
            problems.append(Problem("WB906", f"{relative} on disk differs from the release in the history: it was "
                                    "edited after release. The history's copy is the one published.",
                                    file=relative, line=1, column=1))
    for path in sorted(set(first) - set(committed)):
        problems.append(Problem("WB908", f"{path} was released but is no longer in the history: a published "
                                "version was deleted.", file=path, line=1, column=1))
    return releases, problems


def _on_disk(path: Path) -> bytes | None:
    """The file's bytes, bounded; None for a link, a special file or one that cannot be read."""
    try:
        return read_bytes(path)
    except ProblemError:
        return None


def _release_commits(repository: Repository) -> tuple[dict[str, tuple[str, str]], dict[str, Commit]]:
    """Release path -> (the release commit that first added it, the sha256 it vouches for); and release path ->
    the newest later commit that changed it (a released file must never change again)."""
    first: dict[str, tuple[str, str]] = {}
    changed_by: dict[str, Commit] = {}
    for commit in reversed(repository.log()):
        for path in commit.paths:
            if path in first:
                changed_by[path] = commit
        path = commit.fact("release_file")
        if commit.action == "release" and path in commit.paths and path not in first:
            first[path] = (commit.id, commit.fact("release_sha256"))
    return first, changed_by


def _from_files(root: Path, keyring: Keyring) -> tuple[list[Release], list[Problem]]:
    releases: list[Release] = []
    problems: list[Problem] = []
    for path in sorted(root.glob(f"*/{RELEASES_DIR}/*.json")):
        relative = path.relative_to(root).as_posix()
        if path.parent.is_symlink() or path.parent.parent.is_symlink():
            problems.append(Problem("WB1023", f"{relative} is reached through a link; it is not published.",
                                    file=relative, line=1, column=1))
            continue
        try:
            releases.append(load_release(read_bytes(path), keyring, relative, expect=place(relative)))
        except ProblemError as exc:
            problems.extend(exc.problems)
    return releases, problems
