"""The impact of a new version drawn as a transition matrix a person reads at a glance: one row per disposition
under the old version, one column per disposition under the new, most urgent first on both, so every case that
became less urgent sits right of the diagonal, in red, and every case that became more urgent left of it.

Two forms of one picture: SVG text (written by the workbench itself, no fonts or scripts fetched: it shows in a
browser, a page or a report offline) and a Vega-Lite specification with its data inline, for a page that draws
charts itself."""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

from .impact import Impact

NEEDS = "needs input"
_LESS, _MORE, _SAME, _EMPTY = (214, 39, 40), (31, 119, 180), (127, 127, 127), "#f7f7f7"
CELL, LABEL = 64, 120
CHAR = 6.6
"""Width of a character of the 12 px sans-serif labels, on average, in pixels: enough to keep names inside."""


def _axes(result: Impact) -> list[str]:
    used = {t.before for t in result.transitions} | {t.after for t in result.transitions}
    axis = [d for d in result.order if d in used] or list(result.order)
    return axis + ([NEEDS] if None in used else [])


def matrix(result: Impact) -> tuple[list[str], list[list[int]]]:
    """The dispositions in urgency order (then "needs input") and counts[from][to]."""
    axis = _axes(result)
    index = {d: i for i, d in enumerate(axis)}
    counts = [[0] * len(axis) for _ in axis]
    for t in result.transitions:
        counts[index[t.before or NEEDS]][index[t.after or NEEDS]] += t.count
    return axis, counts


def _kind(axis: list[str], i: int, j: int) -> str:
    if i == j:
        return "unchanged"
    if NEEDS in (axis[i], axis[j]):
        return "needs input"
    return "less urgent" if j > i else "more urgent"


def transition_svg(result: Impact, labels: Mapping[str, str] | None = None) -> str:
    """The transition matrix as a standalone SVG document; `labels` names the dispositions in the ruleset's words
    (ids where it gives none). The margins grow with the longest name, so none is cut off."""
    axis, counts = matrix(result)
    names = [(labels or {}).get(d, d) for d in axis]
    n = len(axis)
    biggest = max((c for row in counts for c in row), default=0) or 1
    longest = max((len(name) for name in names), default=0)
    left = max(LABEL, round(CHAR * longest) + 12)  # row names, right-aligned before the first column
    top = max(LABEL, round(CHAR * longest * 0.72) + 30)  # column names, turned 45°, above the first row
    width = max(left + n * CELL + round(CHAR * longest * 0.72), 560)
    height = top + n * CELL + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">',
             f"<title>{escape(result.old)} to {escape(result.new)}: {result.changed:,} of {result.total:,} cases "
             f"change disposition, {result.less_urgent_count:,} become less urgent</title>",
             f'<text x="{left}" y="16" font-weight="bold">{escape(result.new)} (columns) against '
             f'{escape(result.old)} (rows)</text>']
    for j, name in enumerate(names):
        x = left + j * CELL + CELL / 2
        parts.append(f'<text x="{x}" y="{top - 8}" text-anchor="start" transform="rotate(-45 {x} {top - 8})">'
                     f"{escape(name)}</text>")
    for i, name in enumerate(names):
        y = top + i * CELL
        parts.append(f'<text x="{left - 6}" y="{y + CELL / 2 + 4}" text-anchor="end">{escape(name)}</text>')
        for j in range(n):
            count, kind = counts[i][j], _kind(axis, i, j)
            fill = _EMPTY if not count else _shade(kind, count, biggest)
            x = left + j * CELL
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" fill="{fill}" '
                         f'stroke="{"#b00" if kind == "less urgent" and count else "#ddd"}">'
                         f"<title>{escape(names[i])} → {escape(names[j])}: {count:,} ({kind})</title></rect>")
            if count:
                colour = "#fff" if math.log1p(count) / math.log1p(biggest) > 0.55 else "#000"
                parts.append(f'<text x="{x + CELL / 2 - 1}" y="{y + CELL / 2 + 4}" text-anchor="middle" '
                             f'fill="{colour}">{count:,}</text>')
    legend_y = top + n * CELL + 24
    parts.append(f'<text x="{left}" y="{legend_y}">right of the diagonal: less urgent (red); left: more urgent '
                 "(blue)</text>")
    parts.append(f'<text x="{left}" y="{legend_y + 18}">{result.changed:,} of {result.total:,} cases change; '
                 f"{result.less_urgent_count:,} become less urgent</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _shade(kind: str, count: int, biggest: int) -> str:
    base = _LESS if kind == "less urgent" else _MORE if kind == "more urgent" else _SAME
    strength = 0.15 + 0.85 * math.log1p(count) / math.log1p(biggest)
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in base)


def transition_spec(result: Impact) -> dict[str, Any]:
    """The same matrix as a Vega-Lite specification, its data inline (nothing fetched)."""
    axis, counts = matrix(result)
    values = [{"from": axis[i], "to": axis[j], "count": counts[i][j], "change": _kind(axis, i, j)}
              for i in range(len(axis)) for j in range(len(axis)) if counts[i][j]]
    colour = {"field": "change", "type": "nominal", "scale": {
        "domain": ["less urgent", "more urgent", "unchanged", "needs input"],
        "range": ["#d62728", "#1f77b4", "#bdbdbd", "#9467bd"]}}
    return {"title": f"{result.old} → {result.new}: {result.changed:,} of {result.total:,} cases change",
            "data": {"values": values},
            "encoding": {"x": {"field": "to", "type": "ordinal", "sort": axis, "title": f"{result.new}"},
                         "y": {"field": "from", "type": "ordinal", "sort": axis, "title": f"{result.old}"}},
            "layer": [{"mark": "rect", "encoding": {"color": colour, "opacity": {
                           "field": "count", "type": "quantitative", "scale": {"type": "log", "range": [0.3, 1]},
                           "legend": None},
                           "tooltip": [{"field": "from"}, {"field": "to"}, {"field": "count", "format": ","},
                                       {"field": "change"}]}},
                      {"mark": {"type": "text"}, "encoding": {"text": {"field": "count", "format": ","}}}]}
