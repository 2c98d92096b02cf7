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

from ..content.answers import taker
from ..content.model import BooleanInput, DecisionNode, EnumInput, NumberInput, OutcomeNode
from ..expr.syntax import BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not

_COMPARE = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "in": ast.In,
            "not in": ast.NotIn}
_ANSWERS, _PREFIX, _FLAGS, _RESULT, _MAKE = "answers", "prefix", "red_flags", "Result", "make"
_KEYS, _TAKE, _DICT, _LEN, _COUNT, _MISSING, _TREE = "KEYS", "TAKE", "DICT", "LEN", "COUNT", "MISSING", "tree"
_VALUE, _NEEDS, _MAP, _IDS, _KLEENE = "value", "NEEDS", "MAP", "IDS", "kleene"
_CLASSES = {"STR": str, "INT": int, "FLOAT": float}
"""The classes an answer's class is compared with: names in the generated code's own namespace (it has no
builtins)."""


def compile_ruleset(ruleset: Any, result_type: type) -> tuple[Callable[[Mapping[str, Any]], Any],
                                                                Callable[[Mapping[str, Any]], Any]]:
    """The functions `run(answers) -> Result | None` for cases with every input's key (None when an answer is
    unknown; a KeyError when a key is missing) of a CompiledRuleset, and `checked(answers) ->
    Result | None`, which first makes sure every input is answered with an answer that fits (straight-line code:
    the keys checked, the answers taken in one C call, each checked by identity, class and range) and
    gives None when not, for the engine's exact walk to answer. `result_type` is a named tuple of the SPEC 5
    fields and SPEC 3a's two."""
    model = ruleset.model
    code = compile(module_for(ruleset), f"<ruleset {model.id} {model.version}>", "exec")
    inputs = [spec.id for spec in model.inputs]
    namespace: dict[str, Any] = {_RESULT: result_type, _MAKE: tuple.__new__, "__builtins__": {},
                                 _KEYS: frozenset(inputs), _TAKE: taker(tuple(inputs)), _DICT: dict,
                                 _LEN: len, _COUNT: len(inputs), _MISSING: KeyError, **_CLASSES}
    made = {const.co_name: types.FunctionType(const, namespace) for const in code.co_consts
            if isinstance(const, types.CodeType)}
    namespace.update(made)
    return made["run"], made["checked"]


def module_for(ruleset: Any) -> ast.Module:
    """The generated code as a syntax tree, before it is compiled (what tests/test_codegen.py inspects)."""
    model = ruleset.model
    nodes = {node.id: node for node in model.nodes}
    builder = _Builder(ruleset, nodes, _shared(model, nodes))
    body = [*builder.flags(), *builder.walk(model.start, ())]
    tree = ast.FunctionDef(name=_TREE, args=_arguments(*builder.carried()), body=body, decorator_list=[],
                           returns=None)
    run = ast.FunctionDef(name="run", args=_arguments(_ANSWERS), body=builder.unchecked(), decorator_list=[],
                          returns=None)
    checked = ast.FunctionDef(name="checked", args=_arguments(_ANSWERS), body=builder.checks(), decorator_list=[],
                              returns=None)
    return ast.fix_missing_locations(ast.Module([*builder.functions(), tree, run, checked], type_ignores=[]))


def _shared(model: Any, nodes: dict[str, Any]) -> set[str]:
    """Decisions entered from more than one place: each a function, so the code never grows with the paths."""
    entering: dict[str, int] = {}
    for node in model.nodes:
        for target in node.targets:
            entering[target] = entering.get(target, 0) + 1
    return {node_id for node_id, count in entering.items() if count > 1 and isinstance(nodes[node_id], DecisionNode)}


MAX_NESTING = 40
"""Decisions inlined one inside another before the next one becomes a function: Python's compiler (and this
builder) recurse once per level, and a chain of 5,000 questions must still compile."""


