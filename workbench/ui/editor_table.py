"""The Editor's decision table: one decision's branches as rows (when → then, in order, and "otherwise"), each
condition also in clinical words, checked as it is edited like the text; put into the text (comments and layout
kept, content/decision_table.py) only when asked, and saved with Save like any other change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from ..content.decision_table import Row, TableError, rows, with_rows
from ..content.model import DecisionNode
from ..content.validate import Report
from ..run.engine import CompiledRuleset
from ..run.words import condition_words
from . import common
from .editor_forms import first_changed_line

_WHEN, _THEN, _LABEL, _SOURCE = "When (condition)", "Then", "Label (optional)", "source"


def panel(buffer: dict[str, Any], report: Report, validate: Callable[[str], Report],
          ruleset: CompiledRuleset | None) -> None:
    with st.expander("Rules as a table: a decision's branches, when → then", icon=":material/table_rows:",
                     key="editor.table.open", on_change="rerun") as box:
        if not box.open:  # read and checked only while open: a round trip of the whole text costs a quarter second
            return
        model = report.model
        if model is None:
            st.caption("The table needs text that reads as a ruleset; fix the problems above first.")
            return
        decisions = [n for n in model.nodes if isinstance(n, DecisionNode)]
        if not decisions:
            st.caption("There is no decision node.")
            return
        titles = {n.id: n.title for n in model.nodes}
        ids = [n.id for n in decisions]
        node_id = common.choose(st, "Decision", ids, st.session_state.get("editor.table.node", ids[0]),
                                key="editor.table.pick", labels=lambda n: titles[n])
        st.session_state["editor.table.node"] = node_id
        try:
            table = rows(buffer["text"], node_id)
        except TableError as exc:
            st.info(exc.problems[0].message)
            return
        _edit(buffer, validate, ruleset, node_id, table, titles)


def _choice(titles: dict[str, str], node_id: str) -> str:
    return f"{titles.get(node_id, node_id)} ({node_id})"


def _node_of(choice: Any) -> str:
    text = str(choice or "")
    return text.rsplit("(", 1)[-1].rstrip(")") if text.endswith(")") else text


def _edit(buffer: dict[str, Any], validate: Callable[[str], Report], ruleset: CompiledRuleset | None, node_id: str,
          table: list[Row], titles: dict[str, str]) -> None:
    branches = [r for r in table if r.when is not None]
    otherwise = next(r for r in table if r.when is None)
    options = [_choice(titles, n) for n in titles]
    frame = pd.DataFrame([{_WHEN: r.when, _THEN: _choice(titles, r.next), _LABEL: r.label or "", _SOURCE: r.source}
                          for r in branches], columns=[_WHEN, _THEN, _LABEL, _SOURCE])
    st.caption("The first row whose condition holds is taken; add, delete or drag rows. Conditions use the "
               "questions' ids, `and`, `or`, `not`, `== != < <= > >=`, `in [...]`; hover over an id in the "
               "Editor's text to see its question.")
    key = f"editor.table.{node_id}.{buffer['rev']}"
    edited = st.data_editor(frame, key=key, num_rows="dynamic", hide_index=True, width="stretch",
                            column_order=[_WHEN, _THEN, _LABEL],
                            column_config={_WHEN: st.column_config.TextColumn(width=360, required=True),
                                           _THEN: st.column_config.SelectboxColumn(options=options, required=True,
                                                                                   width=300),
                                           _LABEL: st.column_config.TextColumn(width=200)})
    then = common.choose(st, "Otherwise (every other case) goes to", list(titles), otherwise.next,
                         key=f"editor.table.else.{node_id}", labels=titles.__getitem__)
    new_rows = [Row(str(r[_WHEN] or ""), _node_of(r[_THEN]), str(r[_LABEL] or "") or None,
                    None if pd.isna(r[_SOURCE]) else int(r[_SOURCE])) for r in edited.to_dict("records")]
    new_rows.append(Row(None, then))
    if ruleset is not None:  # the same rows in words, in a table that wraps (the grid above cuts long cells)
        st.table([{"": f"{i + 1}." if r.when is not None else "", "When": condition_words(ruleset, r.when)
                   if r.when is not None else "otherwise", "Then": titles.get(r.next, r.next)}
                  for i, r in enumerate(new_rows)], hide_index=True, border="horizontal")
    if new_rows == table:
        st.caption("The table shows the text as it is.")
        return
    try:
        text = with_rows(buffer["text"], node_id, new_rows)
    except TableError as exc:
        st.warning(exc.problems[0].message)
        return
    before = {(p.code, p.message) for p in validate(buffer["text"]).problems if p.is_error}
    new = [p for p in validate(text).problems if p.is_error and (p.code, p.message) not in before]
    if new:
        st.error(f"As it stands the table would bring {common.plural(len(new), 'new error')}:")
        common.show_problems(new, limit=10)
        return
    st.success("The table checks out. Put it into the text to see it there; nothing is saved until you press Save.")
    if st.button("Put the table into the text", key=f"editor.table.apply.{node_id}", type="primary"):
        common.set_text(buffer, text, line=first_changed_line(buffer["text"], text),
                        notice="The table is in the text (highlighted). It is not saved yet: check it, then press "
                        "Save.")
        st.rerun()
