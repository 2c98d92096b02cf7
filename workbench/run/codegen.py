"""A ruleset compiled to one Python function for complete cases: the tree as nested `if`s, as a programmer would
write it by hand, so evaluating a case costs what hand-written code costs.

When every input is answered there is no unknown, and Kleene's three-valued logic is ordinary two-valued
logic: `and`, `or`, `not`, comparisons, and `count(...)` as a sum of yes/no values. The engine takes this path
for complete cases and its exact three-valued walk for the rest (engine.py), and a test holds the two to the
same result on random and exhaustive cases.

A security boundary, reviewed in SECURITY.md: the code is built as Python `ast` objects from the checked
condition trees, never from text; the only values in it are input ids, node ids and constants that passed
validation (ids match `^[a-z][a-z0-9_]*$` or the node-id pattern; constants are numbers, text and lists of
text the model already holds); it is compiled with `compile()` and turned into functions with
`types.FunctionType`, never `eval` or `exec`; it is made once per compiled ruleset and reads only the answers
dict it is given.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable, Mapping
from typing import Any

from ..content.model import DecisionNode, OutcomeNode
from ..expr.syntax import BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not

_COMPARE = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "in": ast.In,
            "not in": ast.NotIn}
_ANSWERS, _PATH, _FLAGS, _RESULT, _MAKE = "answers", "path", "red_flags", "Result", "make"


def compile_ruleset(ruleset: Any, result_type: type) -> Callable[[Mapping[str, Any]], Any]:
    """The function `run(answers) -> Result` for complete cases of a CompiledRuleset; `result_type` is a
    named tuple of the SPEC 5 fields and SPEC 3a's two."""
    model = ruleset.model
    code = compile(module_for(ruleset), f"<ruleset {model.id} {model.version}>", "exec")
    namespace: dict[str, Any] = {_RESULT: result_type, _MAKE: tuple.__new__, "__builtins__": {}}
    made = {const.co_name: types.FunctionType(const, namespace) for const in code.co_consts
            if isinstance(const, types.CodeType)}
    namespace.update(made)
    return made["run"]


def module_for(ruleset: Any) -> ast.Module:
    """The generated code as a syntax tree, before it is compiled (what tests/test_codegen.py inspects)."""
    model = ruleset.model
    nodes = {node.id: node for node in model.nodes}
    entering: dict[str, int] = {}
    for node in model.nodes:
        for target in node.targets:
            entering[target] = entering.get(target, 0) + 1
    shared = {node_id for node_id, count in entering.items()
              if count > 1 and isinstance(nodes[node_id], DecisionNode)}
    shared.add(model.start)
    builder = _Builder(ruleset, nodes, shared)
    functions = builder.functions()
    flags = [ast.Assign([_store(_FLAGS)], ast.List([], ast.Load()))]
    for flag in model.red_flags:
        flags.append(ast.If(builder.condition(ruleset.condition(flag.when).tree),
                            [_call_statement(_FLAGS, "append", ast.Constant(flag.id))], []))
    entry = ast.FunctionDef(
        name="run", args=_arguments(_ANSWERS),
        body=[*flags, ast.Return(_call(_node_name(model.start), [_load(_ANSWERS), ast.List([], ast.Load()),
                                                                  _load(_FLAGS)]))],
        decorator_list=[], returns=None)
    return ast.fix_missing_locations(ast.Module([*functions, entry], type_ignores=[]))


MAX_NESTING = 40
"""Decisions inlined one inside another before the next one becomes a function: Python's compiler (and this
builder) recurse once per level, and a chain of 5,000 questions must still compile."""


