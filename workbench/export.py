"""Published releases -> static JSON for downstream apps (SPEC 7): an index, every version, and latest.

Only release files are read (`rulesets/<id>/releases/<version>.json`, see release.py), never drafts, and
each is verified against its sha256 before it is published. The output depends on the releases alone,
byte for byte, so exporting twice gives identical files and a CDN or a git diff sees no change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import RULESET_ID_PATTERN, SEMVER_PATTERN
from .problems import Problem, ProblemError
from .release import RELEASES_DIR, Release, load_release
from .semver import version_key
from .store import atomic_write

_RULESET_ID = re.compile(RULESET_ID_PATTERN)
_SEMVER = re.compile(SEMVER_PATTERN)


def release_path(rulesets_root: Path, ruleset_id: str, version: str) -> Path | None:
    """Where a release would be stored; None for an id or version that could escape the folder."""
    if not _RULESET_ID.fullmatch(ruleset_id) or not _SEMVER.fullmatch(version):
        return None
    path = Path(rulesets_root) / ruleset_id / RELEASES_DIR / f"{version}.json"
    return path if _inside(Path(rulesets_root), path) else None


def release_files(rulesets_root: Path, problems: list[Problem] | None = None) -> list[Path]:
    """Every release file under the root; one reached through a link leading outside it is left out (and
    reported in `problems`), so a planted link cannot publish a file from elsewhere."""
    root = Path(rulesets_root)
    found = []
    for path in sorted(root.glob(f"*/{RELEASES_DIR}/*.json")):
        if _inside(root, path):
            found.append(path)
        elif problems is not None:
            problems.append(Problem("WB1022", f"{path} is a link leading outside {root}; it is not published.",
                                    file=str(path), line=1, column=1))
    return found


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def read_releases(rulesets_root: Path, problems: list[Problem] | None = None) -> dict[str, list[Release]]:
    """Every release under the root that verifies, by ruleset id, oldest version first; the others are
    left out and their problems appended to `problems`."""
    releases = []
    for path in release_files(rulesets_root, problems):
        try:
            releases.append(load_release(path))
        except ProblemError as exc:
            if problems is not None:
                problems.extend(exc.problems)
    return group_releases(releases)


def group_releases(releases: Iterable[Release]) -> dict[str, list[Release]]:
    grouped: dict[str, list[Release]] = {}
    for release in releases:
        grouped.setdefault(release.id, []).append(release)
    return {ruleset_id: sorted(grouped[ruleset_id], key=lambda r: version_key(r.version))
            for ruleset_id in sorted(grouped)}


def latest(releases: list[Release]) -> Release:
    """The highest version, preferring full releases over pre-releases (`-rc.1`) when there are any."""
    full = [r for r in releases if "-" not in r.version]
    return max(full or releases, key=lambda r: version_key(r.version))


def index_data(releases: dict[str, list[Release]]) -> dict[str, Any]:
    """`{"rulesets": [{"id", "title", "latest", "versions"}]}`; the title is that of the latest release."""
    rulesets = []
    for ruleset_id, items in releases.items():
        newest = latest(items)
        rulesets.append({"id": ruleset_id, "title": newest.model.title, "latest": newest.version,
                         "versions": [r.version for r in items]})
    return {"rulesets": rulesets}


def published(release: Release) -> dict[str, Any]:
    """What downstream apps get (SPEC 7): the ruleset's own fields, plus `sha256` of their canonical JSON and
    the `release` metadata. Verify by hashing the document without those two keys (runtime.ruleset_part)."""
    return {**release.ruleset, "sha256": release.sha256, "release": release.release}


def document_bytes(data: Any) -> bytes:
    """How every exported or served document is written: sorted keys, 2-space indent, UTF-8, final newline."""
    return (json.dumps(data, sort_keys=True, indent=2, separators=(",", ": "), ensure_ascii=False) + "\n").encode()


@dataclass
class ExportReport:
    out: Path
    releases: int = 0
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "releases": self.releases, "written": [str(p) for p in self.written],
                "unchanged": [str(p) for p in self.unchanged], "removed": [str(p) for p in self.removed],
                "problems": [p.to_dict() for p in self.problems]}


def export_files(releases: dict[str, list[Release]]) -> dict[str, bytes]:
    """Relative path -> bytes of everything an export writes; index.json last, so readers never see it early."""
    files: dict[str, bytes] = {}
    for ruleset_id, items in releases.items():
        for release in items:
            files[f"{ruleset_id}/{release.version}.json"] = document_bytes(published(release))
        files[f"{ruleset_id}/latest.json"] = document_bytes(published(latest(items)))
    files["index.json"] = document_bytes(index_data(releases))
    return files


def export(rulesets_root: Path, out: Path) -> ExportReport:
    """Write the releases under `rulesets_root` into `out`; files a previous export wrote and this one does
    not (a release withdrawn or failing verification) are removed. Raises NotADirectoryError for a file `out`."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file, not a folder")
    report = ExportReport(out)
    releases = read_releases(Path(rulesets_root), report.problems)
    report.releases = sum(len(items) for items in releases.values())
    previous = _previous_export(out)
    files = export_files(releases)
    for name, data in files.items():
        target = out / name
        if target.is_file() and target.read_bytes() == data:
            report.unchanged.append(target)
        else:
            atomic_write(target, data)
            report.written.append(target)
    for name in sorted(previous - set(files)):
        stale = out / name
        if stale.is_file():
            stale.unlink()
            report.removed.append(stale)
        if stale.parent != out and stale.parent.is_dir() and not any(stale.parent.iterdir()):
            stale.parent.rmdir()
    return report


def _previous_export(out: Path) -> set[str]:
    """The files the export already in `out` wrote, told by its index.json; nothing else is ever deleted."""
    try:
        index = json.loads((out / "index.json").read_text(encoding="utf-8"))
        entries = index["rulesets"]
        names = {"index.json"}
        for entry in entries:
            ruleset_id = entry["id"]
            if not isinstance(ruleset_id, str) or not _RULESET_ID.fullmatch(ruleset_id):
                continue
            names.add(f"{ruleset_id}/latest.json")
            names.update(f"{ruleset_id}/{v}.json" for v in entry["versions"]
                         if isinstance(v, str) and _SEMVER.fullmatch(v))
        return names
    except (OSError, ValueError, KeyError, TypeError):
        return set()
