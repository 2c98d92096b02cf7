"""Sets of cases as boolean functions (binary decision diagrams, from the `dd` library): computed, not enumerated.

Every input is cut into the classes its conditions can tell apart (all answers of a yes/no or a choice; a
number by the regions its thresholds define, as in `space.py`). A yes/no input is one BDD variable; an input
with k classes is k-1 ordered variables `id@j` ("class j or above"), so a threshold such as `age >= 60` is a
single variable and a range is two. A condition compiles to the set of cases where it holds; the flow to the
set of cases that reach each node and take each branch (first true branch wins, else when none). Counting a
set, picking an example from it, or intersecting the outcomes of two versions then costs time in the size
of these diagrams, not in the number of cases or paths: 2^40 cases or 2^20 paths are as cheap as a few.
"""

from __future__ import annotations

import graphlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:  # CUDD, compiled, in dd's wheels for Linux x86-64: the shipped ruleset verified in 0.3 s instead of 4.3 s
    from dd.cudd import BDD, Function
except ImportError:  # pragma: no cover - a platform without the wheel: the same API in Python
    from dd.autoref import BDD, Function  # type: ignore[assignment]

from ..content.model import DecisionNode, OutcomeNode, Ruleset
from ..expr.syntax import RELATIONS, BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not

Classes = dict[str, frozenset[int]]  # per input, the class indexes a cube allows (an input left out: any)


