"""The condition language: parse -> typed tree -> compiled predicate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .check import Issue, check
from .compile import Case, Predicate, compile_expr
from .syntax import Expr, ExprSyntaxError, names, parse
from .types import InputSpec


@dataclass(frozen=True)
class Condition:
    """A `when` ready to run: its text, tree, closure and the inputs it reads."""

    text: str
    tree: Expr
    predicate: Predicate
    reads: tuple[str, ...]


def compile_condition(text: str, inputs: Mapping[str, InputSpec]) -> tuple[Condition | None, list[Issue]]:
    """Parse, check and compile one condition; None with the issues where it has errors."""
    try:
        tree = parse(text)
    except ExprSyntaxError as exc:
        return None, [Issue("WB307" if "limit" in exc.message or "nested" in exc.message else "WB301",
                            exc.message, exc.pos)]
    issues = check(tree, inputs)
    if any(issue.severity == "error" for issue in issues):
        return None, issues
    return Condition(text, tree, compile_expr(tree), tuple(names(tree))), issues


__all__ = ["Case", "Condition", "Expr", "ExprSyntaxError", "InputSpec", "Issue", "Predicate", "compile_condition",
           "parse"]
