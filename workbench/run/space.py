"""The whole input space as finitely many answers, and conditions as three-valued tests over sets of them.

Booleans and choices have few answers. A number is cut into the regions that the constants it is compared
with define (each constant itself, the stretches between them and beyond the ends, within min/max): every
condition gives the same answer anywhere in one region, so one representative value per region stands for
all of them. A *partial case* keeps, per input, the set of answers still possible (a bitmask). A condition
on it is True, False, or undecided; undecided returns the test to split on next. Splitting by that test's
truth (not by every answer) keeps the classes few: `age >= 60` halves age's regions, whatever their number.
This is the engine's Kleene logic generalised from "known or unknown" to "one of these answers".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from ..content.model import BooleanInput, EnumInput, Input, NumberInput
from ..expr.syntax import COMPARISONS, RELATIONS, BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not, walk

Masks = tuple[int, ...]  # per input, in declaration order: bit k set = answer k still possible

_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class Split:
    """An undecided test: the input to split and how to cut its possible answers."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def parts(self, mask: int) -> list[int]:
        """Every answer on its own (used where a test relates two inputs)."""
        return [1 << k for k in range(mask.bit_length()) if mask >> k & 1]


class _Cut(Split):
    """A test of one input against constants: its answers split into those where it is false and true."""

    __slots__ = ("true", "false")

    def __init__(self, index: int, true: int, false: int) -> None:
        super().__init__(index)
        self.true, self.false = true, false

    def parts(self, mask: int) -> list[int]:
        return [mask & self.false, mask & self.true]  # false first: witnesses prefer "no"


Verdict = Union[bool, Split]
Test = Callable[[Masks], Verdict]


def children(masks: Masks, split: Split) -> list[Masks]:
    """The partial cases a split divides `masks` into; together they cover it exactly."""
    i = split.index
    return [masks[:i] + (part,) + masks[i + 1:] for part in split.parts(masks[i])]


@dataclass(frozen=True)
class Domain:
    """One input's representative answers: all of them for yes/no and choices, one per region for numbers."""

    spec: Input
    values: tuple[Any, ...]

    @property
    def full(self) -> int:
        return (1 << len(self.values)) - 1


def number_values(spec: NumberInput, constants: Iterable[float]) -> tuple[Any, ...]:
    """One value per region the constants cut [min, max] into: each constant, and one strictly between."""
    low, high = spec.min, spec.max
    cuts = sorted({c for c in constants if (low is None or c >= low) and (high is None or c <= high)})
    values: list[Any] = []
    previous: float | None = low
    previous_included = low is not None
    for cut in cuts:
        inside = _between(previous, previous_included, cut, False)
        if inside is not None:
            values.append(inside)
        values.append(cut)
        previous, previous_included = cut, False
    inside = _between(previous, previous_included, high, high is not None)
    if inside is not None:
        values.append(inside)
    return tuple(values)


def _between(low: float | None, low_in: bool, high: float | None, high_in: bool) -> float | None:
    """A value in the interval (a whole number where one fits), or None when it is empty."""
    def fits(x: float) -> bool:
        return ((low is None or x > low or (low_in and x == low))
                and (high is None or x < high or (high_in and x == high)))
    if low is None and high is None:
        return 0
    if low is None:
        assert high is not None
        candidates: list[float] = [math.ceil(high) - 1, high - 1]
    elif high is None:
        candidates = [math.floor(low) + 1, low + 1]
    else:
        middle = (low + high) / 2
        candidates = [round(middle), math.floor(middle), math.ceil(middle), middle, low, high]
    return next((x for x in candidates if fits(x)), None)


