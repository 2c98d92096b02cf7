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


FITS, FITS_COMPLETE = 1, 2
"""What answers_fit returns besides 0 (some answer does not fit): every answer fits, and some inputs are
unknown; or every input is answered and fits, so the case may take the compiled fast path."""


def answers_fit(inputs: list[Input]) -> Callable[[Mapping[str, Any]], int]:
    """A fast check run on every evaluation: 0 when some answer does not fit (answer_check says why), else
    FITS or FITS_COMPLETE. Details are answer_check's; a test holds the two to the same verdict.

    The work is C-level: set operations, and for a complete case `itemgetter` taking each group of answers
    in one call, so checking a case costs about what walking half the tree costs."""
    known = frozenset(spec.id for spec in inputs)
    count = len(known)
    booleans = tuple(spec.id for spec in inputs if isinstance(spec, BooleanInput))
    boolean_types = frozenset({bool, type(None)})
    choices = tuple(spec.id for spec in inputs if isinstance(spec, EnumInput))
    choice_pairs = frozenset((spec.id, value) for spec in inputs if isinstance(spec, EnumInput)
                             for value in [*spec.values, None])
    numbers = tuple((spec.id, float("-inf") if spec.min is None else spec.min,
                     float("inf") if spec.max is None else spec.max)
                    for spec in inputs if isinstance(spec, NumberInput))
    number_ids, lows, highs = (tuple(column) for column in zip(*numbers)) if numbers else ((), (), ())
    number_types = (int, float)
    plain_numbers = frozenset(number_types)
    only_bool, take_booleans = frozenset({bool}), taker(booleans)
    take_choices, take_numbers = taker(choices), taker(number_ids)
    answered_choices = choice_pairs - {(choice, None) for choice in choices}

    def fit(answers: Mapping[str, Any]) -> int:
        if not answers.keys() <= known:
            return 0
        if len(answers) == count:  # every input answered, unless some answer is None
            answered = take_numbers(answers)
            try:
                if set(map(type, take_booleans(answers))) <= only_bool \
                        and set(zip(choices, take_choices(answers))) <= answered_choices \
                        and set(map(type, answered)) <= plain_numbers \
                        and all(map(operator.le, lows, answered)) and all(map(operator.le, answered, highs)):
                    return FITS_COMPLETE
            except TypeError:  # an unhashable answer (a list, a mapping) is no choice
                return 0
        get = answers.get
        if not set(map(type, map(get, booleans))) <= boolean_types:
            return 0
        try:
            if not set(zip(choices, map(get, choices))) <= choice_pairs:
                return 0
        except TypeError:
            return 0
        values = list(map(get, number_ids, lows))  # a missing answer reads as its lower bound: it fits
        if set(map(type, values)) <= plain_numbers:
            return FITS if all(map(operator.le, lows, values)) and all(map(operator.le, values, highs)) else 0
        for key, low, high in numbers:  # some answers are None (unknown) or not numbers: check one by one
            value = get(key)
            if value is not None and (value.__class__ not in number_types or not low <= value <= high):
                return 0
        return FITS
    return fit


def taker(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The answers to `keys` as a tuple, in one C call (itemgetter gives a bare value for one key)."""
    if not keys:
        return lambda answers: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda answers: (answers[key],)
    return operator.itemgetter(*keys)
