"""evaluate(ruleset, answers) -> Result (SPEC 5), on a ruleset compiled once at load time.

A decision's branches are tried in order: false is skipped, the first true is taken, and at the first
unknown one evaluation stops with `needs_input`, naming the unknown inputs that branch reads. That is
how a downstream app knows which question to ask next.

An answer given as *unsure* (SPEC 3a) is never taken as false: the case is evaluated for every value
the unsure inputs could take and gives the most urgent disposition among them. The values are split
lazily, only where the flow reads an unsure input, and numbers by the regions the conditions cut them
into (`space.number_values`), so the search is exact and visits few cases.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..content.answers import answer_check, answer_problems
from ..content.model import DecisionNode, Input, OutcomeNode, Ruleset
from ..expr import Case, Condition, Predicate, compile_condition
from ..problems import Problem, ProblemError, did_you_mean
from .codegen import compile_partial, compile_ruleset
from .pause import gc_paused
from .space import Space

MAX_UNSURE_CASES = 200_000
"""Partial completions an unsure evaluation may try (about 2 s) before it asks for answers instead of guessing;
the shipped ruleset needs at most about 5,000."""


COMPILED_KEPT = 64
"""Compiled functions kept per process, by content hash; the oldest is dropped first."""
_COMPILED: dict[str, Any] = {}


class RulesetError(ProblemError):
    """The ruleset has errors and cannot be used; `.problems` says which and where."""


class InputError(ProblemError, ValueError):
    """A case's answers do not fit the ruleset's inputs (unknown input, wrong type, out of range)."""


class Result(NamedTuple):
    """The outcome of one evaluation; `to_dict()` is exactly SPEC 5 with SPEC 3a's `unsure` and
    `possible_red_flags` (the red flags an unsure answer may hide). A named tuple: made in C, as fast as the
    dict hand-written code would return, and never changed once made (the lists are the result's own)."""

    status: str
    outcome: str | None
    disposition: str | None
    red_flags: list[str] = []  # every constructor in the engine gives its own
    path: list[str] = []
    needs: list[str] = []
    unsure: list[str] = []
    possible_red_flags: list[str] = []

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "outcome": self.outcome, "disposition": self.disposition,
                "red_flags": list(self.red_flags), "path": list(self.path), "needs": list(self.needs),
                "unsure": list(self.unsure), "possible_red_flags": list(self.possible_red_flags)}


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

    def __init__(self, model: Ruleset, file: str | None = None,
                 conditions: Mapping[str, Condition] | None = None) -> None:
        self.model = model
        self.file = file
        self._conditions: dict[str, Condition] = dict(conditions or {})
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
        self._input_count = len(self.inputs)
        # the hot loop walks plain tuples: (id, disposition, predicates, targets, else target)
        self._plan: dict[str, tuple[Any, ...]] = {
            step.id: (step.id, step.disposition, step.predicates,
                      tuple(branch.next for branch in step.branches), step.else_) for step in self.steps.values()}

    def _compile(self, text: str) -> Condition:
        return self.condition(text)

    def condition(self, text: str) -> Condition:
        """A `when` of this ruleset, compiled once: its tree, its closure, the inputs it reads."""
        found = self._conditions.get(text)
        if found is None:
            found, issues = compile_condition(text, self.inputs)
            if found is None:
                raise RulesetError([Problem(issue.code, f"'{text}': {issue.message}", file=self.file)
                                    for issue in issues])
            self._conditions[text] = found
        return found

    @functools.cached_property
    def _content_key(self) -> str:
        return hashlib.sha256(self.model.model_dump_json(by_alias=True).encode()).hexdigest()

    def _shared_compiled(self, kind: str, compile_with: Any) -> Any:
        """Compiled once per content and kind and shared by every CompiledRuleset of the same content (the Streamlit
        pages and the API reload often), with the garbage collector paused while it is made (it would otherwise walk
        the growing syntax tree again and again); the oldest dropped past COMPILED_KEPT."""
        key = f"{kind} {self._content_key}"
        found = _COMPILED.get(key)
        if found is None:
            with gc_paused():
                found = _COMPILED[key] = compile_with(self, Result)
            while len(_COMPILED) > COMPILED_KEPT:
                _COMPILED.pop(next(iter(_COMPILED)))
        return found

    @functools.cached_property
    def _compiled(self) -> tuple[Any, Any]:
        """The tree compiled to Python functions for complete cases (codegen.py), made on first use."""
        return self._shared_compiled("complete", compile_ruleset)

    @functools.cached_property
    def _partial(self) -> tuple[Any, Any]:
        """The exact three-valued walk compiled (codegen.py), unchecked and checked, made on first use (a page that
        only evaluates complete cases never pays for it)."""
        return self._shared_compiled("partial", compile_partial)

    @property
    def run_partial(self) -> Any:
        """`partial(answers) -> Result` for any case whose answers are known to fit."""
        return self._partial[0]

    @property
    def run_partial_checked(self) -> Any:
        """`partial_checked(answers) -> Result | None`: None unless every key is an input and every answer given
        fits (unanswered inputs may be left out or None)."""
        return self._partial[1]

    @property
    def run_complete(self) -> Any:
        """`run(answers) -> Result | None` for answers known to fit: None when one is unknown (None), a KeyError when
        an input's key is missing."""
        return self._compiled[0]

    @property
    def run_checked(self) -> Any:
        """`checked(answers) -> Result | None`: None unless every input is answered with an answer that fits."""
        return self._compiled[1]

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def version(self) -> str:
        return self.model.version

    def case_problems(self, answers: Mapping[str, Any], unsure: Iterable[str] = ()) -> list[Problem]:
        """Why these answers (and unsure ids) do not fit the declared inputs; empty when they do."""
        problems = [Problem("WB601", message, path=input_id)
                    for input_id, message in answer_problems(self.answer_checks, answers)]
        for input_id in unsure:
            if input_id not in self.inputs:
                problems.append(Problem("WB601", f"'{input_id}' is marked unsure but is not an input of this ruleset"
                                        f"{did_you_mean(str(input_id), self.inputs) or '.'}", path=str(input_id)))
            elif answers.get(input_id) is not None:
                problems.append(Problem("WB601", f"'{input_id}' is both answered and marked unsure; give one or the "
                                        "other.", path=input_id))
        return problems

    def unsure_order(self, unsure: Iterable[str]) -> list[str]:
        """Unsure input ids, once each, in declaration order (SPEC 3a's `unsure` field)."""
        wanted = set(unsure)
        return [input_id for input_id in self.inputs if input_id in wanted]

    @functools.cached_property
    def possible_values(self) -> dict[str, tuple[Any, ...]]:
        """Each input's answers as far as the conditions can tell them apart: every yes/no and choice, and one
        number per region the conditions' constants cut the range into."""
        trees = [self.condition(text).tree for text in self.whens()]
        space = Space(self.model.inputs, trees)
        return {domain.spec.id: domain.values for domain in space.domains}

    def whens(self) -> list[str]:
        """Every condition the flow and the red flags read."""
        return [flag.when for flag in self.model.red_flags] + [
            branch.when for node in self.model.nodes if isinstance(node, DecisionNode) for branch in node.branches]


