"""The flow as a map for an interactive canvas: each node with what a reader needs to see on it, each branch as an edge
labelled with its condition in clinical words (short, and whole for a hover), and the overlays (the path of one
case, which parts vignettes reach, one node's neighbourhood). The Flow page draws it with React Flow; graph.py draws
the same flow with Graphviz for export, with the same red-flag marks (`node_flags`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from ..content.model import DecisionNode, OutcomeNode, Ruleset
from ..expr.syntax import ExprSyntaxError, names, parse
from ..run.engine import CompiledRuleset, Result
from ..run.replay import Coverage
from ..run.words import condition_words, short, short_words
from .colours import disposition_colours


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
    label: str  # the condition in clinical words, cut short to fit on the edge; "otherwise" for the else
    condition: str | None  # as written; None for the else
    on_path: bool | None
    reached: bool | None
    words: str = ""  # the whole condition in clinical words (shown on hover), with the branch's own label


@dataclass(frozen=True)
class FlowMap:
    nodes: list[MapNode]
    edges: list[MapEdge]
    hidden: int = 0  # nodes left out by a focus


NODE_WIDTH = 250
"""Card width in pixels at 100 %: about 26 characters of 14 px text a line."""
_CHARS_PER_LINE, _LINE_HEIGHT, _PADDING = 26, 19, 22
EDGE_LABEL_CHARS = 20
"""An edge's label, cut to fit: edges leaving one card to the next columns have their labels half a column
(145 px) apart, so about 20 characters of 13 px text never run into each other; the whole condition is on hover."""
_GAP_ACROSS, _GAP_ALONG = 40, 70


def card_lines(node: MapNode) -> list[str]:
    """The text on a node's card: its title, where it sends a case, how many red flags it touches."""
    lines = [node.title]
    if node.kind == "outcome":
        lines.append("→ " + short(node.disposition_label or node.disposition or ""))
    if node.flags:
        lines.append(f"⚑ {len(node.flags)} red flag{'s' if len(node.flags) != 1 else ''}")
    if node.stop:
        lines.append("stopped here: answers still needed")
    return lines


def layout(fmap: FlowMap, start: str, direction: str = "down") -> dict[str, tuple[float, float, float]]:
    """Where each card goes and how tall it is, in pixels (x, y, height), so the flow reads at 100 % from the
    top left: the start first, each node one step below the furthest node that leads to it, and in each step
    the questions first (the next question stays under the one before, "else" after "else") and then the
    outcomes, in the order the branches name them. Going down, the cards of a step are one height, so the
    lines between steps run clear of every card. With direction "right" the same, turned."""
    ids = [node.id for node in fmap.nodes]
    heights = {node.id: _PADDING + _LINE_HEIGHT * sum(-(-max(len(line), 1) // _CHARS_PER_LINE)
                                                      for line in card_lines(node)) for node in fmap.nodes}
    order = {node_id: i for i, node_id in enumerate(ids)}
    for edge in fmap.edges:  # outcomes in the order the branches reach them
        order[edge.target] = min(order[edge.target], order[edge.source] + (edge.index + 1) / 1000)
    depth = _depths(fmap, start)
    kinds = {node.id: node.kind for node in fmap.nodes}
    spine = _spine(fmap, start)
    steps: dict[int, list[str]] = {}
    for node_id in sorted(ids, key=lambda n: (depth[n], n not in spine, kinds[n] != "decision", order[n])):
        steps.setdefault(depth[node_id], []).append(node_id)
    places: dict[str, tuple[float, float, float]] = {}
    along = 0.0
    for step in sorted(steps):
        across = 0.0
        tallest = max(heights[n] for n in steps[step])
        for node_id in steps[step]:
            if direction == "down":
                places[node_id] = (across, along, tallest)
                across += NODE_WIDTH + _GAP_ACROSS
            else:
                places[node_id] = (along, across, heights[node_id])
                across += heights[node_id] + _GAP_ACROSS
        along += (tallest if direction == "down" else NODE_WIDTH) + _GAP_ALONG
    return places


def _spine(fmap: FlowMap, start: str) -> set[str]:
    """The questions a case meets when every answer so far sends it on ("else" after "else"): the first column."""
    kinds = {node.id: node.kind for node in fmap.nodes}
    onward = {e.source: e.target for e in fmap.edges if e.condition is None}
    spine, here = set(), start if start in kinds else None
    while here is not None and here not in spine and kinds.get(here) == "decision":
        spine.add(here)
        here = onward.get(here)
    return spine


def _depths(fmap: FlowMap, start: str) -> dict[str, int]:
    """The longest number of branches from the start (or from a node nothing shown leads to) to each node."""
    ids = [node.id for node in fmap.nodes]
    incoming = {node_id: 0 for node_id in ids}
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in fmap.edges:
        if edge.target != edge.source and edge.target not in outgoing[edge.source]:
            outgoing[edge.source].append(edge.target)
            incoming[edge.target] += 1
    depth = {node_id: 0 for node_id in ids}
    ready = deque([n for n in ids if incoming[n] == 0] or [start])
    while ready:  # a tree has no cycles (validate.py refuses them); a longest-path pass in topological order
        here = ready.popleft()
        for there in outgoing[here]:
            depth[there] = max(depth[there], depth[here] + 1)
            incoming[there] -= 1
            if incoming[there] == 0:
                ready.append(there)
    return depth


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
        targets = [(b.next, b.when, b.label) for b in node.branches] + [(node.else_, None, None)]
        for index, (target, condition, branch_label) in enumerate(targets):
            if target in kept:
                said = condition_words(ruleset, condition) if condition is not None else (
                    "none of the above: " + "; ".join(short_words(condition_words(ruleset, b.when), 30)
                                                     for b in node.branches) if node.branches else "always")
                whole = f"{index + 1}. {said}" if condition is not None else f"Otherwise ({said})"
                if branch_label:
                    whole += f" — {branch_label}"
                label = short_words(said, EDGE_LABEL_CHARS) if condition is not None else "otherwise"
                edges.append(MapEdge(f"{node.id}:{index}", node.id, target, index, label, condition,
                                     ((node.id, target) in steps) if result else None,
                                     ((node.id, index) in coverage.covered_edges) if coverage else None, whole))
    return FlowMap(nodes, edges, len(model.nodes) - len(kept))


def neighbourhood(model: Ruleset, focus: str, radius: int) -> set[str]:
    """The node `focus` and every node within `radius` branches of it, either way along them."""
    near: dict[str, set[str]] = {node.id: set() for node in model.nodes}
    for node in model.nodes:
        for target in node.targets:
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
        flags.append((short(flag.label), reads))
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
