"""Flow: the decision tree on a canvas you can pan and zoom, readable at 100 %; click a node to read it whole
(question or outcome, conditions, advice, citations, the vignettes that reach it) and open its lines in the
Editor; focus on one node's neighbourhood; the path of a vignette or of the Try-it case, and which parts of
the tree the vignettes reach. The same flow downloads as DOT, SVG or PNG (Graphviz)."""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

import streamlit as st

from ..content.loader import read_yaml
from ..content.model import DecisionNode, OutcomeNode
from ..drawing.flow_map import NODE_WIDTH, FlowMap, MapEdge, MapNode, card_lines, flow_map, layout, short
from ..drawing.graph import GraphvizError, render
from ..publish.line_history import rules
from ..run.engine import CompiledRuleset, InputError, Result, evaluate
from ..run.explain import input_label
from ..run.replay import ReplayReport
from ..run.words import condition_words
from . import common
from .case import answers_of

_SHOW = {"none": "Nothing", "try": "The Try-it case", "vignette": "A vignette"}
_DIRECTION = {"down": "Top to bottom", "right": "Left to right"}
_ALL = ""
CANVAS_HEIGHT = 860
"""A tall viewport: nearly a whole 900-pixel-high window once scrolled to, so the fitted tree is as large as the
page allows."""
_PATH, _STOP, _FADED = "#1f1f1f", "#e8590c", 0.4


def page() -> None:
    opened = common.open_page("Flow")
    if opened is None:
        return
    folder, work, rs = opened
    state = st.session_state.setdefault(common.FLOW, {"show": "none", "vignette": None, "focus": _ALL})
    report = common.replayed(work)

    show_column, pick_column, coverage_column, direction_column = st.columns([3, 3, 2, 3], vertical_alignment="bottom")
    show = state.get("show") or "none"
    show = show_column.selectbox("Show the path of", list(_SHOW), index=list(_SHOW).index(show),
                                 format_func=_SHOW.get, key=f"flow.show.{show}")
    state["show"] = show
    result: Result | None = None
    note = ""
    if show == "vignette":
        result, note = _vignette(pick_column, report, state)
    elif show == "try":
        result, note = _try_case(rs)
    coverage = coverage_column.toggle("Coverage", key="flow.coverage",
                                      help="Dashed: nodes and branches that no vignette reaches.")
    direction = direction_column.radio("Direction", list(_DIRECTION), format_func=_DIRECTION.get, horizontal=True,
                                       key="flow.direction")
    focus, radius = _focus(rs, state)
    zoom = _failing_end(report, state) if show == "vignette" and focus == _ALL else None
    if zoom:  # where a failing vignette ends: its neighbourhood, fitted, so the outcome is in view at once
        focus, radius = zoom, 2

    if note:
        st.info(note)
    if result is not None:
        _result_line(rs, result)
    if coverage and report.coverage is not None and report.ruleset is not None:
        _coverage_line(report.coverage.to_dict(report.ruleset))
    covered = report.coverage if coverage else None
    fmap = flow_map(rs, result=result, coverage=covered, focus=focus or None, radius=radius)
    clicked = _canvas(fmap, layout(fmap, focus or rs.model.start, direction),
                      direction, (work, common.result_key(result), coverage, direction, focus, radius))
    titles = {node.id: node.title for node in rs.model.nodes}
    if zoom:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.caption(f"Zoomed to where the failing vignette ends: **{common.escape_md(titles.get(zoom, zoom))}** "
                     f"and the nodes within 2 steps of it; {fmap.hidden} more are hidden.")
        right.button("Show the whole flow", key="flow.whole", on_click=_whole, args=(state,))
    elif fmap.hidden:
        st.caption(f"Showing {common.plural(len(fmap.nodes), 'node')} within {radius} "
                   f"step{'s' if radius != 1 else ''} of **{common.escape_md(titles.get(focus, focus))}**; "
                   f"{fmap.hidden} more are hidden.")
    else:
        st.caption("The whole flow, fitted to the page. Drag to move around, scroll or use + and − to zoom, click "
                   "a node to read it; hover over a condition to read it whole. Every node is also listed below.")
    if clicked:
        state["selected"] = clicked
        _scroll_to_details()
    details, outline = st.columns([3, 2], gap="medium")
    with outline:
        _outline(rs, fmap, state)
    with details, st.container(key="flow-details"):
        _details(folder, work, rs, report, state.get("selected") or focus or rs.model.start)
    _downloads(rs.id, common.dot(work, common.result_key(result), coverage, "TB" if direction == "down" else "LR"))


