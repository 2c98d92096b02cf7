"""The Try-it case, kept in the session: which questions were asked, what was answered (Unsure included),
in the widgets' own values. The Try it page asks; the Flow page shows the case's path; the Vignettes page
loads a vignette into it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ..content.model import BooleanInput, Input
from ..run.engine import CompiledRuleset
from . import common

UNSURE = "unsure"


def case_state(ruleset_id: str) -> dict[str, Any]:
    """The Try-it case of this ruleset (a new one when another ruleset was being tried)."""
    case = st.session_state.get(common.CASE)
    if not case or case.get("ruleset") != ruleset_id:
        case = st.session_state[common.CASE] = {"ruleset": ruleset_id, "asked": [], "raw": {}, "chosen": []}
    return case


def key(ruleset_id: str, input_id: str) -> str:
    """The session key of one question's widget."""
    return f"try.{ruleset_id}.{input_id}"


def answer_of(spec: Input, raw: Any) -> Any:
    """The engine's value for a widget's value: None for no answer or 'Unsure' (which unsure_of lists)."""
    if raw is None or raw == UNSURE:
        return None
    if isinstance(spec, BooleanInput):
        return raw == "yes"
    return raw


def raw_of(spec: Input, value: Any) -> Any:
    """The widget's value for an answer: the inverse of answer_of."""
    if value is None:
        return None
    if isinstance(spec, BooleanInput):
        return "yes" if value else "no"
    return value


def load_case(rs: CompiledRuleset, inputs: dict[str, Any], unsure: list[str] | None = None) -> None:
    """Make these answers (a vignette's) the Try-it case, as if they had been answered here."""
    previous = st.session_state.get(common.CASE) or {}
    for input_id in previous.get("asked", []):
        forget(str(previous.get("ruleset")), input_id)
    raw = {i: raw_of(rs.inputs[i], v) for i, v in inputs.items() if i in rs.inputs}
    raw |= {i: UNSURE for i in unsure or [] if i in rs.inputs}
    for input_id in raw:
        forget(rs.id, input_id)
    st.session_state[common.CASE] = {"ruleset": rs.id, "asked": list(raw), "raw": raw}


def forget(ruleset_id: str, input_id: str) -> None:
    """Drop one question's widgets, so an answer given elsewhere shows."""
    st.session_state.pop(key(ruleset_id, input_id), None)
    st.session_state.pop(key(ruleset_id, input_id) + ".unsure", None)


def unsure_of(rs: CompiledRuleset, raw: dict[str, Any]) -> list[str]:
    """The inputs answered 'Unsure', in declaration order."""
    return [i for i in rs.inputs if raw.get(i) == UNSURE]


def answers_of(rs: CompiledRuleset, raw: dict[str, Any]) -> dict[str, Any]:
    answers = {}
    for input_id, value in raw.items():
        spec = rs.inputs.get(input_id)
        if spec is not None and (answer := answer_of(spec, value)) is not None:
            answers[input_id] = answer
    return answers