class Space:
    """The finite input space of a ruleset, and its conditions compiled to tests on partial cases."""

    def __init__(self, inputs: Sequence[Input], trees: Iterable[Expr]) -> None:
        trees = list(trees)
        constants: dict[str, set[float]] = {spec.id: set() for spec in inputs if isinstance(spec, NumberInput)}
        self.inexact: list[str] = []
        for tree in trees:
            _collect(tree, constants, self.inexact)
        domains = []
        for spec in inputs:
            if isinstance(spec, BooleanInput):
                domains.append(Domain(spec, (False, True)))
            elif isinstance(spec, EnumInput):
                domains.append(Domain(spec, tuple(dict.fromkeys(spec.values))))
            else:
                domains.append(Domain(spec, number_values(spec, constants[spec.id])))
        self.domains: tuple[Domain, ...] = tuple(domains)
        self.index = {d.spec.id: i for i, d in enumerate(domains)}
        self.full: Masks = tuple(d.full for d in domains)

    # --- partial cases ----------------------------------------------------------------------

    def total(self) -> int:
        """How many representative cases the whole space holds."""
        return math.prod(len(d.values) for d in self.domains)

    @staticmethod
    def size(masks: Masks) -> int:
        return math.prod(m.bit_count() for m in masks)

    def fix(self, masks: Masks, input_id: str, value: Any) -> Masks:
        i = self.index[input_id]
        return masks[:i] + (1 << self.domains[i].values.index(value),) + masks[i + 1:]

    def case(self, masks: Masks) -> dict[str, Any]:
        """A complete case in the class: the first possible answer, or a middle region of an untouched number."""
        out: dict[str, Any] = {}
        for domain, mask in zip(self.domains, masks, strict=True):
            if mask == domain.full and isinstance(domain.spec, NumberInput):
                k = len(domain.values) // 2
            else:
                k = (mask & -mask).bit_length() - 1
            out[domain.spec.id] = domain.values[k]
        return out

    def masks_of(self, case: Mapping[str, Any]) -> Masks:
        """The single-answer partial case of a complete case made of representative values."""
        return tuple(1 << d.values.index(case[d.spec.id]) for d in self.domains)

    def constrained(self, masks: Masks) -> list[str]:
        """The inputs whose answer the class pins down (fully or in part), in declaration order."""
        return [d.spec.id for d, m in zip(self.domains, masks, strict=True) if m != d.full]

    # --- conditions -------------------------------------------------------------------------

    def compile(self, expr: Expr) -> Test:
        """A checked condition as a test on partial cases: True, False, or the Split to make next."""
        if isinstance(expr, Literal):
            return _constant(bool(expr.value))
        if isinstance(expr, Name):
            return self._cut(expr.id, lambda value: value is True)
        if isinstance(expr, Not):
            return _negate(self.compile(expr.operand))
        if isinstance(expr, BoolOp):
            parts = tuple(self.compile(operand) for operand in expr.operands)
            return _all(parts) if expr.op == "and" else _any(parts)
        if isinstance(expr, Compare):
            return self._compare(expr)
        raise TypeError(f"a list is not a condition: {expr!r}")

    def _cut(self, input_id: str, holds: Callable[[Any], bool]) -> Test:
        i = self.index[input_id]
        domain = self.domains[i]
        true = sum(1 << k for k, value in enumerate(domain.values) if holds(value))
        false = domain.full & ~true
        if not false or not true:
            return _constant(bool(true))
        split = _Cut(i, true, false)

        def test(masks: Masks) -> Verdict:
            mask = masks[i]
            if not mask & true:
                return False
            if not mask & false:
                return True
            return split
        return test

    def _compare(self, expr: Compare) -> Test:
        if isinstance(expr.left, Count) or isinstance(expr.right, Count):
            return self._count_compare(expr)
        left, right, op = expr.left, expr.right, expr.op
        if isinstance(left, Literal) and isinstance(right, Name):
            left, right, op = right, left, _FLIPPED[op]
        if isinstance(left, Name) and isinstance(right, Literal):
            constant, compare = right.value, COMPARISONS[op]
            return self._cut(left.id, lambda value: compare(value, constant))
        if isinstance(left, Name) and isinstance(right, ListOf) and op in ("in", "not in"):
            members = frozenset(item.value for item in right.items)
            wanted = op == "in"
            return self._cut(left.id, lambda value: (value in members) is wanted)
        return self._general(expr)

    def _general(self, expr: Compare) -> Test:
        """Any other comparison (two inputs, a nested condition): decided once both sides are single values."""
        left, right = self._operand(expr.left), self._operand(expr.right)
        if expr.op in ("in", "not in"):
            wanted = expr.op == "in"

            def member(masks: Masks) -> Verdict:
                a, b = left(masks), right(masks)
                if isinstance(a, Split):
                    return a
                return (a in b) is wanted
            return member
        compare = COMPARISONS[expr.op]

        def general(masks: Masks) -> Verdict:
            a = left(masks)
            if isinstance(a, Split):
                return a
            b = right(masks)
            if isinstance(b, Split):
                return b
            return compare(a, b)
        return general

    def _count_compare(self, expr: Compare) -> Test:
        """A comparison with count(...): decided when every count its undecided operands allow agrees (SPEC 3);
        otherwise split on the first undecided operand (or the other side)."""
        left, right = self._possible(expr.left), self._possible(expr.right)
        holds = RELATIONS[expr.op]

        def compare(masks: Masks) -> Verdict:
            a, a_split = left(masks)
            b, b_split = right(masks)
            if a is None or b is None:
                return a_split or b_split  # type: ignore[return-value]
            outcomes = {holds(x, y) for x in a for y in b}
            if len(outcomes) == 1:
                return outcomes.pop()
            return a_split or b_split  # type: ignore[return-value]
        return compare

    def _possible(self, expr: Expr) -> Callable[[Masks], tuple[Any, Split | None]]:
        """A comparison side as (the values it may still take, a split that would narrow them)."""
        if isinstance(expr, Count):
            tests = tuple(self.compile(operand) for operand in expr.operands)

            def span(masks: Masks) -> tuple[Any, Split | None]:
                true, undecided, first = tally(tests, masks)
                return range(true, true + undecided + 1), first
            return span
        value = self._operand(expr)

        def one(masks: Masks) -> tuple[Any, Split | None]:
            answer = value(masks)
            return (None, answer) if isinstance(answer, Split) else ((answer,), None)
        return one

    def _operand(self, expr: Expr) -> Callable[[Masks], Any]:
        if isinstance(expr, Literal):
            value = expr.value
            return lambda masks: value
        if isinstance(expr, ListOf):
            members = frozenset(item.value for item in expr.items)
            return lambda masks: members
        if isinstance(expr, Name):
            i = self.index[expr.id]
            values, split = self.domains[i].values, Split(i)

            def answer(masks: Masks) -> Any:
                mask = masks[i]
                return values[mask.bit_length() - 1] if mask & (mask - 1) == 0 else split
            return answer
        return self.compile(expr)