# --- the canvas -----------------------------------------------------------------------------

def _canvas(fmap: FlowMap, places: dict[str, tuple[float, float, float]], direction: str,
            signature: tuple[Any, ...]) -> str | None:
    """React Flow (streamlit-flow-component) with the cards where flow_map.layout puts them, at 100 % from the
    top left; the id of a node clicked in this run, if any.

    The canvas keeps its own state (where you panned to) between runs, and is given a new one only when what
    it shows changes, so clicking a node does not throw the view back to the start."""
    from streamlit_flow import streamlit_flow
    from streamlit_flow.layouts import ManualLayout
    from streamlit_flow.state import StreamlitFlowState

    store = st.session_state.setdefault("flow.canvas_state", {})
    if store.get("signature") != signature:
        store["state"] = StreamlitFlowState([*(_node(n, places[n.id], direction) for n in fmap.nodes),
                                             _spacer(places)], [_edge(e) for e in fmap.edges])
        store["signature"] = signature
        store["seen"] = None
    # Fitted on open (the whole tree, or the part in focus, never an empty view); no minimap, which would sit on
    # the nodes; the zoom controls sit in the margin fitting leaves at the bottom left.
    shown = streamlit_flow("flow.canvas", store["state"], height=CANVAS_HEIGHT, fit_view=True, show_controls=True,
                           show_minimap=False, layout=ManualLayout(), get_node_on_click=True, pan_on_drag=True,
                           allow_zoom=True, min_zoom=0.1, hide_watermark=True)
    _edge_titles(fmap)
    store["state"] = shown
    clicked = shown.selected_id if shown.selected_id not in (store.get("seen"), SPACER) else None
    store["seen"] = shown.selected_id
    return clicked


def _edge_titles(fmap: FlowMap) -> None:
    """Each edge's whole condition as its hover text (an SVG <title>), which the component has no option for: a
    few lines of script find its frame (same origin) and add them. Only the texts go in, as JSON."""
    import json

    titles = json.dumps({edge.id: edge.words for edge in fmap.edges}).replace("</", "<\\/")
    st.html(f"""<script>(function () {{
  const titles = {titles};
  let tries = 0;
  function label() {{
    const frame = document.querySelector('iframe[title*="streamlit_flow"]');
    const doc = frame && frame.contentDocument;
    const edges = doc ? doc.querySelectorAll('.react-flow__edge') : [];
    if (!edges.length) {{ if (tries++ < 100) setTimeout(label, 150); return; }}
    edges.forEach(function (edge) {{
      const id = (edge.getAttribute('data-testid') || '').replace('rf__edge-', '');
      if (!(id in titles)) return;
      let title = edge.querySelector('title');
      if (!title) {{ title = doc.createElementNS('http://www.w3.org/2000/svg', 'title'); edge.prepend(title); }}
      title.textContent = titles[id];
      edge.setAttribute('aria-label', titles[id]);
    }});
    if (tries++ < 100) setTimeout(label, 1000);  // again as the canvas redraws (a click, a zoom)
  }}
  label();
}})();</script>""", unsafe_allow_javascript=True)


def _outline(rs: CompiledRuleset, fmap: FlowMap, state: dict[str, Any]) -> None:
    """The same nodes and conditions as a list, to read and move through with the keyboard (or a screen reader):
    choosing a node here shows it whole, as a click on the canvas does."""
    ids = [node.id for node in fmap.nodes]
    titles = {node.id: node.title for node in rs.model.nodes}
    kinds = {node.id: ("Question" if node.kind == "decision" else "Outcome") for node in fmap.nodes}
    selected = state.get("selected") if state.get("selected") in ids else None
    picked = common.choose(st, "Read a node", [""] + ids, selected or "", key="flow.read",
                           labels=lambda n: "Choose a node…" if not n else f"{kinds[n]}: {titles[n]}",
                           help="Every node of the flow shown above, in order; the one you choose is shown whole.")
    if picked and picked != selected:
        state["selected"] = picked
        st.rerun()
    with st.expander("The flow as a list", expanded=False):
        lines = []
        for node in fmap.nodes:
            out = [e for e in fmap.edges if e.source == node.id]
            sends = f" → {common.escape_md(short(node.disposition_label or ''))}" if node.kind == "outcome" else ""
            lines.append(f"**{common.escape_md(node.title)}**{sends}")
            lines += [f"- {common.escape_md(e.words)} → {common.escape_md(titles.get(e.target, e.target))}"
                      for e in out]
        st.markdown("\n".join(lines))


