"""Vignettes -> Report: which pass, precisely what differed for those that fail, and coverage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.loader import Document, read_text, read_yaml
from ..content.model import DecisionNode, Vignette, VignetteFile
from ..content.validate import Report, validate_vignettes_text
from ..folder import RulesetFolder
from ..problems import Problem, has_errors
from .engine import CompiledRuleset, Result, trace
from .load import Loaded, load_file, load_text


@dataclass
class VignetteResult:
    id: str
    passed: bool
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    differences: list[str] = field(default_factory=list)
    file: str | None = None
    line: int | None = None
    narrative: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "expected": self.expected, "actual": self.actual,
                "differences": self.differences, "file": self.file, "line": self.line}


@dataclass
class Coverage:
    """Which nodes and edges (branches and elses) of the tree the vignettes reach."""

    nodes: list[str]
    edges: list[tuple[str, int]]
    covered_nodes: set[str] = field(default_factory=set)
    covered_edges: set[tuple[str, int]] = field(default_factory=set)

    @classmethod
    def of(cls, ruleset: CompiledRuleset) -> Coverage:
        edges = [(node.id, i) for node in ruleset.model.nodes if isinstance(node, DecisionNode)
                 for i in range(len(node.branches) + 1)]
        return cls([node.id for node in ruleset.model.nodes], edges)

    def add(self, path: Iterable[str], edges: Iterable[tuple[str, int]]) -> None:
        self.covered_nodes.update(path)
        self.covered_edges.update(edges)

    def to_dict(self, ruleset: CompiledRuleset) -> dict[str, Any]:
        uncovered_edges = [edge_name(ruleset, edge) for edge in self.edges if edge not in self.covered_edges]
        return {
            "nodes": {"covered": len(self.covered_nodes), "total": len(self.nodes),
                      "percent": _percent(len(self.covered_nodes), len(self.nodes)),
                      "uncovered": [n for n in self.nodes if n not in self.covered_nodes]},
            "branches": {"covered": len(self.covered_edges), "total": len(self.edges),
                         "percent": _percent(len(self.covered_edges), len(self.edges)),
                         "uncovered": uncovered_edges},
        }


def edge_name(ruleset: CompiledRuleset, edge: tuple[str, int]) -> str:
    """'neuro_screen branch 2' or 'neuro_screen else', as a reviewer reads it."""
    node_id, index = edge
    return f"{node_id} else" if index == len(ruleset.steps[node_id].branches) else f"{node_id} branch {index + 1}"


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 100.0


@dataclass
class ReplayReport:
    ruleset: CompiledRuleset | None
    results: list[VignetteResult] = field(default_factory=list)
    coverage: Coverage | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.ruleset is not None and not self.failed and not has_errors(self.problems)

    def to_dict(self) -> dict[str, Any]:
        coverage = self.coverage.to_dict(self.ruleset) if self.coverage and self.ruleset else None
        return {"total": len(self.results), "passed": self.passed, "failed": self.failed,
                "results": [r.to_dict() for r in self.results], "coverage": coverage,
                "problems": [p.to_dict() for p in self.problems]}


def expected_of(vignette: Vignette) -> dict[str, Any]:
    return vignette.expect.model_dump(exclude_none=True)


def check_vignette(ruleset: CompiledRuleset, vignette: Vignette) -> tuple[VignetteResult, list[tuple[str, int]]]:
    """Runs one vignette and compares every expectation it states."""
    expected = expected_of(vignette)
    bad_answers = ruleset.case_problems(vignette.inputs, vignette.unsure)
    if bad_answers:
        return VignetteResult(vignette.id, False, expected, None, [p.message for p in bad_answers],
                              narrative=vignette.narrative), []
    result, edges = trace(ruleset, vignette.inputs, vignette.unsure)
    return VignetteResult(vignette.id, not (d := differences(ruleset, vignette, result)), expected,
                          result.to_dict(), d, narrative=vignette.narrative), edges


def differences(ruleset: CompiledRuleset, vignette: Vignette, result: Result) -> list[str]:
    """What the result did not do that the vignette expects, each in one sentence."""
    expect, out = vignette.expect, []
    via = " → ".join(result.path)
    if expect.needs is not None:
        if result.status != "needs_input":
            out.append(f"expected the ruleset to ask for {_names(expect.needs)}, but it reached '{result.outcome}' "
                       f"({result.disposition}) via {via}")
        elif set(result.needs) != set(expect.needs):
            out.append(f"expected it to ask for {_names(expect.needs)}, but it asks for {_names(result.needs)} "
                       f"at '{result.path[-1]}'")
    if expect.disposition is not None:
        if result.status != "complete":
            out.append(f"expected disposition '{expect.disposition}', but the ruleset stops at '{result.path[-1]}' "
                       f"asking for {_names(result.needs)}")
        elif result.disposition != expect.disposition:
            out.append(f"expected disposition '{expect.disposition}', got '{result.disposition}' via {via}")
    if expect.outcome is not None and result.outcome != expect.outcome and result.status == "complete":
        out.append(f"expected outcome '{expect.outcome}', got '{result.outcome}' via {via}")
    if expect.red_flags is not None and set(expect.red_flags) != set(result.red_flags):
        missing = [f for f in expect.red_flags if f not in result.red_flags]
        extra = [f for f in result.red_flags if f not in expect.red_flags]
        parts = ([f"missing {_names(missing)}"] if missing else []) + ([f"unexpected {_names(extra)}"] if extra else [])
        out.append("red flags differ: " + "; ".join(parts))
    if expect.possible_red_flags is not None and set(expect.possible_red_flags) != set(result.possible_red_flags):
        out.append(f"expected the unsure answers to leave possible {_names(expect.possible_red_flags)}, but they "
                   f"leave {_names(result.possible_red_flags)}")
    return out


def _names(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(f"'{i}'" for i in items) if items else "nothing"


def replay(ruleset: CompiledRuleset, files: Iterable[tuple[VignetteFile, Document | None]]) -> ReplayReport:
    report = ReplayReport(ruleset, coverage=Coverage.of(ruleset))
    for vignettes, document in files:
        for i, vignette in enumerate(vignettes.vignettes):
            result, edges = check_vignette(ruleset, vignette)
            if document is not None:
                result.file, result.line = document.file, document.locate(("vignettes", i))[0]
            report.results.append(result)
            if result.actual is not None:
                assert report.coverage is not None
                report.coverage.add(result.actual["path"], edges)
    return report


def vignette_paths(ruleset_dir: Path) -> list[Path]:
    return RulesetFolder(ruleset_dir).vignette_files()


def load_vignettes(paths: Iterable[Path], ruleset: CompiledRuleset | None) -> list[Report]:
    reports = []
    for path in paths:
        text, problems = read_text(path)
        if text is None:
            reports.append(Report(str(path), "vignettes", problems=problems))
        else:
            reports.append(validate_vignettes_text(text, str(path), ruleset.model if ruleset else None))
    return reports


def replay_ruleset(ruleset_file: Path, vignette_files: list[Path] | None = None) -> ReplayReport:
    """Validate a ruleset and its vignettes (those beside it unless given), then replay them all."""
    loaded = load_file(ruleset_file)
    if loaded.ruleset is None:
        return ReplayReport(None, problems=loaded.problems)
    ruleset = loaded.ruleset
    paths = vignette_paths(ruleset_file.parent) if vignette_files is None else vignette_files
    reports = load_vignettes(paths, ruleset)
    report = replay(ruleset, [(r.model, r.document) for r in reports if r.model is not None])
    report.problems = loaded.problems + [p for r in reports for p in r.problems]
    return report


# --- replay and summary from texts, for callers that cache on exactly what they replay ------------

def replay_texts(ruleset_text: str, ruleset_file: str, vignette_texts: Sequence[tuple[str, str]]) -> ReplayReport:
    """Like replay_ruleset, but on texts: a caller can key a cache on exactly what it replays."""
    return replay_loaded(load_text(ruleset_text, ruleset_file), vignette_texts)


def replay_loaded(loaded: Loaded, vignette_texts: Sequence[tuple[str, str]]) -> ReplayReport:
    """Replay vignette texts on a ruleset already read (run/load.py)."""
    if loaded.ruleset is None:
        return ReplayReport(None, problems=loaded.problems)
    reports = [validate_vignettes_text(text, file, loaded.model) for file, text in vignette_texts]
    report = replay(loaded.ruleset, [(r.model, r.document) for r in reports if r.model is not None])
    report.problems = loaded.problems + [p for r in reports for p in r.problems]
    return report


@dataclass(frozen=True)
class RulesetSummary:
    """One line of the rulesets list: what it is and whether it is in a fit state."""

    folder: str
    id: str | None
    title: str
    version: str | None
    errors: int
    warnings: int
    vignettes: int
    passed: int
    problems: tuple[Problem, ...] = ()
    """Every problem found, in the ruleset file and in each vignette file: the one list the Editor and the
    Rulesets page both count, so they never disagree."""
    failing: tuple[str, ...] = ()
    """The ids of the vignettes that fail."""

    @property
    def failed(self) -> int:
        return self.vignettes - self.passed

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.failed == 0


def summarise(folder: str, ruleset_text: str, ruleset_file: str,
              vignette_texts: Sequence[tuple[str, str]]) -> RulesetSummary:
    report = replay_texts(ruleset_text, ruleset_file, vignette_texts)
    errors = sum(p.is_error for p in report.problems)
    counts = (errors, len(report.problems) - errors, len(report.results), report.passed, tuple(report.problems),
              tuple(r.id for r in report.results if not r.passed))
    if report.ruleset is not None:
        model = report.ruleset.model
        return RulesetSummary(folder, model.id, model.title, model.version, *counts)
    document, _ = read_yaml(ruleset_text, ruleset_file)
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    version = data.get("version")
    return RulesetSummary(folder, None, str(data.get("title") or folder), None if version is None else str(version),
                          *counts)
