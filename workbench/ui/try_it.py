"""Try it: a case simulator. It asks the ruleset's next question in the ruleset's own words and shows the
disposition (in the graph's urgency colour), the red flags, the path and the advice as soon as reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ..content import authoring
from ..content.answers import describe_range
from ..content.model import BooleanInput, EnumInput, Input, NumberInput
from ..run.engine import CompiledRuleset, InputError, Result, evaluate
from ..run.replay import vignette_paths
from . import case as case_of
from . import common
from .case import UNSURE, answers_of, case_state, unsure_of

_YES_NO = {"yes": "Yes", "no": "No", UNSURE: "Unsure"}
UNSURE_MEANS = ("**Unsure** is for an answer the person cannot give (\"I don't know if it was cancer\"): it is taken "
                "as whichever answer is more dangerous, so not knowing is never safer than yes.")
NEW_FILE = "tried-cases.yaml"


def page() -> None:
    opened = common.open_page("Try it")
    if opened is None:
        return
    folder, _, rs = opened
    case = case_state(rs.id)
    result, answers = run_case(rs, case)
    asked, decision = st.columns([3, 2], gap="large")
    with asked:
        _questions(rs, case, result)
    with decision:
        _result(folder, rs, result, answers)


# --- the case: which questions were asked and what was answered -------------------------------

def run_case(rs: CompiledRuleset, case: dict[str, Any]) -> tuple[Result, dict[str, Any]]:
    """Evaluate the case as answered so far; the questions the result needs are added to those asked."""
    case["asked"] = [i for i in case["asked"] if i in rs.inputs]
    for input_id in case["asked"]:
        key = case_of.key(rs.id, input_id)
        value = case["raw"].get(input_id)
        if value is None or key in st.session_state or key + ".unsure" in st.session_state:
            continue
        if value == UNSURE and isinstance(rs.inputs[input_id], NumberInput):  # back from another page
            st.session_state[key + ".unsure"] = True
        else:
            st.session_state[key] = value
    case["raw"] = {i: _raw(rs, i) for i in case["asked"]}
    answers = answers_of(rs, case["raw"])
    unsure = unsure_of(rs, case["raw"])
    try:
        result = evaluate(rs, answers, unsure=unsure)
    except InputError as exc:  # answers given before the ruleset changed (e.g. a choice was removed)
        for problem in exc.problems:
            case["raw"].pop(problem.path_text, None)
            case_of.forget(rs.id, problem.path_text)
            answers.pop(problem.path_text, None)
        st.warning("Some answers no longer fit the ruleset and were cleared: "
                   + " ".join(p.message for p in exc.problems))
        result = evaluate(rs, answers, unsure=[i for i in unsure if i in case["raw"]])
    # Unanswered questions the case no longer needs are dropped (unless the user chose them); new ones added.
    keep = set(result.needs) | set(case.get("chosen", []))
    case["asked"] = [i for i in case["asked"] if case["raw"].get(i) is not None or i in keep]
    case["asked"].extend(i for i in result.needs if i not in case["asked"])
    return result, answers


def _raw(rs: CompiledRuleset, input_id: str) -> Any:
    """A question's answer as its widget holds it; a number's 'Unsure' is a box beside it."""
    key = case_of.key(rs.id, input_id)
    if isinstance(rs.inputs[input_id], NumberInput) and st.session_state.get(key + ".unsure"):
        return UNSURE
    return st.session_state.get(key)


# --- questions ------------------------------------------------------------------------------

def _questions(rs: CompiledRuleset, case: dict[str, Any], result: Result) -> None:
    st.caption(UNSURE_MEANS)
    answered = [i for i in case["asked"] if i not in result.needs]
    if answered:
        st.subheader("Answers", anchor=False)
        st.caption("Change any answer and the result follows.")
        for input_id in answered:
            _widget(rs.inputs[input_id], case_of.key(rs.id, input_id))
    if result.needs:
        with st.container(border=True):
            st.subheader("Next question" if len(result.needs) == 1 else "Next questions", anchor=False)
            for input_id in result.needs:
                _widget(rs.inputs[input_id], case_of.key(rs.id, input_id))
    else:
        st.success("Every question this case needs is answered.")
    others = [i for i in rs.inputs if i not in case["asked"]]
    more, restart = st.columns([3, 1], vertical_alignment="bottom")
    if others:
        more.selectbox("Answer another question", others, index=None, key="try.more",
                       format_func=lambda i: rs.inputs[i].question, placeholder="Choose a question…",
                       on_change=_ask_more, args=(case,),
                       help="Red flags are checked on every answer, whether or not the path asks for it.")
    restart.button("Start again", key="try.restart", on_click=_restart, args=(rs.id, case), width="stretch")


def _ask_more(case: dict[str, Any]) -> None:
    chosen = st.session_state.get("try.more")
    if chosen and chosen not in case["asked"]:
        case["asked"].append(chosen)
        case.setdefault("chosen", []).append(chosen)
    st.session_state["try.more"] = None


def _restart(ruleset_id: str, case: dict[str, Any]) -> None:
    for input_id in case["asked"]:
        case_of.forget(ruleset_id, input_id)
    case.update(asked=[], raw={}, chosen=[])


def _widget(spec: Input, key: str) -> None:
    """The question in its own wording, with the widget its type needs."""
    help_text = (spec.help + "\n\n" if spec.help else "") + f"Input `{spec.id}`"
    if isinstance(spec, BooleanInput):
        st.radio(spec.question, list(_YES_NO), index=None, key=key, horizontal=True, format_func=_YES_NO.get,
                 help=help_text)
    elif isinstance(spec, NumberInput):
        whole = all(v is None or float(v).is_integer() for v in (spec.min, spec.max))
        cast = int if whole else float
        number, unsure = st.columns([4, 1], vertical_alignment="bottom")
        not_sure = bool(st.session_state.get(key + ".unsure"))
        number.number_input(spec.question + (f" ({spec.unit})" if spec.unit else ""), key=key, value=None,
                            min_value=None if spec.min is None else cast(spec.min),
                            max_value=None if spec.max is None else cast(spec.max), disabled=not_sure,
                            step=1 if whole else 0.1, placeholder=f"{describe_range(spec)} — empty if unknown",
                            help=help_text)
        unsure.checkbox("Unsure", key=key + ".unsure", help="Taken as whichever answer is more dangerous.")
    else:
        assert isinstance(spec, EnumInput)
        labels = {**{v: v.replace("_", " ").capitalize() for v in spec.values}, **(spec.labels or {}),
                  UNSURE: "Unsure"}
        options = [*spec.values, UNSURE]
        if len(options) <= 4:
            st.radio(spec.question, options, index=None, key=key, horizontal=True, format_func=labels.get,
                     help=help_text)
        else:
            st.selectbox(spec.question, options, index=None, key=key, format_func=labels.get,
                         placeholder="Choose…", help=help_text)


# --- the result -----------------------------------------------------------------------------

def _result(folder: Path, rs: CompiledRuleset, result: Result, answers: dict[str, Any]) -> None:
    model = rs.model
    common.disposition_card(model, result)
    if result.unsure:
        st.info("Taken as whichever answer is more dangerous (unsure): "
                + "; ".join(common.escape_md(rs.inputs[i].question) for i in result.unsure))
    common.red_flags_view(model, result.red_flags)
    common.possible_flags_view(rs, result)
    if result.status == "complete":
        common.advice_view(model, result)
        common.safety_net_view(rs, result)
    common.path_view(model, result.path)
    flow, _ = st.columns(2)
    if flow.button("Show on the flow", key="try.flow", icon=":material/account_tree:"):
        st.session_state[common.FLOW] = {"show": "try"}
        common.go("flow")
    if common.may("write_vignettes"):
        with st.expander("Save as a vignette", icon=":material/save:"):
            _save_form(folder, rs, result, answers)
    else:
        common.not_allowed("write_vignettes", "Saving a case as a vignette")


def _save_form(folder: Path, rs: CompiledRuleset, result: Result, answers: dict[str, Any]) -> None:
    """The case as a vignette, saved by vignettes.save_vignette (through access.py, so the role is checked)."""
    from .vignettes import save_vignette

    existing = [p.name for p in vignette_paths(folder)]
    taken = {r.id for r in common.replayed(common.texts(folder)).results}
    suggestion = authoring.unique_id(authoring.slugify(result.outcome or "incomplete-case"), taken)
    expected = (f"{result.disposition} at {result.outcome}" if result.status == "complete"
                else "it asks for " + ", ".join(result.needs))
    st.caption(f"The vignette expects what the ruleset does now — {expected}; red flags exactly: "
               f"{', '.join(result.red_flags) or 'none'}. Unknown answers are left out.")
    names = existing + ([] if NEW_FILE in existing else [NEW_FILE])
    with st.form("try.save"):
        vignette_id = st.text_input("Id", value=suggestion)
        narrative = st.text_input("Narrative", placeholder="e.g. 62-year-old, breast cancer, thoracic night pain")
        file_name = st.selectbox("Vignettes file", names, index=names.index(NEW_FILE),
                                 format_func=lambda n: n if n in existing else f"{n} (new file)",
                                 help=f"Cases tried here go to {NEW_FILE} unless you choose another file.")
        if not st.form_submit_button("Save vignette", type="primary"):
            return
    vignette = authoring.vignette_from_result(vignette_id.strip(), narrative.strip(), answers, result)
    save_vignette(folder / "vignettes" / file_name, rs, vignette)
