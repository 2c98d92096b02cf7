"""One history for the team: bring in what others pushed to the team remote, and send what you did.

`sync` fetches the team's branch and joins it with yours: a fast-forward when only they moved, a merge commit
by you when both did and git can join the changes line by line (`git merge-tree`, which never touches your
files), and nothing at all when you both changed the same lines. Then both versions of each such file are
shown, with who changed the team's copy and why, and nothing is changed until you say which to keep for each
(`resolve`): the other is still in the history, so neither is ever lost. Pushing refuses to overwrite the
remote (no force), so two clinicians syncing at once cannot erase each other's work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..files import plain_file
from ..folder import RELEASES_DIR, RulesetFolder
from ..problems import Problem, ProblemError
from .repository import _SAFE_REMOTE, BRANCH, Person, Repository, message, remote_side

Side = Literal["mine", "theirs"]


@dataclass
class Conflict:
    """A file both sides changed on the same lines: both texts, and who changed the team's copy."""

    path: str
    mine: str
    theirs: str
    their_author: str = ""
    their_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "mine": self.mine, "theirs": self.theirs, "their_author": self.their_author,
                "their_reason": self.their_reason}


@dataclass
class SyncOutcome:
    """What a sync did: commits brought in and sent, and the conflicts that stopped it (nothing changed then)."""

    remote: str
    received: int = 0
    sent: int = 0
    merged: bool = False
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # what came with the team's history and was left in it

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"remote": self.remote, "ok": self.ok, "received": self.received, "sent": self.sent,
                "merged": self.merged, "conflicts": [c.to_dict() for c in self.conflicts],
                "problems": [p.to_dict() for p in self.problems], "notes": [p.to_dict() for p in self.notes]}


