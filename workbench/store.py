"""Saving files so that nothing a user saved is lost: atomic writes and refusing stale overwrites.

A save names the version it started from (the sha256 of the bytes it read). If the file changed
since, someone else saved in between and the save is refused with their text, never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class SaveConflict(Exception):
    """The file changed since it was opened; `current` is what is on disk now."""

    def __init__(self, path: Path, current: str | None) -> None:
        super().__init__(f"{path} was changed by someone else since you opened it; your text was not saved.")
        self.path, self.current = path, current


def version_of(data: bytes | None) -> str | None:
    """The version token of a file's bytes; None for a file that does not exist."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def read_versioned(path: Path) -> tuple[str | None, str | None]:
    """The file's text and version token, (None, None) when it does not exist."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, None
    return data.decode("utf-8"), version_of(data)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
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
    lock = path.with_name(f".{path.name}.lock")
    with _Lock(lock):
        current_text, current_version = read_versioned(path)
        if current_version != expected_version:
            raise SaveConflict(path, current_text)
        atomic_write(path, data)
    return version_of(data) or ""


class _Lock:
    """An exclusive advisory lock (fcntl) held while checking and replacing a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> _Lock:
        import fcntl

        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
