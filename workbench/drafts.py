"""Unsaved editor text kept on disk, per person, per ruleset, per file, so no edit is lost to a reload, a crashed
server or a closed tab.

A draft is written atomically (files.atomic_write) each time the text typed in the editor changes, and removed
once the text is saved or discarded, or typed back to what is saved. It lives in the workspace,
`.workbench/drafts/` (or $WORKBENCH_DRAFTS), never beside the rules: the rulesets folder is a history the team
shares, and a draft is one person's unfinished thought. A draft remembers the version of the saved file it was
started from, so restoring it over a file someone else saved since goes through the editor's conflict view
rather than over their work."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import workspace
from .files import atomic_write, plain_file, read_regular

DRAFTS_ENV = "WORKBENCH_DRAFTS"
MAX_DRAFT_BYTES = 8 * 1024 * 1024
"""A draft holds one file's text: far above any ruleset, and a bound on what is read back."""


@dataclass(frozen=True)
class Draft:
    person: str
    file: str  # the absolute path of the file being edited
    text: str
    base: str | None  # the version (files.version_of) of the saved file the draft was started from
    at: str  # when it was last kept, UTC, ISO 8601 to the second


def drafts_folder() -> Path:
    """$WORKBENCH_DRAFTS, or `drafts/` in the workspace (as keys and the keyring)."""
    configured = os.environ.get(DRAFTS_ENV)
    if configured:
        return Path(configured).expanduser()
    return workspace.home() / "drafts"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "x"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def draft_path(person: str, file: Path) -> Path:
    """drafts/<person>/<ruleset>/<file>.json. Each part carries a digest of what it stands for, so two people
    whose names read alike, or two rulesets folders holding the same ruleset, never share a draft."""
    file = Path(file).resolve()
    ruleset = file.parent.parent if file.parent.name == "vignettes" else file.parent
    return (drafts_folder() / f"{_slug(person)}-{_digest(person.casefold())}"
            / f"{_slug(ruleset.name)}-{_digest(str(ruleset))}" / f"{_slug(file.name)}-{_digest(str(file))}.json")


def keep(person: str, file: Path, text: str, base: str | None) -> Draft:
    """Write (or replace) the person's draft of `file`, atomically: a crash leaves the old draft or the new."""
    draft = Draft(person, str(Path(file).resolve()), text, base, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = draft_path(person, file)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(asdict(draft), ensure_ascii=False).encode("utf-8"), mode=0o600)
    return draft


def found(person: str, file: Path) -> Draft | None:
    """The person's draft of `file`, or None: none kept, or one that cannot be read back (a damaged draft is
    no reason to stop the editor; the saved file is still there)."""
    path = draft_path(person, file)
    if not plain_file(path):
        return None
    try:
        data = json.loads(read_regular(path, MAX_DRAFT_BYTES).decode("utf-8"))
        draft = Draft(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(draft.text, str) or draft.file != str(Path(file).resolve()) or draft.person != person:
        return None
    return draft


def drop(person: str, file: Path) -> None:
    """Forget the person's draft of `file` (saved, discarded, or typed back to the saved text)."""
    try:
        draft_path(person, file).unlink()
    except FileNotFoundError:
        pass
