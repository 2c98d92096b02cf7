"""The FHIRPath target: each condition of a compiled ruleset as a FHIRPath expression over a QuestionnaireResponse,
built from the same parse trees the engine and codegen.py run, so an EHR evaluates what was tested.

Three-valued logic carries over as it is: FHIRPath's empty collection is our *unknown*, and its `and`, `or` and
`not()` are Kleene's (`true and {}` is `{}`, `false and {}` is false). Comparisons and `in` with an empty side
are empty too. What needs care, and how it is met:

- an answer is read with the `ofType()` its Questionnaire item declares (`boolean`, `decimal`, `Coding`), so an
  answer of another type reads as unknown, never as something else;
- a choice is read only from a coding of the input's own system, so an Unsure answer (a data-absent-reason
  `asked-unknown` coding) reads as unknown, never as a code that compares false (and so never as true under
  `!=` or `not in`);
- `exists()` and `iif()` with a criterion that may be empty are never used on a value that may be unknown:
  `exists()` turns unknown into false, and `iif({}, a, b)` takes `b`;
- `count(c1, ...)` is never `(c1 | c2).count()` (a union drops duplicates, so `(true | true).count()` is 1):
  the least and the most it can be are sums of `toInteger()` (`(c ~ true)` counts a known true, `(c ~ false)` a
  known false), and a comparison with it is true or false only when every count between them agrees (SPEC 3):
  `iif(P, true, iif(Q, false))` with P ("true for every count possible") and Q ("false for every one") definite,
  so it is empty exactly when neither holds.

The subset used (paths, `where`, `ofType`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `in`, `and`,
`or`, `not()`, `empty()`, `exists()` on definite values, `toInteger()`, `+`, `-`, `iif` on a definite criterion) is
also in CQL's FHIRPath compatibility, so a CQL-based engine runs it too. The answers are read from the variable
`%response` (the QuestionnaireResponse, passed as a named parameter); see docs/downstream.md.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from ..expr.syntax import COMPARISONS, RELATIONS, BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not
from .engine import CompiledRuleset

VARIABLE = "response"
"""The name the conditions read the QuestionnaireResponse by: `%response`."""
UNSURE_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UNSURE_CODES = ("asked-unknown", "unknown")
"""An answer coded data-absent-reason asked-unknown ("asked, but the person does not know") is Unsure (SPEC 3a)."""

_OPERATORS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ITEM_TYPES = {"boolean": "boolean", "number": "decimal", "enum": "Coding"}


class FhirPath:
    """A compiled ruleset's conditions as FHIRPath text; `choice_system(input_id)` is the code system of a choice
    input's answers (the Questionnaire's answerOption codings)."""

    def __init__(self, ruleset: CompiledRuleset, choice_system: Callable[[str], str]) -> None:
        self.ruleset = ruleset
        self.choice_system = choice_system
        self.condition = cache(self._condition)

    # --- answers -------------------------------------------------------------------------------------------

    def item(self, input_id: str) -> str:
        """The response's item for an input: at the top level, where the Questionnaire asks every question."""
        return f"%{VARIABLE}.item.where(linkId = {_text(input_id)})"

    def value(self, input_id: str) -> str:
        """The answer as its Questionnaire item types it: empty when unanswered, Unsure or of another type."""
        spec = self.ruleset.inputs[input_id]
        read = f"{self.item(input_id)}.answer.value.ofType({_ITEM_TYPES[spec.type]})"
        if spec.type == "enum":
            return f"{read}.where(system = {_text(self.choice_system(input_id))}).code"
        return read

    def unanswered(self, input_id: str) -> str:
        """True when the input has no answer it can be read as (Unsure included): a question to ask."""
        return f"{self.value(input_id)}.empty()"

    def unsure(self, input_id: str) -> str:
        """True when the input is answered Unsure (data-absent-reason asked-unknown), false otherwise: definite."""
        codes = " | ".join(_text(code) for code in UNSURE_CODES)
        return (f"{self.item(input_id)}.answer.value.ofType(Coding).where(system = {_text(UNSURE_SYSTEM)} "
                f"and code in ({codes})).exists()")

    # --- conditions ----------------------------------------------------------------------------------------

    def _condition(self, text: str) -> str:
        """A `when` of the ruleset as FHIRPath: a collection of one boolean, or empty when unknown."""
        return self.boolean(self.ruleset.condition(text).tree)

    def boolean(self, expr: Expr) -> str:
        if isinstance(expr, Literal):
            return _literal(expr.value)
        if isinstance(expr, Name):
            return self.value(expr.id)
        if isinstance(expr, Not):
            return f"{_wrap(self.boolean(expr.operand))}.not()"
        if isinstance(expr, BoolOp):
            return f" {expr.op} ".join(_wrap(self.boolean(operand)) for operand in expr.operands)
        if isinstance(expr, Compare):
            if isinstance(expr.left, Count) or isinstance(expr.right, Count):
                return self._count_compare(expr)
            return self._compare(expr)
        raise TypeError(f"not a condition: {expr!r}")

    def _side(self, expr: Expr) -> str:
        if isinstance(expr, ListOf):
            return "(" + " | ".join(_literal(item.value) for item in expr.items) + ")" if expr.items else "{}"
        return _wrap(self.boolean(expr))

    def _compare(self, expr: Compare) -> str:
        left, right = self._side(expr.left), self._side(expr.right)
        if expr.op == "in":
            return f"{left} in {right}"
        if expr.op == "not in":
            return f"({left} in {right}).not()"
        return f"{left} {_OPERATORS[expr.op]} {right}"

    def _count_compare(self, expr: Compare) -> str:
        """SPEC 3: decided when every count the unknown operands allow gives the same answer."""
        left, op, right = expr.left, expr.op, expr.right
        if not isinstance(left, Count):  # a count on the right: turn the comparison round
            left, right, op = right, left, _FLIPPED[op]
        assert isinstance(left, Count)
        low, high, size = self._bounds(left)
        if isinstance(right, Literal) and op in ("<", "<=", ">", ">="):
            k = _literal(right.value)
            holds, fails = {">=": (f"{low} >= {k}", f"{high} < {k}"), ">": (f"{low} > {k}", f"{high} <= {k}"),
                            "<=": (f"{high} <= {k}", f"{low} > {k}"), "<": (f"{high} < {k}", f"{low} >= {k}")}[op]
        elif isinstance(right, Count):
            low2, high2, size2 = self._bounds(right)
            holds = _all(f"({_outside(low, high, n)} or {_outside(low2, high2, m)})"
                         for n in range(size + 1) for m in range(size2 + 1) if not COMPARISONS[op](n, m))
            fails = _all(f"({_outside(low, high, n)} or {_outside(low2, high2, m)})"
                         for n in range(size + 1) for m in range(size2 + 1) if COMPARISONS[op](n, m))
        elif isinstance(right, (Literal, ListOf)):
            constant: Any = (frozenset(item.value for item in right.items) if isinstance(right, ListOf)
                             else right.value)
            holds = _all(_outside(low, high, n) for n in range(size + 1) if not RELATIONS[op](n, constant))
            fails = _all(_outside(low, high, n) for n in range(size + 1) if RELATIONS[op](n, constant))
        else:  # a number input, known only when the case is evaluated: empty while it is unknown
            other = self._side(right)
            fhir_op = _OPERATORS[op]
            holds = _all(f"({_outside(low, high, n)} or {n} {fhir_op} {other})" for n in range(size + 1))
            fails = _all(f"({_outside(low, high, n)} or ({n} {fhir_op} {other}).not())" for n in range(size + 1))
        return f"iif({holds}, true, iif({fails}, false))"

    def _bounds(self, count: Count) -> tuple[str, str, int]:
        """The least count (known trues) and the most (all but the known falses), as FHIRPath integers."""
        parts = [_wrap(self.boolean(operand)) for operand in count.operands]
        trues = " + ".join(f"({part} ~ true).toInteger()" for part in parts)
        falses = " + ".join(f"({part} ~ false).toInteger()" for part in parts)
        return f"({trues})", f"({len(parts)} - ({falses}))", len(parts)


def _outside(low: str, high: str, n: int) -> str:
    """Definite: the count cannot be n (n is below the least or above the most it can be)."""
    return f"({low} > {n} or {high} < {n})"


def _all(terms: Any) -> str:
    listed = list(terms)
    return " and ".join(listed) if listed else "true"


def _wrap(text: str) -> str:
    """Parentheses unless the text is one path or literal (FHIRPath's `in` binds looser than `=`, and `and`
    looser than both: wrapping every compound part keeps the tree's own grouping)."""
    depth, index = 0, 0
    while index < len(text):
        ch = text[index]
        if ch == "'":  # skip a string literal, escapes included
            index += 1
            while index < len(text) and text[index] != "'":
                index += 2 if text[index] == "\\" else 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == " " and depth == 0:
            return f"({text})"
        index += 1
    return text


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = format(Decimal(repr(value)), "f")
        return f"({text})" if text.startswith("-") else text
    return _text(str(value))


def _text(value: str) -> str:
    """A FHIRPath string literal."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"
