"""Safety properties proved over every possible case, not sampled: what `workbench verify` reports.

Each check is a question about sets of cases, and the sets are binary decision diagrams (symbolic.py): the
cases that make a condition true, that reach each node and take each branch, that end at each disposition.
They are computed once per node, in the order of the flow, so the work grows with the size of the tree and
its conditions, never with the number of paths through it (a tree whose screens rejoin at every level has
2^20 paths and is checked as fast as a short one). Every example and counterexample is a case picked from a
set and re-run through `engine.evaluate`, so a reported violation is always one the engine really produces.

Checks: the ruleset's `safety:` properties; every complete case reaches an outcome; branches, red flags and
nodes that no case can reach (dead logic, with the reason); the red-flag floors (SPEC 7a); and, where
`monotonic: true`, that answering yes instead of no to a question a red flag reads never makes the
disposition less urgent. Paths are listed only on request, and at most `MAX_PATHS` of them. A time limit, a
size limit on the diagrams, or a cancel from the caller stops the checks, reported as `incomplete`, never as
a pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..content.loader import Document
from ..content.model import BooleanInput, DecisionNode, OutcomeNode
from ..expr.syntax import names
from ..problems import Problem
from ..run.engine import CompiledRuleset, evaluate
from ..run.load import Loaded, load_file, load_text
from ..run.space import Space
from .symbolic import Flow, Function, Product, Symbolic

DEFAULT_LIMIT = 500_000
"""Live nodes the decision diagrams may hold before giving up: a bound on memory as the time limit is on time
(CUDD keeps a node in a few dozen bytes; dd's pure-Python fallback in a few hundred). Far above what real
rulesets need: the shipped one holds under 50,000, a 2^20-path flow under 100,000."""

DEFAULT_TIME_LIMIT = 60.0
"""Seconds of checking before giving up and reporting "incomplete": a pasted or hostile ruleset must not hold
a CI job or the Safety page for minutes. The shipped ruleset needs well under a second."""

ESCALATIONS_PER_QUESTION = 3
"""Examples reported per yes/no question that breaks monotonic escalation."""

MAX_PATHS = 500
"""Paths listed when asked for: enough to read, never the 2^20 of a tree whose screens rejoin."""

GARBAGE_FIRST = 200_000
"""Diagram nodes before the first garbage collection (dd's Python diagrams); then whenever they have doubled."""

SIZE_CHECK_SPACING, SIZE_CHECK_MOST = 4, 4_096
"""The live nodes are counted against the limit again after a quarter as many operations as there were live
nodes (at most 4,096): counting walks CUDD's tables, so with big diagrams it is rare and with small ones (a small
limit) frequent. Measured: 7 % of the shipped ruleset's 0.3 s check, 3 % of a generated 700-node tree's 3.8 s."""

Progress = Callable[[str, float], None]
"""Told the check under way and how far all the checks have got (0 to 1): the Safety page's progress bar."""

PHASES = ("red flags and red-flag properties", "the flow", "dead logic", "red-flag floors", "monotonic escalation",
          "paths")

class _OutOfBudget(Exception):
    """A limit (size, time) is reached, or the caller cancelled."""


@dataclass
class Witness:
    """A complete case and what the engine gives for it: proof that a class is real."""

    inputs: dict[str, Any]
    result: dict[str, Any]


@dataclass
class PropertyVerdict:
    """One safety property: `holds` over every case, `violated` (with a counterexample), `vacuous` when no
    case meets its condition, or `unproved` when the limit (or an inexact comparison) left cases unchecked."""

    id: str
    title: str
    kind: str  # at_least | never | requires_red_flag
    target: str
    when: str
    status: str = "holds"
    counterexample: Witness | None = None
    vignette: dict[str, Any] | None = None


@dataclass
class Escalation:
    """Answering yes to `input` instead of no, all else equal, gives a less urgent disposition."""

    input: str
    no: Witness
    yes: Witness
    answers: str  # the other answers that matter, in words


@dataclass
class PathClass:
    """Every case that follows one path; `decided` are the answers the path depends on."""

    path: list[str]
    outcome: str
    disposition: str
    cases: int
    example: dict[str, Any]
    decided: list[str]


@dataclass
class CaseClass:
    """A reachable (path, disposition, red flags) class with an example case."""

    path: list[str]
    outcome: str
    disposition: str
    red_flags: list[str]
    cases: int
    example: dict[str, Any]


@dataclass
class Floor:
    """How low a case can go while red flags fire (SPEC 7a): the least urgent disposition any complete case
    reaches while `red_flag` fires (or while at least `count` red flags fire together), and one such case."""

    least_urgent: str | None
    example: dict[str, Any] | None
    red_flag: str | None = None
    count: int | None = None
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        key = {"red_flag": self.red_flag} if self.red_flag is not None else {"count": self.count}
        return {**key, "least_urgent": self.least_urgent, "example": self.example}


@dataclass
class Verification:
    """What verifying one ruleset found. `status`: verified, violated, incomplete or invalid."""

    file: str
    ruleset: str | None = None
    version: str | None = None
    status: str = "invalid"
    explored: int = 0  # nodes of the decision diagrams built: the work done
    checked: int = 0
    total: int = 0
    limit: int = DEFAULT_LIMIT
    time_limit: float = DEFAULT_TIME_LIMIT
    stopped_by: str | None = None  # "size", "time" or "cancelled" when the checks were cut short
    complete: bool = False  # every complete case reaches an outcome (proved)
    properties: list[PropertyVerdict] = field(default_factory=list)
    monotonic: bool | None = None  # None: not asked for, or not finished (see `unfinished`)
    escalations: list[Escalation] = field(default_factory=list)
    paths: list[PathClass] = field(default_factory=list)
    red_flag_floor: list[Floor] = field(default_factory=list)
    flag_count_floor: list[Floor] = field(default_factory=list)
    least_urgent: str | None = None  # the ruleset's least urgent disposition: the floors to look at first
    problems: list[Problem] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # checks the limit stopped
    paths_listed: bool = False  # every reachable path is in `paths` (asked for, and within MAX_PATHS)

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    @property
    def why_unfinished(self) -> str:
        """Which limit stopped the checks, in words for the CLI and the Safety page."""
        if self.stopped_by == "time":
            return f"the time limit of {self.time_limit:g} s was reached first"
        if self.stopped_by == "cancelled":
            return "it was cancelled"
        return f"the limit of {self.limit:,} decision-diagram nodes was reached first"

    @property
    def paths_text(self) -> str:
        """How many reachable paths, honest about the cap: "500+" when listing stopped at MAX_PATHS."""
        count = len(self.paths)
        return f"{count:,}+" if count >= MAX_PATHS and not self.paths_listed else f"{count:,}"

    def floors_at_bottom(self) -> list[Floor]:
        """The red flags and counts of red flags that can fire in a case given the least urgent disposition:
        what a safety reviewer reads first (SPEC 7a)."""
        return [f for f in [*self.red_flag_floor, *self.flag_count_floor]
                if f.least_urgent is not None and f.least_urgent == self.least_urgent]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.to_dict() for p in self.problems]
        data["red_flag_floor"] = [f.to_dict() for f in self.red_flag_floor]
        data["flag_count_floor"] = [f.to_dict() for f in self.flag_count_floor]
        data["paths"] = [{"path": c.path, "outcome": c.outcome, "disposition": c.disposition, "cases": c.cases,
                          "example": {k: c.example[k] for k in c.decided}} for c in self.paths]
        return data


# --- entry points ---------------------------------------------------------------------------

def verify_file(path: str | Path, *, limit: int = DEFAULT_LIMIT, time_limit: float = DEFAULT_TIME_LIMIT,
                paths: bool = True) -> Verification:
    return _verified(load_file(path), limit, time_limit, paths)


def verify_text(text: str, file: str = "<text>", *, limit: int = DEFAULT_LIMIT,
                time_limit: float = DEFAULT_TIME_LIMIT, paths: bool = True, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> Verification:
    return _verified(load_text(text, file), limit, time_limit, paths, progress, cancel)


def _verified(loaded: Loaded, limit: int, time_limit: float, paths: bool, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> Verification:
    if loaded.ruleset is None:
        return Verification(loaded.file, problems=[p for p in loaded.problems if p.is_error], limit=limit,
                            time_limit=time_limit)
    return verify(loaded.ruleset, loaded.document, limit=limit, time_limit=time_limit, paths=paths,
                  progress=progress, cancel=cancel)


def verify(ruleset: CompiledRuleset, document: Document | None = None, *, limit: int = DEFAULT_LIMIT,
           time_limit: float = DEFAULT_TIME_LIMIT, paths: bool = True, progress: Progress | None = None,
           cancel: threading.Event | None = None) -> Verification:
    """Every check over the whole input space of a valid ruleset, stopping (incomplete) at a limit or a cancel;
    `paths` lists the reachable paths too (at most MAX_PATHS)."""
    return _Verifier(ruleset, document, limit, time_limit, progress, cancel).run(paths)


def reachable_classes(ruleset: CompiledRuleset, *, limit: int = DEFAULT_LIMIT) -> tuple[list[CaseClass], bool]:
    """Every reachable (path, disposition, red flags) class with an example; False when MAX_PATHS or the limit
    cut it short. Red flags multiply the classes, so this is the full picture for small rulesets and tests."""
    return _Verifier(ruleset, None, limit, DEFAULT_TIME_LIMIT, None, None).case_classes()


# --- the sets --------------------------------------------------------------------------------

@dataclass
class _Property:
    index: int
    kind: str
    target: str
    cases: Function  # where its `when` holds
    verdict: PropertyVerdict


class _Budget:
    """The limits of one run, checked before each operation on diagrams. It refers to the diagram manager but not
    to the verifier, so no reference cycle keeps diagrams alive past the manager (which `dd` reports at exit)."""

    def __init__(self, bdd: Any, limit: int, deadline: float, cancel: threading.Event | None) -> None:
        self.bdd, self.limit, self.deadline, self.cancel = bdd, limit, deadline, cancel
        self.stopped_by: str | None = None
        self._collect_at = min(GARBAGE_FIRST, limit)
        self._until_count = 0  # operations before the live nodes are counted again

    def spend(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self._stop("cancelled")
        self._until_count -= 1
        if self._until_count <= 0:
            # a count walks CUDD's node tables, which grow with the diagrams: the bigger they are, the more
            # operations pass before the next count (by operations, not seconds, so a run stops where it always does)
            self._until_count = max(1, min(SIZE_CHECK_MOST, self._check_size() // SIZE_CHECK_SPACING))
        if time.monotonic() > self.deadline:
            self._stop("time")

    def _check_size(self) -> int:
        """The live nodes, after stopping the run if they reach the limit."""
        collect = getattr(self.bdd, "collect_garbage", None)  # dd's Python diagrams; CUDD collects its own
        if collect is not None and len(self.bdd) > self._collect_at:
            # intermediate results stay in the manager until collected: the limit is on diagrams in use
            collect()
            self._collect_at = min(max(2 * len(self.bdd), GARBAGE_FIRST), self.limit)
        live = len(self.bdd)
        if live >= self.limit:
            self._stop("size")
        return live

    def _stop(self, why: str) -> None:
        self.stopped_by = self.stopped_by or why
        raise _OutOfBudget


class _Verifier:
    def __init__(self, ruleset: CompiledRuleset, document: Document | None, limit: int, time_limit: float,
                 progress: Progress | None, cancel: threading.Event | None) -> None:
        started = time.monotonic()  # the time limit covers building the input space as well as the checks
        model = ruleset.model
        self.ruleset, self.model, self.limit, self.time_limit = ruleset, model, limit, time_limit
        self.progress = progress
        self.doc = document or Document(ruleset.file or "<model>", model.model_dump(by_alias=True))
        self.trees = {text: ruleset.condition(text).tree for text in
                      [*ruleset.whens(), *(prop.when for prop in model.safety)]}
        self.space = Space(model.inputs, self.trees.values())  # each input's classes, and inexact comparisons
        self.sym = Symbolic({domain.spec.id: domain.values for domain in self.space.domains})
        self.budget = _Budget(self.sym.bdd, limit, started + time_limit, cancel)
        self.sym.tick = self._spend = self.budget.spend  # the budget holds no reference back: no cycle to collect
        self.order = [d.id for d in model.dispositions]
        self.ranks = {d: i for i, d in enumerate(self.order)}
        self.dispositions = {node.id: node.disposition for node in model.nodes if isinstance(node, OutcomeNode)}
        self.problems: list[Problem] = []
        self.unfinished: list[str] = []
        self.flow: Flow | None = None
        self._sets: dict[str, Function] = {}
        self._raw_sets: dict[str, Function] = {}
        self.tree = not _rejoining(model)
        """No decision entered from two places: checked path by path (linear); else with the flow's diagrams."""

    # limits, progress and examples

    @property
    def stopped_by(self) -> str | None:
        return self.budget.stopped_by

    def _phase(self, name: str, check: Callable[[], None]) -> None:
        if self.unfinished:  # a limit stopped an earlier check: nothing after it is proved either
            self.unfinished.append(name)
            return
        if self.progress is not None:
            self.progress(name, PHASES.index(name) / len(PHASES))
        try:
            self._spend()
            check()
        except _OutOfBudget:
            self.unfinished.append(name)

    def _witness(self, cases: Function) -> Witness:
        case = self.sym.example(cases)
        assert case is not None, "a witness of an empty set"
        return Witness(case, evaluate(self.ruleset, case, check=False).to_dict())

    def _answers(self, cases: Function, case: dict[str, Any], leave_out: str | None = None) -> str:
        decided = [k for k in self.sym.inputs_of(cases) if k != leave_out]
        return ", ".join(f"{k}={_show(case[k])}" for k in decided) or "any answers"

    def _holds(self, text: str) -> Function:
        """The cases where a condition holds, built once per condition."""
        found = self._sets.get(text)
        if found is None:
            found = self._sets[text] = self.sym.condition(self.trees[text]) & self.sym.valid
        return found

    # --- the flow: per path in a tree, as decision diagrams where screens rejoin ---------------------

    def _path_flow(self) -> Flow:
        """The flow of a tree (no decision is entered from two places), path by path: a path's cases are the
        conjunction of the branches it takes, built as a product of parts over disjoint inputs (symbolic.Product).
        Each outcome keeps its paths as routes (the branch conditions taken and passed by), not as diagrams: a
        path's product is built again when a check needs it, so memory stays that of one path, not of all."""
        nodes = {node.id: node for node in self.model.nodes}
        outcomes: dict[str, Any] = {node.id: [] for node in self.model.nodes if isinstance(node, OutcomeNode)}
        visited: set[str] = set()
        never_taken: dict[tuple[str, int], Any] = {}
        stack: list[tuple[str, _Route, Product]] = [(self.model.start, (), Product())]
        while stack:
            self._spend()
            node_id, route, cases = stack.pop()
            visited.add(node_id)
            node = nodes[node_id]
            if isinstance(node, OutcomeNode):
                outcomes[node_id].append(route)
                continue
            rest: Product | None = cases
            for j, branch in enumerate(node.branches):
                holds, reads = self._raw(branch.when), self._reads(branch.when)
                taken = self.sym.meet(rest, holds, reads) if rest is not None else None
                if taken is None:  # the cases that arrive and meet it (an earlier branch shadows them), if any
                    never_taken[node_id, j] = _Arriving((*route, (branch.when, True)))
                else:
                    stack.append((branch.next, (*route, *((b.when, False) for b in node.branches[:j]),
                                                (branch.when, True)), taken))
                rest = self.sym.meet(rest, ~holds, reads) if rest is not None else None
            if rest is None:
                never_taken[node_id, len(node.branches)] = self.sym.false
            else:
                stack.append((node.else_, (*route, *((b.when, False) for b in node.branches)), rest))
        return Flow(outcomes, set(nodes) - visited, never_taken, self.dispositions)

    def _product(self, route: _Route) -> Product | None:
        """A path's cases, built again from its route (None: no case takes it)."""
        found: Product | None = Product()
        for when, holds in route:
            self._spend()
            condition = self._raw(when)
            found = self.sym.meet(found, condition if holds else ~condition, self._reads(when))
            if found is None:
                return None
        return found

    def _arriving(self, found: Any) -> Function:
        """A never-taken branch's arriving cases: kept as a route in a tree, made a set only to explain it."""
        if isinstance(found, _Arriving):
            product = self._product(found.route)
            return self.sym.whole(product) if product is not None else self.sym.false
        return found

    def _raw(self, text: str) -> Function:
        """The cases where a condition holds, over the inputs it reads only (no valid answers of the others):
        what a path's product meets."""
        found = self._raw_sets.get(text)
        if found is None:
            found = self._raw_sets[text] = self.sym.condition(self.trees[text])
        return found

    def _reads(self, text: str) -> list[str]:
        return names(self.trees[text])

    def _meeting(self, cases: Function, outcome: str, small: tuple[Function, list[str]] | None = None) -> Function:
        """Cases of `cases` that end at `outcome`. In a tree, those of its first path that has any: met part by
        part when `small` gives the set over the few inputs it reads, else as one set."""
        assert self.flow is not None
        found = self.flow.outcomes[outcome]
        if not isinstance(found, list):
            return cases & found
        for route in found:
            self._spend()
            product = self._product(route)
            assert product is not None, "a path no case takes"
            if small is not None:
                met = self.sym.meet(product, *small)
                if met is not None:
                    return self.sym.whole(met)
                continue
            both = cases & self.sym.whole(product)
            if both != self.sym.false:
                return both
        return self.sym.false

    def _union(self, outcome: str) -> Function:
        assert self.flow is not None
        found = self.flow.outcomes[outcome]
        if not isinstance(found, list):
            return found
        return self.sym.any(self.sym.whole(p) for p in map(self._product, found) if p is not None)

    # --- the checks ---------------------------------------------------------------------------

    def run(self, paths: bool) -> Verification:
        model = self.model
        out = Verification(self.ruleset.file or "<model>", model.id, model.version, limit=self.limit,
                           time_limit=self.time_limit, total=self.sym.total())
        self.flags: list[tuple[str, Function]] = []  # built by the first check, under the limits
        self.properties = []
        for i, prop in enumerate(model.safety):
            kind = next(k for k in ("at_least", "never", "requires_red_flag") if getattr(prop, k) is not None)
            verdict = PropertyVerdict(prop.id, prop.title, kind, getattr(prop, kind), prop.when)
            self.properties.append(_Property(i, kind, verdict.target, self.sym.false, verdict))
        out.properties = [p.verdict for p in self.properties]
        self._phase("red flags and red-flag properties", self._global_checks)
        self._phase("the flow", lambda: self._the_flow(out))
        self._phase("dead logic", self._dead_logic)
        self._phase("red-flag floors", lambda: self._floors(out))
        if model.monotonic:
            self._phase("monotonic escalation", lambda: self._monotonicity(out))
        if paths:
            self._phase("paths", lambda: self._paths(out))
        elif "paths" in self.unfinished:
            self.unfinished.remove("paths")
        if self.progress is not None:
            self.progress("done", 1.0)
        unproved = self.space.inexact or {"red flags and red-flag properties", "the flow"} & set(self.unfinished)
        for prop in self.properties:
            if prop.verdict.status == "holds" and unproved:
                prop.verdict.status = "unproved"
        out.unfinished = [name for name in self.unfinished if name != "paths" or paths]
        out.stopped_by = self.stopped_by if out.unfinished else None
        out.explored = len(self.sym.bdd)
        if self.space.inexact or out.unfinished:
            self.problems.append(self._incomplete(out))
        out.problems = self.problems
        violated = any(p.is_error and p.code != "WB816" for p in self.problems)
        out.status = "violated" if violated else "incomplete" if out.unfinished or self.space.inexact else "verified"
        return out

    def _incomplete(self, out: Verification) -> Problem:
        parts = []
        if out.unfinished:
            share = share_text(out.checked, out.total)
            within, option = {"time": (f"the time limit of {self.time_limit:g} s", "--time-limit"),
                              "cancelled": ("the time it was given (it was cancelled)", "--time-limit"),
                              }.get(self.stopped_by or "", (f"the limit of {self.limit:,} decision-diagram nodes",
                                                            "--limit"))
            parts.append(f"Too large to check exhaustively within {within}: checked "
                         f"{count_text(out.checked)} of {count_text(out.total)} answer combinations ({share}); not "
                         f"finished: {', '.join(out.unfinished)}. Nothing unfinished is proved: raise {option} or "
                         "split the ruleset")
        for note in self.space.inexact:
            parts.append(f"Not exhaustive: {note}, and two numbers are only compared at representative values")
        return self.doc.problem("WB816", "; ".join(parts) + ".")

    def _global_checks(self) -> None:
        """Checks that do not depend on the path: red flags fire on every case whatever the path."""
        self.flags = [(flag.id, self._holds(flag.when)) for flag in self.model.red_flags]
        for prop in self.properties:
            prop.cases = self._holds(prop.verdict.when)
        for i, (flag_id, cases) in enumerate(self.flags):
            self._spend()
            if cases == self.sym.false:
                when = self.model.red_flags[i].when
                self.problems.append(self.doc.problem(
                    "WB813", f"Red flag '{flag_id}' can never fire: its condition `{when}` is false whatever the "
                    "answers.", ("red_flags", i, "when"), severity="warning"))
        flags = dict(self.flags)
        for prop in self.properties:
            self._spend()
            if prop.cases == self.sym.false:
                prop.verdict.status = "vacuous"
                self.problems.append(self.doc.problem(
                    "WB817", f"Safety property '{prop.verdict.id}' applies to no case: its condition "
                    f"`{prop.verdict.when}` is false whatever the answers, so it proves nothing.",
                    ("safety", prop.index, "when"), severity="warning"))
            elif prop.kind == "requires_red_flag":
                breach = prop.cases & ~flags[prop.target]
                if breach != self.sym.false:
                    self._violated(prop, breach)

    def _the_flow(self, out: Verification) -> None:
        """Which cases reach each node; then each property against each outcome it forbids, one outcome at a time
        (the union of many outcomes' cases can be far larger than any of them)."""
        self.flow = self._path_flow() if self.tree else self.sym.flow(self.model, self.trees)
        # Every case reaches an outcome by construction: validation refuses a decision without an else and any
        # loop, so a case always leaves each decision and cannot come back to it.
        out.complete = True
        out.checked = out.total
        for prop in self.properties:
            if prop.verdict.status != "holds" or prop.kind == "requires_red_flag":
                continue
            for outcome in self._outcomes_breaking(prop):
                self._spend()
                breach = self._meeting(prop.cases, outcome, (self._raw(prop.verdict.when),
                                                              self._reads(prop.verdict.when)))
                if breach != self.sym.false:
                    self._violated(prop, breach)
                    break

    def _outcomes_breaking(self, prop: _Property) -> list[str]:
        """The outcomes a case of `prop` must not reach, least urgent first (so the counterexample is the worst)."""
        rank = self.ranks[prop.target]
        bad = [o for o, d in self.dispositions.items()
               if (self.ranks[d] > rank if prop.kind == "at_least" else d == prop.target)]
        return sorted(bad, key=lambda o: -self.ranks[self.dispositions[o]])

    def _violated(self, prop: _Property, cases: Function) -> None:
        witness = self._witness(cases)
        result = witness.result
        disposition, flags = result["disposition"], result["red_flags"]
        if prop.kind == "at_least":
            confirmed = self.ranks[disposition] > self.ranks[prop.target]
            breach = f"it gives '{disposition}', less urgent than '{prop.target}'"
        elif prop.kind == "never":
            confirmed = disposition == prop.target
            breach = f"it gives '{disposition}'"
        else:
            confirmed = prop.target not in flags
            breach = f"red flag '{prop.target}' does not fire"
        if not confirmed:
            raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {result}")
        spec = self.model.safety[prop.index]
        prop.verdict.status = "violated"
        prop.verdict.counterexample = witness
        prop.verdict.vignette = self._vignette(prop, witness)
        self.problems.append(self.doc.problem(
            "WB810", f"Safety property '{spec.id}' is violated: for {self._answers(cases, witness.inputs)}, "
            f"`{spec.when}` holds but {breach} (outcome '{result['outcome']}', path "
            f"{' → '.join(result['path'])}).", ("safety", prop.index, "id")))

    def _vignette(self, prop: _Property, witness: Witness) -> dict[str, Any]:
        """The counterexample as a vignette that expects what the property demands (so it fails until fixed)."""
        result = witness.result
        spec = self.model.safety[prop.index]
        if prop.kind == "at_least":
            expect: dict[str, Any] = {"disposition": prop.target}
        elif prop.kind == "never":
            k = self.order.index(prop.target)
            expect = {"disposition": self.order[k - 1] if k > 0 else self.order[k + 1] if k + 1 < len(self.order)
                      else prop.target}
        else:
            fired = set(result["red_flags"]) | {prop.target}
            expect = {"disposition": result["disposition"],
                      "red_flags": [f.id for f in self.model.red_flags if f.id in fired]}
        return {"id": f"verify-{spec.id}"[:64], "narrative": (
                    f"Counterexample to safety property '{spec.id}' ({spec.title}), found by workbench "
                    f"verify: the ruleset gives {result['disposition']} ({result['outcome']}). A clinician confirms "
                    "the expectation before saving."),
                "inputs": witness.inputs, "expect": expect}

    # red-flag floors (SPEC 7a)

    def _floors(self, out: Verification) -> None:
        """Per red flag, and per number of red flags firing together, the least urgent disposition any complete
        case reaches: the flag's cases met with each outcome's cases, least urgent first."""
        out.least_urgent = self.order[-1]
        for (flag_id, cases), flag in zip(self.flags, self.model.red_flags, strict=True):
            self._spend()
            out.red_flag_floor.append(self._floor(cases, lambda fired, f=flag_id: f in fired, red_flag=flag_id,
                                                  small=(self._raw(flag.when), self._reads(flag.when))))
        if self.tree:
            out.flag_count_floor += self._count_floors_by_path()
            return
        exactly = [self.sym.true]  # exactly[c]: c of the red flags so far fire
        for _, cases in self.flags:
            self._spend()
            exactly = [(exactly[c] & ~cases if c < len(exactly) else self.sym.false)
                       | (exactly[c - 1] & cases if c > 0 else self.sym.false) for c in range(len(exactly) + 1)]
        at_least = self.sym.false
        counts = []
        for count in range(len(exactly) - 1, 0, -1):  # at_least[count] is the union of exactly[c], c >= count
            at_least |= exactly[count] & self.sym.valid
            counts.append((count, at_least))
        for count, cases in [(count, cases) for count, cases in reversed(counts) if cases != self.sym.false]:
            self._spend()
            out.flag_count_floor.append(self._floor(cases, lambda fired, k=count: len(fired) >= k, count=count))

    def _count_floors_by_path(self) -> list[Floor]:
        """The floors per number of red flags in a tree, path by path, least urgent outcomes first. The sets of
        "at least k red flags" over the whole input space grow past any bound with a dozen flags on different
        inputs; on one path, the most flags that can fire together is found by a search over the flags, each
        step a product meeting one flag's small set, cut short once it cannot beat what is already found."""
        assert self.flow is not None
        flags = [(flag.id, self._raw(flag.when), self._reads(flag.when)) for flag in self.model.red_flags]
        found: dict[int, tuple[str, Product]] = {}
        most = 0
        for outcome in sorted(self.flow.outcomes, key=lambda o: -self.ranks[self.dispositions[o]]):
            for route in self.flow.outcomes[outcome]:
                if most == len(flags) and all(k in found for k in range(1, most + 1)):
                    break
                product = self._product(route)
                assert product is not None, "a path no case takes"
                possible = [flag for flag in flags if self.sym.meet(product, flag[1], flag[2]) is not None]
                if len(possible) <= most and all(k in found for k in range(1, len(possible) + 1)):
                    continue  # it can neither fire more flags than found nor fill a count still open
                count, witness = self._most_flags(product, possible)
                for k in range(1, count + 1):
                    found.setdefault(k, (outcome, witness))
                most = max(most, count)
        floors = []
        for k in range(1, most + 1):
            outcome, product = found[k]
            witness = self._witness(self.sym.whole(product))
            if witness.result["disposition"] != self.dispositions[outcome] or len(witness.result["red_flags"]) < k:
                raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {witness.result}")
            floors.append(Floor(self.dispositions[outcome], witness.inputs, outcome=witness.result["outcome"],
                                count=k))
        return floors

    def _most_flags(self, product: Product, flags: list[tuple[str, Function, list[str]]]) -> tuple[int, Product]:
        """The most red flags that can fire together in a case of `product`, and the cases where they do: a search
        that takes each flag where it can (so the first answer is usually the best) and stops a branch once the
        flags left cannot beat the best found."""
        best: tuple[int, Product] = (0, product)
        stack: list[tuple[int, int, Product]] = [(0, 0, product)]
        while stack:
            self._spend()
            index, taken, cases = stack.pop()
            if taken + len(flags) - index <= best[0]:
                continue
            if index == len(flags):
                best = (taken, cases)
                continue
            stack.append((index + 1, taken, cases))  # without this flag, tried after
            _, holds, reads = flags[index]
            met = self.sym.meet(cases, holds, reads)
            if met is not None:
                stack.append((index + 1, taken + 1, met))
        return best

    def _floor(self, cases: Function, fires: Callable[[list[str]], bool], *,
               small: tuple[Function, list[str]] | None = None, **which: Any) -> Floor:
        assert self.flow is not None
        least_urgent_first = sorted(self.flow.outcomes, key=lambda o: -self.ranks[self.dispositions[o]])
        for outcome in least_urgent_first:
            self._spend()
            found = self._meeting(cases, outcome, small)
            if found != self.sym.false:
                disposition = self.dispositions[outcome]
                witness = self._witness(found)
                if witness.result["disposition"] != disposition or not fires(witness.result["red_flags"]):
                    raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {witness.result}")
                return Floor(disposition, witness.inputs, outcome=witness.result["outcome"], **which)
        return Floor(None, None, **which)

    # dead logic

    def _dead_logic(self) -> None:
        assert self.flow is not None
        flow = self.flow
        for i, node in enumerate(self.model.nodes):
            self._spend()
            if node.id in flow.unreached:
                kind = "Outcome" if isinstance(node, OutcomeNode) else "Decision"
                self.problems.append(self.doc.problem(
                    "WB814", f"{kind} '{node.id}' is never reached by any case: every branch that leads to it can "
                    "never be taken.", ("nodes", i, "id"), severity="warning"))
            elif isinstance(node, DecisionNode):
                for j in range(len(node.branches) + 1):
                    if (node.id, j) in flow.never_taken:
                        self._dead_branch(i, node, j)

    def _dead_branch(self, i: int, node: DecisionNode, j: int) -> None:
        assert self.flow is not None
        if j == len(node.branches):
            self.problems.append(self.doc.problem(
                "WB812", f"The else of '{node.id}' is never taken: every case that reaches it matches one of its "
                "branches.", ("nodes", i, "else"), severity="warning"))
            return
        when = node.branches[j].when
        arriving = self._arriving(self.flow.never_taken[node.id, j])
        if arriving != self.sym.false:
            case = self.sym.example(arriving)
            assert case is not None
            k = next((k for k in range(j) if self.ruleset.condition(node.branches[k].when).predicate(case) is True),
                     None)
            by = f"branch {k + 1} (`{node.branches[k].when}`)" if k is not None else "an earlier branch"
            reason = (f"it is shadowed: whenever `{when}` is true here, {by} or another earlier branch matches "
                      f"first (for example {self._answers(arriving, case)})")
        elif self.sym.meet(Product(), self._raw(when), self._reads(when)) is None:  # false whatever the answers
            reason = f"its condition `{when}` is false whatever the answers"
        else:
            reason = f"no case that reaches '{node.id}' makes `{when}` true: the answers that lead there rule it out"
        self.problems.append(self.doc.problem(
            "WB812", f"Branch {j + 1} of '{node.id}' can never be taken: {reason}.",
            ("nodes", i, "branches", j, "when"), severity="warning"))

    # monotonic escalation

    def _monotonicity(self, out: Verification) -> None:
        """For each yes/no question a red flag reads: is there a case that, with yes instead of no and every
        other answer the same, ends less urgent? Asked of the outcomes' sets with the question fixed each way."""
        assert self.flow is not None
        questions = {name for flag in self.model.red_flags for name in names(self.trees[flag.when])
                     if isinstance(self.ruleset.inputs[name], BooleanInput)}
        outcomes = [(outcome, self._union(outcome)) for outcome in self.flow.outcomes]
        for name in [spec.id for spec in self.model.inputs if spec.id in questions]:
            no = [(outcome, self.sym.fix(cases, name, False)) for outcome, cases in outcomes]
            yes = [(outcome, self.sym.fix(cases, name, True)) for outcome, cases in outcomes]
            found = 0
            for outcome_no, cases_no in no:
                for outcome_yes, cases_yes in yes:
                    self._spend()
                    if self.ranks[self.dispositions[outcome_yes]] <= self.ranks[self.dispositions[outcome_no]]:
                        continue
                    both = cases_no & cases_yes & self.sym.valid
                    if both == self.sym.false or found == ESCALATIONS_PER_QUESTION:
                        continue
                    found += 1
                    escalation = self._escalation(name, both)
                    out.escalations.append(escalation)
                    self.problems.append(self.doc.problem(
                        "WB815", f"Answering yes to '{name}' instead of no makes the disposition less urgent: "
                        f"'{escalation.no.result['disposition']}' ({escalation.no.result['outcome']}) becomes "
                        f"'{escalation.yes.result['disposition']}' ({escalation.yes.result['outcome']}) when "
                        f"{escalation.answers}.", ("monotonic",), key=True))
        out.monotonic = not out.escalations

    def _escalation(self, name: str, cases: Function) -> Escalation:
        case = self.sym.example(cases)
        assert case is not None
        no_inputs, yes_inputs = dict(case, **{name: False}), dict(case, **{name: True})
        no = Witness(no_inputs, evaluate(self.ruleset, no_inputs, check=False).to_dict())
        yes = Witness(yes_inputs, evaluate(self.ruleset, yes_inputs, check=False).to_dict())
        if self.ranks[yes.result["disposition"]] <= self.ranks[no.result["disposition"]]:
            raise RuntimeError(f"verifier and engine disagree on {no.inputs} / {name}")
        return Escalation(name, no, yes, self._answers(cases, case, leave_out=name))

    # paths, on request

    def _walk(self) -> Iterator[tuple[list[str], str, Function]]:
        """Each reachable path (node ids, the outcome, its cases), depth first, at most MAX_PATHS of them."""
        assert self.flow is not None
        nodes = {node.id: node for node in self.model.nodes}
        listed = 0
        start: Any = Product() if self.tree else self.sym.valid
        stack: list[tuple[str, list[str], Any]] = [(self.model.start, [], start)]
        while stack and listed < MAX_PATHS:
            self._spend()
            node_id, path, cases = stack.pop()
            node = nodes[node_id]
            if isinstance(node, OutcomeNode):
                listed += 1
                yield [*path, node_id], node_id, cases  # a Product in a tree
                continue
            steps = self._steps(node, cases)
            stack.extend((target, [*path, node_id], part) for target, part in reversed(steps)
                         if part is not None and (self.tree or part != self.sym.false))
        self.walked_all = not stack

    def _steps(self, node: DecisionNode, cases: Any) -> list[tuple[str, Any]]:
        """Where the cases arriving at a decision go: (target, cases) per branch and else; in a tree the sets are
        products (None when empty), else diagrams."""
        steps: list[tuple[str, Any]] = []
        if self.tree:
            rest = cases
            for branch in node.branches:
                holds, reads = self._raw(branch.when), self._reads(branch.when)
                steps.append((branch.next, self.sym.meet(rest, holds, reads) if rest is not None else None))
                rest = self.sym.meet(rest, ~holds, reads) if rest is not None else None
            return [*steps, (node.else_, rest)]
        rest = cases
        for branch in node.branches:
            holds = self._holds(branch.when)
            steps.append((branch.next, rest & holds))
            rest &= ~holds
        return [*steps, (node.else_, rest)]

    def _paths(self, out: Verification) -> None:
        self.walked_all = True
        for path, outcome, cases in self._walk():
            if isinstance(cases, Product):  # read part by part: the parts read disjoint inputs
                example = self.sym.product_example(cases)
                witness = Witness(example, evaluate(self.ruleset, example, check=False).to_dict())
                count, decided = self.sym.product_count(cases), self.sym.product_inputs(cases)
            else:
                witness = self._witness(cases)
                count, decided = self.sym.count_all(cases), self.sym.inputs_of(cases)
            if witness.result["path"] != path:
                raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {path} vs {witness.result}")
            out.paths.append(PathClass(path, outcome, witness.result["disposition"], count, witness.inputs, decided))
        out.paths_listed = self.walked_all

    # every class with its red flags

    def case_classes(self) -> tuple[list[CaseClass], bool]:
        try:
            self.flow = self._path_flow() if self.tree else self.sym.flow(self.model, self.trees)
            self.flags = [(flag.id, self._holds(flag.when)) for flag in self.model.red_flags]
            out: list[CaseClass] = []
            self.walked_all = True
            for path, outcome, found in self._walk():
                cases = self.sym.whole(found) & self.sym.valid if isinstance(found, Product) else found
                parts: list[tuple[tuple[str, ...], Function]] = [((), cases)]
                for flag_id, fires in self.flags:
                    self._spend()
                    parts = [(fired + (flag_id,), part & fires) for fired, part in parts] + \
                        [(fired, part & ~fires) for fired, part in parts]
                    parts = [(fired, part) for fired, part in parts if part != self.sym.false]
                for fired, part in parts:
                    witness = self._witness(part)
                    if witness.result["red_flags"] != list(fired) or witness.result["path"] != path:
                        raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {witness.result}")
                    out.append(CaseClass(path, outcome, witness.result["disposition"], list(fired),
                                         self.sym.count_all(part), witness.inputs))
            return out, self.walked_all
        except _OutOfBudget:
            return [], False


_Route = tuple[tuple[str, bool], ...]
"""A path through a tree as the conditions it meets: (condition, True when taken, False when passed by)."""


@dataclass(frozen=True)
class _Arriving:
    """The cases that reach a branch no case takes and meet its condition, as the route to them."""

    route: _Route


def _rejoining(model: Any) -> bool:
    """Some decision is entered from more than one place (screens that rejoin): paths multiply."""
    entering: dict[str, int] = {}
    for node in model.nodes:
        for target in node.targets:
            entering[target] = entering.get(target, 0) + 1
    return any(entering.get(node.id, 0) > 1 for node in model.nodes if isinstance(node, DecisionNode))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def share_text(part: int, total: int) -> str:
    """'12.34%' of two counts of any size (integer arithmetic: astronomically large counts overflow a float)."""
    if not total:
        return "0.00%"
    hundredths = 10_000 * part // total
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def count_text(n: int) -> str:
    """A count for people: with thousands separators, or as 2.43e+32 when it is astronomical."""
    if n < 10**12:
        return f"{n:,}"
    digits = str(n)  # exact for any size: a float would overflow past 10^308 (1,000 yes/no questions)
    return f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1:02d}"
