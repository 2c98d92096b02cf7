"""What two versions of a ruleset do differently: on the vignettes, and on every combination of answers.

Every combination is compared at once, as sets: each version's flow gives the set of cases that end at
each outcome (`symbolic.py`), and two outcomes whose sets meet are a change, read back as a few groups of
answers ('age 60 or over, known_cancer yes'). A number is cut at the constants either version compares it
with (`space.number_values`), one class per region, so the counts are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..content.model import BooleanInput, DecisionNode, EnumInput, Input, NumberInput, Ruleset, Vignette
from ..expr import compile_condition, parse
from ..expr.syntax import Expr, names
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset, evaluate
from ..run.space import number_constants, number_values
from .symbolic import Symbolic

MAX_GROUPS = 40
"""At most this many groups of answers are described per pair of outcomes: a reviewer reads a few, not thousands
(the counts are exact whatever the groups shown)."""


def urgency_order(old: Ruleset, new: Ruleset) -> list[str]:
    """Dispositions most urgent first: the new order, with any the new version dropped kept in their old place."""
    order = [d.id for d in new.dispositions]
    for i, disposition in enumerate(old.dispositions):
        if disposition.id not in order:
            before = [d.id for d in old.dispositions[:i] if d.id in order]
            order.insert(order.index(before[-1]) + 1 if before else 0, disposition.id)
    return order


def direction(rank: Mapping[str, int], before: str | None, after: str | None) -> str:
    """'escalated' (more urgent), 'de-escalated' (less urgent), or 'changed' (same urgency or not comparable)."""
    if before in rank and after in rank:
        if rank[after] < rank[before]:  # type: ignore[index]
            return "escalated"
        if rank[after] > rank[before]:  # type: ignore[index]
            return "de-escalated"
    return "changed"


# --- vignettes ------------------------------------------------------------------------------

@dataclass
class VignetteChange:
    """A vignette whose result differs between the versions (None: its answers do not fit that version)."""

    id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    direction: str
    narrative: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before, "after": self.after, "direction": self.direction,
                "narrative": self.narrative}


def vignette_changes(old: CompiledRuleset, new: CompiledRuleset, vignettes: Iterable[Vignette],
                     rank: Mapping[str, int]) -> tuple[int, int, list[VignetteChange]]:
    """How many vignettes ran on both versions, how many could not (they answer a question only one version
    asks), and those whose result (status, disposition, outcome, red flags, needs) changed."""
    count, skipped, changes = 0, 0, []
    for vignette in vignettes:
        before, after = _result(old, vignette), _result(new, vignette)
        if before is None or after is None:
            skipped += 1
            continue
        count += 1
        if before != after:
            way = direction(rank, (before or {}).get("disposition"), (after or {}).get("disposition"))
            changes.append(VignetteChange(vignette.id, before, after, way, vignette.narrative))
    changes.sort(key=lambda c: _urgency_key(rank, (c.before or {}).get("disposition"),
                                            (c.after or {}).get("disposition"), c.direction))
    return count, skipped, changes


def _result(ruleset: CompiledRuleset, vignette: Vignette) -> dict[str, Any] | None:
    if ruleset.case_problems(vignette.inputs, vignette.unsure):
        return None
    return evaluate(ruleset, vignette.inputs, unsure=vignette.unsure, check=False).to_dict()


def _urgency_key(rank: Mapping[str, int], before: str | None, after: str | None, way: str) -> tuple[int, int]:
    most_urgent = min(rank.get(before or "", len(rank)), rank.get(after or "", len(rank)))
    return most_urgent, {"de-escalated": 0, "escalated": 1}.get(way, 2)


# --- every combination ----------------------------------------------------------------------

@dataclass
class CaseChange:
    """A set of combinations (the answers given; any answer to the rest) whose result changes."""

    answers: dict[str, str]
    before: str
    after: str
    outcome_before: str
    outcome_after: str
    direction: str
    combinations: int

    def to_dict(self) -> dict[str, Any]:
        return {"answers": self.answers, "before": self.before, "after": self.after,
                "outcome_before": self.outcome_before, "outcome_after": self.outcome_after,
                "direction": self.direction, "combinations": self.combinations}


@dataclass
class FlagChange:
    """A red flag that fires on different combinations of its inputs in the two versions."""

    id: str
    gained: int  # combinations where only the new version fires it
    lost: int  # combinations where only the old version fired it
    combinations: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "fires_in_more_cases": self.gained, "fires_in_fewer_cases": self.lost,
                "combinations": self.combinations}


@dataclass
class Exhaustive:
    """The result of comparing every combination of answers, or why it was not done.

    `moved` counts, exactly, the combinations for each pair of (disposition before, after); `changes` describes
    them as groups of answers, at most MAX_GROUPS a pair (`shown` says when some were left out)."""

    checked: bool
    reason: str = ""
    inputs: list[str] = field(default_factory=list)
    total: int = 0
    cases: int = 0
    notes: list[str] = field(default_factory=list)
    changes: list[CaseChange] = field(default_factory=list)
    flags: list[FlagChange] = field(default_factory=list)
    moved: dict[tuple[str, str], int] = field(default_factory=dict)
    ways: dict[tuple[str, str], str] = field(default_factory=dict)  # the direction of each pair in `moved`
    assumptions: list[str] = field(default_factory=list)
    complete: bool = True  # every group is listed in `changes`

    @property
    def changed(self) -> int:
        return sum(self.moved.values())

    def count(self, way: str) -> int:
        """Combinations that go this way: 'escalated', 'de-escalated' or 'changed' (same urgency, other outcome)."""
        return sum(n for key, n in self.moved.items() if self.ways[key] == way)

    @property
    def changed_disposition(self) -> int:
        """Combinations whose disposition changes (not only the outcome that gives it)."""
        return sum(n for (before, after), n in self.moved.items() if before != after)

    def summary(self) -> list[dict[str, Any]]:
        """Changes grouped by disposition pair, most urgent first like `changes`, with exact counts."""
        groups = {key: 0 for key in dict.fromkeys((c.before, c.after) for c in self.changes)}
        for change in self.changes:
            groups[change.before, change.after] += 1
        order = list(groups) + [key for key in self.moved if key not in groups]
        return [{"before": before, "after": after, "direction": self.ways[before, after],
                 "combinations": self.moved[before, after], "groups": groups.get((before, after), 0)}
                for before, after in order]

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "reason": self.reason, "inputs": self.inputs, "total": self.total,
                "groups_read": self.cases, "changed": self.changed, "changed_disposition": self.changed_disposition,
                "complete": self.complete, "assumptions": self.assumptions, "notes": self.notes,
                "summary": self.summary(),
                "changes": [c.to_dict() for c in self.changes], "red_flags": [f.to_dict() for f in self.flags]}


@dataclass(frozen=True)
class _Domain:
    """One input's answers to try; for a number, the region (low, low included, high, high included) of each."""

    values: tuple[Any, ...]
    labels: tuple[str, ...]
    regions: tuple[tuple[float | None, bool, float | None, bool], ...] = ()
    unit: str = ""

    def describe(self, chosen: frozenset[int]) -> str:
        """The answers in `chosen`, as a reader would write them: 'yes', 'cervical or thoracic', '60 or over'."""
        picked = sorted(chosen)
        if self.regions and picked == list(range(picked[0], picked[-1] + 1)):
            low, low_in = self.regions[picked[0]][:2]
            high, high_in = self.regions[picked[-1]][2:]
            return _interval(low, low_in, high, high_in) + self.unit
        return " or ".join(self.labels[i] for i in picked)