class Symbolic:
    """The input space of one or more rulesets: a BDD variable order and what each class of answers means.

    `values` gives, per input in declaration order, its representative answers; (False, True) marks a yes/no."""

    def __init__(self, values: Mapping[str, Sequence[Any]]) -> None:
        self.values = {input_id: tuple(answers) for input_id, answers in values.items()}
        self.tick: Callable[[], None] = _nothing
        """Called before each operation on diagrams: a caller's time or size limit (it may raise to stop)."""
        self.bdd = BDD()
        # no dynamic reordering: with a thousand questions CUDD's sifting took 7 s before the first check; the
        # declared order (an input's variables together, in declaration order) is already a good one
        self.bdd.configure(reordering=False)
        self._vars: dict[str, tuple[str, ...]] = {}
        for input_id, answers in self.values.items():
            if answers == (False, True):
                self._vars[input_id] = (input_id,)
            else:
                self._vars[input_id] = tuple(f"{input_id}@{j}" for j in range(1, len(answers)))
        names = [name for names in self._vars.values() for name in names]
        # `dd` recurses once per variable level; Python 3.11 keeps those frames off the C stack, so a higher
        # limit costs memory only in proportion to the variables.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(names) + 1000))
        self.bdd.declare(*names)
        self._owner = {name: input_id for input_id, names in self._vars.items() for name in names}
        self._valid = {input_id: self._chain(input_id) for input_id in self.values}
        self.valid = self.all(self._valid.values())

    # --- building blocks ----------------------------------------------------------------------------

    @property
    def true(self) -> Function:
        return self.bdd.true

    @property
    def false(self) -> Function:
        return self.bdd.false

    def all(self, parts: Iterator[Function] | Sequence[Function] | Any) -> Function:
        result = self.bdd.true
        for part in parts:
            self.tick()
            result &= part
        return result

    def any(self, parts: Iterator[Function] | Sequence[Function] | Any) -> Function:
        result = self.bdd.false
        for part in parts:
            self.tick()
            result |= part
        return result

    def _chain(self, input_id: str) -> Function:
        """An ordered input's variables stay in order: class j or above implies class j-1 or above."""
        names = self._vars[input_id]
        if len(self.values[input_id]) == 2 and self.values[input_id] == (False, True):
            return self.bdd.true
        return self.all(~self.bdd.var(names[j + 1]) | self.bdd.var(names[j]) for j in range(len(names) - 1))

    def is_class(self, input_id: str, j: int) -> Function:
        """The cases whose answer to `input_id` is its j-th representative value."""
        names = self._vars[input_id]
        if names == (input_id,) and self.values[input_id] == (False, True):
            var = self.bdd.var(input_id)
            return var if j == 1 else ~var
        above = self.bdd.var(names[j - 1]) if j > 0 else self.bdd.true
        return above & ~self.bdd.var(names[j]) if j < len(names) else above

    def where(self, input_id: str, holds: Callable[[Any], bool]) -> Function:
        """The cases whose answer to `input_id` satisfies `holds`."""
        return self.any(self.is_class(input_id, j) for j, value in enumerate(self.values[input_id]) if holds(value))

    # --- conditions -----------------------------------------------------------------------------------

    def condition(self, expr: Expr) -> Function:
        """The cases where a checked condition is true (complete cases: two-valued)."""
        if isinstance(expr, Literal):
            return self.bdd.true if expr.value else self.bdd.false
        if isinstance(expr, Name):
            return self.where(expr.id, lambda value: value is True)
        if isinstance(expr, Not):
            return ~self.condition(expr.operand)
        if isinstance(expr, BoolOp):
            parts = [self.condition(operand) for operand in expr.operands]
            return self.all(parts) if expr.op == "and" else self.any(parts)
        if isinstance(expr, Compare):
            holds = RELATIONS[expr.op]
            return self.any(a & b for a, left in self._partition(expr.left) for b, right in self._partition(expr.right)
                            if holds(left, right))
        raise TypeError(f"not a condition: {expr!r}")

    def _partition(self, expr: Expr) -> list[tuple[Function, Any]]:
        """A comparison side as (cases, value) pairs that cover every case once."""
        if isinstance(expr, Literal):
            return [(self.bdd.true, expr.value)]
        if isinstance(expr, ListOf):
            return [(self.bdd.true, frozenset(item.value for item in expr.items))]
        if isinstance(expr, Name):
            return [(self.is_class(expr.id, j), value) for j, value in enumerate(self.values[expr.id])]
        if isinstance(expr, Count):
            exactly = [self.bdd.true]  # exactly[c]: c of the operands so far are true
            for operand in expr.operands:
                self.tick()
                holds = self.condition(operand)
                exactly = [(exactly[c] & ~holds if c < len(exactly) else self.bdd.false)
                           | (exactly[c - 1] & holds if c > 0 else self.bdd.false) for c in range(len(exactly) + 1)]
            return list(zip(exactly, range(len(exactly)), strict=True))
        holds = self.condition(expr)
        return [(holds, True), (~holds, False)]

    # --- the flow ------------------------------------------------------------------------------------

    def flow(self, model: Ruleset, conditions: Mapping[str, Expr]) -> Flow:
        """Which cases reach each node and take each branch; `conditions` maps each `when` text to its tree.

        A decision's sets are dropped once its cases have moved on: only the outcomes' sets are kept, with which
        nodes no case reaches and which branches no case takes (for those, the cases that arrive at the node
        and meet the branch's condition, to explain why). Memory then follows the outcomes, not every branch."""
        nodes = {node.id: node for node in model.nodes}
        order = graphlib.TopologicalSorter({node.id: set(node.targets) for node in model.nodes})
        reach = {node_id: self.bdd.false for node_id in nodes}
        reach[model.start] = self.valid
        unreached: set[str] = set()
        never_taken: dict[tuple[str, int], Function] = {}
        for node_id in reversed(list(order.static_order())):  # a node after every node that leads to it
            node = nodes[node_id]
            if reach[node_id] == self.bdd.false:
                unreached.add(node_id)
            if not isinstance(node, DecisionNode):
                continue
            arrived = rest = reach.pop(node_id)
            for j, branch in enumerate(node.branches):
                self.tick()
                holds = self.condition(conditions[branch.when])
                taken = rest & holds
                if taken == self.bdd.false:
                    never_taken[node_id, j] = arrived & holds  # non-empty: an earlier branch shadows it
                reach[branch.next] |= taken
                rest &= ~holds
            if rest == self.bdd.false:
                never_taken[node_id, len(node.branches)] = self.bdd.false
            reach[node.else_] |= rest
        outcomes = {node.id: reach[node.id] for node in model.nodes if isinstance(node, OutcomeNode)}
        return Flow(outcomes, unreached, never_taken,
                    {node.id: node.disposition for node in model.nodes if isinstance(node, OutcomeNode)})

    # --- products (sets of a tree's paths) -------------------------------------------------------------

    def meet(self, product: Product, cases: Function, inputs: Iterator[str] | Sequence[str] | frozenset[str]
             ) -> Product | None:
        """`product` and `cases` (a set that reads only `inputs`), or None when no case is in both: the parts that
        share an input with `cases` are joined into one, the others are left as they are."""
        inputs = frozenset(inputs)
        joined = [(names, part) for names, part in product.parts if names & inputs]
        kept = tuple((names, part) for names, part in product.parts if not names & inputs)
        covered = inputs.union(*(names for names, _ in joined))
        self.tick()
        result = cases & self.all(self._valid[i] for i in inputs - frozenset().union(*(n for n, _ in joined)))
        for _, part in joined:
            self.tick()
            result &= part
        if result == self.bdd.false:
            return None
        return Product((*kept, (covered, result)))

    def product_example(self, product: Product) -> dict[str, Any]:
        """One complete case of a non-empty product, picked part by part (no need to join them): unconstrained
        answers as in `example`."""
        assignment: dict[str, bool] = {}
        for _, part in product.parts:
            assignment.update(self.bdd.pick(part) or {})
        return {input_id: self._value(input_id, assignment) for input_id in self.values}

    def product_count(self, product: Product) -> int:
        """How many combinations of classes of every input the product holds: its parts' counts times the
        classes of the inputs it leaves free."""
        free = [i for i in self.values if i not in product.inputs]
        return math.prod(self.count(part, [i for i in self.values if i in names]) for names, part in product.parts) \
            * self.size(free)

    def product_inputs(self, product: Product) -> list[str]:
        """The inputs a product depends on, in declaration order."""
        owners = {self._owner[name] for _, part in product.parts for name in self.bdd.support(part)}
        return [input_id for input_id in self.values if input_id in owners]

    def whole(self, product: Product) -> Function:
        """The product as one set (its parts read disjoint inputs, so this is their conjunction)."""
        return self.all(part for _, part in product.parts)

    # --- reading sets ---------------------------------------------------------------------------------

    def count(self, cases: Function, inputs: Sequence[str]) -> int:
        """How many combinations of classes of `inputs` the set holds (it must read no other input)."""
        names = [name for input_id in inputs for name in self._vars[input_id]]
        valid = self.all(self._valid[input_id] for input_id in inputs)
        return int(self.bdd.count(cases & valid, nvars=len(names))) if names else int(cases != self.bdd.false)

    def inputs_of(self, cases: Function) -> list[str]:
        """The inputs a set of cases depends on (its diagram's variables), in declaration order."""
        owners = {self._owner[name] for name in self.bdd.support(cases & self.valid)}
        return [input_id for input_id in self.values if input_id in owners]

    def total(self) -> int:
        return math.prod(len(answers) for answers in self.values.values())

    def count_all(self, cases: Function) -> int:
        """How many combinations of classes of every input the set holds."""
        return self.count(cases, list(self.values))

    def fix(self, cases: Function, input_id: str, value: bool) -> Function:
        """The set with a yes/no input's answer fixed (the answer no longer matters to it)."""
        return self.bdd.let({input_id: self.bdd.true if value else self.bdd.false}, cases)

    def size(self, inputs: Sequence[str]) -> int:
        return math.prod(len(self.values[input_id]) for input_id in inputs)

    def example(self, cases: Function) -> dict[str, Any] | None:
        """One complete case in the set (representative values), or None when it is empty. Unconstrained
        answers are 'no', the first choice, or a number's middle region."""
        found = self.bdd.pick(cases & self.valid)
        if found is None:
            return None
        return {input_id: self._value(input_id, found) for input_id in self.values}

    def _value(self, input_id: str, assignment: Mapping[str, bool]) -> Any:
        answers = self.values[input_id]
        names = self._vars[input_id]
        if answers == (False, True) and names == (input_id,):
            return bool(assignment.get(input_id, False))
        given = [(j + 1, assignment[name]) for j, name in enumerate(names) if name in assignment]
        if not given and not isinstance(answers[0], str):
            return answers[len(answers) // 2]
        low = max((j for j, up in given if up), default=0)
        return answers[low]

    def cubes(self, cases: Function, limit: int = 1000) -> Iterator[Classes]:
        """The set as disjoint cubes, read off the diagram's paths to true: per input, the classes allowed
        (inputs left out: any answer). At most `limit` of them."""
        emitted = 0
        stack: list[tuple[Function, dict[str, bool]]] = [(cases & self.valid, {})]
        while stack and emitted < limit:
            node, assigned = stack.pop()
            if node == self.bdd.false:
                continue
            if node == self.bdd.true:
                emitted += 1
                yield self._classes(assigned)
                continue
            low, high = node.low, node.high
            if node.negated:  # a complemented edge: the children are complemented too
                low, high = ~low, ~high
            var = node.var
            stack.append((low, assigned | {var: False}))
            stack.append((high, assigned | {var: True}))

    def _classes(self, assigned: Mapping[str, bool]) -> Classes:
        out: Classes = {}
        for input_id, names in self._vars.items():
            if not any(name in assigned for name in names):
                continue
            k = len(self.values[input_id])
            if self.values[input_id] == (False, True) and names == (input_id,):
                out[input_id] = frozenset([int(assigned[input_id])])
                continue
            low = max((j + 1 for j, name in enumerate(names) if assigned.get(name) is True), default=0)
            high = min((j for j, name in enumerate(names) if assigned.get(name) is False), default=k - 1)
            out[input_id] = frozenset(range(low, high + 1))
        return out


@dataclass(frozen=True)
class Product:
    """A set of cases as independent parts over disjoint inputs: (the inputs a part reads, its cases there, valid
    answers included). A path through a tree is a conjunction of conditions that each read a few inputs, so its
    parts stay small where one diagram of the whole conjunction grows with every input it mentions."""

    parts: tuple[tuple[frozenset[str], Function], ...] = ()

    @property
    def inputs(self) -> frozenset[str]:
        return frozenset().union(*(inputs for inputs, _ in self.parts))


@dataclass
class Flow:
    """The cases that end at each outcome; the nodes no case reaches; the branches (node id, index; else last)
    no case takes, each with the cases that reach its node and meet its condition (shadowed) or nothing."""

    outcomes: dict[str, Any]  # each outcome's cases: one set, or (verify.py, a tree) one set per path to it
    unreached: set[str]
    never_taken: dict[tuple[str, int], Function]
    dispositions: dict[str, str]


def _nothing() -> None:
    """No limit: the default tick."""


