"""Ruleset (+ a path, + vignette coverage) -> Graphviz DOT text; DOT -> SVG or PNG through the `dot` binary.

DOT is written by hand, not with the `graphviz` package's classes, so that every piece of YAML text goes
through one escaping function we test (no content can break the DOT or put markup into the SVG), and so
that a 700-node ruleset takes milliseconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable
from itertools import pairwise

from ..content.model import DecisionNode, OutcomeNode, Ruleset
from ..run.engine import CompiledRuleset, Result
from ..run.replay import Coverage
from .colours import disposition_colours, faded
from .flow_map import node_flags

RANKDIRS = ("TB", "LR")
FORMATS = ("svg", "png")
FLAG = "\u2691"  # ⚑

_DECISION_FILL = "#f1f3f5"
_FADED_LINE, _FADED_TEXT = "#c8c8c8", "#9a9a9a"
_PATH_LINE = "#1f1f1f"
_STOP_LINE, _NOTE_FILL = "#e8590c", "#fff3bf"
_TITLE_WIDTH, _CONDITION_WIDTH, _NOTE_WIDTH = 30, 38, 44


class GraphvizError(RuntimeError):
    """Graphviz could not draw the graph; the message says why."""


class GraphvizNotFound(GraphvizError):
    """The `dot` program is not installed, so only DOT text can be produced."""


# --- text -----------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_WORD = re.compile(r"""(?:'[^']*'?|"[^"]*"?|[^\s'"]+)+""")


def clean(text: str) -> str:
    """One line of plain text: control characters, line breaks and direction overrides (which could show a label
    reversed) become spaces; other unicode is kept."""
    return " ".join(_UNSAFE.sub(" ", text).split())


def _escape(line: str) -> str:
    """Text for inside a quoted DOT string. Graphviz reads `\\x` escapes and HTML entities in labels, so
    backslashes, quotes and `&` are escaped, and `<`/`>` too so nothing reads as markup anywhere."""
    return (line.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")
            .replace("<", "&lt;").replace(">", "&gt;"))


def quote(text: str) -> str:
    """Any text as a safe, single-line quoted DOT string."""
    return '"' + _escape(clean(text)) + '"'


def _label(lines: Iterable[str], end: str = "\\n") -> str:
    """Lines of text as a DOT label; `end` is `\\n` (centred) or `\\l` (left-justified)."""
    body = end.join(_escape(line) for line in lines)
    return f'"{body}{end}"' if end == "\\l" else f'"{body}"'


def wrap(text: str, width: int) -> list[str]:
    """Prose wrapped at spaces; a word longer than a line is split, never dropped."""
    return textwrap.wrap(clean(text), width, break_on_hyphens=False) or [""]


def wrap_condition(text: str, width: int = _CONDITION_WIDTH) -> list[str]:
    """A condition wrapped between tokens (a quoted literal stays whole); nothing is ever cut off."""
    lines: list[str] = []
    line = ""
    for word in _WORD.findall(clean(text)):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('ch') else 's'}"


# --- DOT ------------------------------------------------------------------------------------

def _attrs(pairs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{key}={value}" for key, value in pairs.items()) + "]"


def _flag_lines(labels: list[str]) -> list[str]:
    """One ⚑ line per red flag (flow_map.node_flags), wrapped."""
    return [line for label in labels for line in wrap(f"{FLAG} {label}", _TITLE_WIDTH + 4)]