_Key = tuple[str, str, str, str]  # disposition before, after; outcome before, after


def compare_all(old: CompiledRuleset, new: CompiledRuleset, rank: Mapping[str, int],
                assume: Sequence[str] = ()) -> Exhaustive:
    """Every combination of answers the decision nodes read, and every red flag whose condition changed.

    Both flows are computed as sets of cases (`symbolic.py`); each pair of outcomes, one per version, that
    share cases is one change, read back as disjoint groups of answers. `assume` are conditions over either
    version's inputs that every compared case meets, e.g. how a question one version replaced maps onto the
    new ones ("significant_trauma == (major_trauma or minor_trauma)"); ProblemError when one has errors."""
    domains, reason, notes = answer_domains(old.model, new.model, assume)
    if domains is None:
        return Exhaustive(False, reason)
    assumed = _assumptions(old.model, new.model, assume)
    read = [i for i in domains if i in _branch_reads(old.model) | _branch_reads(new.model)
            | {name for tree in assumed for name in names(tree)}]
    space = Symbolic({input_id: domain.values for input_id, domain in domains.items()})
    within = space.all(space.condition(tree) for tree in assumed)
    result = Exhaustive(True, inputs=read, total=space.count(within, read), notes=notes, assumptions=list(assume))
    before, after = (space.flow(version.model, _trees(version.model)) for version in (old, new))
    found: list[tuple[_Key, dict[str, frozenset[int]], int]] = []
    for was, was_cases in before.outcomes.items():
        for now, now_cases in after.outcomes.items():
            key = (before.dispositions[was], after.dispositions[now], was, now)
            shared = was_cases & now_cases & within
            if key[0] == key[1] and was == now or shared == space.false:
                continue
            result.moved[key[0], key[1]] = result.moved.get((key[0], key[1]), 0) + space.count(shared, read)
            result.ways[key[0], key[1]] = direction(rank, key[0], key[1])
            groups = list(space.cubes(shared, limit=MAX_GROUPS + 1))
            result.complete &= len(groups) <= MAX_GROUPS
            for classes in groups[:MAX_GROUPS]:
                result.cases += 1
                sets = {i: classes[i] for i in read if i in classes and len(classes[i]) < len(domains[i].values)}
                found.append((key, sets, math.prod(len(sets.get(i, domains[i].values)) for i in read)))
    for key, sets, size in _merge(found, domains, read):
        answers = {i: domains[i].describe(sets[i]) for i in domains if i in sets}
        result.changes.append(CaseChange(answers, *key, direction(rank, key[0], key[1]), size))
    result.changes.sort(key=lambda c: (*_urgency_key(rank, c.before, c.after, c.direction),
                                       -abs(rank.get(c.after, 0) - rank.get(c.before, 0)), -c.combinations))
    result.flags = _flag_changes(old, new, space, within, assumed)
    return result


