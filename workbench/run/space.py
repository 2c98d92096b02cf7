"""The whole input space as finitely many answers: each input's representative values.

Booleans and choices have few answers. A number is cut into the regions that the constants it is compared
with define (each constant itself, the stretches between them and beyond the ends, within min/max): every
condition gives the same answer anywhere in one region, so one representative value per region stands for
all of them. Unsure answers (engine), verification and the behavioural diff (analysis) search these values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..content.model import BooleanInput, EnumInput, Input, NumberInput
from ..expr.syntax import Compare, Count, Expr, ListOf, Literal, Name, walk


@dataclass(frozen=True)
class Domain:
    """One input's representative answers: all of them for yes/no and choices, one per region for numbers."""

    spec: Input
    values: tuple[Any, ...]


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
    """The representative answers of every input of a ruleset, given the conditions that read them.

    `inexact` says which comparisons (a number against another number) representative values cannot decide
    exactly; a check that relies on them says so."""

    def __init__(self, inputs: Sequence[Input], trees: Iterable[Expr]) -> None:
        numbers = {spec.id for spec in inputs if isinstance(spec, NumberInput)}
        constants, self.inexact = number_constants(trees, numbers)
        domains = []
        for spec in inputs:
            if isinstance(spec, BooleanInput):
                domains.append(Domain(spec, (False, True)))
            elif isinstance(spec, EnumInput):
                domains.append(Domain(spec, tuple(dict.fromkeys(spec.values))))
            else:
                domains.append(Domain(spec, number_values(spec, constants[spec.id])))
        self.domains: tuple[Domain, ...] = tuple(domains)


def number_constants(trees: Iterable[Expr], numbers: set[str]) -> tuple[dict[str, set[float]], list[str]]:
    """The constants each number input is compared with, and a note for each comparison of two numbers
    (which regions cannot decide). A number compared with count(...) is cut at every count the conditions
    allow (0 to n), which keeps it exact."""
    constants: dict[str, set[float]] = {name: set() for name in numbers}
    inexact: list[str] = []
    for node in (node for tree in trees for node in walk(tree)):
        if not isinstance(node, Compare):
            continue
        sides = (node.left, node.right)
        compared = [side.id for side in sides if isinstance(side, Name) and side.id in constants]
        if len(set(compared)) == 2:
            note = f"'{compared[0]}' is compared with '{compared[1]}'"
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
    return constants, inexact