class _Builder:
    def __init__(self, ruleset: Any, nodes: dict[str, Any], shared: set[str]) -> None:
        self.ruleset, self.nodes, self.shared = ruleset, nodes, shared
        self.inputs = list(ruleset.model.inputs)
        self.local = {spec.id: f"a_{i}" for i, spec in enumerate(self.inputs)}

    def carried(self) -> list[str]:
        """What the tree and each node function read the answers from: one local an input, given as arguments."""
        return [self.local[spec.id] for spec in self.inputs]

    def unchecked(self) -> list[ast.stmt]:
        """`run`: the answers taken into locals in one C call (a KeyError when one is missing), None when one is
        unknown (None: the exact walk decides), else the tree on them."""
        names = self.carried()
        unknown = [ast.Compare(_load(n), [ast.Is()], [ast.Constant(None)]) for n in names]
        return [_unpack(names, _call(_TAKE, [_load(_ANSWERS)])),
                *([ast.If(ast.BoolOp(ast.Or(), unknown) if len(unknown) > 1 else unknown[0],
                          [ast.Return(ast.Constant(None))], [])] if unknown else []),
                ast.Return(_call(_TREE, [_load(n) for n in names]))]

    def checks(self) -> list[ast.stmt]:
        """`checked`: exactly the inputs' keys, the answers taken into locals in one call and each checked, then
        the tree on those locals; None at the first that does not fit (or a missing or unknown key). For a plain
        dict, as many keys as inputs and every input found is the same set, without hashing the keys twice; any
        other mapping has its keys compared (taking a missing key from a defaultdict would add it)."""
        names = self.carried()
        none = [ast.Return(ast.Constant(None))]
        same_keys = ast.Compare(ast.Call(ast.Attribute(_load(_ANSWERS), "keys", ast.Load()), [], []), [ast.NotEq()],
                                [_load(_KEYS)])
        count = ast.Compare(_call(_LEN, [_load(_ANSWERS)]), [ast.NotEq()], [_load(_COUNT)])
        body: list[ast.stmt] = [
            ast.If(ast.Compare(ast.Attribute(_load(_ANSWERS), "__class__", ast.Load()), [ast.Is()], [_load(_DICT)]),
                   [ast.If(count, none, [])], [ast.If(same_keys, none, [])]),
            ast.Try([_unpack(names, _call(_TAKE, [_load(_ANSWERS)]))],
                    [ast.ExceptHandler(_load(_MISSING), None, none)], [], [])]
        body += [ast.If(self.misfit(spec), none, []) for spec in self.inputs]
        return [*body, ast.Return(_call(_TREE, [_load(n) for n in names]))]

    def misfit(self, spec: Any) -> ast.expr:
        """True when an answer (in its local) is no answer to its input: by identity for yes/no, by class and range
        for a number (NaN fails every range), by class and membership for a choice."""
        value = _load(self.local[spec.id])
        if isinstance(spec, BooleanInput):
            return ast.BoolOp(ast.And(), [ast.Compare(value, [ast.IsNot()], [ast.Constant(True)]),
                                          ast.Compare(_load(self.local[spec.id]), [ast.IsNot()],
                                                      [ast.Constant(False)])])
        kind = ast.Attribute(_load(self.local[spec.id]), "__class__", ast.Load())
        if isinstance(spec, EnumInput):
            return ast.BoolOp(ast.Or(), [ast.Compare(kind, [ast.IsNot()], [_load("STR")]),
                                         ast.Compare(_load(self.local[spec.id]), [ast.NotIn()],
                                                     [ast.Constant(frozenset(spec.values))])])
        assert isinstance(spec, NumberInput)
        wrong_class = ast.BoolOp(ast.And(), [ast.Compare(kind, [ast.IsNot()], [_load("INT")]), ast.Compare(
            ast.Attribute(_load(self.local[spec.id]), "__class__", ast.Load()), [ast.IsNot()], [_load("FLOAT")])])
        low = float("-inf") if spec.min is None else spec.min
        high = float("inf") if spec.max is None else spec.max
        in_range = ast.Compare(ast.Constant(low), [ast.LtE(), ast.LtE()],
                               [_load(self.local[spec.id]), ast.Constant(high)])
        return ast.BoolOp(ast.Or(), [wrong_class, ast.UnaryOp(ast.Not(), in_range)])

    def flags(self) -> list[ast.stmt]:
        out: list[ast.stmt] = [ast.Assign([_store(_FLAGS)], ast.List([], ast.Load()))]
        for flag in self.ruleset.model.red_flags:
            out += self.fires(flag.when, [_call_statement(_FLAGS, "append", ast.Constant(flag.id))])
        return out

    def fires(self, when: str, then: list[ast.stmt]) -> list[ast.stmt]:
        """`then` when the condition is true."""
        return [ast.If(self.condition(self.ruleset.condition(when).tree), then, [])]

    def branch(self, when: str, then: list[ast.stmt], otherwise: list[ast.stmt], node_id: str,
               path: tuple[str, ...], prefixed: bool) -> list[ast.stmt]:
        """A decision's branch: `then` when its condition is true, else `otherwise`."""
        return [ast.If(self.condition(self.ruleset.condition(when).tree), then, otherwise)]

    def name_of(self, node_id: str) -> str:
        return _node_name(node_id)

    def functions(self) -> list[ast.FunctionDef]:
        """A function for each shared node reached, and for each node the nesting limit makes one of."""
        made: dict[str, ast.FunctionDef] = {}
        while pending := sorted(self.called - made.keys()):
            for node_id in pending:
                made[node_id] = self.node_function(node_id)
        return [made[node_id] for node_id in sorted(made)]

    @property
    def called(self) -> set[str]:
        return self.__dict__.setdefault("_called", set())

    def node_function(self, node_id: str) -> ast.FunctionDef:
        """A shared node (reached from more than one place) as a function of the answers, the red flags and the
        path before it, so the code stays as big as the tree and never grows with the number of paths."""
        return ast.FunctionDef(name=self.name_of(node_id), args=_arguments(_FLAGS, _PREFIX, *self.carried()),
                               body=self.walk(node_id, (), inline=True, prefixed=True), decorator_list=[],
                               returns=None)

    def walk(self, node_id: str, path: tuple[str, ...], *, inline: bool = False, depth: int = 0,
             prefixed: bool = False) -> list[ast.stmt]:
        """The statements that go on from `node_id` to an outcome; `path` is the path so far within this function
        (after `prefix` when `prefixed`): a leaf returns its whole path, built once."""
        node = self.nodes[node_id]
        if isinstance(node, DecisionNode) and (node_id in self.shared or depth >= MAX_NESTING) and not inline:
            self.called.add(node_id)
            before: ast.expr = ast.Constant(path)
            if prefixed:
                before = ast.BinOp(_load(_PREFIX), ast.Add(), ast.Constant(path))
            return [ast.Return(_call(self.name_of(node_id), [_load(_FLAGS), before,
                                                             *(_load(name) for name in self.carried())]))]
        path = (*path, node_id)
        if isinstance(node, OutcomeNode):
            items: list[ast.expr] = [ast.Starred(ast.Constant(path), ast.Load())]
            if prefixed:
                items.insert(0, ast.Starred(_load(_PREFIX), ast.Load()))
            fields = ast.Tuple([ast.Constant("complete"), ast.Constant(node_id), ast.Constant(node.disposition),
                                _load(_FLAGS), ast.List(items, ast.Load()), ast.List([], ast.Load()),
                                ast.List([], ast.Load()), ast.List([], ast.Load())], ast.Load())
            return [ast.Return(_call(_MAKE, [_load(_RESULT), fields]))]  # tuple.__new__: made in C
        assert isinstance(node, DecisionNode)
        otherwise = self.walk(node.else_, path, depth=depth + 1, prefixed=prefixed)
        for branch in reversed(node.branches):
            otherwise = self.branch(branch.when, self.walk(branch.next, path, depth=depth + 1, prefixed=prefixed),
                                    otherwise, node_id, path, prefixed)
        return otherwise

    def read(self, input_id: str) -> ast.expr:
        return _load(self.local[input_id])

    def condition(self, expr: Expr) -> ast.expr:
        """A checked condition as a two-valued Python expression over the answers."""
        if isinstance(expr, Literal):
            return ast.Constant(expr.value)
        if isinstance(expr, Name):
            return self.read(expr.id)
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


