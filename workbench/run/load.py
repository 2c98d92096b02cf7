"""The one way a ruleset is read: text -> document (every value's line) -> model -> problems -> compiled ruleset.

Every caller (the CLI, the API, the pages, replay, verify, diff, review) goes through here, so "validate, then
compile when it is valid" is written once, and each condition is parsed and checked once: validation keeps
the compiled conditions and the compiled ruleset takes them over, parse trees included, for verify, the
flow drawing and the unsure search to reuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..content.loader import Document, read_text
from ..content.model import Ruleset
from ..content.validate import Report, validate_ruleset_text
from ..problems import Problem
from .engine import CompiledRuleset, RulesetError
from .pause import gc_paused


@dataclass(frozen=True)
class Loaded:
    """What reading one ruleset gave: the report (document, model, problems) and, when it has no errors, the
    compiled ruleset."""

    report: Report
    ruleset: CompiledRuleset | None

    @property
    def file(self) -> str:
        return self.report.file

    @property
    def document(self) -> Document | None:
        return self.report.document

    @property
    def model(self) -> Ruleset | None:
        return self.report.model

    @property
    def problems(self) -> list[Problem]:
        return self.report.problems

    @property
    def ok(self) -> bool:
        return self.ruleset is not None

    def required(self) -> CompiledRuleset:
        """The compiled ruleset; RulesetError with every error when there is none."""
        if self.ruleset is None:
            raise RulesetError([p for p in self.problems if p.is_error])
        return self.ruleset


def load_text(text: str, file: str = "<text>") -> Loaded:
    with gc_paused():  # pause.py: loading keeps nearly everything it makes, so a collection finds nothing to free
        report = validate_ruleset_text(text, file)
        compiled = CompiledRuleset(report.model, file, report.conditions) if report.ok else None
    return Loaded(report, compiled)


def load_file(path: str | Path) -> Loaded:
    """A ruleset file, read as the workbench reads every file (no links, no special files, bounded)."""
    text, problems = read_text(path)
    if text is None:
        return Loaded(Report(str(path), "ruleset", problems=problems), None)
    return load_text(text, str(path))
