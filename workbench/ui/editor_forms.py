"""The editor's forms for common additions: a question, a red flag, a branch, an outcome.

Each form calls a core edit (workbench.content.authoring) on the editor's text; the edit is kept only if it adds
no new error, and nothing is saved until the author presses Save."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import streamlit as st

from ..content import authoring
from ..content.authoring import AuthoringError
from ..content.model import DecisionNode, Ruleset
from ..content.validate import Report
from . import common


def forms(buffer: dict[str, Any], report: Report, validate: Callable[[str], Report]) -> None:
    if not common.may("edit_ruleset"):  # only an author may save what they make; the editor says why
        return
    st.subheader("Add to the ruleset", anchor=False)
    model = report.model
    if model is None:
        st.caption("The forms need text that reads as a ruleset; fix the problems above first.")
        return
    question, flag, branch, outcome = st.tabs(["Question", "Red flag", "Branch", "Outcome"])
    with question:
        _question_form(buffer, validate)
    with flag:
        _red_flag_form(buffer, model, validate)
    with branch:
        _branch_form(buffer, model, validate)
    with outcome:
        _outcome_form(buffer, model, validate)


def _apply(buffer: dict[str, Any], validate: Callable[[str], Report], what: str,
           edit: Callable[[str], str]) -> None:
    """Make the edit on the buffer if it adds no new error; otherwise say what is wrong and change nothing."""
    before = {(p.code, p.message) for p in validate(buffer["text"]).problems if p.is_error}
    try:
        text = edit(buffer["text"])
    except AuthoringError as exc:
        st.error(str(exc))
        return
    new = [p for p in validate(text).problems if p.is_error and (p.code, p.message) not in before]
    if new:
        st.error(f"{what} was not added, because it would bring {common.plural(len(new), 'new error')}:")
        common.show_problems(new)
        return
    common.set_text(buffer, text, line=first_changed_line(buffer["text"], text),
             notice=f"{what} added to the text (highlighted). It is not saved yet: check it, then press Save.")
    st.rerun()


def first_changed_line(old: str, new: str) -> int | None:
    for tag, _i1, _i2, j1, _j2 in difflib.SequenceMatcher(None, old.splitlines(), new.splitlines()).get_opcodes():
        if tag != "equal":
            return j1 + 1
    return None


def _question_form(buffer: dict[str, Any], validate: Callable[[str], Report]) -> None:
    with st.form("editor.form.question"):
        left, right = st.columns(2)
        input_id = left.text_input("Id (used in conditions)", placeholder="e.g. night_pain")
        kind = right.radio("Answer", ["boolean", "number", "enum"], horizontal=True,
                           format_func={"boolean": "Yes / no", "number": "A number", "enum": "A choice"}.get)
        question = st.text_input("Question, as it is asked", placeholder="e.g. Does pain at night stop sleep?")
        help_text = st.text_input("Help for the person asking (optional)")
        st.caption("For a number:")
        unit, low, high = st.columns(3)
        unit_text = unit.text_input("Unit", placeholder="years")
        minimum = low.number_input("Lowest allowed", value=None, step=1.0)
        maximum = high.number_input("Highest allowed", value=None, step=1.0)
        st.caption("For a choice: one answer per line, as `id: label`, e.g. `thoracic: Upper back`.")
        choices = st.text_area("Answers", height=100)
        if not st.form_submit_button("Add question", type="primary"):
            return
    spec: dict[str, Any] = {"id": input_id.strip(), "type": kind, "question": question.strip(),
                            "help": help_text.strip()}
    if kind == "number":
        spec.update(unit=unit_text.strip(), min=_whole(minimum), max=_whole(maximum))
    if kind == "enum":
        values, labels = _choices(choices)
        if not values:
            st.error("A choice question needs at least one answer: write one per line.")
            return
        spec.update(values=values, labels=labels)
    _apply(buffer, validate, f"Question '{spec['id']}'", lambda text: authoring.add_input(text, spec))


def _whole(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


def _choices(text: str) -> tuple[list[str], dict[str, str]]:
    values, labels = [], {}
    for line in text.splitlines():
        value, _, label = line.partition(":")
        if value.strip():
            values.append(value.strip())
            if label.strip():
                labels[value.strip()] = label.strip()
    return values, labels


def _red_flag_form(buffer: dict[str, Any], model: Ruleset, validate: Callable[[str], Report]) -> None:
    with st.form("editor.form.red_flag"):
        flag_id = st.text_input("Id", placeholder="e.g. night_pain")
        label = st.text_input("Label, as shown to the clinician", placeholder="e.g. Night pain that prevents sleep")
        when = st.text_input("Fires when (a condition)", placeholder="e.g. night_pain and age >= 50")
        st.caption("Conditions use question ids, `and`, `or`, `not`, `== != < <= > >=`, `in [...]`.")
        cites = st.multiselect("Cites", [r.id for r in model.references])
        if not st.form_submit_button("Add red flag", type="primary"):
            return
    flag = {"id": flag_id.strip(), "label": label.strip(), "when": when.strip(), "cites": cites}
    _apply(buffer, validate, f"Red flag '{flag['id']}'", lambda text: authoring.add_red_flag(text, flag))


def _branch_form(buffer: dict[str, Any], model: Ruleset, validate: Callable[[str], Report]) -> None:
    decisions = [n for n in model.nodes if isinstance(n, DecisionNode)]
    if not decisions:
        st.caption("There is no decision node to add a branch to.")
        return
    titles = {n.id: n.title for n in model.nodes}
    with st.form("editor.form.branch"):
        node_id = st.selectbox("Decision", [n.id for n in decisions], format_func=lambda n: f"{n} — {titles[n]}")
        when = st.text_input("Take this branch when", placeholder="e.g. fever and age >= 60")
        target = st.selectbox("Go to", list(titles), format_func=lambda n: f"{n} — {titles[n]}")
        label = st.text_input("Label (optional)", placeholder="e.g. Rule 4 — fever")
        first = st.radio("Position", ["last", "first"], horizontal=True,
                         format_func={"last": "Last, just before else", "first": "First"}.get,
                         help="The first branch whose condition holds is taken, so order matters.")
        if not st.form_submit_button("Add branch", type="primary"):
            return
    branch = {"when": when.strip(), "next": target, "label": label.strip()}
    index = 0 if first == "first" else None
    _apply(buffer, validate, f"A branch of '{node_id}'",
           lambda text: authoring.add_branch(text, node_id, branch, index))


def _outcome_form(buffer: dict[str, Any], model: Ruleset, validate: Callable[[str], Report]) -> None:
    decisions = [n for n in model.nodes if isinstance(n, DecisionNode)]
    titles = {n.id: n.title for n in model.nodes}
    labels = {d.id: d.label for d in model.dispositions}
    with st.form("editor.form.outcome"):
        left, right = st.columns(2)
        node_id = left.text_input("Id", placeholder="e.g. suspected_shingles")
        disposition = right.selectbox("Disposition", list(labels), format_func=lambda d: f"{d} — {labels[d]}")
        title = st.text_input("Title", placeholder="e.g. Suspected shingles")
        advice = st.text_area("Advice", height=90)
        cites = st.multiselect("Cites", [r.id for r in model.references])
        st.caption("An outcome must be reachable: say which decision leads to it, and when.")
        left, right = st.columns(2)
        parent = left.selectbox("Reached from", [n.id for n in decisions], format_func=lambda n: f"{n} — {titles[n]}")
        when = right.text_input("When", placeholder="e.g. rash and radicular_pain")
        if not st.form_submit_button("Add outcome", type="primary"):
            return
    node = {"id": node_id.strip(), "title": title.strip(), "disposition": disposition, "advice": advice.strip(),
            "cites": cites}

    def edit(text: str) -> str:
        text = authoring.add_outcome(text, node)
        return authoring.add_branch(text, str(parent), {"when": when.strip(), "next": node["id"]}) if parent else text

    _apply(buffer, validate, f"Outcome '{node['id']}'", edit)

