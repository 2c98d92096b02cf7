"""Published releases -> static JSON for downstream apps (SPEC 7): an index, every version, and latest.

Only published releases are exported (publish/published.py: committed by a release, signed by a clinician
the keyring trusts, unchanged), never drafts; each file is the release document byte for byte, so an app
can check its signature and hash exactly as the API serves them. The output depends on the releases alone,
so exporting twice gives identical files. The output folder is written without following links: a link
planted in it cannot make the export write, or delete, anything outside it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.model import RULESET_ID_PATTERN, SEMVER_PATTERN
from ..files import atomic_write
from ..problems import Problem
from .artefacts import KINDS as FHIR_RESOURCES
from .artefacts import artefact_files
from .fhir import Canonicals
from .published import published
from .releases import Release, document_bytes, group, latest
from .signing import Keyring

_RULESET_ID = re.compile(RULESET_ID_PATTERN)
_SEMVER = re.compile(SEMVER_PATTERN)
_VERSION_FILE = re.compile(r"[^/]+/(?!latest\.json$)[^/]+\.json")


def index_data(releases: dict[str, list[Release]]) -> dict[str, Any]:
    """`{"rulesets": [{"id", "title", "latest", "versions"}]}`; the title is that of the latest release."""
    rulesets = []
    for ruleset_id, items in releases.items():
        newest = latest(items)
        rulesets.append({"id": ruleset_id, "title": newest.model.title, "latest": newest.version,
                         "versions": [r.version for r in items]})
    return {"rulesets": rulesets}


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


def export_files(releases: dict[str, list[Release]], fhir: Canonicals | None = None) -> dict[str, bytes]:
    """Relative path -> bytes of everything an export writes; index.json last, so readers never see it early.
    With `fhir` (the base URL the artefacts are identified under), each release also as FHIR R4 resources:
    `<id>/fhir/<version>.<Resource>.json`."""
    files: dict[str, bytes] = {}
    for ruleset_id, items in releases.items():
        for release in items:
            files[f"{ruleset_id}/{release.version}.json"] = release.data
            for kind, data in (artefact_files(release, fhir) if fhir else {}).items():
                files[f"{ruleset_id}/fhir/{release.version}.{kind}.json"] = data
        files[f"{ruleset_id}/latest.json"] = latest(items).data
    files["index.json"] = document_bytes(index_data(releases))
    return files


class ExportRefused(Exception):
    """The output folder cannot be written safely (it is a file, or a link leads out of it)."""


def export(rulesets_root: Path, out: Path, keyring: Keyring, withdraw: Collection[str] = (),
           fhir: Canonicals | None = None) -> ExportReport:
    """Write the published releases under `rulesets_root` into `out`.

    A release a previous export wrote is never dropped quietly: downstream apps may hold it, and its loss moves
    `latest.json` back to an older version. When one is no longer published (the history was rewound, a release
    deleted, its key taken out of the keyring), nothing is written (WB909) unless it is named in `withdraw` as
    "id@version"; then its file is removed. ExportRefused when `out` is a file or holds a link where the export
    would write."""
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportRefused(f"{out} is a file or a link, not a folder")
    report = ExportReport(out)
    found, report.problems = published(Path(rulesets_root), keyring)
    releases = group(found)
    report.releases = len(found)
    files = export_files(releases, fhir)
    previous = _previous_export(out)
    vanished = sorted(name for name in previous - set(files) if _VERSION_FILE.fullmatch(name)
                      and name.removesuffix(".json").replace("/", "@") not in set(withdraw))
    if vanished:
        named = ", ".join(name.removesuffix(".json").replace("/", "@") for name in vanished)
        report.problems.append(Problem("WB909", f"{named} {'was' if len(vanished) == 1 else 'were'} exported before "
                                       f"and {'is' if len(vanished) == 1 else 'are'} not published now: the history "
                                       "was rewound, a release deleted, or its key taken out of the keyring. Nothing "
                                       f"was exported. If {'it is' if len(vanished) == 1 else 'they are'} withdrawn "
                                       f"on purpose, export with --withdraw {' --withdraw '.join(named.split(', '))}."))
        return report
    for name in [*files, *previous]:
        _refuse_links(out, out / name)
    for name, data in files.items():
        target = out / name
        if target.is_file() and target.read_bytes() == data:
            report.unchanged.append(target)
        else:
            atomic_write(target, data)
            report.written.append(target)
    for name in sorted(previous - set(files)):
        stale = out / name
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
            report.removed.append(stale)
        if stale.parent != out and stale.parent.is_dir() and not any(stale.parent.iterdir()):
            stale.parent.rmdir()
    return report


def _refuse_links(out: Path, target: Path) -> None:
    """Nothing between `out` and `target` may be a link: writing or deleting through one reaches elsewhere."""
    for path in [target, *target.parents]:
        if path == out:
            return
        if os.path.islink(path):
            raise ExportRefused(f"{path} is a link; the export does not write or delete through links")


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
            versions = [v for v in entry["versions"] if isinstance(v, str) and _SEMVER.fullmatch(v)]
            names.update(f"{ruleset_id}/{v}.json" for v in versions)
            names.update(f"{ruleset_id}/fhir/{v}.{kind}.json" for v in versions for kind in FHIR_RESOURCES
                         if (out / ruleset_id / "fhir" / f"{v}.{kind}.json").is_file())
        return names
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return set()
