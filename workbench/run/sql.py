"""A compiled ruleset as SQL for DuckDB: the batch target beside Python (codegen.py), from the same condition trees.

One evaluation of many cases is one query. SQL's NULL is Kleene's unknown (SPEC 3): `AND`, `OR` and `NOT` are
Kleene's, and a comparison with NULL is NULL, so a condition translates word for word. A decision is a
`CASE WHEN (c) IS TRUE … WHEN (c) IS NULL …` (first true branch wins; the first unknown one stops with
needs_input); `count(...)` is the span of sums its operands still allow, compared as SPEC 3 says; red flags
are columns. Each case's result is one integer code: an outcome's index, or (past the outcomes) the branch it
stopped at, so a transition table is a GROUP BY over two integers.

Unsure answers (SPEC 3a) are expanded exactly: a case with unsure inputs becomes one row per completion of
them over `CompiledRuleset.possible_values` (every region its conditions tell apart), each completion is
evaluated like any case, and the rows are folded back: the most urgent complete completion, unless some
completion still needs input and none reaches the most urgent disposition the ruleset declares.

Nodes reached from more than one place (and every MAX_NESTING-th level of a deep chain) are computed once per
case as a column, in layers of nested SELECTs, so the query grows with the tree, never with its paths.

A security boundary like codegen.py: content reaches the SQL only as validated ids (quoted identifiers) and as
constants (numbers, and text quoted with its quotes doubled); there is no other way in.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..content.model import BooleanInput, DecisionNode, EnumInput, NumberInput, OutcomeNode
from ..expr.syntax import BoolOp, Compare, Count, Expr, ListOf, Literal, Name, Not
from .engine import CompiledRuleset

MAX_NESTING = 40
"""CASEs nested one in another before the next level becomes a column of its own: DuckDB's parser and binder
recurse once per level, and a chain of 5,000 questions must still run."""

MAX_COMPLETIONS = 4096
"""Completions of one case's unsure answers the SQL expands; a case with more goes to the Python engine (which
splits lazily, and says when even that is too many)."""

ROW, CODE, PATH = '":row"', '":r"', '":path"'
"""Columns of the workbench's own: an input id never holds a colon, so they never clash with an input."""
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SQL_TYPES = {"boolean": "BOOLEAN", "number": "DOUBLE", "enum": "VARCHAR"}


def ident(name: str) -> str:
    """A quoted identifier from a validated id (or a name the workbench makes from one)."""
    if '"' in name or "\x00" in name:
        raise ValueError(f"not an identifier: {name!r}")
    return f'"{name}"'


def text(value: str) -> str:
    """A text constant: single quotes doubled, which is all SQL's string syntax knows."""
    if "\x00" in value:
        raise ValueError("text with a NUL character")
    return "'" + value.replace("'", "''") + "'"


def constant(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}"
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)"
    if isinstance(value, str):
        return text(value)
    raise TypeError(f"not a constant: {value!r}")


def value_column(input_id: str) -> str:
    return ident(input_id)


def unsure_column(input_id: str) -> str:
    """The column saying an input was answered unsure (its value column is then NULL)."""
    return ident(f"{input_id}:unsure")


@dataclass(frozen=True)
class Blocked:
    """A branch a case can stop at: its code is len(outcomes) + its index."""

    node: str
    branch: int
    reads: tuple[str, ...]  # the inputs its condition reads, in declaration order


