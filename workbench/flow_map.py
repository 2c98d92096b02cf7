"""The flow as a map for an interactive canvas: each node with what a reader needs to see on it, each branch as
a numbered edge, and the overlays (the path of one case, which parts vignettes reach, one node's
neighbourhood). The Flow page draws it with React Flow; graph.py draws the same flow with Graphviz for export,
with the same red-flag marks (`node_flags`)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from .colours import disposition_colours
from .engine import CompiledRuleset, Result
from .expr.syntax import ExprSyntaxError, names, parse
from .model import DecisionNode, OutcomeNode, Ruleset
from .replay import Coverage

_DASH_CLAUSE = re.compile(r"\s[\u2014\u2013]\s")


@dataclass(frozen=True)
class MapNode:
    id: str
    kind: str  # "decision" or "outcome"
    title: str
    disposition: str | None
    disposition_label: str | None
    fill: str
    flags: tuple[str, ...]  # short labels of the red flags that read what is asked here
    start: bool
    on_path: bool | None  # None when no path is shown
    stop: bool  # the case stopped here, still needing answers
    reached: bool | None  # by any vignette; None when coverage is not shown


@dataclass(frozen=True)
class MapEdge:
    id: str
    source: str
    target: str
    index: int  # 0-based branch number; len(branches) for else
    label: str  # "1", "2 · spinal infection", "else": short, the condition is on the node's card
    condition: str | None
    on_path: bool | None
    reached: bool | None


@dataclass(frozen=True)
class FlowMap:
    nodes: list[MapNode]
    edges: list[MapEdge]
    hidden: int = 0  # nodes left out by a focus


def flow_map(ruleset: CompiledRuleset, *, result: Result | None = None, coverage: Coverage | None = None,
             focus: str | None = None, radius: int = 1) -> FlowMap:
    """The map of the whole flow, or of the nodes within `radius` branches of `focus`, with the overlays."""
    model = ruleset.model
    colours = disposition_colours(model)
    labels = {d.id: d.label for d in model.dispositions}
    flags = node_flags(ruleset)
    kept = neighbourhood(model, focus, radius) if focus else {node.id for node in model.nodes}
    path = set(result.path) if result else set()
    steps = set(pairwise(result.path)) if result else set()
    stop = result.path[-1] if result and result.status == "needs_input" and result.path else None
    nodes = [MapNode(node.id, node.kind, node.title,
                     node.disposition if isinstance(node, OutcomeNode) else None,
                     labels.get(node.disposition) if isinstance(node, OutcomeNode) else None,
                     colours.get(node.disposition, "#ffffff") if isinstance(node, OutcomeNode) else "#f1f3f5",
                     tuple(flags.get(node.id, ())), node.id == model.start,
                     (node.id in path) if result else None, node.id == stop,
                     (node.id in coverage.covered_nodes) if coverage else None)
             for node in model.nodes if node.id in kept]
    edges = []
    for node in model.nodes:
        if not isinstance(node, DecisionNode) or node.id not in kept:
            continue
        targets = [(b.next, str(i + 1) + (f" · {b.label}" if b.label else ""), b.when)
                   for i, b in enumerate(node.branches)] + [(node.else_, "else", None)]
        for index, (target, label, condition) in enumerate(targets):
            if target in kept:
                edges.append(MapEdge(f"{node.id}:{index}", node.id, target, index, label, condition,
                                     ((node.id, target) in steps) if result else None,
                                     ((node.id, index) in coverage.covered_edges) if coverage else None))
    return FlowMap(nodes, edges, len(model.nodes) - len(kept))


def neighbourhood(model: Ruleset, focus: str, radius: int) -> set[str]:
    """The node `focus` and every node within `radius` branches of it, either way along them."""
    near: dict[str, set[str]] = {node.id: set() for node in model.nodes}
    for node in model.nodes:
        if isinstance(node, DecisionNode):
            for target in [b.next for b in node.branches] + [node.else_]:
                near[node.id].add(target)
                near.setdefault(target, set()).add(node.id)
    if focus not in near:
        return set(near)
    seen, queue = {focus: 0}, deque([focus])
    while queue:
        here = queue.popleft()
        if seen[here] < radius:
            for there in near[here] - set(seen):
                seen[there] = seen[here] + 1
                queue.append(there)
    return set(seen)


def node_flags(ruleset: CompiledRuleset) -> dict[str, list[str]]:
    """For each node, the red flags that read what is asked on the way into it (an outcome) or at it (a
    decision), each by its label up to its first dash clause: the ⚑ marks on a card."""
    model = ruleset.model
    flags = []
    for flag in model.red_flags:
        try:
            reads = frozenset(names(parse(flag.when)))
        except ExprSyntaxError:
            reads = frozenset()
        flags.append((_DASH_CLAUSE.split(" ".join(flag.label.split()), 1)[0], reads))
    at: dict[str, set[str]] = {}  # a decision: what its branches read
    into: dict[str, set[str]] = {}  # an outcome: what the branches leading to it read
    for node in model.nodes:
        if isinstance(node, DecisionNode):
            for branch in ruleset.steps[node.id].branches:
                at.setdefault(node.id, set()).update(branch.reads)
                into.setdefault(branch.next, set()).update(branch.reads)
    asked = {node.id: at.get(node.id, set()) if isinstance(node, DecisionNode) else into.get(node.id, set())
             for node in model.nodes}
    return {node_id: [label for label, reads in flags if reads & inputs] for node_id, inputs in asked.items()}
