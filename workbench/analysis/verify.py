"""Safety properties proved over every possible case, not sampled: what `workbench verify` reports.

The flow is walked from the start with every answer possible. At each branch the condition is tested on
the partial case (`space.py`): true or false, the walk goes on; undecided, the partial case is split on the
test that blocked it and each part is walked on its own. Parts the path rules out are never visited, so the
walk ends with every reachable class of cases (path, outcome) and a witness for each, without enumerating
the product of all answers. Every witness and counterexample is re-run through `engine.evaluate`, so a
reported violation is always one the engine really produces.

Checks: the ruleset's `safety:` properties; every complete case reaches an outcome; branches, red flags and
nodes that no case can reach (dead logic, with the reason); and, where `monotonic: true`, that answering yes
instead of no to a question a red flag reads never makes the disposition less urgent. A bound (`limit`
classes explored) stops a ruleset too large to check, reported as `incomplete`, never as a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..content.loader import Document
from ..content.model import BooleanInput, DecisionNode, OutcomeNode, SafetyProperty
from ..expr.syntax import names
from ..problems import Problem
from ..run.engine import CompiledRuleset, evaluate
from ..run.load import Loaded, load_file, load_text
from ..run.space import Masks, Space, Split, Test, both, children, negation, tally

DEFAULT_LIMIT = 5_000_000
"""Classes of cases explored before giving up: minutes at most, far above what real rulesets need."""

DEFAULT_TIME_LIMIT = 60.0
"""Seconds of checking before giving up and reporting "incomplete": a pasted or hostile ruleset must not hold
a CI job or the Safety page for minutes. The shipped ruleset needs well under a second."""

ESCALATIONS_PER_QUESTION = 3
"""Examples reported per yes/no question that breaks monotonic escalation."""

Edges = tuple[tuple[str, int], ...]  # (decision id, branch index; len(branches) for else) along a path


class _OutOfBudget(Exception):
    """The limit of explored classes, or of time, is reached."""


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
    explored: int = 0
    checked: int = 0
    total: int = 0
    limit: int = DEFAULT_LIMIT
    time_limit: float = DEFAULT_TIME_LIMIT
    stopped_by: str | None = None  # "classes" or "time" when a limit cut the checks short
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

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    @property
    def why_unfinished(self) -> str:
        """Which limit stopped the checks, in words for the CLI and the Safety page."""
        return (f"the time limit of {self.time_limit:g} s was reached first" if self.stopped_by == "time"
                else f"the limit of {self.limit:,} classes was reached first")

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

def verify_file(path: str | Path, *, limit: int = DEFAULT_LIMIT,
                time_limit: float = DEFAULT_TIME_LIMIT) -> Verification:
    return _verified(load_file(path), limit, time_limit)


def verify_text(text: str, file: str = "<text>", *, limit: int = DEFAULT_LIMIT,
                time_limit: float = DEFAULT_TIME_LIMIT) -> Verification:
    return _verified(load_text(text, file), limit, time_limit)


def _verified(loaded: Loaded, limit: int, time_limit: float) -> Verification:
    if loaded.ruleset is None:
        return Verification(loaded.file, problems=[p for p in loaded.problems if p.is_error], limit=limit,
                            time_limit=time_limit)
    return verify(loaded.ruleset, loaded.document, limit=limit, time_limit=time_limit)


def verify(ruleset: CompiledRuleset, document: Document | None = None, *, limit: int = DEFAULT_LIMIT,
           time_limit: float = DEFAULT_TIME_LIMIT) -> Verification:
    """Every check over the whole input space of a valid ruleset, stopping (incomplete) at either limit."""
    return _Verifier(ruleset, document, limit, time_limit).run()


def reachable_classes(ruleset: CompiledRuleset, *, limit: int = DEFAULT_LIMIT) -> tuple[list[CaseClass], bool]:
    """Every reachable (path, disposition, red flags) class with an example; False when the limit cut it short.

    Red flags multiply the classes (each combination that can co-occur with a path), so the main check does
    not need this; it is the full picture for small rulesets, the UI and tests.
    """
    return _Verifier(ruleset, None, limit, DEFAULT_TIME_LIMIT).case_classes()


# --- the walk -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Step:
    tests: tuple[Test, ...] = ()
    targets: tuple[str, ...] = ()  # branch targets, then else
    rank: int | None = None  # disposition index of an outcome: 0 is most urgent


@dataclass
class _Property:
    spec: SafetyProperty
    index: int
    kind: str
    target: str
    test: Test
    verdict: PropertyVerdict


class _Verifier:
    def __init__(self, ruleset: CompiledRuleset, document: Document | None, limit: int, time_limit: float) -> None:
        model = ruleset.model
        self.ruleset, self.model, self.limit, self.time_limit = ruleset, model, limit, time_limit
        self.deadline = time.monotonic() + time_limit
        self.stopped_by: str | None = None
        self.doc = document or Document(ruleset.file or "<model>", model.model_dump(by_alias=True))

        def tree(text: str) -> Any:
            return ruleset.condition(text).tree

        branch_trees = {(node.id, j): tree(b.when) for node in model.nodes if isinstance(node, DecisionNode)
                        for j, b in enumerate(node.branches)}
        flag_trees = [tree(flag.when) for flag in model.red_flags]
        safety_trees = [tree(prop.when) for prop in model.safety]
        self.space = Space(model.inputs, [*branch_trees.values(), *flag_trees, *safety_trees])
        self.ranks = {d.id: i for i, d in enumerate(model.dispositions)}
        self.steps: dict[str, _Step] = {}
        self.reads: dict[str, set[int]] = {}
        for node in model.nodes:
            if isinstance(node, OutcomeNode):
                self.steps[node.id] = _Step(rank=self.ranks[node.disposition])
            else:
                tests = tuple(self.space.compile(branch_trees[node.id, j]) for j in range(len(node.branches)))
                targets = tuple(b.next for b in node.branches) + (node.else_,)
                self.steps[node.id] = _Step(tests, targets)
                self.reads[node.id] = {self.space.index[name] for j in range(len(node.branches))
                                       for name in names(branch_trees[node.id, j])}
        self.flags = [(flag.id, self.space.compile(t)) for flag, t in zip(model.red_flags, flag_trees, strict=True)]
        self.flag_reads = [names(t) for t in flag_trees]
        self.properties = []
        for i, (prop, t) in enumerate(zip(model.safety, safety_trees, strict=True)):
            kind = next(k for k in ("at_least", "never", "requires_red_flag") if getattr(prop, k) is not None)
            target = getattr(prop, kind)
            verdict = PropertyVerdict(prop.id, prop.title, kind, target, prop.when)
            self.properties.append(_Property(prop, i, kind, target, self.space.compile(t), verdict))
        self.used = 0
        self.problems: list[Problem] = []
        self.unfinished: list[str] = []

    # budget and basic moves

    def _spend(self) -> None:
        self.used += 1
        if self.used > self.limit:
            self.stopped_by = self.stopped_by or "classes"
            raise _OutOfBudget
        if not self.used & 255 and time.monotonic() > self.deadline:
            self.stopped_by = self.stopped_by or "time"
            raise _OutOfBudget

    def _advance(self, node: str, j: int, masks: Masks, edges: Edges, stop: str | None = None,
                 within: set[str] | None = None) -> tuple[str, int, Edges, Split | None]:
        """Follow the flow as far as the partial case decides it: to an outcome, or to an undecided branch.

        With `stop`, also end there, or wherever the flow can no longer lead to `stop` (nodes not `within`)."""
        while True:
            step = self.steps.get(node)
            if step is None or step.rank is not None or node == stop or (within is not None and node not in within):
                return node, j, edges, None
            tests = step.tests
            while j < len(tests):
                verdict = tests[j](masks)
                if verdict is True:
                    break
                if verdict is False:
                    j += 1
                    continue
                return node, j, edges, verdict
            edges = edges + ((node, j),)
            if len(edges) > len(self.steps):
                return node, j, edges, None  # a loop: reported as a case that reaches no outcome
            node, j = step.targets[j], 0

    def _walk(self, masks: Masks, stop: str | None = None) -> Iterator[tuple[str, Masks, Edges]]:
        """Every class of the partial case `masks` by where the flow takes it: an outcome, or `stop`."""
        within = self._ancestors(stop) if stop else None
        stack: list[tuple[str, int, Masks, Edges]] = [(self.model.start, 0, masks, ())]
        while stack:
            self._spend()
            node, j, masks, edges = stack.pop()
            node, j, edges, split = self._advance(node, j, masks, edges, stop, within)
            if split is None:
                if stop is None or node == stop:
                    yield node, masks, edges
            else:
                stack.extend((node, j, child, edges) for child in reversed(children(masks, split)))

    def _satisfy(self, test: Test, masks: Masks) -> Masks | None:
        """A part of `masks` where the test is true, or None when there is none."""
        stack = [masks]
        while stack:
            self._spend()
            masks = stack.pop()
            verdict = test(masks)
            if verdict is True:
                return masks
            if verdict is not False:
                stack.extend(reversed(children(masks, verdict)))
        return None

    def _ancestors(self, target: str) -> set[str]:
        parents: dict[str, set[str]] = {}
        for node_id, step in self.steps.items():
            for nxt in step.targets:
                parents.setdefault(nxt, set()).add(node_id)
        seen, frontier = {target}, [target]
        while frontier:
            for parent in parents.get(frontier.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return seen

    def _witness(self, masks: Masks) -> Witness:
        case = self.space.case(masks)
        return Witness(case, evaluate(self.ruleset, case, check=False).to_dict())

    def _answers(self, masks: Masks, case: dict[str, Any]) -> str:
        decided = self.space.constrained(masks)
        return ", ".join(f"{k}={_show(case[k])}" for k in decided) or "any answers"

    def _phase(self, name: str, check: Any) -> None:
        try:
            check()
        except _OutOfBudget:
            self.unfinished.append(name)

    # --- the checks ---------------------------------------------------------------------------

    def run(self) -> Verification:
        out = Verification(self.ruleset.file or "<model>", self.model.id, self.model.version, limit=self.limit,
                           time_limit=self.time_limit, total=self.space.total(),
                           properties=[p.verdict for p in self.properties])
        self._phase("red flags and red-flag properties", self._global_checks)
        self._phase("the flow", lambda: self._explore(out))
        if self.unfinished:
            self.unfinished.extend(["dead logic", "red-flag floors"])
        else:
            self._phase("dead logic", self._dead_logic)
            self._phase("red-flag floors", lambda: self._floors(out))
        if self.model.monotonic:
            self._phase("monotonic escalation", lambda: self._monotonicity(out))
        unproved = self.space.inexact or {"red flags and red-flag properties", "the flow"} & set(self.unfinished)
        for prop in self.properties:
            if prop.verdict.status == "holds" and unproved:
                prop.verdict.status = "unproved"
        out.unfinished = self.unfinished
        out.stopped_by = self.stopped_by if self.unfinished else None
        out.explored = min(self.used, self.limit)
        if self.space.inexact or self.unfinished:
            self.problems.append(self._incomplete(out))
        out.problems = self.problems
        violated = any(p.is_error and p.code != "WB816" for p in self.problems)
        out.status = "violated" if violated else "incomplete" if self.unfinished or self.space.inexact else "verified"
        return out

    def _incomplete(self, out: Verification) -> Problem:
        parts = []
        if self.unfinished:
            share = share_text(out.checked, out.total)
            within, option = ((f"the time limit of {self.time_limit:g} s", "--time-limit")
                              if self.stopped_by == "time" else (f"the limit of {self.limit:,} classes", "--limit"))
            parts.append(f"Too large to check exhaustively within {within}: checked "
                         f"{count_text(out.checked)} of {count_text(out.total)} answer combinations ({share}); not "
                         f"finished: {', '.join(self.unfinished)}. Nothing unfinished is proved: raise {option} or "
                         "split the ruleset")
        for note in self.space.inexact:
            parts.append(f"Not exhaustive: {note}, and two numbers are only compared at representative values")
        return self.doc.problem("WB816", "; ".join(parts) + ".")

    def _global_checks(self) -> None:
        """Checks that do not depend on the path: red flags fire on every case whatever the path."""
        full = self.space.full
        for i, (flag_id, test) in enumerate(self.flags):
            if self._satisfy(test, full) is None:
                when = self.model.red_flags[i].when
                self.problems.append(self.doc.problem(
                    "WB813", f"Red flag '{flag_id}' can never fire: its condition `{when}` is false whatever the "
                    "answers.", ("red_flags", i, "when"), severity="warning"))
        for prop in self.properties:
            if self._satisfy(prop.test, full) is None:
                prop.verdict.status = "vacuous"
                self.problems.append(self.doc.problem(
                    "WB817", f"Safety property '{prop.spec.id}' applies to no case: its condition `{prop.spec.when}` "
                    "is false whatever the answers, so it proves nothing.", ("safety", prop.index, "when"),
                    severity="warning"))
            elif prop.kind == "requires_red_flag":
                flag = dict(self.flags)[prop.target]
                found = self._satisfy(both(prop.test, negation(flag)), full)
                if found is not None:
                    self._violated(prop, found)

    def _explore(self, out: Verification) -> None:
        self.edges_taken: set[tuple[str, int]] = set()
        self.nodes_reached: set[str] = set()
        paths: dict[Edges, list[Any]] = {}
        self.leaves: list[tuple[int, str, Masks]] = []  # (rank, outcome, class) for the red-flag floors
        at_outcome = [p for p in self.properties if p.kind != "requires_red_flag" and p.verdict.status == "holds"]
        stuck = False
        for node, masks, edges in self._walk(self.space.full):
            out.checked += Space.size(masks)
            step = self.steps.get(node)
            if step is None or step.rank is None:
                if not stuck:
                    stuck = True
                    self._stuck(node, masks)
                continue
            self.edges_taken.update(edges)
            seen = paths.get(edges)
            if seen is None:
                paths[edges] = [node, Space.size(masks), masks]
            else:
                seen[1] += Space.size(masks)
            self.leaves.append((step.rank, node, masks))
            for prop in at_outcome:
                if prop.verdict.status != "holds":
                    continue
                target = self.ranks[prop.target]
                if step.rank > target if prop.kind == "at_least" else step.rank == target:
                    found = self._satisfy(prop.test, masks)
                    if found is not None:
                        self._violated(prop, found)
        out.complete = not stuck
        self.nodes_reached = {n for n, _ in self.edges_taken} | {paths[e][0] for e in paths}
        out.paths = [self._path_class(edges, node, cases, masks) for edges, (node, cases, masks) in paths.items()]

    def _stuck(self, node: str, masks: Masks) -> None:
        case = self.space.case(masks)
        self.problems.append(self.doc.problem(
            "WB811", f"Some complete cases reach no outcome: they stop at '{node}' (for example "
            f"{self._answers(masks, case)}).", ("nodes",)))

    def _path_class(self, edges: Edges, node: str, cases: int, masks: Masks) -> PathClass:
        witness = self._witness(masks)
        path = [n for n, _ in edges] + [node]
        if witness.result["path"] != path:
            raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {path} vs {witness.result}")
        disposition = witness.result["disposition"]
        return PathClass(path, node, disposition, cases, witness.inputs, self.space.constrained(masks))

    def _violated(self, prop: _Property, masks: Masks) -> None:
        witness = self._witness(masks)
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
        prop.verdict.status = "violated"
        prop.verdict.counterexample = witness
        prop.verdict.vignette = self._vignette(prop, witness)
        self.problems.append(self.doc.problem(
            "WB810", f"Safety property '{prop.spec.id}' is violated: for {self._answers(masks, witness.inputs)}, "
            f"`{prop.spec.when}` holds but {breach} (outcome '{result['outcome']}', path "
            f"{' → '.join(result['path'])}).", ("safety", prop.index, "id")))

    def _vignette(self, prop: _Property, witness: Witness) -> dict[str, Any]:
        """The counterexample as a vignette that expects what the property demands (so it fails until fixed)."""
        result = witness.result
        if prop.kind == "at_least":
            expect: dict[str, Any] = {"disposition": prop.target}
        elif prop.kind == "never":
            order = list(self.ranks)
            k = order.index(prop.target)
            expect = {"disposition": order[k - 1] if k > 0 else order[k + 1] if k + 1 < len(order) else prop.target}
        else:
            fired = set(result["red_flags"]) | {prop.target}
            expect = {"disposition": result["disposition"],
                      "red_flags": [f.id for f in self.model.red_flags if f.id in fired]}
        return {"id": f"verify-{prop.spec.id}"[:64], "narrative": (
                    f"Counterexample to safety property '{prop.spec.id}' ({prop.spec.title}), found by workbench "
                    f"verify: the ruleset gives {result['disposition']} ({result['outcome']}). A clinician confirms "
                    "the expectation before saving."),
                "inputs": witness.inputs, "expect": expect}

    # red-flag floors (SPEC 7a)

    def _floors(self, out: Verification) -> None:
        """Per red flag, and per number of red flags firing together, the least urgent disposition of any complete
        case: the classes are taken least urgent first, so each floor is found early and later classes only need
        checking where they could lower it."""
        order = [d.id for d in self.model.dispositions]
        out.least_urgent = order[-1]
        lowest: dict[str, tuple[int, Masks, str]] = {}  # flag -> (rank, class, outcome)
        most: dict[int, tuple[int, Masks, str]] = {}  # rank -> (most flags together, class, outcome)
        for rank, node, masks in sorted(self.leaves, key=lambda leaf: -leaf[0]):
            for flag_id, test in self.flags:
                if flag_id in lowest and lowest[flag_id][0] >= rank:
                    continue
                found = self._satisfy(test, masks)
                if found is not None:
                    lowest[flag_id] = (rank, found, node)
            best = most.get(rank, (0, masks, node))[0]
            found_most = self._most_flags(masks, best)
            if found_most is not None:
                most[rank] = (found_most[0], found_most[1], node)
        for flag_id, _ in self.flags:
            if flag_id not in lowest:
                out.red_flag_floor.append(Floor(None, None, red_flag=flag_id))
                continue
            rank, masks, node = lowest[flag_id]
            witness = self._confirmed(masks, order[rank], lambda fired, flag=flag_id: flag in fired)
            out.red_flag_floor.append(Floor(order[rank], witness.inputs, red_flag=flag_id, outcome=node))
        top = max((n for n, _, _ in most.values()), default=0)
        for count in range(1, top + 1):
            rank = max(r for r, (n, _, _) in most.items() if n >= count)
            _, masks, node = most[rank]
            witness = self._confirmed(masks, order[rank], lambda fired, k=count: len(fired) >= k)
            out.flag_count_floor.append(Floor(order[rank], witness.inputs, count=count, outcome=node))

    def _most_flags(self, masks: Masks, better_than: int) -> tuple[int, Masks] | None:
        """The most red flags that fire together on one case of the class, if more than `better_than`, with a
        part of the class where they do. Branch and bound: split on an undecided flag, its firing part first,
        and drop parts that cannot beat the best found."""
        best: tuple[int, Masks] | None = None
        stack = [masks]
        while stack:
            self._spend()
            part = stack.pop()
            fired, undecided, split = tally((test for _, test in self.flags), part)
            if fired + undecided <= (best[0] if best else better_than):
                continue
            if split is None:
                best = (fired, part)
                continue
            stack.extend(children(part, split))  # the last pushed, popped first, is the flag's firing part
        return best

    def _confirmed(self, masks: Masks, disposition: str, holds: Any) -> Witness:
        """An example case of the class, checked with the engine like every other witness."""
        witness = self._witness(masks)
        if witness.result["disposition"] != disposition or not holds(witness.result["red_flags"]):
            raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {witness.result}")
        return witness

    # dead logic

    def _dead_logic(self) -> None:
        for i, node in enumerate(self.model.nodes):
            if node.id not in self.nodes_reached:
                kind = "Outcome" if isinstance(node, OutcomeNode) else "Decision"
                self.problems.append(self.doc.problem(
                    "WB814", f"{kind} '{node.id}' is never reached by any case: every branch that leads to it can "
                    "never be taken.", ("nodes", i, "id"), severity="warning"))
            elif isinstance(node, DecisionNode):
                dead = [j for j in range(len(node.branches) + 1) if (node.id, j) not in self.edges_taken]
                if dead:
                    self._dead_branches(i, node, dead)

    def _dead_branches(self, i: int, node: DecisionNode, dead: list[int]) -> None:
        tests = self.steps[node.id].tests
        pending = [j for j in dead if j < len(node.branches)]
        shadowed: dict[int, Masks] = {}
        for _, arrival, _ in (self._walk(self.space.full, stop=node.id) if pending else ()):  # arrivals at node
            for j in pending:
                if j not in shadowed and (found := self._satisfy(tests[j], arrival)) is not None:
                    shadowed[j] = found
            if len(shadowed) == len(pending):
                break
        for j in dead:
            if j == len(node.branches):
                self.problems.append(self.doc.problem(
                    "WB812", f"The else of '{node.id}' is never taken: every case that reaches it matches one of its "
                    "branches.", ("nodes", i, "else"), severity="warning"))
                continue
            when = node.branches[j].when
            if j in shadowed:
                case = self.space.case(shadowed[j])
                single = self.space.masks_of(case)
                k = next((k for k in range(j) if tests[k](single) is True), None)
                by = f"branch {k + 1} (`{node.branches[k].when}`)" if k is not None else "an earlier branch"
                reason = (f"it is shadowed: whenever `{when}` is true here, {by} or another earlier branch matches "
                          f"first (for example {self._answers(shadowed[j], case)})")
            elif self._satisfy(tests[j], self.space.full) is None:
                reason = f"its condition `{when}` is false whatever the answers"
            else:
                reason = (f"no case that reaches '{node.id}' makes `{when}` true: the answers that lead there rule "
                          "it out")
            self.problems.append(self.doc.problem(
                "WB812", f"Branch {j + 1} of '{node.id}' can never be taken: {reason}.",
                ("nodes", i, "branches", j, "when"), severity="warning"))

    # monotonic escalation

    def _monotonicity(self, out: Verification) -> None:
        spans = self._spans()
        reads_below = self._reads_below()
        questions = {name for reads in self.flag_reads for name in reads
                     if isinstance(self.ruleset.inputs[name], BooleanInput)}
        for name in sorted(questions, key=self.space.index.__getitem__):
            found = self._escalations(self.space.index[name], spans, reads_below)
            for escalation in found:
                out.monotonic = False
                out.escalations.append(escalation)
                self.problems.append(self.doc.problem(
                    "WB815", f"Answering yes to '{name}' instead of no makes the disposition less urgent: "
                    f"'{escalation.no.result['disposition']}' ({escalation.no.result['outcome']}) becomes "
                    f"'{escalation.yes.result['disposition']}' ({escalation.yes.result['outcome']}) when "
                    f"{escalation.answers}.", ("monotonic",), key=True))
        if out.monotonic is None:
            out.monotonic = True

    def _escalations(self, b: int, spans: dict[str, tuple[int, int]], reads_below: dict[str, set[int]],
                     ) -> list[Escalation]:
        """Walk the no-case and the yes-case side by side, to the first few pairs of outcomes where yes is less
        urgent (each pair once: more examples of one mistake add nothing)."""
        start = self.model.start
        full = self.space.full
        found: dict[tuple[str, str], Escalation] = {}
        stack: list[tuple[str, int, str, int, Masks, Edges, Edges]] = [(start, 0, start, 0, full, (), ())]
        while stack:
            self._spend()
            node_no, j_no, node_yes, j_yes, masks, e_no, e_yes = stack.pop()
            no = masks[:b] + (1,) + masks[b + 1:]
            yes = masks[:b] + (2,) + masks[b + 1:]
            node_no, j_no, e_no, split_no = self._advance(node_no, j_no, no, e_no)
            node_yes, j_yes, e_yes, split_yes = self._advance(node_yes, j_yes, yes, e_yes)
            if spans[node_yes][1] <= spans[node_no][0]:
                continue  # the yes-case cannot end less urgent than the no-case
            if node_no == node_yes and j_no == j_yes and b not in reads_below[node_no]:
                continue  # both follow the same flow from here on
            if split_no is None and split_yes is None:
                if (node_no, node_yes) not in found:
                    found[node_no, node_yes] = self._escalation(b, masks)
                    if len(found) == ESCALATIONS_PER_QUESTION:
                        break
                continue
            split = split_no if split_no is not None else split_yes
            for child in reversed(children(no if split is split_no else yes, split)):  # type: ignore[arg-type]
                child = child[:b] + (masks[b],) + child[b + 1:]
                stack.append((node_no, j_no, node_yes, j_yes, child, e_no, e_yes))
        return list(found.values())

    def _escalation(self, b: int, masks: Masks) -> Escalation:
        name = self.space.domains[b].spec.id
        no = self._witness(self.space.fix(masks, name, False))
        yes_inputs = dict(no.inputs, **{name: True})
        yes = Witness(yes_inputs, evaluate(self.ruleset, yes_inputs, check=False).to_dict())
        if self.ranks[yes.result["disposition"]] <= self.ranks[no.result["disposition"]]:
            raise RuntimeError(f"verifier and engine disagree on {no.inputs} / {name}")
        decided = [k for k in self.space.constrained(masks) if k != name]
        return Escalation(name, no, yes, ", ".join(f"{k}={_show(no.inputs[k])}" for k in decided) or "any answers")

    def _spans(self) -> dict[str, tuple[int, int]]:
        """Per node, the most and least urgent disposition reachable from it (by the graph alone)."""
        spans: dict[str, tuple[int, int]] = {}
        for node_id in self._topological():
            step = self.steps[node_id]
            if step.rank is not None:
                spans[node_id] = (step.rank, step.rank)
            else:
                below = [spans[t] for t in step.targets]
                spans[node_id] = (min(low for low, _ in below), max(high for _, high in below))
        return spans

    def _reads_below(self) -> dict[str, set[int]]:
        """Per node, the inputs any condition at or after it reads."""
        below: dict[str, set[int]] = {}
        for node_id in self._topological():
            step = self.steps[node_id]
            below[node_id] = set(self.reads.get(node_id, ())).union(*(below[t] for t in step.targets))
        return below

    def _topological(self) -> list[str]:
        """Node ids with every node after all nodes it leads to (outcomes first)."""
        order: list[str] = []
        seen: set[str] = set()
        for root in self.steps:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter(self.steps[root].targets))]
            while stack:
                node_id, targets = stack[-1]
                for t in targets:
                    if t not in seen:
                        seen.add(t)
                        stack.append((t, iter(self.steps[t].targets)))
                        break
                else:
                    order.append(node_id)
                    stack.pop()
        return order

    # every class with its red flags

    def case_classes(self) -> tuple[list[CaseClass], bool]:
        classes: dict[tuple[Edges, tuple[str, ...]], list[Any]] = {}
        try:
            for node, masks, edges in self._walk(self.space.full):
                for fired, part in self._flag_parts(masks):
                    seen = classes.get((edges, fired))
                    if seen is None:
                        classes[edges, fired] = [node, Space.size(part), part]
                    else:
                        seen[1] += Space.size(part)
            complete = True
        except _OutOfBudget:
            complete = False
        out = []
        for (edges, fired), (node, cases, masks) in classes.items():
            witness = self._witness(masks)
            path = [n for n, _ in edges] + [node]
            if witness.result["red_flags"] != list(fired) or witness.result["path"] != path:
                raise RuntimeError(f"verifier and engine disagree on {witness.inputs}: {witness.result}")
            out.append(CaseClass(path, node, witness.result["disposition"], list(fired), cases, witness.inputs))
        return out, complete

    def _flag_parts(self, masks: Masks) -> Iterator[tuple[tuple[str, ...], Masks]]:
        stack: list[tuple[int, Masks, tuple[str, ...]]] = [(0, masks, ())]
        while stack:
            k, masks, fired = stack.pop()
            while k < len(self.flags):
                verdict = self.flags[k][1](masks)
                if verdict is True:
                    fired += (self.flags[k][0],)
                elif verdict is not False:
                    self._spend()
                    stack.extend((k, child, fired) for child in reversed(children(masks, verdict)))
                    break
                k += 1
            else:
                yield fired, masks


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
