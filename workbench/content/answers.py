"""Whether a case's answers fit the declared inputs: shared by the engine, vignettes and the UI."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from ..problems import did_you_mean, quoted_list, show_number
from .model import BooleanInput, EnumInput, Input, NumberInput

AnswerCheck = Callable[[Any], str]


def describe_range(spec: NumberInput) -> str:
    low = "any" if spec.min is None else show_number(spec.min)
    high = "any" if spec.max is None else show_number(spec.max)
    return f"{low} to {high}{' ' + spec.unit if spec.unit else ''}"


def answer_check(spec: Input) -> AnswerCheck:
    """A function saying why a value is not a valid answer to `spec`, or '' when it is."""
    if isinstance(spec, BooleanInput):
        return lambda v: "" if isinstance(v, bool) else f"'{spec.id}' takes true or false, not {v!r}."
    if isinstance(spec, EnumInput):
        allowed = frozenset(spec.values)
        return lambda v: "" if isinstance(v, str) and v in allowed else (
            f"'{spec.id}' takes one of {quoted_list(spec.values)}, not {v!r}"
            f"{did_you_mean(str(v), spec.values) or '.'}")
    assert isinstance(spec, NumberInput)
    low = spec.min if spec.min is not None else float("-inf")
    high = spec.max if spec.max is not None else float("inf")

    def number(v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return f"'{spec.id}' takes a number, not {v!r}."
        if not low <= v <= high:
            return f"'{spec.id}' is {show_number(v)}, outside its range of {describe_range(spec)}."
        return ""
    return number


def answer_problems(checks: Mapping[str, AnswerCheck], answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(input id, message) for every answer that does not fit; None is an unknown answer and fits."""
    problems = []
    for input_id, value in answers.items():
        check = checks.get(input_id)
        if check is None:
            problems.append((str(input_id), f"'{input_id}' is not an input of this ruleset"
                                            f"{did_you_mean(str(input_id), checks) or '.'}"))
        elif value is not None and (message := check(value)):
            problems.append((str(input_id), message))
    return problems


def taker(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The answers to `keys` as a tuple, in one C call (itemgetter gives a bare value for one key)."""
    if not keys:
        return lambda answers: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda answers: (answers[key],)
    return operator.itemgetter(*keys)
