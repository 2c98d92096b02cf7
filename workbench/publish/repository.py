"""The rulesets folder as a git repository of its own: every save, review action and release is one commit.

Commits are built with git's plumbing on a private index (`read-tree`, `update-index`, `write-tree`,
`commit-tree`) and land with one compare-and-swap of the branch (`update-ref NEW OLD`), so a crash at any
step leaves either no commit or a whole one; a second writer that moved the branch meanwhile is refused,
never overwritten. Files reach the working tree only after their commit has landed, from a journal that the
next writer replays if a crash came in between. Hooks never run (`core.hooksPath=/dev/null`): a hook planted
in `.git/hooks` is not a way to run code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout

from ..files import atomic_write, disk_reason, save_problem
from ..folder import RELEASES_DIR, RULESET_FILE, VIGNETTE_SUFFIXES, VIGNETTES_DIR, RulesetFolder
from ..names import check as name_check
from ..problems import Problem, ProblemError
from .records import message, reason_problem, stamped
from .records import read as read_record

BRANCH = "main"
_LOCK_SECONDS = 30


@dataclass(frozen=True)
class Person:
    """Who a commit is by: the signed-in person's name, and an email (made up when the account has none)."""

    name: str
    email: str = ""
    signed_in: bool = False  # proved who they are (an account), rather than a name typed where there are none

    @property
    def address(self) -> str:
        if self.email:
            return self.email
        slug = re.sub(r"[^a-z0-9]+", ".", self.name.casefold()).strip(".") or "someone"
        return f"{slug}@workbench.invalid"


WORKBENCH = Person("Clinical rules workbench", "workbench@workbench.invalid")


@dataclass(frozen=True)
class Commit:
    """One entry of the history: who, when, the message, and the record the workbench wrote in it (records.py)."""

    id: str
    author: str
    email: str
    at: str
    message: str
    record: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    reason: str = ""  # why it was done, in the person's words
    tree: str = ""

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def action(self) -> str | None:
        action = self.record.get("action")
        return action if isinstance(action, str) else None

    def fact(self, key: str) -> str:
        """One of the record's facts as text ('' when it has none)."""
        value = self.record.get(key)
        return value if isinstance(value, str) else ""

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "author": self.author, "at": self.at, "subject": self.subject, "reason": self.reason,
                "record": dict(self.record), "paths": list(self.paths)}


class GitError(ProblemError):
    """git refused or failed (WB1031); `.problems` says what git said."""


MAX_BLOB = 10_000_000
"""The most of one committed file the workbench reads: ten times its own largest file (a 1 MB ruleset, a 2 MB
release). A bigger one, planted by hand, is read only this far and reported as too large."""

_SAFE_SETTING = re.compile(r"^(core\.(repositoryformatversion|filemode|bare|logallrefupdates|autocrlf|ignorecase"
                           r"|precomposeunicode|symlinks)|extensions\.objectformat|remote\..+\.(url|fetch)"
                           r"|branch\..+\.(remote|merge))$")
"""The settings git init, git clone and git remote write: none of them names a program to run."""
_SAFE_TEAM_SETTING = re.compile(r"^(core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase"
                                r"|precomposeunicode|symlinks|sharedrepository)|extensions\.objectformat"
                                r"|receive\.(denynonfastforwards|denydeletes|denycurrentbranch|fsckobjects|unpacklimit)"
                                r"|transfer\.fsckobjects|gc\.auto|remote\..+\.(url|fetch)|branch\..+\.(remote|merge))$")
"""The settings a team's bare remote may hold: what `git init --bare` writes and what an administrator sets to
protect it (no force pushes, no deletions). None names a program; anything else stops a sync (WB1036)."""
_REMOTE_SIDE = ("git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.alternateRefsCommand=true "
                "-c receive.autogc=false -c gc.auto=0 -c receive.procReceiveRefs= ")