def _trees(model: Ruleset) -> dict[str, Expr]:
    return {text: parse(text) for text in _conditions(model)}


def _merged_inputs(old: Ruleset, new: Ruleset) -> dict[str, Input]:
    return {spec.id: spec for spec in old.inputs} | {spec.id: spec for spec in new.inputs}


def _assumptions(old: Ruleset, new: Ruleset, assume: Sequence[str]) -> list[Expr]:
    """Each assumption checked like any condition, against the inputs of both versions."""
    inputs = _merged_inputs(old, new)
    trees = []
    for text in assume:
        condition, issues = compile_condition(text, inputs)
        if condition is None:
            raise ProblemError([Problem(issue.code, f"The assumption `{text}`: {issue.message}.") for issue in issues])
        trees.append(condition.tree)
    return trees


def _merge(found: list[tuple[_Key, dict[str, frozenset[int]], int]], domains: Mapping[str, _Domain],
           read: list[str]) -> list[tuple[_Key, dict[str, frozenset[int]], int]]:
    """Join changes that differ only in one answer into one line ('age 60 or over' for three regions, an input
    dropped once all its answers are covered), so the reviewer reads a few rules, not hundreds of cases.
    The cases come from disjoint branches of the search, so the joined counts simply add up."""
    items = found
    merged = True
    while merged:
        merged = False
        for input_id in read:
            full = frozenset(range(len(domains[input_id].values)))
            buckets: dict[tuple[_Key, frozenset[tuple[str, frozenset[int]]]], list[int]] = {}
            for n, (key, sets, _) in enumerate(items):
                rest = frozenset((i, v) for i, v in sets.items() if i != input_id)
                buckets.setdefault((key, rest), []).append(n)
            joined = []
            for (key, rest), members in buckets.items():
                if len(members) == 1:
                    joined.append(items[members[0]])
                    continue
                merged = True
                union = frozenset().union(*(items[n][1].get(input_id, full) for n in members))
                sets = dict(rest) | ({input_id: union} if union != full else {})
                joined.append((key, sets, sum(items[n][2] for n in members)))
            items = joined
    return items


