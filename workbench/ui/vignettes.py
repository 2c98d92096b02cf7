"""Vignettes: replay every test case with one click, see what passes and precisely what differs, open a case
to see its path, and add, edit or delete cases (through the core's text edits, saved safely)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ..content import authoring
from ..content.loader import read_yaml
from ..files import SaveConflict, read_versioned
from ..people import access
from ..problems import ProblemError
from ..run.engine import CompiledRuleset
from ..run.replay import ReplayReport, VignetteResult, vignette_paths
from . import common
from .case import load_case


def page() -> None:
    opened = common.open_page("Vignettes")
    if opened is None:
        return
    folder, work, rs = opened
    state = st.session_state.setdefault(common.VIGNETTES, {"open": None})
    if not common.may("replay"):
        common.not_allowed("replay", "Replaying the vignettes")
        return
    st.caption(f"Every case in {common.plural(len(vignette_paths(folder)), 'vignette file')} of "
               f"`{folder.name}/vignettes`, replayed on the ruleset as it is now, unsaved edits included, and again "
               "whenever the ruleset or a vignette changes.")
    report = common.replayed(work)
    _summary(report, work)
    if report.results:
        _failing(rs, report, state)
        _table(rs, report)
        _detail(folder, rs, report, state)
    _add(folder, rs)


# --- results --------------------------------------------------------------------------------

def _summary(report: ReplayReport, work: common.Texts) -> None:
    total, passed, failed = len(report.results), report.passed, report.failed
    columns = st.columns(5)
    columns[0].metric("Vignettes", total)
    columns[1].metric("Pass", passed)
    columns[2].metric("Fail", failed)
    if report.coverage is not None and report.ruleset is not None:
        coverage = report.coverage.to_dict(report.ruleset)
        columns[3].metric("Nodes reached", f"{coverage['nodes']['percent']:g}%")
        columns[4].metric("Branches reached", f"{coverage['branches']['percent']:g}%")
    if total and not failed:
        st.success(f"All {total} vignettes pass.")
    elif failed:
        st.error(f"{failed} of {total} vignettes fail.")
    file_problems = [p for p in report.problems if p.file != work.ruleset_file]
    if file_problems:
        with st.expander(f"Problems in the vignette files ({len(file_problems)})", expanded=True):
            common.show_problems(file_problems, with_file=True)


def _failing(rs: CompiledRuleset, report: ReplayReport, state: dict[str, Any]) -> None:
    """Each failing vignette with what differs, whole and in the ruleset's words: what a reviewer reads first."""
    failing = [r for r in report.results if not r.passed]
    for result in failing[:20]:
        with st.container(border=True):
            head, button = st.columns([5, 1], vertical_alignment="center")
            head.markdown(f"**✗ {common.escape_md(result.id)}**"
                          + (f" — {common.escape_md(result.narrative)}" if result.narrative else ""))
            if button.button("Open", key=f"vignettes.failing.{result.id}"):
                state["open"] = result.id
            for line in clinical_differences(rs, result):
                st.markdown(f"- {line}")
    if len(failing) > 20:
        st.caption(f"… and {len(failing) - 20} more failing vignettes in the table below.")


def clinical_differences(rs: CompiledRuleset, result: VignetteResult) -> list[str]:
    """What differs, in the ruleset's words (labels and titles, not ids); the core's own sentences when the
    answers themselves do not fit."""
    if result.actual is None:
        return [common.escape_md(d) for d in result.differences]
    words = common.clinical_words(rs.model)
    expected, actual = result.expected, result.actual
    out = []
    if expected.get("disposition") and expected["disposition"] != actual.get("disposition"):
        got = (f"**{common.escape_md(words['dispositions'].get(actual['disposition'], actual['disposition']))}**"
               if actual.get("disposition") else "no disposition yet: it still asks "
               + "; ".join(common.escape_md(words["inputs"].get(n, n)) for n in actual.get("needs") or []))
        out.append(f"Expected **{common.escape_md(words['dispositions'].get(expected['disposition'], ''))}**, "
                   f"but the ruleset gives {got}.")
    if expected.get("outcome") and expected["outcome"] != actual.get("outcome") and actual.get("outcome"):
        out.append(f"Expected to end at *{common.escape_md(words['nodes'].get(expected['outcome'], ''))}*, but it "
                   f"ends at *{common.escape_md(words['nodes'].get(actual['outcome'], ''))}*.")
    if expected.get("red_flags") is not None and set(expected["red_flags"]) != set(actual.get("red_flags") or []):
        missing = [words["flags"].get(f, f) for f in expected["red_flags"] if f not in actual["red_flags"]]
        extra = [words["flags"].get(f, f) for f in actual["red_flags"] if f not in expected["red_flags"]]
        if missing:
            out.append("Red flags expected but not raised: " + common.escape_md(", ".join(missing)) + ".")
        if extra:
            out.append("Red flags raised but not expected: " + common.escape_md(", ".join(extra)) + ".")
    if expected.get("needs") is not None and set(expected["needs"]) != set(actual.get("needs") or []):
        wanted = "; ".join(words["inputs"].get(n, n) for n in expected["needs"])
        asked = "; ".join(words["inputs"].get(n, n) for n in actual.get("needs") or []) or "nothing more"
        out.append(f"Expected it to ask: {common.escape_md(wanted)} — it asks: {common.escape_md(asked)}.")
    return out or [common.escape_md(d) for d in result.differences]


