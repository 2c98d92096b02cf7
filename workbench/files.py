"""Saving files so that nothing a user saved is lost: atomic writes and refusing stale overwrites.

A save names the version it started from (the sha256 of the bytes it read). If the file changed
since, someone else saved in between and the save is refused with their text, never overwritten.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock

from .problems import Problem, ProblemError


class SaveConflict(ProblemError):
    """The file changed since it was opened; `current` is what is on disk now (a Problem, WB1024, like any other
    error, so a caller that only knows ProblemError still says it in words)."""

    def __init__(self, path: Path, current: str | None) -> None:
        super().__init__([Problem("WB1024", f"{path} was changed by someone else since you opened it; your text was "
                                            "not saved.", file=str(path))])
        self.path, self.current = path, current

    def __str__(self) -> str:
        return self.problems[0].message


class NotAFile(OSError):
    """A path that is a link, a folder reached through a link, a pipe or a device: never read."""


def plain_file(path: Path) -> bool:
    """True for a regular file that is not a link, in a folder that is not a link: what the workbench reads."""
    path = Path(path)
    try:
        return stat.S_ISREG(path.lstat().st_mode) and not path.parent.is_symlink()
    except OSError:
        return False


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, at most `limit` + 1 of them (the caller says "too large"). Refused with
    NotAFile when the file or its folder is a link (it could lead anywhere, /dev/zero included) or the file is
    not a regular file (a FIFO would block a read forever); FileNotFoundError when it is not there."""
    path = Path(path)
    if path.parent.is_symlink():
        raise NotAFile(f"{path.parent} is a link, which the workbench does not follow")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if os.path.islink(path):
            raise NotAFile(f"{path.name} is a link, which the workbench does not follow") from None
        raise exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotAFile(f"{path.name} is not a regular file (a folder, a pipe or a device)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for json.loads: an object whose keys are all different. A repeated key is how one
    document says two things: Python keeps the last value, a parser elsewhere may keep the first (an emergency
    read as self-care), so a document with one is refused, never read."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key '{key}' appears twice in one object, so readers could disagree on its value")
        seen[key] = value
    return seen


MAX_TEXT_BYTES = 2_000_000


def version_of(data: bytes | None) -> str | None:
    """The version token of a file's bytes; None for a file that does not exist."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def read_versioned(path: Path) -> tuple[str | None, str | None]:
    """The file's text and version token, (None, None) when it does not exist."""
    try:
        data = read_regular(Path(path), MAX_TEXT_BYTES)
    except FileNotFoundError:
        return None, None
    return data.decode("utf-8", "replace"), version_of(data)


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: readers see old or new, never half.

    `mode` sets the permissions (0o600 for secrets); by default a file keeps its own, a new one is 0644."""
    path = Path(path)
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def create_exclusive(path: Path, data: bytes) -> None:
    """Create `path` with `data` complete, or raise FileExistsError: a published file is never replaced.

    The bytes go to a temporary file first and are hard-linked into place; a link, unlike a rename,
    fails when the name exists, so the check and the creation are one atomic step.
    """
    path = Path(path)
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _write_temp(path: Path, data: bytes, mode: int | None = None) -> Path:
    """A complete, fsynced copy of `data` beside `path`, readable like the file it replaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777 if mode is None else mode
    except FileNotFoundError:
        mode = 0o644  # mkstemp's 0600 would hide releases from a server running as another user
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename or link itself survives a power cut."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_text(path: Path, text: str, expected_version: str | None) -> str:
    """Save `text` if the file is still at `expected_version` (None: must not exist yet); the new version.

    The check and the rename are not one atomic step across processes; a lock file closes that gap.
    """
    path = Path(path)
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        current_text, current_version = read_versioned(path)
        if current_version != expected_version:
            raise SaveConflict(path, current_text)
        atomic_write(path, data)
    return version_of(data) or ""


def locked(path: Path) -> FileLock:
    """Hold an exclusive lock tied to `path` (a hidden `.name.lock` beside it) for a read-check-write step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(f".{path.name}.lock")))


_WHY = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the disk is read-only", errno.EACCES: "there is no permission to write there",
        errno.EPERM: "there is no permission to write there", errno.ENOENT: "its folder is gone",
        errno.EFBIG: "the file would be larger than this system allows"}


def disk_reason(exc: OSError) -> str:
    """'the disk is full': why the disk refused a write, in words."""
    return _WHY.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def save_problem(path: Path, exc: OSError) -> Problem:
    """Why the disk refused a save, in words (WB1020); the file on disk is as it was, since writes are atomic."""
    return Problem("WB1020", f"{Path(path).name} could not be saved: {disk_reason(exc)}. Nothing on disk was "
                   "changed, and the text you were saving is kept where you wrote it; free some space or ask for "
                   "access, then save again.", file=str(path))