def _scroll_to_details() -> None:
    """After a click on the canvas, bring the node's details (below it) into view."""
    st.html("""<script>setTimeout(function () {
  const box = document.querySelector('.st-key-flow-details');
  if (box) box.scrollIntoView({behavior: 'smooth', block: 'start'});
}, 300);</script>""", unsafe_allow_javascript=True)


def _whole(state: dict[str, Any]) -> None:
    state["whole"] = state.get("vignette")


def _failing_end(report: ReplayReport, state: dict[str, Any]) -> str | None:
    """Where the chosen vignette ends when it fails (its outcome, or where it stopped), unless the whole flow was
    asked for."""
    chosen = state.get("vignette")
    found = next((r for r in report.results if r.id == chosen), None)
    if found is None or found.passed or found.actual is None or not found.actual["path"]:
        return None
    if state.get("whole") == chosen:
        return None
    return str(found.actual["path"][-1])


SPACER = "wb-margin"
_MARGIN = 90


def _spacer(places: dict[str, tuple[float, float, float]]) -> Any:
    """An invisible card beyond the bottom left corner of the flow: fitting the view makes room for it, so the zoom
    controls (drawn in that corner) never sit on a card."""
    from streamlit_flow.elements import StreamlitFlowNode

    left = min(x for x, _, _ in places.values()) - _MARGIN
    bottom = max(y + h for _, y, h in places.values())
    return StreamlitFlowNode(SPACER, (left, bottom), {"content": ""}, "default", draggable=False, selectable=False,
                             connectable=False, style={"visibility": "hidden", "width": 10, "height": 10, "padding": 0,
                                                       "pointerEvents": "none", "border": "none"})


def _node(node: MapNode, place: tuple[float, float, float], direction: str) -> Any:
    from streamlit_flow.elements import StreamlitFlowNode

    title, *rest = card_lines(node)
    lines = [f"**{common.escape_md(title)}**", *(common.escape_md(line) for line in rest)]
    border = ("3px solid " + (_STOP if node.stop else _PATH)) if node.on_path else "1px solid #868e96"
    if node.start:
        border = f"{'4px' if node.on_path else '3px'} double {_PATH if node.on_path else '#495057'}"
    if node.reached is False:
        border = border.replace("solid", "dashed").replace("double", "dashed")
    style = {"background": node.fill, "border": border, "borderRadius": "10px" if node.kind == "decision" else "3px",
             "width": NODE_WIDTH, "height": place[2], "padding": "8px 10px", "boxSizing": "border-box",
             "fontSize": "14px", "lineHeight": "1.35", "textAlign": "left",
             "color": "#1f1f1f", "opacity": _FADED if node.on_path is False else 1}
    across = direction == "right"
    kind = "output" if node.kind == "outcome" else "input" if node.start else "default"  # no loose handles
    return StreamlitFlowNode(node.id, place[:2], {"content": "  \n".join(lines)}, kind,
                             source_position="right" if across else "bottom",
                             target_position="left" if across else "top", draggable=False, selectable=True,
                             connectable=False, style=style)


def _edge(edge: MapEdge) -> Any:
    from streamlit_flow.elements import StreamlitFlowEdge

    colour = _PATH if edge.on_path else "#868e96"
    style: dict[str, Any] = {"stroke": colour, "strokeWidth": 3 if edge.on_path else 1.5}
    if edge.reached is False:
        style["strokeDasharray"] = "6 4"
    if edge.on_path is False:
        style["opacity"] = _FADED
    return StreamlitFlowEdge(edge.id, edge.source, edge.target, "smoothstep", marker_end={"type": "arrowclosed",
                                                                                          "color": colour},
                             label=edge.label, label_show_bg=True, label_style={"fontSize": "13px", "fill": colour},
                             label_bg_style={"fill": "#ffffff"}, style=style)