def seed(folder: Path, source: Path | None = None) -> Repository:
    """A rulesets folder with a history of its own, holding copies of the rulesets in `source` (`workbench init
    DIR --from`; ./run's data folder). Built beside the folder and renamed into place, so a crash part-way
    leaves no folder, never a half-copied one that a second try would refuse. A folder that already has its
    history is opened as it is."""
    folder = Path(folder)
    if (folder / ".git").is_dir():
        return Repository.open(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ProblemError([Problem("WB1030", f"{folder} is not empty and has no history; give a new folder.")])
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    found = Path(source).iterdir() if source else ()
    for ruleset in sorted(p for p in found if plain_file(RulesetFolder(p).ruleset_file)):
        shutil.copytree(ruleset, partial / ruleset.name, ignore=_not_content)
    Repository.init(partial)
    if folder.exists():
        folder.rmdir()
    os.replace(partial, folder)
    return Repository.open(folder)


def _not_content(folder: str, names: list[str]) -> set[str]:
    """What seeding leaves behind: hidden files, old releases (a new history starts unreleased), and links and
    special files, which could bring in anything from outside the source folder."""
    return {name for name in names if name.startswith(".") or name == RELEASES_DIR
            or not (plain_file(Path(folder) / name) or (Path(folder) / name).is_dir()
                    and not (Path(folder) / name).is_symlink())}


def clone(url: str, folder: Path) -> Repository:
    """A new rulesets folder holding the team's history (`workbench init DIR --remote URL`).

    git copies the history only: with no user or system settings, no template (no hooks), nothing of the remote
    run (repository.remote_side) and no checkout, so attributes in the history call no filter. The files are then
    written from the history by the workbench itself, only those it keeps (repository.kept)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise ProblemError([Problem("WB1030", f"{folder} is not empty; clone the team's history into a new folder.")])
    if not _SAFE_REMOTE.match(url):
        raise ProblemError([Problem("WB1031", f"'{url}' is not a team remote the workbench uses: give a folder "
                                    "path, or a file://, https:// or ssh:// address.")])
    options = remote_side(url, "clone")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0",
                   "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(folder.parent)}
    done = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "clone", "-q",
                           "--no-checkout", "--template=", *options, "--branch", BRANCH, "--", url, str(folder)],
                          capture_output=True, check=False, timeout=300, env=environment)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProblemError([Problem("WB1031", f"The team's history at {url} could not be copied: "
                                    f"{said[-1] if said else done.returncode}.")])
    repository = Repository.open(folder, create=False)
    repository.check_out()
    return repository


def sync(repository: Repository, person: Person, remote: str = "origin",
         resolve: dict[str, Side] | None = None) -> SyncOutcome:
    """Join your history with the team remote's and send the result (see the module docstring)."""
    outcome = SyncOutcome(remote)
    with repository.locked():
        if remote not in repository.remotes():
            raise ProblemError([Problem("WB1031", f"There is no team remote called '{remote}': add one with "
                                        "`workbench sync DIR --remote URL`.")])
        repository.transfer("fetch", remote)
        theirs = repository.resolve(f"refs/remotes/{remote}/{BRANCH}")
        mine = repository.head()
        if theirs and mine and theirs != mine:
            base = repository.git("merge-base", mine, theirs).strip()
            if base == mine:
                outcome.received = _count(repository, mine, theirs)
                repository.advance(theirs)
            elif base != theirs:
                joined = _merge(repository, mine, theirs, person, resolve or {}, outcome)
                if joined is None:
                    return outcome
                outcome.received, outcome.merged = _count(repository, mine, theirs), True
                repository.advance(joined)
        outcome.sent = _count(repository, theirs, repository.head()) if theirs else len(repository.log())
        if outcome.sent:
            pushed = repository.transfer("push", remote, f"{BRANCH}:{BRANCH}", check=False)
            if pushed.returncode != 0:
                outcome.problems.append(Problem("WB1032", "Someone else sent changes to the team remote at the same "
                                                "moment; nothing was overwritten. Sync again."))
                outcome.sent = 0
        outcome.notes = list(repository.notes)
    return outcome


def _count(repository: Repository, old: str | None, new: str | None) -> int:
    if not new or old == new:
        return 0
    spec = f"{old}..{new}" if old else new
    return int(repository.git("rev-list", "--count", spec).strip() or 0)


def _merge(repository: Repository, mine: str, theirs: str, person: Person, resolve: dict[str, Side],
           outcome: SyncOutcome) -> str | None:
    """The merge commit joining both sides, or None with `outcome.conflicts` filled (nothing written)."""
    done = repository._run(["merge-tree", "--write-tree", "--name-only", "--no-messages", mine, theirs], check=False)
    if done.returncode not in (0, 1):
        raise ProblemError([Problem("WB1031", "git could not join the two histories: "
                                    f"{done.stderr.decode('utf-8', 'replace').strip()}.")])
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    tree, conflicted = lines[0].strip(), [line for line in lines[1:] if line]
    unresolved = [path for path in conflicted if path not in resolve]
    if unresolved:
        for path in unresolved:
            last = next((c for c in repository.log(revision=theirs) if path in c.paths), None)
            outcome.conflicts.append(Conflict(
                path, (repository.read(path, mine) or b"").decode("utf-8", "replace"),
                (repository.read(path, theirs) or b"").decode("utf-8", "replace"),
                last.author if last else "", last.reason or last.subject if last else ""))
        outcome.problems.append(Problem("WB1034", f"You and the team both changed the same lines of "
                                        f"{', '.join(unresolved)}: nothing was changed. Choose which version to keep "
                                        "for each (the other stays in the history)."))
        return None
    if conflicted:
        chosen = {path: repository.read(path, mine if resolve[path] == "mine" else theirs) for path in conflicted}
        tree = repository._tree_with(tree, chosen)
    kept = "; ".join(f"{path}: kept {side}" for path, side in sorted(resolve.items()) if path in conflicted)
    text = message("Join the team's changes", kept, {"action": "sync"})
    env = {"GIT_AUTHOR_NAME": person.name, "GIT_AUTHOR_EMAIL": person.address,
           "GIT_COMMITTER_NAME": person.name, "GIT_COMMITTER_EMAIL": person.address}
    return repository.git("commit-tree", tree, "-p", mine, "-p", theirs, input=text.encode(), env=env).strip()


def team_folder(path: Path) -> Path:
    """The rulesets folder (the repository's top) for a ruleset folder or the rulesets folder itself."""
    path = Path(path)
    return path.parent if RulesetFolder.holds_ruleset(path) else path
