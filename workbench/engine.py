"""evaluate(ruleset, answers) -> Result (SPEC 5), on a ruleset compiled once at load time.

A decision's branches are tried in order: false is skipped, the first true is taken, and at the first
unknown one evaluation stops with `needs_input`, naming the unknown inputs that branch reads. That is
how a downstream app knows which question to ask next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .answers import answer_check, answer_problems, answers_fit
from .expr import Case, Predicate, compile_condition
from .model import Input, OutcomeNode, Ruleset
from .problems import Problem, ProblemError
from .validate import validate_ruleset_file


class RulesetError(ProblemError):
    """The ruleset has errors and cannot be used; `.problems` says which and where."""


class InputError(ProblemError, ValueError):
    """A case's answers do not fit the ruleset's inputs (unknown input, wrong type, out of range)."""


@dataclass(slots=True)
class Result:
    """The outcome of one evaluation; `to_dict()` is exactly SPEC 5."""

    status: str
    outcome: str | None
    disposition: str | None
    red_flags: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "outcome": self.outcome, "disposition": self.disposition,
                "red_flags": list(self.red_flags), "path": list(self.path), "needs": list(self.needs)}


@dataclass(frozen=True)
class _Branch:
    predicate: Predicate
    next: str
    reads: tuple[str, ...]  # in input declaration order


@dataclass(frozen=True)
class _Step:
    id: str
    branches: tuple[_Branch, ...] = ()
    else_: str | None = None
    disposition: str | None = None

    @property
    def predicates(self) -> tuple[Predicate, ...]:
        return tuple(branch.predicate for branch in self.branches)


class CompiledRuleset:
    """A valid ruleset with every condition compiled to a closure, ready to evaluate many cases."""

    def __init__(self, model: Ruleset, file: str | None = None) -> None:
        self.model = model
        self.file = file
        self.inputs: dict[str, Input] = {spec.id: spec for spec in model.inputs}
        order = {input_id: i for i, input_id in enumerate(self.inputs)}
        self.steps: dict[str, _Step] = {}
        for node in model.nodes:
            if isinstance(node, OutcomeNode):
                self.steps[node.id] = _Step(node.id, disposition=node.disposition)
                continue
            branches = []
            for branch in node.branches:
                condition = self._compile(branch.when)
                reads = tuple(sorted(condition.reads, key=order.__getitem__))
                branches.append(_Branch(condition.predicate, branch.next, reads))
            self.steps[node.id] = _Step(node.id, tuple(branches), node.else_)
        self.red_flags: tuple[tuple[str, Predicate], ...] = tuple(
            (flag.id, self._compile(flag.when).predicate) for flag in model.red_flags)
        self.answer_checks = {spec.id: answer_check(spec) for spec in model.inputs}
        self._fits = answers_fit(model.inputs)
        # the hot loop walks plain tuples: (id, disposition, predicates, targets, else target)
        self._plan: dict[str, tuple[Any, ...]] = {
            step.id: (step.id, step.disposition, step.predicates,
                      tuple(branch.next for branch in step.branches), step.else_) for step in self.steps.values()}

    def _compile(self, text: str) -> Any:
        condition, issues = compile_condition(text, self.inputs)
        if condition is None:
            raise RulesetError([Problem(issue.code, f"'{text}': {issue.message}", file=self.file)
                                for issue in issues])
        return condition

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def version(self) -> str:
        return self.model.version

    def case_problems(self, answers: Mapping[str, Any]) -> list[Problem]:
        """Why these answers do not fit the declared inputs; empty when they do."""
        return [Problem("WB601", message, path=input_id)
                for input_id, message in answer_problems(self.answer_checks, answers)]


def evaluate(ruleset: CompiledRuleset, answers: Mapping[str, Any], *, check: bool = True) -> Result:
    """The disposition for a case, or the questions still to ask. Raises InputError on bad answers."""
    if check and not ruleset._fits(answers) and (problems := ruleset.case_problems(answers)):
        raise InputError(problems)
    return _run(ruleset, answers, None)


def trace(ruleset: CompiledRuleset, answers: Mapping[str, Any]) -> tuple[Result, list[tuple[str, int]]]:
    """The result and each edge taken as (node id, branch index; len(branches) for else), for coverage."""
    edges: list[tuple[str, int]] = []
    return _run(ruleset, answers, edges), edges


def _run(ruleset: CompiledRuleset, case: Case, edges: list[tuple[str, int]] | None) -> Result:
    plan = ruleset._plan
    node_id, disposition, predicates, targets, otherwise = plan[ruleset.model.start]
    path = []
    red_flags = [flag_id for flag_id, predicate in ruleset.red_flags if predicate(case) is True]
    while disposition is None:
        path.append(node_id)
        index = 0
        for predicate in predicates:
            value = predicate(case)
            if value is True:
                target = targets[index]
                break
            if value is None:
                reads = ruleset.steps[node_id].branches[index].reads
                return Result("needs_input", None, None, red_flags, path, [i for i in reads if case.get(i) is None])
            index += 1
        else:
            target = otherwise
        if edges is not None:
            edges.append((node_id, index))
        node_id, disposition, predicates, targets, otherwise = plan[target]
    path.append(node_id)
    return Result("complete", node_id, disposition, red_flags, path, [])


def load_ruleset(path: str | Path) -> CompiledRuleset:
    """Read, validate and compile a ruleset file; raises RulesetError with every problem found.

    A `.json` file is a release or an export of one, and is refused unless its sha256 matches.
    """
    if str(path).endswith(".json"):
        from .runtime import load_release_json  # runtime builds on this module

        return load_release_json(Path(path))
    report = validate_ruleset_file(path)
    if report.model is None or any(p.is_error for p in report.problems):
        raise RulesetError([p for p in report.problems if p.is_error])
    return CompiledRuleset(report.model, str(path))