def _constant(value: bool) -> Test:
    return lambda masks: value


def _negate(inner: Test) -> Test:
    def negate(masks: Masks) -> Verdict:
        value = inner(masks)
        if value is True:
            return False
        if value is False:
            return True
        return value
    return negate


def _all(parts: tuple[Test, ...]) -> Test:
    def every(masks: Masks) -> Verdict:
        pending: Verdict = True
        for part in parts:
            value = part(masks)
            if value is False:
                return False
            if pending is True and value is not True:
                pending = value
        return pending
    return every


def _any(parts: tuple[Test, ...]) -> Test:
    def some(masks: Masks) -> Verdict:
        pending: Verdict = False
        for part in parts:
            value = part(masks)
            if value is True:
                return True
            if pending is False and value is not False:
                pending = value
        return pending
    return some


def tally(tests: Iterable[Test], masks: Masks) -> tuple[int, int, Split | None]:
    """How many tests are true and how many undecided on a partial case, and the first split that would decide."""
    true = undecided = 0
    first: Split | None = None
    for test in tests:
        verdict = test(masks)
        if verdict is True:
            true += 1
        elif verdict is not False:
            undecided += 1
            first = first or verdict
    return true, undecided, first


def both(first: Test, second: Test) -> Test:
    """`first and second`, for searches that combine two conditions."""
    return _all((first, second))


def negation(test: Test) -> Test:
    return _negate(test)


def _collect(expr: Expr, constants: dict[str, set[float]], inexact: list[str]) -> None:
    """The constants each number input is compared with; comparisons of two numbers make the check inexact.

    A number compared with count(...) is cut at every count the conditions allow (0 to n), which keeps it exact."""
    for node in walk(expr):
        if not isinstance(node, Compare):
            continue
        sides = (node.left, node.right)
        numbers = [side.id for side in sides if isinstance(side, Name) and side.id in constants]
        if len(set(numbers)) == 2:
            note = f"'{numbers[0]}' is compared with '{numbers[1]}'"
            if note not in inexact:
                inexact.append(note)
        for side, other in (sides, sides[::-1]):
            if not (isinstance(side, Name) and side.id in constants):
                continue
            if isinstance(other, Count):
                constants[side.id].update(range(len(other.operands) + 1))
                continue
            items = other.items if isinstance(other, ListOf) else (other,) if isinstance(other, Literal) else ()
            constants[side.id].update(item.value for item in items
                                      if isinstance(item.value, (int, float)) and not isinstance(item.value, bool))