def _focus(rs: CompiledRuleset, state: dict[str, Any]) -> tuple[str, int]:
    ids = [_ALL] + [node.id for node in rs.model.nodes]
    titles = {node.id: f"{node.title} ({node.id})" for node in rs.model.nodes}
    focus = state.get("focus") if state.get("focus") in ids else _ALL
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    focus = common.choose(left, "Focus on", ids, focus, key="flow.focus",
                          labels=lambda n: "The whole flow" if n == _ALL else titles[n],
                          help="Show only the nodes near one node, to read a busy part of the flow.")
    state["focus"] = focus
    radius = int(right.number_input("Steps around it", min_value=1, max_value=6, value=state.get("radius", 1),
                                    key="flow.radius", disabled=focus == _ALL))
    state["radius"] = radius
    return focus, radius


# --- one node, whole --------------------------------------------------------------------------

def _details(folder: Path, work: common.Texts, rs: CompiledRuleset, report: ReplayReport, node_id: str) -> None:
    model = rs.model
    node = next((n for n in model.nodes if n.id == node_id), None)
    if node is None:
        st.caption("Click a node to read it here.")
        return
    titles = {n.id: n.title for n in model.nodes}
    references = {r.id: r for r in model.references}
    with st.container(border=True):
        kind = "Question" if isinstance(node, DecisionNode) else "Outcome"
        st.caption(f"{kind}" + (" · where every case starts" if node.id == model.start else ""), help=f"id: {node.id}")
        st.markdown(f"#### {common.escape_md(node.title)}")
        if isinstance(node, DecisionNode):
            if node.description:
                st.markdown(common.escape_md(node.description))
            for i, branch in enumerate(node.branches):
                label = f" — *{common.escape_md(branch.label)}*" if branch.label else ""
                st.markdown(f"**{i + 1}.** If {common.escape_md(condition_words(rs, branch.when))}{label}  \n"
                            f"→ {common.escape_md(titles[branch.next])}",
                            help=f"As written: {branch.when} → {branch.next}")
            st.markdown(f"**Otherwise** → {common.escape_md(titles[node.else_])}", help=f"else → {node.else_}")
            asked = sorted({name for b in rs.steps[node.id].branches for name in b.reads})
            questions = {spec.id: spec.question for spec in model.inputs}
            st.markdown("**Asks**  \n" + "  \n".join(
                f"{common.escape_md(input_label(rs, name))}: {common.escape_md(questions.get(name, name))}"
                for name in asked))
        else:
            assert isinstance(node, OutcomeNode)
            labels = {d.id: d.label for d in model.dispositions}
            colour = common.colours(model).get(node.disposition, "#eef0f3")
            st.markdown(f'<div style="border-left:0.5rem solid {colour};padding:0.1rem 0.6rem">'
                        f"{html.escape(labels.get(node.disposition, node.disposition))}</div>",
                        unsafe_allow_html=True)
            if node.advice:
                st.markdown(common.escape_md(node.advice))
        if node.cites:
            st.markdown("**Cites**  \n" + "  \n".join(
                common.escape_md(references[c].title if c in references else c) for c in node.cites))
        reaching = [r for r in report.results if r.actual is not None and node.id in r.actual["path"]]
        if reaching:
            marks = ", ".join(("✓ " if r.passed else "✗ ") + f"`{r.id}`" for r in reaching[:12])
            more = f" and {len(reaching) - 12} more" if len(reaching) > 12 else ""
            st.markdown(f"**Reached by {common.plural(len(reaching), 'vignette')}**: {marks}{more}")
        else:
            st.markdown("**No vignette reaches it.**")
        line = _line_of(work, node.id)
        left, right = st.columns(2)
        left.button("Open in the Editor", key=f"flow.edit.{node.id}", icon=":material/edit_note:",
                    help=f"Line {line} of ruleset.yaml" if line else None, on_click=common.edit_at,
                    args=(folder / common.RULESET_FILE, line))
        right.button("Focus here", key=f"flow.focus_here.{node.id}", icon=":material/filter_center_focus:",
                     on_click=_focus_on, args=(node.id,))


def _focus_on(node_id: str) -> None:
    """A button callback (see common.edit_at for why): show this node's neighbourhood."""
    st.session_state[common.FLOW]["focus"] = node_id


def _line_of(work: common.Texts, node_id: str) -> int | None:
    document, _ = read_yaml(work.ruleset, work.ruleset_file)
    if document is None:
        return None
    return next((r.first for r in rules(document) if r.section == "nodes" and r.id == node_id), None)


