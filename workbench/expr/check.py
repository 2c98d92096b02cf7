"""Type checking of a condition against the declared inputs, in words a clinician understands.

A number is compared with a number, a yes/no input is used as a condition, and a choice is compared
only with the answers it declares (`pain_site == 'thorasic'` names the allowed values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..problems import did_you_mean, quoted_list, sensible_number, show_number
from .syntax import BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not
from .types import InputSpec, range_of, values_of

BOOLEAN, NUMBER, TEXT, LIST, UNKNOWN = "boolean", "number", "text", "list", "unknown"
COUNT = "count"  # a number: how many conditions hold; compared like a number
_NUMERIC = (NUMBER, COUNT)
_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


@dataclass(frozen=True)
class Issue:
    """A type problem at a 0-based column of the condition."""

    code: str
    message: str
    pos: int
    severity: str = "error"


def check(expr: Expr, inputs: Mapping[str, InputSpec]) -> list[Issue]:
    """Every type problem in a condition that must be a yes/no question."""
    checker = _Checker(inputs)
    kind = checker.type_of(expr)
    if kind not in (BOOLEAN, UNKNOWN):
        checker.issue("WB306", f"the condition must be a yes/no question, but {checker.show(expr)} is "
                      f"{_article(kind)}{_example(expr, inputs)}", expr.pos)
    return checker.issues


def _article(kind: str) -> str:
    return {NUMBER: "a number", COUNT: "a number (how many of its conditions are true)", TEXT: "text",
            LIST: "a list"}.get(kind, "a choice")


def _example(expr: Expr, inputs: Mapping[str, InputSpec]) -> str:
    if isinstance(expr, Count):
        return "; compare it with a number, e.g. 'count(night_pain, pain_progressive) >= 2'"
    if isinstance(expr, Name):
        spec = inputs.get(expr.id)
        if spec is not None and spec.type == "number":
            return f"; compare it, e.g. '{expr.id} >= 60'"
        if spec is not None and spec.type == "enum" and values_of(spec):
            return f"; compare it, e.g. \"{expr.id} == '{values_of(spec)[0]}'\""
    return ""


class _Checker:
    def __init__(self, inputs: Mapping[str, InputSpec]) -> None:
        self.inputs = inputs
        self.issues: list[Issue] = []

    def issue(self, code: str, message: str, pos: int, severity: str = "error") -> None:
        self.issues.append(Issue(code, message, pos, severity))

    def show(self, expr: Expr) -> str:
        if isinstance(expr, Name):
            return f"'{expr.id}'"
        if isinstance(expr, Literal):
            return _literal(expr.value)
        if isinstance(expr, Count):
            return "count(...)"
        return "that part"

    def type_of(self, expr: Expr) -> str:
        """'boolean', 'number', 'text', 'list', 'enum:<input id>' or 'unknown' (already reported)."""
        if isinstance(expr, Literal):
            if isinstance(expr.value, bool):
                return BOOLEAN
            if isinstance(expr.value, (int, float)) and not sensible_number(expr.value):
                self.issue("WB1035", f"{_literal(expr.value)[:20]}… is too large to be a clinical value (the limit is "
                           "±10^15)", expr.pos)
                return UNKNOWN
            return NUMBER if isinstance(expr.value, (int, float)) else TEXT
        if isinstance(expr, ListOf):
            return LIST
        if isinstance(expr, Name):
            spec = self.inputs.get(expr.id)
            if spec is None:
                hint = did_you_mean(expr.id, self.inputs)
                self.issue("WB302", f"'{expr.id}' is not a declared input{hint}", expr.pos)
                return UNKNOWN
            if spec.type == "boolean":
                return BOOLEAN
            return NUMBER if spec.type == "number" else f"enum:{spec.id}"
        if isinstance(expr, Not):
            self._want_boolean(expr.operand, "'not' turns round a yes/no condition")
            return BOOLEAN
        if isinstance(expr, BoolOp):
            for operand in expr.operands:
                self._want_boolean(operand, f"'{expr.op}' joins yes/no conditions")
            return BOOLEAN
        if isinstance(expr, Count):
            for operand in expr.operands:
                self._want_boolean(operand, "count(...) counts yes/no conditions")
            return COUNT
        self._compare(expr)
        return BOOLEAN

    def _want_boolean(self, expr: Expr, lead: str) -> None:
        kind = self.type_of(expr)
        if kind not in (BOOLEAN, UNKNOWN):
            self.issue("WB306", f"{lead}, but {self.show(expr)} is "
                       f"{_article(kind)}{_example(expr, self.inputs)}", expr.pos)

    def _compare(self, expr: Compare) -> None:
        left, right = self.type_of(expr.left), self.type_of(expr.right)
        if UNKNOWN in (left, right):
            return
        if expr.op in ("in", "not in"):
            self._membership(expr, left, right)
        elif COUNT in (left, right) and not (left in _NUMERIC and right in _NUMERIC):
            odd = expr.right if left == COUNT else expr.left
            self.issue("WB303", f"count(...) is the number of its conditions that are true, so compare it with a "
                       f"number such as 2, not with {self.show(odd)} ({_kind_word(right if left == COUNT else left)})",
                       odd.pos)
        elif expr.op in ("<", "<=", ">", ">="):
            if left not in _NUMERIC or right not in _NUMERIC:
                odd = expr.left if left not in _NUMERIC else expr.right
                self.issue("WB303", f"'{expr.op}' compares numbers, but {self.show(odd)} is "
                           f"{_article(left if odd is expr.left else right)}", odd.pos)
                return
            self._in_range(expr.left, expr.right)
            self._in_range(expr.right, expr.left)
            self._count_decided(expr)
        else:
            self._equality(expr, left, right)

    def _equality(self, expr: Compare, left: str, right: str) -> None:
        if left.startswith("enum:") and right == TEXT:
            self._allowed(expr.left, expr.right)
        elif right.startswith("enum:") and left == TEXT:
            self._allowed(expr.right, expr.left)
        elif left in _NUMERIC and right in _NUMERIC:
            self._in_range(expr.left, expr.right)
            self._in_range(expr.right, expr.left)
            self._count_decided(expr)
        elif left != right or LIST in (left, right):
            self.issue("WB303", f"'{expr.op}' cannot compare {self.show(expr.left)} ({_kind_word(left)}) with "
                       f"{self.show(expr.right)} ({_kind_word(right)})", expr.pos)

    def _membership(self, expr: Compare, left: str, right: str) -> None:
        if not isinstance(expr.right, ListOf):
            self.issue("WB303", f"'{expr.op}' checks a value against a list such as ['a', 'b'], but "
                       f"{self.show(expr.right)} is not a list", expr.right.pos)
            return
        if left == LIST:
            self.issue("WB303", f"the left side of '{expr.op}' must be an input, not a list", expr.left.pos)
            return
        if not expr.right.items:
            self.issue("WB406", f"'{expr.op} []' checks against an empty list, so it is always "
                       f"{'false' if expr.op == 'in' else 'true'}", expr.right.pos, "warning")
        for item in expr.right.items:
            item_type = self.type_of(item)
            if left.startswith("enum:") and item_type == TEXT:
                self._allowed(expr.left, item)
            elif left == COUNT and item_type == NUMBER:
                continue
            elif left != item_type:
                self.issue("WB303", f"the list after '{expr.op}' holds {_literal(item.value)}, which cannot be an "
                           f"answer to {self.show(expr.left)}", item.pos)
            elif left == NUMBER:
                self._in_range(item, expr.left)

    def _count_decided(self, expr: Compare) -> None:
        """A count compared with a number it can never reach (or always passes) is a mistake worth a warning."""
        count, literal, op = expr.left, expr.right, expr.op
        if isinstance(literal, Count) and isinstance(count, Literal):
            count, literal, op = literal, count, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if not (isinstance(count, Count) and isinstance(literal, Literal)) or isinstance(literal.value, (bool, str)):
            return
        n = len(count.operands)
        outcomes = {_OPS[op](c, literal.value) for c in range(n + 1)}
        if len(outcomes) == 1:
            always = "true" if outcomes.pop() else "false"
            self.issue("WB406", f"count(...) of {n} condition{'s' if n != 1 else ''} is always between 0 and {n}, so "
                       f"'{op} {_literal(literal.value)}' is always {always}", literal.pos, "warning")

    def _allowed(self, choice: Expr, literal: Expr) -> None:
        if not (isinstance(choice, Name) and isinstance(literal, Literal)):
            return
        values = values_of(self.inputs[choice.id])
        if literal.value not in values:
            hint = did_you_mean(str(literal.value), values)
            self.issue("WB304", f"{_literal(literal.value)} is not an answer to '{choice.id}'; the allowed values "
                       f"are {quoted_list(values)}{hint}", literal.pos)

    def _in_range(self, literal: Expr, other: Expr) -> None:
        if not (isinstance(literal, Literal) and isinstance(other, Name)):
            return
        spec = self.inputs.get(other.id)
        if spec is None or spec.type != "number" or isinstance(literal.value, (bool, str)):
            return
        value = literal.value
        minimum, maximum, unit = range_of(spec)
        low = minimum if minimum is not None else float("-inf")
        high = maximum if maximum is not None else float("inf")
        if not low <= value <= high:
            shown = f" {unit}" if unit else ""
            self.issue("WB305", f"{value} is outside the range of '{other.id}' ({_bound(minimum)} to "
                       f"{_bound(maximum)}{shown})", literal.pos)


def _kind_word(kind: str) -> str:
    return "yes/no" if kind == BOOLEAN else _article(kind)


def _bound(value: float | None) -> str:
    return "any" if value is None else show_number(value)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value}"