class _KleeneBuilder(_Builder):
    """The same tree for cases with unanswered inputs (SPEC 3), each condition three-valued: when every input it
    reads is answered it is the two-valued expression, else its compiled Kleene closure decides (`p_<k>` in the
    namespace); a branch whose condition is unknown stops with needs_input, naming its unanswered inputs."""

    def __init__(self, ruleset: Any, nodes: dict[str, Any], shared: set[str]) -> None:
        super().__init__(ruleset, nodes, shared)
        self.predicates: list[Any] = []
        self.order = {spec.id: i for i, spec in enumerate(self.inputs)}

    def name_of(self, node_id: str) -> str:
        return "kleene_" + _node_name(node_id)

    def carried(self) -> list[str]:
        """The answers (for the Kleene closures and NEEDS), then one local an input, None when unanswered."""
        return [_ANSWERS, *super().carried()]

    def taken(self) -> list[ast.stmt]:
        """Every answer into its local in one C-level pass (`answers.get` over the input ids), None if unanswered."""
        names = super().carried()
        if not names:
            return []
        return [_unpack(names, _call(_MAP, [ast.Attribute(_load(_ANSWERS), "get", ast.Load()), _load(_IDS)]))]

    def partial_checks(self) -> list[ast.stmt]:
        """`partial_checked`: no key but the inputs', each answer unknown (None) or one that fits, then the walk;
        None at the first that does not fit, for the engine to say why."""
        none = [ast.Return(ast.Constant(None))]
        unknown_key = ast.UnaryOp(ast.Not(), ast.Compare(ast.Call(ast.Attribute(
            _load(_ANSWERS), "keys", ast.Load()), [], []), [ast.LtE()], [_load(_KEYS)]))
        body: list[ast.stmt] = [ast.If(unknown_key, none, []), *self.taken()]
        body += [ast.If(ast.BoolOp(ast.And(), [ast.Compare(_load(self.local[spec.id]), [ast.IsNot()],
                                                           [ast.Constant(None)]), self.misfit(spec)]), none, [])
                 for spec in self.inputs]
        return [*body, ast.Return(_call(_KLEENE, [_load(n) for n in self.carried()]))]

    def value_of(self, when: str) -> list[ast.stmt]:
        """`t = ` the condition's Kleene value: True, False or None."""
        condition = self.ruleset.condition(when)
        reads = sorted(condition.reads, key=self.order.__getitem__)
        self.predicates.append(condition.predicate)
        exact = ast.Assign([_store(_VALUE)], _call(f"p_{len(self.predicates) - 1}", [_load(_ANSWERS)]))
        if not reads:
            return [exact]
        # every input it reads answered: the two-valued expression on the locals
        known = [ast.Compare(_load(self.local[i]), [ast.IsNot()], [ast.Constant(None)]) for i in reads]
        answered = ast.BoolOp(ast.And(), known) if len(known) > 1 else known[0]
        fast = ast.Assign([_store(_VALUE)], self.condition(condition.tree))  # a bool: the answers fit
        return [ast.If(answered, [fast], [exact])]

    def fires(self, when: str, then: list[ast.stmt]) -> list[ast.stmt]:
        return [*self.value_of(when), ast.If(ast.Compare(_load(_VALUE), [ast.Is()], [ast.Constant(True)]), then, [])]

    def branch(self, when: str, then: list[ast.stmt], otherwise: list[ast.stmt], node_id: str,
               path: tuple[str, ...], prefixed: bool) -> list[ast.stmt]:
        reads = tuple(sorted(self.ruleset.condition(when).reads, key=self.order.__getitem__))
        items: list[ast.expr] = [ast.Starred(ast.Constant(path), ast.Load())]  # the path ends at this node
        if prefixed:
            items.insert(0, ast.Starred(_load(_PREFIX), ast.Load()))
        fields = ast.Tuple([ast.Constant("needs_input"), ast.Constant(None), ast.Constant(None), _load(_FLAGS),
                            ast.List(items, ast.Load()), _call(_NEEDS, [_load(_ANSWERS), ast.Constant(reads)]),
                            ast.List([], ast.Load()), ast.List([], ast.Load())], ast.Load())
        stop = [ast.Return(_call(_MAKE, [_load(_RESULT), fields]))]
        return [*self.value_of(when), ast.If(ast.Compare(_load(_VALUE), [ast.Is()], [ast.Constant(True)]), then, [
            ast.If(ast.Compare(_load(_VALUE), [ast.Is()], [ast.Constant(None)]), stop, otherwise)])]