def _table(rs: CompiledRuleset, report: ReplayReport) -> None:
    failing_only = st.toggle("Only failing vignettes", key="vignettes.failing", value=report.failed > 0)
    rows = [{"": "✓" if r.passed else "✗", "Vignette": r.id,
             "Expected": common.expectation_text(r.expected, rs.model),
             "Actual": common.expectation_text(r.actual, rs.model),
             "File": f"{Path(r.file or '').name}:{r.line or ''}"}
            for r in report.results if not (failing_only and r.passed)]
    if not rows:
        st.caption("No vignette fails.")
        return
    # A table that wraps: an expectation cut at the cell's edge hides what differs.
    st.table(rows, hide_index=True, border="horizontal")


def _detail(folder: Path, rs: CompiledRuleset, report: ReplayReport, state: dict[str, Any]) -> None:
    results = report.results
    ids = [r.id for r in results]
    chosen = state.get("open") if state.get("open") in ids else next((r.id for r in results if not r.passed), ids[0])
    marks = {r.id: ("✓ " if r.passed else "✗ ") + r.id for r in results}
    chosen = common.choose(st, "Open a vignette", ids, chosen, labels=marks.get, key="vignettes.open")
    state["open"] = chosen
    result = results[ids.index(chosen)]
    vignette = _vignette(folder, rs, result)
    with st.container(border=True):
        st.subheader(("✓ " if result.passed else "✗ ") + result.id, anchor=False)
        st.caption(f"{Path(result.file or '').name}, line {result.line}"
                   + (f" — {common.escape_md(result.narrative)}" if result.narrative else ""))
        for difference in ([] if result.passed else clinical_differences(rs, result)):
            st.error(difference)
        expected, actual = st.columns(2)
        with expected:
            st.markdown("**Expected**")
            st.markdown(common.escape_md(common.expectation_text(result.expected, rs.model)))
        with actual:
            st.markdown("**Actual**")
            st.markdown(common.escape_md(common.expectation_text(result.actual, rs.model)))
        if vignette is not None and vignette.get("inputs"):
            with st.expander("Answers", expanded=False):
                st.table([{"Question": rs.inputs[k].question if k in rs.inputs else k,
                           "Answer": _answer_text(v)} for k, v in vignette["inputs"].items()],
                         hide_index=True, border="horizontal")
        if result.actual is not None:
            titles = {n.id: n.title for n in rs.model.nodes}
            st.markdown("**Path**  \n" + "  \n".join(
                f"{i + 1}. {common.escape_md(titles.get(step, step))}" for i, step in enumerate(result.actual["path"])))
        try_button, flow_button, _ = st.columns([1, 1, 2])
        if vignette is not None and try_button.button("Try this case", key="vignettes.try",
                                                      icon=":material/stethoscope:"):
            load_case(rs, vignette.get("inputs") or {}, vignette.get("unsure") or [])
            common.go("try")
        if flow_button.button("Show on the flow", key="vignettes.flow", icon=":material/account_tree:"):
            st.session_state[common.FLOW] = {"show": "vignette", "vignette": result.id}
            common.go("flow")
        if vignette is not None and result.file and common.may("write_vignettes"):
            _edit(Path(result.file), rs, vignette)
            _delete(Path(result.file), result.id)


def _answer_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "unknown"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _vignette(folder: Path, rs: CompiledRuleset, result: VignetteResult) -> dict[str, Any] | None:
    """The vignette as written in its file (for editing), found by id."""
    if not result.file:
        return None
    work = common.texts(folder)
    checked = common.validated_vignettes(common.file_text(Path(result.file)), result.file, work.ruleset,
                                         work.ruleset_file)
    if checked.model is None:
        return None
    found = next((v for v in checked.model.vignettes if v.id == result.id), None)
    return None if found is None else found.model_dump(exclude_none=True)


# --- adding, editing, deleting ----------------------------------------------------------------