class _Builder:
    def __init__(self, ruleset: Any, nodes: dict[str, Any], shared: set[str]) -> None:
        self.ruleset, self.nodes, self.shared = ruleset, nodes, shared

    def functions(self) -> list[ast.FunctionDef]:
        """A function for each shared node, and for each node the nesting limit makes one of."""
        made: dict[str, ast.FunctionDef] = {}
        while pending := sorted(self.shared - made.keys()):
            for node_id in pending:
                made[node_id] = self.node_function(node_id)
        return [made[node_id] for node_id in sorted(made)]

    def node_function(self, node_id: str) -> ast.FunctionDef:
        """A shared node (reached from more than one place) as a function, so the code stays as big as the tree
        and never grows with the number of paths."""
        return ast.FunctionDef(name=_node_name(node_id), args=_arguments(_ANSWERS, _PATH, _FLAGS),
                               body=self.walk(node_id, inline=True), decorator_list=[], returns=None)

    def walk(self, node_id: str, *, inline: bool = False, depth: int = 0) -> list[ast.stmt]:
        """The statements that record `node_id` on the path and go on from it to an outcome."""
        node = self.nodes[node_id]
        if isinstance(node, DecisionNode) and depth >= MAX_NESTING:
            self.shared.add(node_id)
        if node_id in self.shared and not inline:
            return [ast.Return(_call(_node_name(node_id), [_load(_ANSWERS), _load(_PATH), _load(_FLAGS)]))]
        body: list[ast.stmt] = [_call_statement(_PATH, "append", ast.Constant(node_id))]
        if isinstance(node, OutcomeNode):
            fields = ast.Tuple([ast.Constant("complete"), ast.Constant(node_id), ast.Constant(node.disposition),
                                _load(_FLAGS), _load(_PATH), ast.List([], ast.Load()), ast.List([], ast.Load()),
                                ast.List([], ast.Load())],
                               ast.Load())
            body.append(ast.Return(_call(_MAKE, [_load(_RESULT), fields])))  # tuple.__new__: made in C
            return body
        assert isinstance(node, DecisionNode)
        otherwise = self.walk(node.else_, depth=depth + 1)
        for branch in reversed(node.branches):
            otherwise = [ast.If(self.condition(self.ruleset.condition(branch.when).tree),
                                self.walk(branch.next, depth=depth + 1), otherwise)]
        return body + otherwise

    def condition(self, expr: Expr) -> ast.expr:
        """A checked condition as a two-valued Python expression over `answers`."""
        if isinstance(expr, Literal):
            return ast.Constant(expr.value)
        if isinstance(expr, Name):
            return ast.Subscript(_load(_ANSWERS), ast.Constant(expr.id), ast.Load())
        if isinstance(expr, Not):
            return ast.UnaryOp(ast.Not(), self.condition(expr.operand))
        if isinstance(expr, BoolOp):
            return ast.BoolOp(ast.And() if expr.op == "and" else ast.Or(),
                              [self.condition(operand) for operand in expr.operands])
        if isinstance(expr, Compare):
            return ast.Compare(self.value(expr.left), [_COMPARE[expr.op]()], [self.value(expr.right)])
        raise TypeError(f"not a condition: {expr!r}")

    def value(self, expr: Expr) -> ast.expr:
        """One side of a comparison: an answer, a constant, a list of constants, or a count of conditions."""
        if isinstance(expr, ListOf):
            return ast.Constant(frozenset(item.value for item in expr.items))
        if isinstance(expr, Count):
            terms = [self.condition(operand) for operand in expr.operands]
            total: ast.expr = ast.Constant(0)
            for term in terms:
                total = ast.BinOp(total, ast.Add(), term)
            return total
        return self.condition(expr)


def _node_name(node_id: str) -> str:
    return "node_" + "".join(ch if ch.isalnum() else f"_{ord(ch):x}_" for ch in node_id)


def _arguments(*names: str) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[ast.arg(name) for name in names], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(name, ast.Store())


def _call(function: str, arguments: list[ast.expr]) -> ast.Call:
    return ast.Call(_load(function), arguments, [])


def _call_statement(owner: str, method: str, argument: ast.expr) -> ast.Expr:
    return ast.Expr(ast.Call(ast.Attribute(_load(owner), method, ast.Load()), [argument], []))