def to_dot(ruleset: CompiledRuleset, *, result: Result | None = None, coverage: Coverage | None = None,
           rankdir: str = "TB") -> str:
    """The flow as DOT: every node once, every branch labelled in order; optionally a path and coverage.

    With `result`, the path taken is bold and the rest faded; a `needs_input` stop gets a note with the
    questions still to ask. With `coverage`, nodes and branches no vignette reaches are dashed and counted.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    model = ruleset.model
    colours = disposition_colours(model)
    flags = node_flags(ruleset)
    decisions = [node for node in model.nodes if isinstance(node, DecisionNode)]

    on_path: set[str] = set(result.path) if result else set()
    # A Result names nodes, not branches: where two branches of a decision lead to the same node, both are bold.
    path_pairs = set(pairwise(result.path)) if result else set()
    stop = result.path[-1] if result and result.status == "needs_input" and result.path else None
    unreached_nodes = {n for n in coverage.nodes if n not in coverage.covered_nodes} if coverage else set()
    unreached_edges = {e for e in coverage.edges if e not in coverage.covered_edges} if coverage else set()

    out = [
        "digraph ruleset {",
        f"  graph {_attrs(_graph_attrs(model, result, coverage, unreached_nodes, unreached_edges, rankdir))};",
        '  node [shape=box, fontname="Helvetica,Arial,sans-serif", fontsize=12, margin="0.15,0.08"];',
        '  edge [fontname="Helvetica,Arial,sans-serif", fontsize=10, arrowsize=0.7];',
    ]
    for node in model.nodes:
        if isinstance(node, DecisionNode):
            lines = wrap(node.title, _TITLE_WIDTH) + _flag_lines(flags[node.id])
            attrs = {"label": _label(lines), "style": "rounded,filled", "fillcolor": f'"{_DECISION_FILL}"',
                     "tooltip": quote(f"{node.id}: {node.description or node.title}")}
        else:
            assert isinstance(node, OutcomeNode)
            lines = (wrap(node.title, _TITLE_WIDTH) + [f"Disposition: {node.disposition}"]
                     + _flag_lines(flags[node.id]))
            attrs = {"label": _label(lines), "style": "filled",
                     "fillcolor": f'"{colours.get(node.disposition, "#ffffff")}"',
                     "tooltip": quote(f"{node.id}: {node.advice or node.title}")}
        if node.id == model.start:
            attrs["peripheries"] = "2"
        if result is not None:
            if node.id in on_path:
                attrs["penwidth"] = "3"
                attrs["color"] = f'"{_STOP_LINE if node.id == stop else _PATH_LINE}"'
            else:
                attrs["color"] = f'"{_FADED_LINE}"'
                attrs["fontcolor"] = f'"{_FADED_TEXT}"'
                fill = attrs["fillcolor"].strip('"')
                attrs["fillcolor"] = f'"{faded(fill)}"'
        if node.id in unreached_nodes:
            attrs["style"] = f'"{attrs["style"]},dashed"'
        else:
            attrs["style"] = f'"{attrs["style"]}"'
        out.append(f"  {quote(node.id)} {_attrs(attrs)};")

    for decision in decisions:
        count = len(decision.branches)
        targets = [(b.next, wrap_condition(f"{i + 1}. {b.when}")
                    + (wrap(f"({b.label})", _CONDITION_WIDTH) if b.label else []))
                   for i, b in enumerate(decision.branches)]
        targets.append((decision.else_, ["else"]))
        for index, (target, lines) in enumerate(targets):
            attrs = {"label": _label(lines, "\\l")}
            styles = []
            if result is not None:
                if (decision.id, target) in path_pairs:
                    styles.append("bold")
                    attrs["penwidth"] = "2.5"
                    attrs["color"] = f'"{_PATH_LINE}"'
                else:
                    attrs["color"] = f'"{_FADED_LINE}"'
                    attrs["fontcolor"] = f'"{_FADED_TEXT}"'
            if (decision.id, index) in unreached_edges:
                styles.append("dashed")
            if styles:
                attrs["style"] = f'"{",".join(styles)}"'
            attrs["tooltip"] = quote(f"{decision.id} {'else' if index == count else f'branch {index + 1}'}")
            out.append(f"  {quote(decision.id)} -> {quote(target)} {_attrs(attrs)};")

    if stop is not None and result is not None:
        out.extend(_needs_note(ruleset, stop, result.needs))
    out.extend(_legend(model, colours, bool(model.red_flags)))
    out.append("}")
    return "\n".join(out) + "\n"


def _graph_attrs(model: Ruleset, result: Result | None, coverage: Coverage | None, unreached_nodes: set[str],
                 unreached_edges: set[tuple[str, int]], rankdir: str) -> dict[str, str]:
    lines = wrap(f"{model.title} ({model.id} {model.version})", 90)
    if result is not None:
        if result.status == "complete":
            lines.append(f"Path in bold: ends at {result.outcome} ({result.disposition})")
        else:
            where = result.path[-1] if result.path else model.start
            lines.append(f"Path in bold: stops at {where}, needs input: {', '.join(result.needs) or 'none'}")
    if coverage is not None:
        if unreached_nodes or unreached_edges:
            lines.append(f"Dashed, not reached by any vignette: {_plural(len(unreached_nodes), 'node')}, "
                         f"{_plural(len(unreached_edges), 'branch')}")
        else:
            lines.append("Every node and branch is reached by a vignette")
    return {"rankdir": rankdir, "label": _label(lines), "labelloc": "t", "fontsize": "14",
            "fontname": '"Helvetica,Arial,sans-serif"', "nodesep": "0.35", "ranksep": "0.45",
            "tooltip": quote(model.title)}


def _needs_note(ruleset: CompiledRuleset, stop: str, needs: list[str]) -> list[str]:
    """A note beside the node where evaluation stopped, with the questions still to ask."""
    lines = ["Still to ask:"]
    for input_id in needs:
        spec = ruleset.inputs.get(input_id)
        question = spec.question if spec is not None else input_id
        lines.extend(wrap(f"\u2022 {question} ({input_id})", _NOTE_WIDTH))
    note = {"label": _label(lines, "\\l"), "shape": "note", "style": "filled", "fillcolor": f'"{_NOTE_FILL}"',
            "color": f'"{_STOP_LINE}"', "fontsize": "10", "tooltip": '"needs input"'}
    link = {"style": "dashed", "color": f'"{_STOP_LINE}"', "arrowhead": "none"}
    return [f'  "_needs" {_attrs(note)};', f'  {quote(stop)} -> "_needs" {_attrs(link)};']


def _legend(model: Ruleset, colours: dict[str, str], any_flags: bool) -> list[str]:
    """One table listing each disposition beside its colour, most urgent first, and what ⚑ means.

    The only HTML-like label: one node keeps the legend compact, and every text in it goes through `_html`."""
    rows = ['<tr><td colspan="2" border="0"><b>Dispositions, most urgent first</b></td></tr>']
    for disposition in model.dispositions:
        text = '<br align="left"/>'.join(_html(line) for line in wrap(disposition.label, 46))
        rows.append(f'<tr><td bgcolor="{colours[disposition.id]}" width="28"></td>'
                    f'<td align="left" balign="left"><b>{_html(disposition.id)}</b><br align="left"/>{text}</td></tr>')
    if any_flags:
        rows.append(f'<tr><td border="0">{FLAG}</td><td border="0" align="left">'
                    "red flag that reads the same inputs as the conditions here</td></tr>")
    table = '<table border="0" cellborder="1" cellspacing="0" cellpadding="5">' + "".join(rows) + "</table>"
    return [f'  "_legend" [shape=none, margin=0, fontsize=10, tooltip="legend", label=<{table}>];']


def _html(text: str) -> str:
    """Text for an HTML-like label: markup characters become entities, so no content becomes markup."""
    return (clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


# --- rendering ------------------------------------------------------------------------------

def render(dot_text: str, fmt: str, *, timeout: float = 60.0) -> bytes:
    """DOT text drawn as SVG or PNG by Graphviz's `dot`; GraphvizNotFound when it is not installed."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound("Graphviz's `dot` program is not installed, so the graph can only be written as "
                               "DOT text (--format dot). Install Graphviz (apt-get install graphviz, "
                               "brew install graphviz) to draw SVG or PNG.")
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz took longer than {timeout:g} seconds to draw the graph") from None
    except OSError as exc:
        raise GraphvizError(f"Graphviz's `dot` could not be run: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        raise GraphvizError(f"Graphviz could not draw the graph: {message}")
    return done.stdout
