"""The team panel on the Rulesets page: sync the rulesets folder's history with the team remote, and when two
people changed the same lines, show both versions and let the person choose which to keep (publish/sync.py)."""

from __future__ import annotations

import difflib
from pathlib import Path

import streamlit as st

from ..people import access
from ..problems import ProblemError
from ..publish.repository import Repository
from ..publish.sync import SyncOutcome
from . import common

_STATE = "team"


def panel(root: Path) -> None:
    st.subheader("Team history", anchor=False)
    try:
        url = Repository.open(root, create=False).remote_url()
    except ProblemError:
        st.caption("No history yet: the first save starts it.")
        return
    if url is None:
        st.caption(f"Not shared with a team yet. To share this history, connect it once to a git repository your "
                   f"team can reach: `workbench sync {root} --name 'Your Name' --remote URL`. Sync then appears "
                   "here.")
        return
    st.caption(f"Shared through `{common.escape_md(url)}`. Sync brings in the team's saves, reviews and releases "
               "and sends yours; nothing is ever overwritten.")
    state = st.session_state.setdefault(_STATE, {"outcome": None})
    if st.button("Sync with the team", key="team.sync", icon=":material/sync:", disabled=not common.may("view")):
        _sync(root, state, {})
    outcome: SyncOutcome | None = state["outcome"]
    if outcome is None:
        return
    if outcome.ok:
        st.success(f"In step with the team: {common.plural(outcome.received, 'change')} received, "
                   f"{outcome.sent} sent" + (", joined with a merge" if outcome.merged else "") + ".")
    for problem in outcome.problems:
        if problem.code != "WB1034":
            st.warning(common.escape_md(problem.message))
    if outcome.conflicts:
        _conflicts(root, state, outcome)


def _conflicts(root: Path, state: dict, outcome: SyncOutcome) -> None:
    st.warning("You and the team changed the same lines. Nothing has been changed yet: choose which version to "
               "keep for each file. The other stays in the history, so neither is lost.")
    choices: dict[str, str] = {}
    for conflict in outcome.conflicts:
        who = conflict.their_author or "the team"
        why = f" — *{common.escape_md(conflict.their_reason)}*" if conflict.their_reason else ""
        st.markdown(f"**{common.escape_md(conflict.path)}**: changed by {common.escape_md(who)}{why}")
        st.code("\n".join(difflib.unified_diff(conflict.mine.splitlines(), conflict.theirs.splitlines(), "yours",
                                               "the team's", lineterm="", n=2)), language="diff")
        choices[conflict.path] = st.radio("Keep", ["mine", "theirs"], key=f"team.keep.{conflict.path}",
                                          format_func={"mine": "my version", "theirs": "the team's version"}.get,
                                          horizontal=True)
    if st.button("Join, keeping these", key="team.resolve", type="primary") and _sync(root, state, choices):
        st.rerun()


def _sync(root: Path, state: dict, resolve: dict[str, str]) -> bool:
    try:
        state["outcome"] = access.sync_team(common.person(), root, resolve)
    except ProblemError as exc:
        common.refused(exc, "Nothing was changed.")
        return False
    return True