# --- what is shown on it ----------------------------------------------------------------------

def _vignette(column: Any, report: Any, state: dict[str, Any]) -> tuple[Result | None, str]:
    results = report.results
    if not results:
        return None, "This ruleset has no vignettes yet."
    ids = [r.id for r in results]
    marks = {r.id: ("✓ " if r.passed else "✗ ") + r.id for r in results}
    chosen = state.get("vignette") if state.get("vignette") in ids else next(
        (r.id for r in results if not r.passed), ids[0])
    chosen = common.choose(column, "Vignette", ids, chosen, labels=marks.get, key="flow.vignette")
    state["vignette"] = chosen
    found = results[ids.index(chosen)]
    if found.actual is None:
        return None, f"Vignette '{chosen}' cannot be run: " + " ".join(found.differences)
    actual = found.actual
    result = Result(actual["status"], actual["outcome"], actual["disposition"], actual["red_flags"], actual["path"],
                    actual["needs"])
    if not found.passed:
        return result, "This vignette fails: " + "; ".join(found.differences)
    return result, ""


def _try_case(rs: CompiledRuleset) -> tuple[Result | None, str]:
    case = st.session_state.get(common.CASE)
    if not case or case.get("ruleset") != rs.id or not case.get("raw"):
        return None, "No case has been tried yet: answer some questions on the Try it page."
    try:
        return evaluate(rs, answers_of(rs, case["raw"])), ""
    except InputError as exc:
        return None, "The Try-it answers no longer fit the ruleset: " + " ".join(p.message for p in exc.problems)


def _result_line(rs: CompiledRuleset, result: Result) -> None:
    labels = {d.id: d.label for d in rs.model.dispositions}
    colour = common.colours(rs.model).get(result.disposition or "", "#eef0f3")
    if result.status == "complete":
        text = f"**{common.escape_md(labels.get(result.disposition or '', str(result.disposition)))}**"
    else:
        text = "**Not decided yet** — still to ask: " + ", ".join(f"`{n}`" for n in result.needs)
    flags = f" · ⚑ {common.plural(len(result.red_flags), 'red flag')}" if result.red_flags else ""
    st.markdown(f'<div style="border-left:0.6rem solid {colour};padding:0.2rem 0.7rem">\n\n{text}{flags}\n\n</div>',
                unsafe_allow_html=True)


def _coverage_line(coverage: dict[str, Any]) -> None:
    nodes, branches = coverage["nodes"], coverage["branches"]
    st.markdown(f"Vignettes reach **{nodes['covered']} of {nodes['total']} nodes** ({nodes['percent']:g}%) and "
                f"**{branches['covered']} of {branches['total']} branches** ({branches['percent']:g}%).")
    missing = nodes["uncovered"] + branches["uncovered"]
    if missing:
        st.caption("Not reached: " + ", ".join(missing))


def _downloads(ruleset_id: str, dot: str) -> None:
    st.caption("The same flow as a picture, drawn by Graphviz, to print or put in a document:")
    dot_column, svg_column, png_column, _ = st.columns([1, 1, 1, 3])
    dot_column.download_button("DOT", dot.encode("utf-8"), file_name=f"{ruleset_id}.dot", mime="text/vnd.graphviz",
                               key="flow.download.dot", on_click="ignore", icon=":material/download:")
    if shutil.which("dot") is None:
        st.caption("SVG and PNG downloads need Graphviz's `dot` program, which is not installed here "
                   "(apt-get install graphviz). The DOT file opens in any Graphviz viewer.")
        return
    svg_column.download_button("SVG", lambda: _render(dot, "svg"), file_name=f"{ruleset_id}.svg",
                               mime="image/svg+xml", key="flow.download.svg", on_click="ignore",
                               icon=":material/download:")
    png_column.download_button("PNG", lambda: _render(dot, "png"), file_name=f"{ruleset_id}.png", mime="image/png",
                               key="flow.download.png", on_click="ignore", icon=":material/download:")


@st.cache_data(max_entries=32, show_spinner=False)
def _render(dot: str, fmt: str) -> bytes:
    """Drawn only when a download is asked for (Graphviz takes a moment), then kept."""
    try:
        return render(dot, fmt)
    except GraphvizError as exc:
        return str(exc).encode("utf-8")
