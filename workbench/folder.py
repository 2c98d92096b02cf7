"""The layout of a ruleset folder, in one place: every other module asks a `RulesetFolder`.

    <rulesets>/<id>/ruleset.yaml          the rules (the folder's name is the ruleset's id)
    <rulesets>/<id>/vignettes/*.yaml      test cases, replayed before every release
    <rulesets>/<id>/releases/<v>.json     signed releases, never edited

The same names serve paths on disk and paths inside the history (`git_path`), which are relative to the
rulesets folder and always use '/'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RULESET_FILE = "ruleset.yaml"
VIGNETTES_DIR = "vignettes"
RELEASES_DIR = "releases"
VIGNETTE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RulesetFolder:
    """One ruleset's folder: where its rules, vignettes and releases live."""

    path: Path

    @classmethod
    def of(cls, path: Path | str) -> RulesetFolder:
        """The folder for a ruleset folder or the ruleset file inside it."""
        path = Path(path)
        return cls(path.parent if path.name == RULESET_FILE or path.is_file() else path)

    @staticmethod
    def holds_ruleset(path: Path) -> bool:
        """A folder with a ruleset file in it (what the workbench lists as a ruleset)."""
        return (path / RULESET_FILE).is_file()

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def ruleset_file(self) -> Path:
        return self.path / RULESET_FILE

    @property
    def vignettes_dir(self) -> Path:
        return self.path / VIGNETTES_DIR

    @property
    def releases_dir(self) -> Path:
        return self.path / RELEASES_DIR

    def vignette_files(self) -> list[Path]:
        folder = self.vignettes_dir
        if not folder.is_dir():
            return []
        return sorted(p for suffix in VIGNETTE_SUFFIXES for p in folder.glob(f"*{suffix}"))

    def release_file(self, version: str) -> Path:
        return self.releases_dir / f"{version}.json"

    def git_path(self, *parts: str) -> str:
        """A path inside the history, relative to the rulesets folder: git_path('vignettes', 'a.yaml')."""
        return "/".join((self.id, *parts))