def evaluate(ruleset: CompiledRuleset, answers: Mapping[str, Any], *, unsure: Iterable[str] = (),
             check: bool = True) -> Result:
    """The disposition for a case, or the questions still to ask. Raises InputError on bad answers.

    `unsure`: inputs the person could not answer; each is taken as whichever answer is more dangerous."""
    if isinstance(unsure, str):
        raise TypeError("unsure is a list of input ids, not one string")
    if unsure:
        unsure = list(unsure)
        if check and (problems := ruleset.case_problems(answers, unsure)):
            raise InputError(problems)
        return _most_urgent(ruleset, answers, ruleset.unsure_order(unsure))[0]
    if check:
        found = ruleset.run_checked(answers)  # None unless every input is answered and fits
        if found is None:
            found = ruleset.run_partial_checked(answers)  # None unless every answer given fits
        if found is not None:
            return found
        if problems := ruleset.case_problems(answers):
            raise InputError(problems)
    elif len(answers) == ruleset._input_count:  # every input answered (no unknown): two-valued logic is exact
        try:
            found = ruleset.run_complete(answers)  # None when an answer is unknown
        except KeyError:  # unchecked answers with a key the ruleset does not have: walk the tree
            found = None
        if found is not None:
            return found
    return ruleset.run_partial(answers)