def _form(key: str, rs: CompiledRuleset, initial: dict[str, Any], files: list[str] | None) -> tuple[
        dict[str, Any], str | None] | None:
    """A vignette form; the vignette (and chosen file) when submitted and its answers read as YAML."""
    model = rs.model
    expect = initial.get("expect", {})
    dispositions = [""] + [d.id for d in model.dispositions]
    outcomes = [""] + [n.id for n in model.nodes if n.kind == "outcome"]
    flags = [f.id for f in model.red_flags]
    words = common.clinical_words(model)
    with st.form(key):
        file_name = st.selectbox("Vignettes file", files, key=f"{key}.file") if files else None
        left, right = st.columns(2)
        vignette_id = left.text_input("Id", value=initial.get("id", ""), placeholder="e.g. cancer-night-pain",
                                      key=f"{key}.id")
        narrative = right.text_input("Narrative", value=initial.get("narrative", ""), key=f"{key}.narrative")
        answers = st.text_area("Answers, one per line as `input: value` (leave an input out when unknown)",
                               value="\n".join(f"{k}: {authoring.yaml_scalar(v)}"
                                               for k, v in (initial.get("inputs") or {}).items()),
                               height=160, placeholder="age: 62\nknown_cancer: true\npain_site: thoracic",
                               key=f"{key}.answers")
        left, right = st.columns(2)
        disposition = left.selectbox("Expected disposition", dispositions,
                                     index=dispositions.index(expect.get("disposition", "")) if expect.get(
                                         "disposition", "") in dispositions else 0, key=f"{key}.disposition",
                                     format_func=lambda d: words["dispositions"].get(d, d) if d
                                     else "(none: the case is incomplete)")
        outcome = right.selectbox("Expected outcome (optional)", outcomes,
                                  index=outcomes.index(expect.get("outcome", "")) if expect.get(
                                      "outcome", "") in outcomes else 0, key=f"{key}.outcome",
                                  format_func=lambda o: f"{words['nodes'][o]} ({o})" if o else "(any)")
        check_flags = st.checkbox("Check the red flags fired (exactly this set)",
                                  value=expect.get("red_flags") is not None, key=f"{key}.check_flags")
        fired = st.multiselect("Red flags", flags, default=[f for f in expect.get("red_flags") or [] if f in flags],
                               format_func=lambda f: words["flags"].get(f, f), key=f"{key}.flags")
        needs = st.multiselect("Or: the questions it should still ask", list(rs.inputs),
                               default=[n for n in expect.get("needs") or [] if n in rs.inputs],
                               format_func=lambda n: words["inputs"].get(n, n), key=f"{key}.needs")
        if not st.form_submit_button("Save vignette", type="primary"):
            return None
    document, problems = read_yaml(answers or "{}")
    data = document.data if document is not None else None
    if data is None and document is not None:
        data = {}
    if not isinstance(data, dict):
        where = f" (line {problems[0].line}: {problems[0].message})" if problems else ""
        st.error(f"Write the answers one per line as `input: value`, e.g. `age: 62`{where}.")
        return None
    vignette = {"id": vignette_id.strip(), "narrative": narrative.strip(), "inputs": data,
                "expect": {"disposition": disposition or None, "outcome": outcome or None,
                           "red_flags": fired if check_flags else None, "needs": needs or None}}
    return vignette, file_name


def _edit(path: Path, rs: CompiledRuleset, vignette: dict[str, Any]) -> None:
    with st.expander("Edit this vignette", icon=":material/edit:"):
        submitted = _form(f"vignettes.edit.{vignette['id']}", rs, vignette, None)
        if submitted is not None and save_vignette(path, rs, submitted[0], replace=vignette["id"]):
            st.session_state[common.VIGNETTES]["open"] = submitted[0]["id"]
            st.rerun()


def _delete(path: Path, vignette_id: str) -> None:
    with st.popover("Delete this vignette", icon=":material/delete:"):
        st.markdown(f"Delete **{vignette_id}** from {path.name}? This cannot be undone here.")
        if st.button("Delete", type="primary", key="vignettes.delete"):
            text, version = read_versioned(path)
            try:
                access.save_vignettes(common.person(), path, authoring.delete_vignette(text or "", vignette_id),
                                      version)
            except authoring.AuthoringError as exc:
                st.error(str(exc))
                return
            except SaveConflict:
                st.error(f"{path.name} changed just now; nothing was deleted. Try again.")
                return
            except ProblemError as exc:
                common.refused(exc)
                return
            st.session_state[common.VIGNETTES]["open"] = None
            st.rerun()


def _add(folder: Path, rs: CompiledRuleset) -> None:
    if not common.may("write_vignettes"):
        common.not_allowed("write_vignettes", "Adding vignettes")
        return
    existing = [p.name for p in vignette_paths(folder)]
    new_file = "new-cases.yaml" if "new-cases.yaml" not in existing else None
    with st.expander("Add a vignette", icon=":material/add:"):
        st.caption("Tip: the quickest way is to try a case on the **Try it** page and save it as a vignette.")
        submitted = _form("vignettes.add", rs, {}, existing + ([new_file] if new_file else []))
        if submitted is not None:
            vignette, file_name = submitted
            if save_vignette(folder / "vignettes" / str(file_name), rs, vignette):
                st.session_state[common.VIGNETTES]["open"] = vignette["id"]


def save_vignette(path: Path, rs: CompiledRuleset, vignette: dict[str, Any], replace: str | None = None) -> bool:
    """Add (or replace, by id) a vignette through the core (authors and QA only, no new errors);
    refusals, problems and conflicts are shown, never raised."""
    try:
        access.add_vignette(common.person(), path, rs.model, vignette, replace)
    except SaveConflict:
        st.error(f"{path.name} changed while you were saving; nothing was overwritten. Save again.")
        return False
    except ProblemError as exc:  # not allowed, new errors, the disk refused, the folder is gone
        st.error("The vignette was not saved:")
        common.show_problems(exc.problems)
        return False
    st.success(f"Saved vignette '{vignette['id']}' in vignettes/{path.name}.")
    return True
