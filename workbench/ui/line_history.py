"""The Editor's history panel: for the rule under the cursor, who changed it, when and why, from the git
history of the rulesets folder (workbench/publish/line_history.py does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ..content.loader import read_yaml
from ..problems import ProblemError
from ..publish import line_history
from ..publish.repository import Repository
from . import common


@st.cache_resource(max_entries=16, show_spinner=False)
def _changes(root: str, file: str, head: str) -> list[line_history.Change]:
    """Keyed on the head commit: a new save or review action makes a new key, so the history is never stale."""
    return line_history.line_changes(Repository(Path(root)), Path(file))


def panel(folder: Path, path: Path, buffer: dict[str, Any]) -> None:
    with st.expander("History: who changed this rule, when and why", icon=":material/history:"):
        try:
            repository = Repository.open(folder.parent, create=False)
        except ProblemError as exc:
            st.caption(f"No history to show: {exc.problems[0].message}")
            return
        head = repository.head() or ""
        changes = _changes(str(repository.root), str(path), head) if head else []
        document, _ = read_yaml(buffer["saved"], str(path))
        if not changes or document is None:
            st.caption("This file has no saved history yet: save it, and each save is recorded with its reason.")
            return
        if common.unsaved(path):
            st.caption("The history is of the saved file; your unsaved changes are not in it yet.")
        rules = line_history.rules(document)
        line = buffer["line"] if buffer["line"] and buffer["line"] <= len(changes) else None
        at_line = line_history.rule_at(document, line) if line else None
        names = [f"{r.section} · {r.id}" for r in rules]
        if not rules:
            _table(line_history.changes_to(changes, 1, len(changes)))
            return
        index = rules.index(at_line) if at_line in rules else 0
        picked = rules[names.index(common.choose(st, "Rule", names, names[index], key=f"history.rule.{path}.{line}"))]
        if line:
            last = changes[line - 1]
            st.markdown(f"Line {line} was last changed by **{common.escape_md(last.author)}** on {_day(last.at)}"
                        + (f": *{common.escape_md(last.reason)}*" if last.reason else " (no reason given)."))
        st.caption(f"Lines {picked.first}–{picked.last}: every change that still shows in them, newest first.")
        _table(line_history.changes_to(changes, picked.first, picked.last))


def _table(changes: list[line_history.Change]) -> None:
    st.table([{"When": _day(c.at), "Who": c.author, "Why": c.reason or "—", "What": c.action,
               "Commit": c.commit[:10]} for c in changes], hide_index=True, border="horizontal")


def _day(at: str) -> str:
    """'2026-11-28 14:02' from an ISO time: the minute is enough for a reader."""
    return at[:16].replace("T", " ")