def _needs(answers: Mapping[str, Any], reads: tuple[str, ...]) -> list[str]:
    """The inputs a blocking branch reads that are still unanswered, in declaration order."""
    return [i for i in reads if answers.get(i) is None]


def compile_partial(ruleset: Any, result_type: type) -> tuple[Callable[[Mapping[str, Any]], Any],
                                                                Callable[[Mapping[str, Any]], Any]]:
    """`partial(answers) -> Result` for any case, answered or not: the engine's exact three-valued walk as straight-
    line code (what the engine gives for a case with unanswered inputs; a test holds the two to the same result);
    and `partial_checked(answers) -> Result | None`, the same after checking every answer given (None when one
    does not fit or a key is no input)."""
    model = ruleset.model
    module, predicates = partial_module_for(ruleset)
    code = compile(module, f"<ruleset {model.id} {model.version}, partial>", "exec")
    inputs = tuple(spec.id for spec in model.inputs)
    namespace: dict[str, Any] = {_RESULT: result_type, _MAKE: tuple.__new__, "__builtins__": {}, _NEEDS: _needs,
                                 _MAP: map, _IDS: inputs, _KEYS: frozenset(inputs), **_CLASSES,
                                 **{f"p_{k}": p for k, p in enumerate(predicates)}}
    made = {const.co_name: types.FunctionType(const, namespace) for const in code.co_consts
            if isinstance(const, types.CodeType)}
    namespace.update(made)
    return made["partial"], made["partial_checked"]