def _flag_changes(old: CompiledRuleset, new: CompiledRuleset, space: Symbolic, within: Any,
                  assumed: list[Expr]) -> list[FlagChange]:
    """Red flags do not depend on the path, so each changed one is compared alone over its own inputs (and
    those of the assumptions, which may tie a replaced question to its successors)."""
    tied = [name for tree in assumed for name in names(tree)]
    before = {flag.id: flag.when for flag in old.model.red_flags}
    changes = []
    for flag in new.model.red_flags:
        if flag.id not in before or " ".join(before[flag.id].split()) == " ".join(flag.when.split()):
            continue
        was, now = parse(before[flag.id]), parse(flag.when)
        own = list(dict.fromkeys(names(was) + names(now)))
        inputs = own + [name for name in dict.fromkeys(tied) if name not in own] if set(tied) & set(own) else own
        scope = within if inputs is not own else space.true
        fired_before, fired_after = space.condition(was), space.condition(now)
        gained = space.count(fired_after & ~fired_before & scope, inputs)
        lost = space.count(fired_before & ~fired_after & scope, inputs)
        if gained or lost:
            changes.append(FlagChange(flag.id, gained, lost, space.count(scope, inputs)))
    return changes


def _branch_reads(model: Ruleset) -> set[str]:
    return {name for node in model.nodes if isinstance(node, DecisionNode)
            for branch in node.branches for name in names(parse(branch.when))}


def answer_domains(old: Ruleset, new: Ruleset, assume: Sequence[str] = ()) -> tuple[dict[str, _Domain] | None, str,
                                                                                    list[str]]:
    """Each input's answers to try, with labels; None and the reason where a fair comparison is not possible."""
    specs = _merged_inputs(old, new)
    before = {spec.id: spec for spec in old.inputs}
    trees = [parse(text) for model in (old, new) for text in _conditions(model)] + _assumptions(old, new, assume)
    constants, inexact = number_constants(trees, {i for i, s in specs.items() if isinstance(s, NumberInput)})
    if inexact:
        return None, f"{inexact[0]}, so its answers cannot be cut into regions", []
    domains: dict[str, _Domain] = {}
    notes: list[str] = []
    for input_id, spec in specs.items():
        previous = before.get(input_id)
        if previous is not None and previous.type != spec.type:
            return None, f"'{input_id}' changed from {previous.type} to {spec.type} answers", []
        if isinstance(spec, BooleanInput):
            domains[input_id] = _Domain((False, True), ("no", "yes"))
        elif isinstance(spec, EnumInput):
            common = [v for v in spec.values if not isinstance(previous, EnumInput) or v in previous.values]
            dropped = [v for v in [*spec.values, *getattr(previous, "values", [])] if v not in common]
            if dropped:
                notes.append(f"answers of '{input_id}' that only one version allows were not compared: "
                             + ", ".join(dict.fromkeys(dropped)))
            domains[input_id] = _Domain(tuple(common), tuple(common))
        elif isinstance(spec, NumberInput):
            cuts = sorted(constants[input_id])
            values = number_values(spec, cuts)
            regions = tuple(_region(cuts, v) for v in values)
            unit = f" {spec.unit}" if spec.unit else ""
            domains[input_id] = _Domain(values, tuple(_interval(*r) + unit for r in regions), regions, unit)
    return domains, "", notes


def _conditions(model: Ruleset) -> list[str]:
    return [flag.when for flag in model.red_flags] + [
        branch.when for node in model.nodes if isinstance(node, DecisionNode) for branch in node.branches]


def _region(cuts: list[float], value: float) -> tuple[float | None, bool, float | None, bool]:
    """The region a representative value stands for: the constant itself, or the stretch between two."""
    if value in cuts:
        return value, True, value, True
    below = [c for c in cuts if c < value]
    above = [c for c in cuts if c > value]
    return (below[-1] if below else None), False, (above[0] if above else None), False


def _interval(low: float | None, low_in: bool, high: float | None, high_in: bool) -> str:
    if low is not None and low == high:
        return f"{low:g}"
    lower = None if low is None else f"{low:g} or over" if low_in else f"over {low:g}"
    upper = None if high is None else f"{high:g} or under" if high_in else f"under {high:g}"
    return " and ".join(part for part in (lower, upper) if part) or "any"
