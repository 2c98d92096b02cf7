"""A checked condition tree -> a Python closure with Kleene three-valued logic (SPEC 3).

Compiled once at load time and called per case: no parsing, no `eval`. A case is a dict of
answers; a missing answer (or None) is unknown, and unknown is None throughout.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .syntax import COMPARISONS, RELATIONS, BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not

Case = Mapping[str, Any]
Predicate = Callable[[Case], Any]  # returns True, False or None (unknown)

_OPS = COMPARISONS


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
        return _joined(expr.operands, expr.op == "or")
    if isinstance(expr, Compare):
        return _compare(expr)
    raise TypeError(f"a list is not a condition: {expr!r}")


def _not(inner: Predicate) -> Predicate:
    def negate(case: Case) -> Any:
        value = inner(case)
        return None if value is None else not value
    return negate


def _atoms(operands: tuple[Expr, ...]) -> tuple[list[tuple[str, bool]], list[tuple[str, Any, Any]], list[Predicate]]:
    """Splits operands into plain yes/no inputs (negated or not), input-vs-constant tests, and the rest.

    The first two are evaluated inline by the joining closure: one call per condition, not one per atom.
    """
    names: list[tuple[str, bool]] = []
    tests: list[tuple[str, Any, Any]] = []
    rest: list[Predicate] = []
    for operand in operands:
        if isinstance(operand, Name):
            names.append((operand.id, True))
        elif isinstance(operand, Not) and isinstance(operand.operand, Name):
            names.append((operand.operand.id, False))
        elif isinstance(operand, Compare) and isinstance(operand.left, Name) and isinstance(operand.right, Literal) \
                and operand.op in _OPS:
            tests.append((operand.left.id, _OPS[operand.op], operand.right.value))
        elif isinstance(operand, Compare) and isinstance(operand.left, Name) and isinstance(operand.right, ListOf):
            members = frozenset(item.value for item in operand.right.items)
            tests.append((operand.left.id, operator.contains if operand.op == "in" else _not_in, members))
        else:
            rest.append(compile_expr(operand))
    return names, [(name, op, constant) for name, op, constant in tests], rest


def _not_in(members: Any, value: Any) -> bool:
    return value not in members


def _joined(operands: tuple[Expr, ...], decisive: bool) -> Predicate:
    """`and` (decisive False) or `or` (decisive True) in Kleene logic: decisive wins, else unknown, else not."""
    names, raw_tests, rest = _atoms(operands)
    tests = [(name, op, constant, op is operator.contains or op is _not_in) for name, op, constant in raw_tests]
    names_t, tests_t, rest_t = tuple(names), tuple(tests), tuple(rest)
    settled = not decisive

    def join(case: Case) -> Any:
        unknown = False
        get = case.get
        for name, positive in names_t:
            value = get(name)
            if value is None:
                unknown = True
            elif (value is positive) is decisive:
                return decisive
        for name, op, constant, membership in tests_t:
            value = get(name)
            if value is None:
                unknown = True
            elif (op(constant, value) if membership else op(value, constant)) is decisive:
                return decisive
        for part in rest_t:
            value = part(case)
            if value is None:
                unknown = True
            elif value is decisive:
                return decisive
        return None if unknown else settled
    return join


def _count_span(expr: Count) -> Callable[[Case], range]:
    """The counts still possible: from the operands known true to those plus the unknown ones."""
    operands = tuple(compile_expr(operand) for operand in expr.operands)

    def span(case: Case) -> range:
        true = unknown = 0
        for operand in operands:
            value = operand(case)
            if value is None:
                unknown += 1
            elif value:
                true += 1
        return range(true, true + unknown + 1)
    return span


def _possible(expr: Expr) -> Callable[[Case], Any]:
    """A comparison side as the values it may still take: a span for a count, one value, or None when unknown."""
    if isinstance(expr, Count):
        return _count_span(expr)
    if isinstance(expr, ListOf):
        members = frozenset(item.value for item in expr.items)
        return lambda case: (members,)
    value = compile_expr(expr)

    def one(case: Case) -> Any:
        answer = value(case)
        return None if answer is None else (answer,)
    return one


def _count_compare(expr: Compare) -> Predicate:
    """A comparison with count(...) (SPEC 3): decided when every count the unknown operands allow agrees."""
    left, right = _possible(expr.left), _possible(expr.right)
    holds = RELATIONS[expr.op]

    def compare(case: Case) -> Any:
        a, b = left(case), right(case)
        if a is None or b is None:
            return None
        outcomes = {holds(x, y) for x in a for y in b}
        return outcomes.pop() if len(outcomes) == 1 else None
    return compare


def _compare(expr: Compare) -> Predicate:
    if isinstance(expr.left, Count) or isinstance(expr.right, Count):
        return _count_compare(expr)
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
