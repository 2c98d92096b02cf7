"""A condition in the ruleset's own words: `bladder_bowel_dysfunction or age >= 50` reads "bladder or bowel
problems or age 50 years or more", each input by its short `label` (explain.input_label), each choice by its
label. The flow's edges, the overview and the safety report say conditions this way; the id stays one hover
away for whoever needs it."""

from __future__ import annotations

import re
from typing import Any

from ..content.model import EnumInput, NumberInput
from ..expr.syntax import BoolOp, Compare, Count, Expr, ExprSyntaxError, ListOf, Literal, Name, Not, parse
from .engine import CompiledRuleset
from .explain import input_label

_DASH_CLAUSE = re.compile(r"\s[\u2014\u2013]\s")
_NUMBER_WORDS = {">=": "{} or more", ">": "over {}", "<=": "{} or less", "<": "under {}", "==": "exactly {}",
                 "!=": "not {}"}


def condition_words(ruleset: CompiledRuleset, condition: str) -> str:
    """The whole condition in words; the text as written when it does not parse (validation says why)."""
    try:
        return _say(ruleset, parse(condition), top=True)
    except ExprSyntaxError:
        return condition


def short(label: str) -> str:
    """A label up to its first dash clause: 'Emergency — now: 999 or ...' reads 'Emergency' on a card."""
    return _DASH_CLAUSE.split(" ".join(label.split()), 1)[0]


def short_words(text: str, width: int = 42) -> str:
    """Words cut at a word boundary to fit a label on an edge, with … when cut."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    return flat[:width].rsplit(" ", 1)[0].rstrip(",;:(") + "…"


def _value(ruleset: CompiledRuleset, name: str | None, value: Any) -> str:
    spec = ruleset.inputs.get(name or "")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(spec, EnumInput):
        return (spec.labels or {}).get(str(value), str(value).replace("_", " "))
    if isinstance(spec, NumberInput) and isinstance(value, (int, float)):
        return f"{value:g}" + (f" {spec.unit}" if spec.unit else "")
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _say(ruleset: CompiledRuleset, expr: Expr, top: bool = False) -> str:
    if isinstance(expr, Name):
        return input_label(ruleset, expr.id)
    if isinstance(expr, Literal):
        return _value(ruleset, None, expr.value)
    if isinstance(expr, Not):
        inner = _say(ruleset, expr.operand)
        return f"no {inner}" if isinstance(expr.operand, Name) else f"not ({inner})"
    if isinstance(expr, BoolOp):
        parts = [_say(ruleset, operand) for operand in expr.operands]
        text = f" {expr.op} ".join(parts)
        return text if top else f"({text})"
    if isinstance(expr, Count):
        return "; ".join(_say(ruleset, operand, top=True) for operand in expr.operands)
    if isinstance(expr, ListOf):
        return " or ".join(_value(ruleset, None, item.value) for item in expr.items)
    assert isinstance(expr, Compare)
    return _compare(ruleset, expr)


def _compare(ruleset: CompiledRuleset, expr: Compare) -> str:
    left, right, op = expr.left, expr.right, expr.op
    if isinstance(left, Count) and isinstance(right, Literal):
        items = _say(ruleset, left)
        n = right.value
        wording = {">=": f"at least {n}", ">": f"more than {n}", "<=": f"at most {n}", "<": f"fewer than {n}",
                   "==": f"exactly {n}", "!=": f"not exactly {n}"}[op]
        return f"{wording} of: {items}"
    if isinstance(left, Name) and isinstance(right, Literal | ListOf):
        name = input_label(ruleset, left.id)
        if isinstance(right, ListOf):
            values = " or ".join(_value(ruleset, left.id, item.value) for item in right.items)
            return f"{name}: {values}" if op == "in" else f"{name}: not {values}"
        value = right.value
        if isinstance(value, bool):
            yes = (op == "==") == value
            return name if yes else f"no {name}"
        if isinstance(ruleset.inputs.get(left.id), NumberInput) and op in _NUMBER_WORDS:
            return f"{name} " + _NUMBER_WORDS[op].format(_value(ruleset, left.id, value))
        shown = _value(ruleset, left.id, value)
        return f"{name}: {shown}" if op == "==" else f"{name}: not {shown}"
    return f"{_say(ruleset, left)} {op} {_say(ruleset, right)}"


def answers_in_words(ruleset: CompiledRuleset, answers: dict[str, object], *, name_the_rest: bool = False) -> str:
    """A case as a reader scans it: what was yes, numbers and choices, then 'no to the rest' (or, with
    `name_the_rest`, which questions were answered no)."""
    said = []
    for name, value in answers.items():
        if value is True:
            said.append(input_label(ruleset, name))
        elif not isinstance(value, bool) and value is not None:
            said.append(f"{input_label(ruleset, name)}: {_value(ruleset, name, value)}")
    if name_the_rest:
        no = [input_label(ruleset, name) for name, value in answers.items() if value is False]
        return ", ".join(said + ([f"no to {', '.join(no)}"] if no else [])) or "any answers"
    if any(value is False for value in answers.values()):
        said.append("no to the rest")
    return ", ".join(said) or "any answers"