def partial_module_for(ruleset: Any) -> tuple[ast.Module, list[Any]]:
    """The three-valued code as a syntax tree, and the closures its `p_<k>` names stand for."""
    model = ruleset.model
    nodes = {node.id: node for node in model.nodes}
    builder = _KleeneBuilder(ruleset, nodes, _shared(model, nodes))
    body = [*builder.flags(), *builder.walk(model.start, ())]
    kleene = ast.FunctionDef(name=_KLEENE, args=_arguments(*builder.carried()), body=body, decorator_list=[],
                             returns=None)
    partial = ast.FunctionDef(name="partial", args=_arguments(_ANSWERS), body=[
        *builder.taken(), ast.Return(_call(_KLEENE, [_load(n) for n in builder.carried()]))], decorator_list=[],
        returns=None)
    checked = ast.FunctionDef(name="partial_checked", args=_arguments(_ANSWERS), body=builder.partial_checks(),
                              decorator_list=[], returns=None)
    return (ast.fix_missing_locations(ast.Module([*builder.functions(), kleene, partial, checked], type_ignores=[])),
            builder.predicates)


def _unpack(names: list[str], values: ast.expr) -> ast.Assign:
    """`a_0, a_1, … = values`: the answers into their locals."""
    return ast.Assign([ast.Tuple([_store(name) for name in names], ast.Store())], values)


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
