"""Validating many files at once: tell each file's kind, and pair vignettes with their ruleset.

A vignettes file is checked against the ruleset it names, found beside it (its folder or the folder
above, as in `rulesets/<id>/vignettes/`) or among the files given (SPEC 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..problems import Problem
from .loader import detect_kind, read_text, read_yaml
from .model import Ruleset
from .validate import Report, validate_ruleset_text, validate_vignettes_text

YAML_SUFFIXES = (".yaml", ".yml")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named or under the folders named; a missing path is a usage error upstream. Anything named
    like a YAML file is taken, links, pipes and devices included, so reading it reports them (WB1023) rather than
    passing over them in silence."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def validate_paths(files: list[Path]) -> list[Problem]:
    """Every problem in these files, rulesets first so vignettes can be checked against them."""
    return [p for report in validate_files(files) for p in report.problems]


def validate_files(files: list[Path]) -> list[Report]:
    texts: dict[Path, str] = {}
    reports: list[Report] = []
    kinds: dict[Path, str | None] = {}
    for path in files:
        text, problems = read_text(path)
        if text is None:
            reports.append(Report(str(path), "unknown", problems=problems))
            continue
        texts[path] = text
        document, problems = read_yaml(text, str(path))
        kinds[path] = detect_kind(document.data) if document else "ruleset"
        if document is not None and kinds[path] is None:
            reports.append(Report(str(path), "unknown", problems=[document.problem(
                "WB006", "This is neither a ruleset (it has no 'nodes') nor a vignettes file (no 'vignettes').")]))
    rulesets: dict[Path, Ruleset] = {}
    for path, text in texts.items():
        if kinds[path] == "ruleset":
            report = validate_ruleset_text(text, str(path))
            reports.append(report)
            if report.model is not None:
                rulesets[path.resolve()] = report.model
    by_id = {model.id: model for model in rulesets.values()}
    for path, text in texts.items():
        if kinds[path] == "vignettes":
            model, broken = _ruleset_for(path, rulesets, by_id)
            reports.append(validate_vignettes_text(text, str(path), model, ruleset_broken=broken))
    return reports


def _ruleset_for(path: Path, rulesets: dict[Path, Ruleset],
                 by_id: dict[str, Ruleset]) -> tuple[Ruleset | None, bool]:
    """The ruleset for a vignettes file, and whether one was found beside it that has errors."""
    broken = False
    for folder in (path.parent, path.parent.parent):
        for name in ("ruleset.yaml", "ruleset.yml"):
            candidate = (folder / name).resolve()
            if candidate in rulesets:
                return rulesets[candidate], False
            if candidate.is_file():
                text, _ = read_text(candidate)
                report = validate_ruleset_text(text or "", str(candidate))
                if report.model is not None:
                    rulesets[candidate] = report.model
                    return report.model, False
                broken = True
    document, _ = read_yaml(read_text(path)[0] or "", str(path))
    wanted = document.data.get("ruleset") if document and isinstance(document.data, dict) else None
    found = by_id.get(wanted) if isinstance(wanted, str) else None
    return found, broken and found is None
