"""The workspace's case store: past cases kept beside the rulesets, so every new version's review shows what it
would have changed for them. A file or a folder of CSV, Parquet or JSON lines files (`cases.py`), named by
$WORKBENCH_CASES or found at `cases/` in the workspace; a `columns.json` (or .yaml) in the folder maps input ids to
its column names when they differ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import workspace
from ..problems import ProblemError
from ..run.engine import CompiledRuleset
from .cases import CaseFile, case_files, column_map
from .impact import Impact, impact

CASES_ENV = "WORKBENCH_CASES"
MAP_NAMES = ("columns.json", "columns.yaml", "columns.yml")


def default_place() -> Path:
    """`cases/` in the workspace, where the workbench keeps what is not source (keys, the keyring, drafts)."""
    return workspace.home() / "cases"


@dataclass(frozen=True)
class CaseStore:
    """A configured place of past cases: its files and the column map that goes with them."""

    path: Path
    files: list[CaseFile]
    mapping: Mapping[str, str] = field(default_factory=dict)

    def impact(self, old: CompiledRuleset, new: CompiledRuleset, *, scheduler: str | Any | None = None) -> Impact:
        """What `new` changes against `old` for every case in the store (analysis/impact.py)."""
        return impact(old, new, self.files, self.mapping, scheduler=scheduler)


def case_store(place: str | Path | None = None) -> CaseStore | None:
    """The case store at `place`, else $WORKBENCH_CASES, else `cases/` in the workspace; None when there is none (no
    such file or folder, or a folder with no case files). Raises ProblemError for a column map it cannot read."""
    configured = place or os.environ.get(CASES_ENV)
    path = Path(configured).expanduser() if configured else default_place()
    if not path.exists():
        return None
    try:
        files = case_files(path)
    except ProblemError:  # a folder without case files yet: no store
        return None
    mapping: dict[str, str] = {}
    if path.is_dir():
        found = next((path / name for name in MAP_NAMES if (path / name).is_file()), None)
        if found is not None:
            mapping = column_map(str(found))
    return CaseStore(path, files, mapping)
