"""Rulesets: every ruleset with its version, state, vignettes and validation at a glance; open or create one."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..files import SaveConflict
from ..people import access
from ..problems import ProblemError
from . import common, team


def page() -> None:
    selected = common.current_ruleset()
    st.title("Rulesets")
    root = common.rulesets_root()
    st.caption("Open one to read its overview, then edit, try and replay it: every page then works on it.")
    for folder in common.ruleset_folders(root):
        _card(folder, selected is not None and folder.name == selected.name)
    _create(root)
    team.panel(root)


def _card(folder: Path, is_open: bool) -> None:
    work = common.texts(folder)
    summary = common.summary(work)
    state, latest = common.release_state(folder)
    with st.container(border=True):
        head, buttons = st.columns([3, 2], vertical_alignment="center")
        with head:
            st.subheader(common.escape_md(summary.title), anchor=False)
            released = f" · latest release {latest}" if latest else ""
            opened = " · :blue[**open on every page**]" if is_open else ""
            version = common.escape_md(summary.version or "?")
            st.caption(f"{common.escape_md(folder.name)} · version {version} · **{state}**{released}{opened}")
        with buttons:
            left, middle, right = st.columns(3)
            if left.button("Open", key=f"rulesets.open.{folder.name}", type="secondary" if is_open else "primary",
                           width="stretch"):
                common.open_ruleset(folder.name, "overview")
            if middle.button("Try it", key=f"rulesets.try.{folder.name}", width="stretch"):
                common.open_ruleset(folder.name, "try")
            if right.button("Vignettes", key=f"rulesets.vignettes.{folder.name}", width="stretch"):
                common.open_ruleset(folder.name, "vignettes")
        checks, cases = st.columns(2)
        if summary.errors:
            where = sorted({_where(folder, p.file) for p in summary.problems if p.is_error})
            checks.markdown(f":red[**✗ {common.plural(summary.errors, 'error')}**] in "
                            + ", ".join(common.escape_md(w) for w in where)
                            + (f" · {common.plural(summary.warnings, 'warning')}" if summary.warnings else ""))
        else:
            checks.markdown(":green[**✓ valid**]"
                            + (f" · :orange[{common.plural(summary.warnings, 'warning')}]" if summary.warnings else ""))
        if summary.vignettes == 0 and summary.errors:
            cases.markdown(":orange[vignettes not replayed until the errors are fixed]")
        elif summary.vignettes == 0:
            cases.markdown(":orange[no vignettes yet]")
        elif summary.failed:
            cases.markdown(f":red[**✗ {summary.failed} of {summary.vignettes} vignettes fail**]")
        else:
            cases.markdown(f":green[**✓ all {summary.vignettes} vignettes pass**]")
        if common.unsaved(folder / common.RULESET_FILE):
            st.caption(":orange[Shown with the unsaved changes in the editor.]")


def _where(folder: Path, file: str | None) -> str:
    """A problem's file as the Editor's file list names it (ruleset.yaml, vignettes/cases.yaml)."""
    if not file:
        return "ruleset.yaml"
    path = Path(file)
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else path.name


def _create(root: Path) -> None:
    if not common.may("edit_ruleset"):
        common.not_allowed("edit_ruleset", "Creating a ruleset")
        return
    with st.expander("Create a new ruleset", icon=":material/add:"):
        st.caption("Starts from a small valid example (one question, one red flag, two outcomes and two "
                   "vignettes) that you then rewrite.")
        with st.form("rulesets.new", border=False):
            title = st.text_input("Title", placeholder="e.g. Neck pain — serious causes")
            ruleset_id = st.text_input("Id (names the folder and the web address)", placeholder="e.g. neck-pain")
            submitted = st.form_submit_button("Create", type="primary")
        if not submitted:
            return
        ruleset_id = ruleset_id.strip()
        try:
            access.create_ruleset(common.person(), root, ruleset_id, title)
        except SaveConflict:
            st.error(f"Someone created '{ruleset_id}' at the same moment; nothing was overwritten. "
                     "Choose another id.")
            return
        except ProblemError as exc:  # not allowed, not a valid id, taken, or the disk refused
            common.refused(exc)
            return
        common.open_ruleset(ruleset_id, "editor")
