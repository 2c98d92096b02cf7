"""A checked condition tree -> a Python closure with Kleene three-valued logic (SPEC 3).

Compiled once at load time and called per case: no parsing, no `eval`. A case is a dict of
answers; a missing answer (or None) is unknown, and unknown is None throughout.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .syntax import BoolOp, Compare, Expr, ListOf, Literal, Name, Not

Case = Mapping[str, Any]
Predicate = Callable[[Case], Any]  # returns True, False or None (unknown)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def compile_expr(expr: Expr) -> Predicate:
    """A closure computing the condition's value on a case; the tree must have passed `check`."""
    if isinstance(expr, Literal):
        value = expr.value
        return lambda case: value
    if isinstance(expr, Name):
        name = expr.id
        return lambda case: case.get(name)
    if isinstance(expr, Not):
        return _not(compile_expr(expr.operand))
    if isinstance(expr, BoolOp):
        parts = [compile_expr(operand) for operand in expr.operands]
        return _and(parts) if expr.op == "and" else _or(parts)
    if isinstance(expr, Compare):
        return _compare(expr)
    raise TypeError(f"a list is not a condition: {expr!r}")


def _not(inner: Predicate) -> Predicate:
    def negate(case: Case) -> Any:
        value = inner(case)
        return None if value is None else not value
    return negate


def _and(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts

        def both(case: Case) -> Any:
            a = first(case)
            if a is False:
                return False
            b = second(case)
            if b is False:
                return False
            return None if a is None or b is None else True
        return both

    def every(case: Case) -> Any:
        unknown = False
        for part in parts:
            value = part(case)
            if value is False:
                return False
            if value is None:
                unknown = True
        return None if unknown else True
    return every


def _or(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts

        def either(case: Case) -> Any:
            a = first(case)
            if a is True:
                return True
            b = second(case)
            if b is True:
                return True
            return None if a is None or b is None else False
        return either

    def some(case: Case) -> Any:
        unknown = False
        for part in parts:
            value = part(case)
            if value is True:
                return True
            if value is None:
                unknown = True
        return None if unknown else False
    return some


def _compare(expr: Compare) -> Predicate:
    if expr.op in ("in", "not in"):
        assert isinstance(expr.right, ListOf)
        members = frozenset(item.value for item in expr.right.items)
        left = compile_expr(expr.left)
        wanted = expr.op == "in"

        def member(case: Case) -> Any:
            value = left(case)
            return None if value is None else (value in members) is wanted
        return member
    op = _OPS[expr.op]
    if isinstance(expr.left, Name) and isinstance(expr.right, Literal):
        name, constant = expr.left.id, expr.right.value

        def name_vs_constant(case: Case) -> Any:
            value = case.get(name)
            return None if value is None else op(value, constant)
        return name_vs_constant
    left, right = compile_expr(expr.left), compile_expr(expr.right)

    def general(case: Case) -> Any:
        a, b = left(case), right(case)
        return None if a is None or b is None else op(a, b)
    return general
