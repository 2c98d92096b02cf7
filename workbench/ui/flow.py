"""Flow: the decision tree as a picture, with the path of a vignette or of the Try-it case, and which parts
of the tree the vignettes reach. Downloadable as DOT, and as SVG or PNG where Graphviz is installed."""

from __future__ import annotations

import shutil
from typing import Any

import streamlit as st

from ..engine import CompiledRuleset, InputError, Result, evaluate
from ..graph import GraphvizError, render
from . import common

_SHOW = {"none": "Nothing", "try": "The Try-it case", "vignette": "A vignette"}
_RANKDIR = {"TB": "Top to bottom", "LR": "Left to right"}


def page() -> None:
    opened = common.open_page("Flow")
    if opened is None:
        return
    folder, work, rs = opened
    state = st.session_state.setdefault(common.FLOW, {"show": "none", "vignette": None})
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
    rankdir = direction_column.radio("Direction", list(_RANKDIR), format_func=_RANKDIR.get, horizontal=True,
                                     key="flow.rankdir")

    if note:
        st.info(note)
    if result is not None:
        _result_line(rs, result)
    if coverage and report.coverage is not None and report.ruleset is not None:
        _coverage_line(report.coverage.to_dict(report.ruleset))
    dot = common.dot(work, common.result_key(result), coverage, rankdir)
    st.graphviz_chart(dot, width="stretch")
    _downloads(rs.id, dot)


def _vignette(column: Any, report: Any, state: dict[str, Any]) -> tuple[Result | None, str]:
    results = report.results
    if not results:
        return None, "This ruleset has no vignettes yet."
    ids = [r.id for r in results]
    marks = {r.id: ("✓ " if r.passed else "✗ ") + r.id for r in results}
    chosen = state.get("vignette") if state.get("vignette") in ids else next(
        (r.id for r in results if not r.passed), ids[0])
    chosen = column.selectbox("Vignette", ids, index=ids.index(chosen), format_func=marks.get,
                              key=f"flow.vignette.{chosen}")
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
    from .try_it import answers_of

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