"""How git is run in a team remote on this machine (a folder or file:// address): git starts upload-pack or
receive-pack there with the remote's own settings, so its hooks, hooks path and alternate-refs command would run
as the clinician who syncs. Settings given with -c outrank every file; the remote's files are vetted too."""
_SAFE_REMOTE = re.compile(r"^(/|\./|\.\./|file://|https://|ssh://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^\0\n]*$")
"""Remote addresses as a team has them; `ext::` and other transports that run commands are refused."""


class Repository:
    """A folder of rulesets with its own git history (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.git_dir = self.root / ".git"
        self._held = False
        self._settings_checked: tuple[int, int, int] | None = None
        self.notes: list[Problem] = []
        """What the last locked action left to say without failing: files from the team the workbench does not
        keep (WB1037), files of a landed commit the disk would not take yet (WB1038)."""

    # --- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> Repository:
        """The repository of the rulesets folder `root`; made (with its current files as the first commit) when
        it is not one yet and `create`. Refused when `root` lies inside another repository, such as the project's
        own source checkout: the workbench never commits there."""
        root = Path(root)
        if not root.is_dir():
            raise ProblemError([Problem("WB1021", f"The rulesets folder {root} does not exist.")])
        repository = cls(root.resolve())
        inside = repository._toplevel()
        if inside is not None and inside != repository.root:
            raise ProblemError([Problem("WB1030", f"{root} lies inside the git repository {inside} (for example the "
                                        "project's own source code): the workbench keeps a history of its own and "
                                        "never commits there. Work on a rulesets folder of its own: `workbench init "
                                        "DIR --from rulesets` makes one, and ./run does this for you.")])
        if inside is None:
            if not create:
                raise ProblemError([Problem("WB1030", f"{root} has no history yet: the first save, review action or "
                                            "`workbench init` starts one.")])
            repository._make()
        if repository.head() is None and create:  # new, or a first commit that a crash or a full disk stopped
            repository._first_commit()
        return repository

    @classmethod
    def init(cls, root: Path) -> Repository:
        """A history of its own for the folder `root`, asked for by name (`workbench init`): made even where the
        folder lies inside another repository (./run keeps its data folder in the ignored `.workbench/` of the
        checkout), because its own `.git` then holds every commit and the outer history is never touched."""
        root = Path(root)
        if root.is_dir() and not (root / ".git").exists():
            cls(root.resolve())._make()
        return cls.open(root)

    def _make(self) -> None:
        self.git("init", "-q", "-b", BRANCH)
        self.git("config", "core.autocrlf", "false")

    def _toplevel(self) -> Path | None:
        done = self._run(["rev-parse", "--show-toplevel"], check=False)
        return Path(done.stdout.decode().strip()).resolve() if done.returncode == 0 else None

    def _first_commit(self) -> None:
        files = {path: data for path, data in self._working_files()}
        self.commit(files, message("Start the history of these rulesets",
                                   "Every save, review action and release from here on is a commit."), WORKBENCH,
                    allow_empty=True)

    def _working_files(self) -> Iterator[tuple[str, bytes]]:
        """What a first commit takes in: each ruleset folder's ruleset, vignettes and releases, as regular files
        (no links, nothing else that happens to lie in the folder, such as someone's keys)."""
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.is_symlink()):
            if not RulesetFolder.holds_ruleset(folder) or folder.name.startswith("."):
                continue
            layout = RulesetFolder(folder)
            for path in [layout.ruleset_file, *layout.vignette_files(), *sorted(layout.releases_dir.glob("*.json"))]:
                if path.is_file() and not path.is_symlink() and not path.parent.is_symlink():
                    yield path.relative_to(self.root).as_posix(), path.read_bytes()

    # --- running git --------------------------------------------------------------------------------

    def _run(self, args: list[str], *, input: bytes | None = None, env: Mapping[str, str] | None = None,
             check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = self._command(args)
        try:
            done = subprocess.run(command, cwd=self.root, input=input, capture_output=True, timeout=120,
                                  env={**self._environment(), **(env or {})}, check=False)
        except FileNotFoundError:
            raise GitError([Problem("WB1031", "git is not installed, so the history cannot be kept; install git "
                                    "(./run and ./test do).")]) from None
        except subprocess.TimeoutExpired:
            raise GitError([Problem("WB1031", f"git {args[0]} took longer than 2 minutes and was stopped.")]) from None
        if check and done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            if any("No space left" in line or "Disk quota" in line for line in said):
                raise GitError([Problem("WB1020", "The history cannot be written: the disk is full. Nothing was "
                                        "recorded; free some space and try again.")])
            if any("Read-only file system" in line or "Permission denied" in line for line in said):
                raise GitError([Problem("WB1020", "The history cannot be written: the disk is read-only or there "
                                        "is no permission. Nothing was recorded.")])
            raise GitError([Problem("WB1031", f"git {args[0]} failed: {said[-1] if said else done.returncode}.")])
        return done

    def _command(self, args: list[str]) -> list[str]:
        self._check_settings()
        return ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "gc.auto=0", *args]

    def _environment(self) -> dict[str, str]:
        """No system or user git settings: only the repository's own, which _check_settings vets."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0",
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(self.root)}

    def _check_settings(self) -> None:
        """Refuse to run git on settings the workbench did not write (WB1036).

        Whoever can write the rulesets folder can write `.git/config`, and git runs programs named there (a
        clean filter, a merge driver, a pager, a transport) in the process of the clinician who saves or
        releases, with their signing key at hand. Only the settings `git init`, `git clone` and `git remote`
        write are allowed; `.git` must be a folder here, not a link or a file pointing elsewhere."""
        if not self.git_dir.exists() and not self.git_dir.is_symlink():
            return
        if self.git_dir.is_symlink() or not self.git_dir.is_dir():
            raise GitError([Problem("WB1036", f"{self.git_dir} is a link or a file pointing elsewhere, not the "
                                    "history's own folder: nothing was done.")])
        config = self.git_dir / "config"
        try:
            info = config.lstat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except FileNotFoundError:
            return
        if stamp == self._settings_checked:
            return
        done = subprocess.run(["git", "config", "--file", str(config), "--no-includes", "--list", "-z"],
                              capture_output=True, timeout=60, env=self._environment(), check=False)
        entries = [e.split("\n", 1) for e in done.stdout.decode("utf-8", "replace").split("\0") if e]
        unsafe = [key for key, *value in entries if not _SAFE_SETTING.match(key)
                  or key.endswith(".url") and not _SAFE_REMOTE.match(value[0] if value else "")]
        if done.returncode != 0 or unsafe or config.is_symlink():
            named = ", ".join(sorted(set(unsafe))[:5]) or "settings git cannot read"
            raise GitError([Problem("WB1036", f"The history's settings ({config}) hold {named}, which the workbench "
                                    "did not write and git could use to run a program as you. Nothing was done: "
                                    "remove them, or make a fresh copy with `workbench init DIR --remote URL`.")])
        self._settings_checked = stamp

    def git(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        return self._run(list(args), input=input, env=env).stdout.decode("utf-8", "replace")

    # --- reading ------------------------------------------------------------------------------------

    def head(self) -> str | None:
        done = self._run(["rev-parse", "--verify", "-q", f"refs/heads/{BRANCH}"], check=False)
        return done.stdout.decode().strip() or None

    def resolve(self, revision: str) -> str | None:
        if not revision or revision.startswith("-"):
            return None
        done = self._run(["rev-parse", "--verify", "-q", f"{revision}^{{commit}}"], check=False)
        return done.stdout.decode().strip() or None

    def read(self, path: str, revision: str = "HEAD") -> bytes | None:
        """A file's bytes as committed at `revision`; None when it is not there. At most MAX_BLOB + 1 bytes: a
        bigger blob (no file the workbench writes comes near) is cut there, and its reader's own limit says so."""
        spec = f"{revision}:{_checked(path)}"
        size = self._run(["cat-file", "-s", spec], check=False)
        if size.returncode != 0:
            return None
        if int(size.stdout.strip() or 0) <= MAX_BLOB:
            done = self._run(["cat-file", "blob", spec], check=False)
            return done.stdout if done.returncode == 0 else None
        with subprocess.Popen(self._command(["cat-file", "blob", spec]), cwd=self.root, env=self._environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as reader:
            assert reader.stdout is not None
            data = reader.stdout.read(MAX_BLOB + 1)
            reader.kill()
        return data

    def files(self, folder: str, revision: str = "HEAD") -> dict[str, bytes]:
        """Every file committed under `folder` at `revision`, by path, read in one batch."""
        listing = self._run(["ls-tree", "-r", "-l", "-z", revision, "--", _checked(folder) + "/"], check=False)
        if listing.returncode != 0:
            return {}
        entries, out = [], {}
        for item in listing.stdout.decode("utf-8", "replace").split("\0"):
            if not item:
                continue
            meta, path = item.split("\t", 1)
            mode, kind, blob, size = meta.split()
            if kind == "blob" and mode in ("100644", "100755"):
                if int(size) > MAX_BLOB:
                    out[path] = self.read(path, revision) or b""
                else:
                    entries.append((path, blob))
        if not entries:
            return out
        batch = self._run(["cat-file", "--batch"], input="".join(f"{blob}\n" for _, blob in entries).encode())
        data, at = batch.stdout, 0
        for path, _ in entries:
            header_end = data.index(b"\n", at)
            size = int(data[at:header_end].split()[2])
            out[path] = data[header_end + 1:header_end + 1 + size]
            at = header_end + 1 + size + 1
        return out

    def log(self, folder: str | None = None, revision: str = "HEAD") -> list[Commit]:
        """The history, newest first (of `folder` only, with the review actions about it, when given).

        Each commit is read from git's own object, whose length git states, never from a text stream cut at
        separator characters: no message, however hostile, can make one commit read as two (records.py)."""
        if self.head() is None and revision == "HEAD":
            return []
        ids = self.git("rev-list", revision, "--").split()
        if not ids:
            return []
        changed = self._changed_paths(revision, ids)
        batch = self._run(["cat-file", "--batch"], input="".join(f"{i}\n" for i in ids).encode()).stdout
        commits, at = [], 0
        for commit_id in ids:
            header_end = batch.index(b"\n", at)
            size = int(batch[at:header_end].split()[2])
            raw = batch[header_end + 1:header_end + 1 + size]
            at = header_end + 1 + size + 1
            commit = _parse_commit(commit_id, raw, changed.get(commit_id, ()))
            if folder is None or commit.record.get("ruleset") == folder or any(
                    p == folder or p.startswith(folder + "/") for p in commit.paths):
                commits.append(commit)
        return commits

    def _changed_paths(self, revision: str, ids: list[str]) -> dict[str, tuple[str, ...]]:
        """Each commit's changed paths (`git log --name-only -z`), cut at the commit ids that git lists in the
        same order, so a file name cannot pass for the start of the next commit."""
        tokens = self._run(["log", "--format=%H", "--name-only", "-z", revision, "--"]).stdout.decode(
            "utf-8", "surrogateescape").split("\0")
        out: dict[str, list[str]] = {}
        position, current = 0, None
        for token in tokens:
            if position < len(ids) and token == ids[position]:
                current = ids[position]
                out[current] = []
                position += 1
            elif current is not None and token:
                out[current].append(token[1:] if token.startswith("\n") and not out[current] else token)
        return {key: tuple(value) for key, value in out.items()}

    def blame(self, path: str) -> list[str]:
        """The commit that last changed each line of the committed file (line 1 first); [] when it has none."""
        done = self._run(["blame", "--porcelain", "HEAD", "--", _checked(path)], check=False)
        if done.returncode != 0:
            return []
        heads = (re.match(r"^([0-9a-f]{40}) \d+ (\d+)", line) for line in done.stdout.decode("utf-8", "replace")
                 .splitlines())
        return [commit for _, commit in sorted((int(m.group(2)), m.group(1)) for m in heads if m)]

    def changed(self, paths: list[str]) -> list[str]:
        """The paths whose working-tree bytes differ from the last commit (edited outside the workbench)."""
        out = []
        for path in paths:
            committed = self.read(path)
            here = self.root / _checked(path)
            current = here.read_bytes() if here.is_file() and not here.is_symlink() else None
            if committed != current:
                out.append(path)
        return out

    # --- writing ------------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time (reentrant within this object); anything a crashed writer left half done is
        finished first."""
        if self._held:
            yield
            return
        try:
            lock = FileLock(str(self.git_dir / "workbench.lock"), timeout=_LOCK_SECONDS)
            lock.acquire()
        except Timeout:
            raise ProblemError([Problem("WB1020", "Someone else has been saving for more than "
                                        f"{_LOCK_SECONDS} seconds; nothing was done. Try again.")]) from None
        except OSError as exc:
            raise ProblemError([Problem("WB1020", f"Nothing can be saved in {self.root}: {disk_reason(exc)}. "
                                        "Nothing was done.")]) from None
        self._held = True
        self.notes = []
        try:
            self._recover()
            yield
        finally:
            self._held = False
            lock.release()

    def save(self, changes: Mapping[str, bytes], text: str, person: Person) -> str:
        """A person's edit: the files are written first (atomically), then committed; if the commit cannot be
        made, the files are put back as they were. So a refused save changes nothing, and a crash in between
        leaves the edit on disk (shown as not yet in the history), never lost."""
        with self.locked():
            before: dict[str, bytes | None] = {}
            try:
                for path, data in changes.items():
                    target = self.root / _checked(path)
                    _no_links(self.root, target)
                    before[path] = target.read_bytes() if target.is_file() else None
                    atomic_write(target, data)
            except OSError as exc:
                self._put_back(before)
                raise ProblemError([save_problem(self.root / path, exc)]) from None
            try:
                return self.commit(dict(changes), text, person)
            except ProblemError:
                self._put_back(before)
                raise

    def _put_back(self, before: Mapping[str, bytes | None]) -> None:
        for path, data in before.items():
            target = self.root / path
            try:
                if data is None:
                    target.unlink(missing_ok=True)
                else:
                    atomic_write(target, data)
            except OSError:
                pass  # the disk refuses even this: the new text stays, shown as not yet in the history

    def commit(self, changes: Mapping[str, bytes | None], text: str, person: Person, *,
               allow_empty: bool = False, expected_head: str | None = None) -> str:
        """One commit by `person` writing `changes` (path -> bytes, None removes); its id. The commit lands
        first and the files follow it (the journal finishes the job after a crash): the order for releases,
        which exist only once their commit does.

        With `expected_head`, refused (WB1032) when the branch has moved since the caller read it. Takes the lock
        unless the caller holds it."""
        with self.locked():
            if found := (name_check(person.name) or reason_problem(text, "message")):
                raise ProblemError([found])
            if person.signed_in:
                text = stamped(text, signed_in=True)
            for path in changes:
                _no_links(self.root, self.root / _checked(path))
            old = self.head()
            if expected_head is not None and old != expected_head:
                raise ProblemError([Problem("WB1032", "The history moved on while you were working (someone else "
                                            "saved or acted first); nothing was recorded. Reload and try again.")])
            tree = self._tree_with(old, {_checked(path): data for path, data in changes.items()})
            if old is not None and not allow_empty and tree == self.git("rev-parse", f"{old}^{{tree}}").strip():
                return old
            env = {"GIT_AUTHOR_NAME": person.name, "GIT_AUTHOR_EMAIL": person.address,
                   "GIT_COMMITTER_NAME": person.name, "GIT_COMMITTER_EMAIL": person.address}
            parents = ["-p", old] if old else []
            new = self.git("commit-tree", tree, *parents, input=text.encode("utf-8"), env=env).strip()
            self._move(old, new, list(changes))
            return new

    def advance(self, new: str) -> None:
        """Move the branch to `new` (a commit that descends from the current one: pulled or merged), and the
        working tree with it. The caller holds the lock."""
        old = self.head()
        if old == new:
            return
        names = self.git("diff", "--name-only", "--no-renames", "-z", old, new).split("\0") if old else \
            self.git("ls-tree", "-r", "-z", "--name-only", new).split("\0")
        self._move(old, new, [name for name in names if name])

    def check_out(self) -> None:
        """Write every file the workbench keeps from the last commit (a history just copied from the team)."""
        with self.locked():
            head = self.head()
            if head is not None:
                names = self.git("ls-tree", "-r", "-z", "--name-only", head).split("\0")
                self._journal({"commit": head, "files": [name for name in names if name]})
                self._materialize(head)

    def _move(self, old: str | None, new: str, files: list[str]) -> None:
        """Journal, then move the branch with compare-and-swap, then bring the files: the crash-safe order."""
        crashpoint("commit:written")
        try:
            self._journal({"commit": new, "files": files})
        except OSError as exc:
            raise ProblemError([Problem("WB1020", f"The history cannot be written: {disk_reason(exc)}. Nothing "
                                        "was recorded.")]) from None
        crashpoint("commit:journal")
        self.git("update-ref", f"refs/heads/{BRANCH}", new, old or "0" * 40)
        crashpoint("commit:landed")
        self._materialize(new)

    def _tree_with(self, base: str | None, changes: Mapping[str, bytes | None]) -> str:
        """The tree of `base` with `changes` applied, built in a private index that no crash can leave locked."""
        index = self.git_dir / f"workbench-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if base:
                self.git("read-tree", base, env=env)
            else:
                self.git("read-tree", "--empty", env=env)
            for path, data in changes.items():
                if data is None:
                    self.git("update-index", "--force-remove", "--", path, env=env)
                    continue
                blob = self.git("hash-object", "-w", "--stdin", input=data).strip()
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            return self.git("write-tree", env=env).strip()
        finally:
            index.unlink(missing_ok=True)

    # --- the journal: files follow their commit ---------------------------------------------------

    @property
    def _journal_path(self) -> Path:
        return self.git_dir / "workbench-pending.json"

    def _journal(self, entry: dict[str, object]) -> None:
        atomic_write(self._journal_path, json.dumps(entry).encode())

    @property
    def _unwritten_path(self) -> Path:
        return self.git_dir / "workbench-unwritten.json"

    def _materialize(self, commit: str) -> None:
        """Bring the journal's files from `commit` into the working tree, then drop the journal.

        A file the disk will not take now (full, read-only) does not undo the commit, which has landed: it is
        noted (WB1038) and kept in a list the next writer finishes from the last commit. A path the workbench
        does not keep (a hidden file, a link, anything outside a ruleset's rules, vignettes and releases) stays
        in the history, is never written here, and is noted with its path (WB1037): one odd file from a teammate
        never stops anyone's saves and releases."""
        entry = json.loads(self._journal_path.read_text(encoding="utf-8"))
        files = entry["files"]
        self._bring(commit, list(files) if isinstance(files, dict) else files)
        crashpoint("commit:files")
        self._refresh_index([path for path in (files if isinstance(files, list) else list(files)) if kept(path)])
        self._journal_path.unlink(missing_ok=True)

    def _bring(self, commit: str, paths: list[str]) -> None:
        """Write each kept path as `commit` has it (or remove it), noting what cannot be written."""
        entries = self._entries(commit, [path for path in paths if kept(path)])
        left: list[str] = []
        for path in paths:
            if not kept(path) or entries.get(path, ("100644", ""))[0] not in ("100644", "100755"):
                self.notes.append(Problem("WB1037", f"{path} came with the history but is not a file the workbench "
                                          "keeps (a hidden file, a link, or outside a ruleset's rules, vignettes "
                                          "and releases): it was left in the history and not written here.",
                                          severity="warning", file=path))
                continue
            target = self.root / path
            try:
                _no_links(self.root, target)
                if path in entries:
                    data = self.read(path, commit)
                    if data is not None and (not target.is_file() or target.read_bytes() != data):
                        atomic_write(target, data)
                elif target.is_file():
                    target.unlink()
            except ProblemError as exc:
                self.notes.extend(replace(p, severity="warning") for p in exc.problems)
            except OSError as exc:
                left.append(path)
                self.notes.append(Problem("WB1038", f"{path} is in the history but could not be written here yet: "
                                          f"{disk_reason(exc)}. It is written by the next action once there is "
                                          "room.", severity="warning", file=path))
        self._remember_unwritten(paths, left)

    def _entries(self, commit: str, paths: list[str]) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob) in `commit`, for these paths (absent ones are not in it)."""
        if not paths:
            return {}
        listing = self.git("ls-tree", "-z", commit, "--", *paths)
        out = {}
        for item in listing.split("\0"):
            if item:
                meta, path = item.split("\t", 1)
                mode, _, blob = meta.split()
                out[path] = (mode, blob)
        return out

    def _remember_unwritten(self, tried: list[str], left: list[str]) -> None:
        before = self._unwritten()
        remaining = sorted((set(before) - set(tried)) | set(left))
        try:
            if remaining:
                atomic_write(self._unwritten_path, json.dumps(remaining).encode())
            else:
                self._unwritten_path.unlink(missing_ok=True)
        except OSError:
            pass  # the disk refuses even this list: the next commit's own files are still written

    def _unwritten(self) -> list[str]:
        try:
            found = json.loads(self._unwritten_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []

    def _refresh_index(self, paths: list[str]) -> None:
        """Keep `git status` honest for people who look with git; best effort, never needed for correctness."""
        if paths:
            self._run(["reset", "-q", "HEAD", "--", *paths], check=False)

    def _recover(self) -> None:
        """Finish what a crashed writer left: files of a landed commit, files a full disk refused, temporary
        indexes. Never fails the action that is starting: what still cannot be written is noted again."""
        for stale in self.git_dir.glob("workbench-index-*"):
            stale.unlink(missing_ok=True)
        if self._journal_path.exists():
            try:
                entry = json.loads(self._journal_path.read_text(encoding="utf-8"))
                landed = entry["commit"] == self.head()
            except (ValueError, KeyError, TypeError):
                landed = False
            if landed:
                self._materialize(entry["commit"])
            else:  # the crash came before the branch moved: there is nothing to finish
                self._journal_path.unlink(missing_ok=True)
        unwritten, head = self._unwritten(), self.head()
        if unwritten and head:
            self._bring(head, unwritten)

    # --- the team remote -------------------------------------------------------------------------------

    def remotes(self) -> list[str]:
        return self.git("remote").split()

    def remote_url(self, name: str = "origin") -> str | None:
        """Where the team remote `name` is, or None when the history is not shared."""
        return self.git("remote", "get-url", name).strip() if name in self.remotes() else None

    def transfer(self, verb: str, remote: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """`git fetch` or `git push` with the team remote `remote`: where the remote is a folder on this machine,
        its settings are vetted first (WB1036) and git runs there with hooks and every program-naming setting
        turned off."""
        url = self.remote_url(remote) or remote
        options = remote_side(url, verb)
        return self._run([verb, "-q", *options, remote, *args], check=check)

    def add_remote(self, url: str, name: str = "origin") -> None:
        if not _SAFE_REMOTE.match(url):
            raise ProblemError([Problem("WB1031", f"'{url}' is not a team remote the workbench uses: give a folder "
                                        "path, or a file://, https:// or ssh:// address.")])
        if name in self.remotes():
            self.git("remote", "set-url", name, url)
        else:
            self.git("remote", "add", name, url)


CRASH_ENV = "WORKBENCH_CRASH_AT"


def crashpoint(step: str) -> None:
    """Die here, as kill -9 would, when $WORKBENCH_CRASH_AT names this step: how the tests prove that a crash
    at every step of a save or a release leaves either nothing or everything (tests/test_crashes.py)."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _checked(path: str) -> str:
    """A path inside the repository as git names it; refused if it could lead out of it or into .git."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", "") or part.startswith(".") for part in pure.parts):
        raise ProblemError([Problem("WB1022", f"'{path}' is not a path inside the rulesets folder.")])
    return pure.as_posix()


def kept(path: str) -> bool:
    """A path the workbench keeps in a rulesets folder: `<id>/ruleset.yaml`, `<id>/vignettes/<name>.yaml` and
    `<id>/releases/<version>.json`, none of their parts hidden. Anything else in the history is someone else's."""
    parts = path.split("/")
    if any(not part or part.startswith(".") or part == ".." for part in parts):
        return False
    if len(parts) == 2:
        return parts[1] == RULESET_FILE
    return len(parts) == 3 and ((parts[1] == VIGNETTES_DIR and parts[2].endswith(VIGNETTE_SUFFIXES))
                                or (parts[1] == RELEASES_DIR and parts[2].endswith(".json")))


def _no_links(root: Path, target: Path) -> None:
    """Refuse to write through a link planted in the folder (it could lead anywhere)."""
    for parent in [target, *target.parents]:
        if parent == root:
            return
        if parent.is_symlink():
            raise ProblemError([Problem("WB1022", f"{parent} is a link; the workbench does not write through links.")])


_IDENT = re.compile(rb"^(?P<name>.*) <(?P<email>[^<>]*)> (?P<seconds>-?\d+) (?P<zone>[+-]\d{4})$")


def _parse_commit(commit_id: str, raw: bytes, paths: tuple[str, ...]) -> Commit:
    """A commit object as git stores it: headers, a blank line, the message."""
    head, _, body = raw.partition(b"\n\n")
    fields: dict[bytes, bytes] = {}
    for line in head.split(b"\n"):
        if line[:1] != b" ":  # continuation lines (a signature's) belong to the header before them
            key, _, value = line.partition(b" ")
            fields.setdefault(key, value)
    author = _IDENT.match(fields.get(b"author", b""))
    name, email, at = "", "", ""
    if author:
        name, email = (author.group(g).decode("utf-8", "replace") for g in ("name", "email"))
        zone = author.group("zone").decode()
        offset = (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        at = datetime.fromtimestamp(int(author.group("seconds")), timezone(offset)).isoformat()
    text = body.decode("utf-8", "replace")
    record, reason = read_record(text)
    return Commit(commit_id, name, email, at, text.strip(), record, paths, reason,
                  fields.get(b"tree", b"").decode("ascii", "replace"))


def local_remote(url: str) -> Path | None:
    """The git folder of a team remote that is a folder on this machine (a path or file:// address), or None for
    a remote reached over the network (its programs run on its server, not here)."""
    if url.startswith("file://"):
        url = url[len("file://"):]
    elif not url.startswith(("/", "./", "../")):
        return None
    folder = Path(url)
    return folder / ".git" if (folder / ".git").exists() else folder


def remote_side(url: str, verb: str) -> list[str]:
    """The options that make git run a local team remote's side without its programs (see _REMOTE_SIDE); [] for
    a network remote. WB1036 when the remote's own settings name a program, an include, or lead elsewhere."""
    folder = local_remote(url)
    if folder is None:
        return []
    config = folder / "config"
    if config.is_symlink() or (folder / "commondir").exists():
        raise GitError([Problem("WB1036", f"The team remote {url} has settings that lead elsewhere; nothing was "
                                "sent or received.")])
    if config.is_file():
        done = subprocess.run(["git", "config", "--file", str(config), "--no-includes", "--list", "-z"],
                              capture_output=True, timeout=60, check=False,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
                                   "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"})
        keys = [e.split("\n", 1)[0] for e in done.stdout.decode("utf-8", "replace").split("\0") if e]
        unsafe = sorted({key for key in keys if not _SAFE_TEAM_SETTING.match(key.lower())})
        if done.returncode != 0 or unsafe:
            named = ", ".join(unsafe[:5]) or "settings git cannot read"
            raise GitError([Problem("WB1036", f"The team remote {url} holds settings ({named}) that could run a "
                                    "program as you when you sync; nothing was sent or received. Whoever looks after "
                                    "the team remote should remove them.", file=str(config))])
    program = "upload-pack" if verb in ("fetch", "clone") else "receive-pack"
    return [f"--{program}={_REMOTE_SIDE}{program}"]


def git_available() -> bool:
    return shutil.which("git") is not None