def trace(ruleset: CompiledRuleset, answers: Mapping[str, Any],
          unsure: Iterable[str] = ()) -> tuple[Result, list[tuple[str, int]]]:
    """The result and each edge taken as (node id, branch index; len(branches) for else), for coverage.

    With unsure answers, the edges are those of the completion the result reports."""
    edges: list[tuple[str, int]] = []
    if unsure:
        result, case = _most_urgent(ruleset, answers, ruleset.unsure_order(unsure))
        _run(ruleset, case, edges)
        return result, edges
    return _run(ruleset, answers, edges), edges


def _most_urgent(ruleset: CompiledRuleset, answers: Mapping[str, Any],
                 unsure: list[str]) -> tuple[Result, Mapping[str, Any]]:
    """SPEC 3a: the most urgent disposition over every completion of the unsure inputs, and the completion
    whose outcome and path the result reports.

    A partial completion is evaluated as it is; only while it stops on a branch that reads an unsure input
    still open is that input split into its possible values. A completion that stops on other inputs needs
    them whatever the open unsure inputs are, and a complete one gives the same result for all of them
    (Kleene logic never changes a decided value when more answers arrive)."""
    rank = {d.id: i for i, d in enumerate(ruleset.model.dispositions)}
    open_ids = set(unsure)
    values = ruleset.possible_values
    best: tuple[Result, Mapping[str, Any]] | None = None
    stuck: list[tuple[Result, Mapping[str, Any]]] = []
    stack: list[dict[str, Any]] = [dict(answers)]
    evaluated = 0
    while stack:
        case = stack.pop()
        evaluated += 1
        if evaluated > MAX_UNSURE_CASES:
            raise InputError([Problem("WB601", f"{len(unsure)} answers are unsure, too many to weigh every "
                                      f"combination of them exactly (over {MAX_UNSURE_CASES:,}); answer some of "
                                      "them.", path=unsure[0])])
        result = ruleset.run_partial(case)
        if result.status == "complete":
            if best is None or rank[result.disposition or ""] < rank[best[0].disposition or ""]:
                best = (result, case)
                if rank[result.disposition or ""] == 0:
                    break  # nothing is more urgent than the most urgent disposition
            continue
        split = next((i for i in result.needs if i in open_ids and case.get(i) is None), None)
        if split is None:
            stuck.append((result, case))
            continue
        stack.extend(case | {split: value} for value in values[split])  # the last (yes, for a yes/no) tried first
    red_flags = ruleset.run_partial(answers).red_flags  # red flags fire on known answers only
    if best is not None and (not stuck or rank[best[0].disposition or ""] == 0):
        found, case = best
        return Result("complete", found.outcome, found.disposition, red_flags, found.path, [], unsure,
                      _possible(found.red_flags, red_flags)), case
    needed = {i for result, _ in stuck for i in result.needs}
    first, case = stuck[0]
    return Result("needs_input", None, None, red_flags, first.path, [i for i in ruleset.inputs if i in needed],
                  unsure, _possible(first.red_flags, red_flags)), case


def _possible(reported: list[str], known: list[str]) -> list[str]:
    """SPEC 3a: the red flags that fire in the completion reported but not on the known answers alone (both lists
    are already in declaration order)."""
    fired = set(known)
    return [flag for flag in reported if flag not in fired]


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
                return Result("needs_input", None, None, red_flags, path, [i for i in reads if case.get(i) is None],
                              [], [])
            index += 1
        else:
            target = otherwise
        if edges is not None:
            edges.append((node_id, index))
        node_id, disposition, predicates, targets, otherwise = plan[target]
    path.append(node_id)
    return Result("complete", node_id, disposition, red_flags, path, [], [], [])