class SqlRuleset:
    """The SQL of one compiled ruleset over a relation of cases (a `row` column and one column per input).

    `column` names the column holding an input's answer (default: the input id), so two versions whose inputs
    differ in type can read one relation; `tag` keeps the columns of its shared nodes apart from another
    version's in the same query."""

    def __init__(self, ruleset: CompiledRuleset, column: Callable[[str], str] = value_column, tag: str = "") -> None:
        self.ruleset, self.model, self.column, self.tag = ruleset, ruleset.model, column, tag
        for name in [*ruleset.inputs, *(node.id for node in self.model.nodes)]:
            if not _ID.match(name):
                raise ValueError(f"not an id: {name!r}")
        self.nodes = {node.id: node for node in self.model.nodes}
        self.outcomes: tuple[str, ...] = tuple(n.id for n in self.model.nodes if isinstance(n, OutcomeNode))
        self.dispositions = [d.id for d in self.model.dispositions]
        rank = {d: i for i, d in enumerate(self.dispositions)}
        self.outcome_disposition = tuple(self.nodes[o].disposition for o in self.outcomes)
        self.outcome_rank = tuple(rank[d] for d in self.outcome_disposition)
        order = {input_id: i for i, input_id in enumerate(ruleset.inputs)}
        self.blocked: list[Blocked] = []
        self._code: dict[tuple[str, int], int] = {}
        for node in self.model.nodes:
            if isinstance(node, DecisionNode):
                for j, branch in enumerate(node.branches):
                    reads = sorted(ruleset.condition(branch.when).reads, key=order.__getitem__)
                    self._code[node.id, j] = len(self.outcomes) + len(self.blocked)
                    self.blocked.append(Blocked(node.id, j, tuple(reads)))
        self._outcome_code = {o: i for i, o in enumerate(self.outcomes)}
        self.shared = self._shared()

    # --- conditions ---------------------------------------------------------------------------

    def condition(self, expr: Expr) -> str:
        """A checked condition as a three-valued SQL expression (TRUE, FALSE or NULL)."""
        if isinstance(expr, Literal):
            return constant(expr.value)
        if isinstance(expr, Name):
            return self.column(expr.id)
        if isinstance(expr, Not):
            return f"(NOT {self.condition(expr.operand)})"
        if isinstance(expr, BoolOp):
            joiner = " AND " if expr.op == "and" else " OR "
            return "(" + joiner.join(self.condition(operand) for operand in expr.operands) + ")"
        if isinstance(expr, Compare):
            return self._compare(expr)
        raise TypeError(f"not a condition: {expr!r}")

    def _compare(self, expr: Compare) -> str:
        if isinstance(expr.left, Count) or isinstance(expr.right, Count):
            return self._count_compare(expr)
        left = self.condition(expr.left)
        if isinstance(expr.right, ListOf):
            members = ", ".join(constant(item.value) for item in expr.right.items)
            return f"({left} {'IN' if expr.op == 'in' else 'NOT IN'} ({members}))"
        return f"({left} {_OPS[expr.op]} {self.condition(expr.right)})"

    def _span(self, expr: Expr) -> tuple[str, str, bool]:
        """A comparison side as the least and most it may still be, and whether it is a count (whole numbers)."""
        if isinstance(expr, Count):
            parts = [self.condition(operand) for operand in expr.operands]
            low = " + ".join(f"(CASE WHEN {p} IS TRUE THEN 1 ELSE 0 END)" for p in parts)
            high = " + ".join(f"(CASE WHEN {p} IS FALSE THEN 0 ELSE 1 END)" for p in parts)
            return f"({low})", f"({high})", True
        one = self.condition(expr)
        return one, one, False

    def _count_compare(self, expr: Compare) -> str:
        """SPEC 3: true (false) when it is so for every count the unknown operands allow, else NULL. A side that
        is unknown (an unanswered number) makes it NULL: every WHEN below is then NULL, and so is the CASE."""
        op, left, right = expr.op, expr.left, expr.right
        if isinstance(left, (Literal, Name)) and not isinstance(right, (Literal, Name)):
            op, left, right = _FLIP.get(op, op), right, left
        lo, hi, _ = self._span(left)
        if isinstance(right, ListOf):
            return self._count_in(lo, hi, right, op == "in")
        rlo, rhi, counted = self._span(right)
        if op in ("<", "<=", ">", ">="):
            sure, never = {"<": (f"{hi} < {rlo}", f"{lo} >= {rhi}"), "<=": (f"{hi} <= {rlo}", f"{lo} > {rhi}"),
                           ">": (f"{lo} > {rhi}", f"{hi} <= {rlo}"), ">=": (f"{lo} >= {rhi}", f"{hi} < {rlo}")}[op]
        else:  # == and !=: equal only when both are one and the same number
            sure = f"({lo} = {hi} AND {rlo} = {rhi} AND {lo} = {rlo})"
            if counted:
                never = f"({hi} < {rlo} OR {rhi} < {lo})"
            else:  # a count is a whole number: 1.5 is never one
                never = f"(NOT ({rlo} = floor({rlo}) AND {lo} <= {rlo} AND {rlo} <= {hi}))"
            if op == "!=":
                sure, never = never, sure
        return f"(CASE WHEN {sure} THEN TRUE WHEN {never} THEN FALSE ELSE NULL END)"

    @staticmethod
    def _count_in(lo: str, hi: str, members: ListOf, wanted: bool) -> str:
        counts = sorted({item.value for item in members.items if isinstance(item.value, (int, float))
                         and not isinstance(item.value, bool) and float(item.value).is_integer() and item.value >= 0})
        inside = " + ".join(f"(CASE WHEN {lo} <= {c} AND {c} <= {hi} THEN 1 ELSE 0 END)" for c in counts) or "0"
        every, none = f"(({inside}) = {hi} - {lo} + 1)", f"(({inside}) = 0)"
        sure, never = (every, none) if wanted else (none, every)
        return f"(CASE WHEN {sure} THEN TRUE WHEN {never} THEN FALSE ELSE NULL END)"

    # --- the flow -----------------------------------------------------------------------------

    def _shared(self) -> list[str]:
        """Decisions computed once per case as a column (reached from more than one place, or deep), in the order
        they can be computed: each only after the ones it leads to."""
        entering: dict[str, int] = {}
        for node in self.model.nodes:
            for target in node.targets:
                entering[target] = entering.get(target, 0) + 1
        shared = {n for n, c in entering.items() if c > 1 and isinstance(self.nodes[n], DecisionNode)}
        shared.add(self.model.start)
        # cut deep chains: a decision MAX_NESTING levels below the nearest shared one becomes shared too
        pending = sorted(shared)
        seen: set[str] = set()
        while pending:
            root = pending.pop()
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, 0)]
            while stack:
                node_id, depth = stack.pop()
                node = self.nodes[node_id]
                if not isinstance(node, DecisionNode):
                    continue
                if node_id != root and (node_id in shared or depth >= MAX_NESTING):
                    if node_id not in shared:
                        shared.add(node_id)
                    pending.append(node_id)
                    continue
                stack.extend((target, depth + 1) for target in node.targets)
        graph = {s: self._uses(s, shared) for s in shared}
        return list(graphlib.TopologicalSorter(graph).static_order())

    def _uses(self, root: str, shared: set[str]) -> set[str]:
        used, stack = set(), list(self.nodes[root].targets)
        while stack:
            node_id = stack.pop()
            if node_id in shared:
                used.add(node_id)
            elif isinstance(self.nodes[node_id], DecisionNode):
                stack.extend(self.nodes[node_id].targets)
        return used

    def code(self, node_id: str, *, top: bool = False) -> str:
        """The result code of the case from this node on: an outcome's index, or the code of the branch it stops
        at (SQL integer)."""
        node = self.nodes[node_id]
        if isinstance(node, OutcomeNode):
            return str(self._outcome_code[node_id])
        if node_id in self.shared and not top:
            return ident(f"{self.tag}n:{node_id}")
        parts = []
        for j, branch in enumerate(node.branches):
            holds = self.condition(self.ruleset.condition(branch.when).tree)
            parts.append(f"WHEN {holds} IS TRUE THEN {self.code(branch.next)} WHEN {holds} IS NULL THEN "
                         f"{self._code[node_id, j]}")
        return f"(CASE {' '.join(parts)} ELSE {self.code(node.else_)} END)"

    def path(self, node_id: str, *, top: bool = False) -> str:
        """The path from this node on, as a VARCHAR[] (with `code`, and as nested)."""
        node = self.nodes[node_id]
        if isinstance(node, OutcomeNode):
            return f"[{text(node_id)}]"
        if node_id in self.shared and not top:
            return ident(f"{self.tag}p:{node_id}")
        parts = []
        for branch in node.branches:
            holds = self.condition(self.ruleset.condition(branch.when).tree)
            parts.append(f"WHEN {holds} IS TRUE THEN {self.path(branch.next)} WHEN {holds} IS NULL THEN []")
        return f"list_prepend({text(node_id)}, CASE {' '.join(parts)} ELSE {self.path(node.else_)} END)"

    def evaluated(self, source: str, *, paths: bool = False) -> str:
        """SELECT every column of `source` (a relation or a parenthesised query) and CODE, each case's result code
        (and PATH when asked), the shared nodes computed first, one layer of SELECT each."""
        query = source
        for node_id in self.shared:
            columns = [f"{self.code(node_id, top=True)} AS {ident(self.tag + 'n:' + node_id)}"]
            if paths:
                columns.append(f"{self.path(node_id, top=True)} AS {ident(self.tag + 'p:' + node_id)}")
            query = f"(SELECT *, {', '.join(columns)} FROM {query})"
        start = self.model.start
        extra = f", {ident(self.tag + 'p:' + start)} AS {PATH}" if paths else ""
        return f"SELECT *, {ident(self.tag + 'n:' + start)} AS {CODE}{extra} FROM {query}"

    def red_flags(self) -> str:
        """The red flags that fire, in declaration order (VARCHAR[]): a flag whose condition is unknown does not."""
        items = ", ".join(f"CASE WHEN {self.condition(self.ruleset.condition(flag.when).tree)} IS TRUE THEN "
                          f"{text(flag.id)} END" for flag in self.model.red_flags)
        return f"list_filter([{items}]::VARCHAR[], lambda x: x IS NOT NULL)"

    def red_flag_bits(self) -> str:
        """The red flags that fire as one number, bit i for the i-th flag: cheaper to group by than a list (a
        HUGEINT holds 127 flags; past that, the list itself)."""
        flags = self.model.red_flags
        if len(flags) > 126:
            return self.red_flags()
        terms = [f"(CASE WHEN {self.condition(self.ruleset.condition(flag.when).tree)} IS TRUE THEN "
                 f"CAST({1 << i} AS HUGEINT) ELSE 0 END)" for i, flag in enumerate(flags)]
        return "(" + " + ".join(["CAST(0 AS HUGEINT)", *terms]) + ")"

    def flags_of(self, value: Any) -> tuple[str, ...]:
        """`red_flag_bits` (or the list) read back as flag ids, in declaration order."""
        if isinstance(value, (list, tuple)):
            return tuple(value)
        return tuple(flag.id for i, flag in enumerate(self.model.red_flags) if int(value) >> i & 1)

    def needs(self, code: str = CODE) -> str:
        """For a case stopped at a branch: the inputs that branch reads still unanswered, as declaration indexes."""
        index = {input_id: i for i, input_id in enumerate(self.ruleset.inputs)}
        whens = []
        for k, blocked in enumerate(self.blocked):
            items = ", ".join(f"CASE WHEN {self.column(i)} IS NULL THEN {index[i]} END" for i in blocked.reads)
            whens.append(f"WHEN {len(self.outcomes) + k} THEN [{items}]::INTEGER[]")
        if not whens:
            return "[]::INTEGER[]"
        return f"list_filter(CASE {code} {' '.join(whens)} ELSE []::INTEGER[] END, lambda x: x IS NOT NULL)"

    def rank(self, code: str = CODE) -> str:
        """The disposition's place in this ruleset's order (0 the most urgent), NULL while input is needed."""
        return f"(CASE WHEN {code} < {len(self.outcomes)} THEN {_list(self.outcome_rank)}[{code} + 1] END)"

    # --- unsure answers ----------------------------------------------------------------------

    def unsure_inputs(self) -> list[str]:
        return list(self.ruleset.inputs)

    def completions(self) -> str:
        """How many completions a case's unsure answers have (SQL BIGINT)."""
        values = self.ruleset.possible_values
        factors = [f"(CASE WHEN {unsure_column(i)} THEN {len(values[i])} ELSE 1 END)" for i in self.unsure_inputs()]
        return "(" + " * ".join(["CAST(1 AS BIGINT)", *factors]) + ")"

    def any_unsure(self) -> str:
        return "(" + " OR ".join(["FALSE", *(f"{unsure_column(i)}" for i in self.unsure_inputs())]) + ")"

    def expanded(self, source: str) -> str:
        """One row per completion of each case's unsure answers: an unsure input's value column takes each of its
        possible values in turn (the answered ones keep their one value)."""
        query = source
        values = self.ruleset.possible_values
        for input_id in self.unsure_inputs():
            sql_type = SQL_TYPES[self.ruleset.inputs[input_id].type]
            options = ", ".join(f"CAST({constant(v)} AS {sql_type})" for v in values[input_id])
            column = self.column(input_id)
            query = (f"(SELECT * REPLACE (unnest(CASE WHEN {unsure_column(input_id)} THEN [{options}] ELSE "
                     f"[{column}] END) AS {column}) FROM {query})")
        return query

    def folded(self, evaluated: str, *, detail: bool = False) -> str:
        """The completions of each case folded back into its SPEC 3a result: ROW and CODE (and, with `detail`,
        `chosen`: the completion reported with its path and red flags; and `all_needs`, the union of the needs)."""
        k = len(self.outcomes)
        more = ""
        if detail:
            inputs = ", ".join(f"{ident(i)} := {self.column(i)}" for i in self.ruleset.inputs)
            more = f", path := {PATH}, flags := {self.red_flags()}, completion := struct_pack({inputs})"
        columns = [f"arg_min(struct_pack(r := {CODE}{more}), {self.rank()} * {k} + {CODE}) FILTER (WHERE {CODE} < {k}) "
                   "AS best",
                   f"arg_min(struct_pack(r := {CODE}{more}), {CODE}) FILTER (WHERE {CODE} >= {k}) AS stuck",
                   f"min({self.rank()}) AS least"]
        if detail:
            columns.append(f"list_sort(list_distinct(flatten(list({self.needs()}) FILTER (WHERE {CODE} >= {k})))) "
                           "AS all_needs")
        grouped = f"SELECT {ROW}, {', '.join(columns)} FROM ({evaluated}) GROUP BY {ROW}"
        chosen = "CASE WHEN least IS NOT NULL AND (stuck IS NULL OR least = 0) THEN best ELSE stuck END"
        extra = f", {chosen} AS chosen, all_needs" if detail else ""
        return f"SELECT {ROW}, ({chosen}).r AS {CODE}{extra} FROM ({grouped})"

    # --- whole results, for the differential test and for explaining a few cases --------------

    def results(self, source: str) -> str:
        """Every case of `source` evaluated to its full SPEC 5 / 3a result: ROW, status, outcome, disposition,
        red_flags, path, needs, unsure, possible_red_flags and, for a case with unsure answers, the completion
        reported. Heavier than the codes alone (paths are lists): for checking and explaining a few cases."""
        k = len(self.outcomes)
        names = _list(tuple(self.ruleset.inputs))
        sure = self.evaluated(f"(SELECT * FROM {source} WHERE NOT {self.any_unsure()})", paths=True)
        plain = (f"SELECT {ROW}, {CODE}, {PATH}, {self.needs()} AS needs_at, NULL AS completion, "
                 f"[]::VARCHAR[] AS reported FROM ({sure})")
        unsure = self.expanded(f"(SELECT * FROM {source} WHERE {self.any_unsure()})")
        folded = self.folded(self.evaluated(unsure, paths=True), detail=True)
        weighed = (f"SELECT {ROW}, {CODE}, chosen.path AS {PATH}, CASE WHEN {CODE} >= {k} THEN all_needs ELSE "
                   f"[]::INTEGER[] END AS needs_at, chosen.completion AS completion, chosen.flags AS reported "
                   f"FROM ({folded})")
        unsure_ids = ", ".join(f"CASE WHEN {unsure_column(i)} THEN {text(i)} END" for i in self.ruleset.inputs)
        return f"""
            SELECT {ROW}, status, outcome, disposition, red_flags, path, needs, unsure,
                   list_filter(reported, lambda f: NOT list_contains(red_flags, f)) AS possible_red_flags,
                   completion
            FROM (
                SELECT s.{ROW},
                       CASE WHEN e.{CODE} < {k} THEN 'complete' ELSE 'needs_input' END AS status,
                       CASE WHEN e.{CODE} < {k} THEN {_list(self.outcomes)}[e.{CODE} + 1] END AS outcome,
                       CASE WHEN e.{CODE} < {k} THEN {_list(self.outcome_disposition)}[e.{CODE} + 1] END
                           AS disposition,
                       {self.red_flags()} AS red_flags,
                       e.{PATH} AS path,
                       list_transform(e.needs_at, lambda i: {names}[i + 1]) AS needs,
                       list_filter([{unsure_ids}]::VARCHAR[], lambda x: x IS NOT NULL) AS unsure,
                       e.reported, e.completion
                FROM {source} s JOIN ({plain} UNION ALL BY NAME {weighed}) e USING ({ROW}))
            ORDER BY {ROW}"""


def _list(items: Sequence[Any]) -> str:
    return "[" + ", ".join(constant(item) for item in items) + "]"


def typed(spec: Any) -> str:
    """The SQL type an input's answers take."""
    if isinstance(spec, BooleanInput):
        return "BOOLEAN"
    if isinstance(spec, NumberInput):
        return "DOUBLE"
    assert isinstance(spec, EnumInput)
    return "VARCHAR"
