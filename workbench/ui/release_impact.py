"""What a version changes for the patients on record, on the Releases page: every past case in the workspace's
case store (or a file of cases uploaded here) evaluated by the latest release and by the saved draft (or another
version), every case that became less urgent listed first as a hazard, the transitions between dispositions with
the rules and red flags each change goes through, drawn as a matrix and downloadable as CSV or Parquet.

The analysis is the core's (analysis/impact.py, case_store.py, impact_chart.py; docs/impact.md), run in the
background so the page never waits on a large store; this module picks the versions and the cases and lays out
what the core found, in the ruleset's words.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import streamlit as st

from ..analysis.case_store import CASES_ENV, CaseStore, case_store
from ..analysis.cases import FORMATS
from ..analysis.impact import Impact, impact, write_transitions
from ..analysis.impact_chart import transition_svg
from ..folder import RULESET_FILE
from ..problems import Problem, ProblemError
from ..publish import lifecycle
from ..publish.canonical import ruleset_sha256
from ..publish.releases import Release
from ..run.engine import CompiledRuleset
from . import background_check, common

IMPACT_WAIT = 3.0
"""Seconds the page waits for the analysis before showing its progress instead (a small store takes well under
one)."""
SHOWN = 100
"""Less urgent cases listed on the page; the core lists the first 1,000 and counts them all."""
DIRECTIONS = {"less_urgent": "less urgent", "more_urgent": "more urgent", "unchanged": "unchanged",
              "needs_input": "now needs more answers", "decided": "now decided"}


@dataclass(frozen=True)
class Cases:
    """Where the past cases come from: the workspace's case store, or a file uploaded on the page."""

    words: str  # for the page: "the 2 files of the workspace's case store"
    key: tuple[Any, ...]  # what their content is known by: each file's size and time, or the upload's sha256
    store: CaseStore | None = None
    upload: tuple[str, bytes] | None = field(default=None, repr=False)  # (file name, bytes)


@dataclass(frozen=True)
class Run:
    """What one analysis gave: the impact, or the problems that stopped it (a bad cell, an unreadable file)."""

    result: Impact | None
    problems: list[Problem]
    key: tuple[Any, ...] = ()  # the versions' content and the cases': what the downloads are cached by


# --- the tab ----------------------------------------------------------------------------------------

def tab(ruleset_dir: Path, releases: Sequence[Release]) -> None:
    """'What it changes for past cases': pick the versions, then the impact in full."""
    st.caption("Every past case on record is evaluated by both versions — exactly, the same evaluation as the "
               "engine — and every case whose disposition would move is counted; any that would become less urgent "
               "is listed first. Nothing leaves this machine.")
    if not releases:
        st.info("Nothing has been released yet, so there is no version in use to compare the past cases with.")
        return
    cases = _cases(offer_upload=True)
    if cases is None:
        return
    versions = [r.version for r in reversed(releases)]
    left, right = st.columns(2)
    new_ref = left.selectbox("Version to check", ["draft", *versions], key="releases.impact.new",
                             format_func=lambda v: "the saved draft" if v == "draft" else f"version {v}")
    old_ref = right.selectbox("Against the release", versions, key="releases.impact.old",
                              format_func=lambda v: f"version {v}" + (" (the latest)" if v == versions[0] else ""))
    old = _released(releases, old_ref)
    if new_ref == "draft":
        new = _saved_draft(ruleset_dir)
        if new is None:
            return
    else:
        new = _released(releases, new_ref)
    run = analysed(old, new, cases)
    if run is not None:
        named = (f"version {old.version}", "the saved draft" if new_ref == "draft" else f"version {new.version}")
        _full(run, named, _words(old, new), cases, f"{ruleset_dir.name}-{new.version}-against-{old.version}-impact")


def summary(gate: lifecycle.Gate) -> None:
    """For the review tab (in review and approved): what the version under review changes for the past cases in
    the case store against the latest release, the less urgent count first."""
    if gate.review.state not in ("in_review", "approved") or not gate.releases:
        return
    new = gate.snapshot.replay.ruleset
    if new is None:
        return
    latest = gate.releases[-1]
    cases = _cases(offer_upload=False)
    if cases is None:
        return
    run = analysed(_released(gate.releases, latest.version), new, cases)
    if run is None:
        return
    if run.result is None:
        st.warning(f"What version {new.version} changes for the past cases could not be worked out:")
        common.show_problems(run.problems, limit=5, with_file=True)
        return
    result = run.result
    said = (f"against version {latest.version}, over {result.total:,} past cases in {cases.words}: "
            f"{result.changed:,} would change disposition (the tab “What it changes for past cases” has each).")
    if result.less_urgent_count:
        st.error(f"**{common.plural(result.less_urgent_count, 'past case')} would become less urgent** with version "
                 f"{new.version} " + said)
    else:
        st.success(f"**No past case would become less urgent** with version {new.version} " + said)


# --- the cases and the versions ---------------------------------------------------------------------

def _cases(*, offer_upload: bool) -> Cases | None:
    """The case store when one is configured; else (on the tab) a file the user uploads. None: no cases yet."""
    try:
        store = case_store()
    except ProblemError as exc:  # a column map that cannot be read
        st.error("The case store's column map cannot be read:")
        common.show_problems(exc.problems, with_file=True)
        return None
    if store is not None:
        stamps = []
        for item in store.files:
            try:
                info = Path(item.path).stat()
                stamps.append((item.path, info.st_size, info.st_mtime_ns))
            except OSError:  # gone since it was listed: the analysis says so
                stamps.append((item.path, None, None))
        count = len(store.files)
        words = "the workspace's case store" + (f" ({count} files)" if count > 1 else "")
        return Cases(words, ("store", tuple(stamps), tuple(sorted(store.mapping.items()))), store=store)
    if not offer_upload:
        st.caption(f"No case store is configured (cases/ in the workspace, or {CASES_ENV}), so what this version "
                   "changes for past patients is not shown here; a file of cases can be uploaded on the tab "
                   "“What it changes for past cases”.")
        return None
    st.info(f"No case store is configured (a cases/ folder in the workspace, or {CASES_ENV}). Upload a file of past "
            "cases to see what a version changes for them: one case a row, one question a column (named by its "
            "id), empty for unanswered, 'unsure' for unsure. It is read here and not kept.")
    upload = st.file_uploader("A file of past cases (CSV, Parquet or JSON lines)", key="releases.impact.upload",
                              type=sorted(suffix.lstrip(".") for suffix in FORMATS))
    if upload is None:
        return None
    data = upload.getvalue()
    name = Path(upload.name).name
    return Cases(f"{name}", ("upload", name, hashlib.sha256(data).hexdigest()), upload=(name, data))


def _released(releases: Sequence[Release], version: str) -> CompiledRuleset:
    release = next(r for r in releases if r.version == version)
    return _compiled_release(release, (release.id, release.version, release.sha256))


@st.cache_resource(max_entries=16, show_spinner=False)
def _compiled_release(_release: Release, identity: tuple[str, str, str]) -> CompiledRuleset:
    """A release compiled once: it never changes, so its id, version and sha256 key it."""
    return CompiledRuleset(_release.model, _release.path)


def _saved_draft(ruleset_dir: Path) -> CompiledRuleset | None:
    """The ruleset as saved (not the editor's unsaved text), or None with its errors shown."""
    path = ruleset_dir / RULESET_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        st.error(f"The saved ruleset cannot be read: {exc}.")
        return None
    loaded = common.loaded(text, str(path))
    if loaded.ruleset is None:
        st.warning("The saved draft has errors, so it cannot be run over past cases until they are fixed:")
        common.show_problems([p for p in loaded.problems if p.is_error], limit=10, with_file=True)
    return loaded.ruleset


# --- the analysis, in the background -------------------------------------------------------------------

def analysed(old: CompiledRuleset, new: CompiledRuleset, cases: Cases) -> Run | None:
    """The impact of `new` against `old` over `cases`, run once per content in the background; None while it runs
    (its progress is shown, and the page draws itself again when it finishes)."""
    key = ("impact", ruleset_sha256(old.model), ruleset_sha256(new.model), cases.key)
    check = background_check.running(key, lambda progress, cancel: _analyse(old, new, cases, key, progress))
    if not check.wait(IMPACT_WAIT):
        background_check.waiting(check, f"Running both versions over the past cases in {cases.words}")
        return None
    if check.report is None:
        st.error("The analysis stopped on an unexpected error; nothing is shown. Reload the page to try again.")
        return None
    return check.report  # type: ignore[no-any-return]


def _analyse(old: CompiledRuleset, new: CompiledRuleset, cases: Cases, key: tuple[Any, ...], progress: Any) -> Run:
    progress("reading the cases", 0.0)
    try:
        if cases.store is not None:
            return Run(cases.store.impact(old, new), [], key)
        assert cases.upload is not None
        name, data = cases.upload
        with tempfile.TemporaryDirectory(prefix="workbench-cases-") as folder:
            path = Path(folder) / name  # named as uploaded, so each problem names the user's file
            path.write_bytes(data)
            try:
                return Run(impact(old, new, str(path)), [], key)
            except ProblemError as exc:  # said of the file uploaded, not of where it was put for a moment
                return Run(None, [replace(p, message=p.message.replace(str(path), name), file=name if p.file else None)
                                  for p in exc.problems], key)
    except ProblemError as exc:
        return Run(None, exc.problems, key)


# --- the impact in full ----------------------------------------------------------------------------

def _full(run: Run, named: tuple[str, str], words: dict[str, dict[str, str]], cases: Cases, stem: str) -> None:
    """The impact in full: the hazards first, the transitions and the rules they go through, the matrix, the
    downloads; `named` says the two versions (old, new) in words ("version 1.0.0", "the saved draft")."""
    if run.result is None:
        st.error(f"The past cases in {cases.words} cannot be analysed — nothing is shown until this is put right:")
        common.show_problems(run.problems, limit=20, with_file=True)
        return
    result = run.result
    if not result.total:
        st.warning(f"There are no cases in {cases.words}: nothing to compare.")
        return
    said = _sayer(words)
    columns = st.columns(3)
    columns[0].metric("Become less urgent", f"{result.less_urgent_count:,}",
                      help="Cases whose disposition would be less urgent: each a hazard to check first")
    columns[1].metric("Change disposition", f"{result.changed:,}")
    columns[2].metric("Past cases", f"{result.total:,}", help=f"From {cases.words}")
    _hazards(result, said, words)
    st.subheader("From → to", anchor=False)
    st.table([{f"From ({named[0]})": said(t.before), f"To ({named[1]})": said(t.after),
               "Change": DIRECTIONS[t.direction], "Cases": f"{t.count:,}"} for t in result.transitions],
             hide_index=True, border="horizontal")
    if result.routes:
        st.subheader("Which rules and red flags each change goes through", anchor=False)
        st.table([{"From → to": f"{said(r.before)} → {said(r.after)}", "Change": DIRECTIONS[r.direction],
                   "Rule (outcome) then → now": _rule(words, r.outcome_before, r.outcome_after),
                   "Red flags then": _flags(words, r.red_flags_before),
                   "Red flags now": _flags(words, r.red_flags_after),
                   "Cases": f"{r.count:,}", "For example": _row(r.example, result)} for r in result.routes],
                 hide_index=True, border="horizontal")
    for note in _notes(result, words):
        st.caption(note)
    drawn = replace(result, old=named[0], new=named[1])  # the picture says which is which in the page's words
    st.image(transition_svg(drawn, words["dispositions"]), alt=f"Transition matrix: {result.changed:,} of "
             f"{result.total:,} cases change disposition, {result.less_urgent_count:,} become less urgent",
             caption="Rows: the disposition under the old version; columns: under the new. Right of the diagonal "
             "(red): less urgent; left (blue): more urgent.")
    left, right = st.columns(2)
    for column, suffix, mime in ((left, ".csv", "text/csv"), (right, ".parquet", "application/vnd.apache.parquet")):
        column.download_button(f"Transitions and rules ({suffix[1:].upper()})",
                               _table_bytes(result, suffix, run.key),
                               file_name=stem + suffix, mime=mime, key=f"releases.impact.download{suffix}",
                               icon=":material/download:", on_click="ignore")


def _hazards(result: Impact, said: Any, words: dict[str, dict[str, str]]) -> None:
    """Every case that became less urgent, first, as a hazard."""
    if not result.less_urgent_count:
        st.success("No past case would become less urgent.")
        return
    st.error(f"**{common.plural(result.less_urgent_count, 'past case')} would become less urgent** — a hazard: "
             "check each before this version is released.")
    several = len(result.files) > 1
    shown = result.less_urgent[:SHOWN]
    st.table([{"Case": (f"{Path(h.file).name}, " if several else "") + f"row {h.row}", "Was": said(h.before),
               "Would be": said(h.after),
               "Rule (outcome) then → now": _rule(words, h.outcome_before, h.outcome_after),
               "Red flags": _flags(words, h.red_flags),
               "Red flags an unsure or missing answer may hide": _flags(words, h.possible_red_flags)}
              for h in shown], hide_index=True, border="horizontal")
    if result.less_urgent_count > len(shown):
        st.caption(f"The first {len(shown):,} of {result.less_urgent_count:,} are listed.")


def _notes(result: Impact, words: dict[str, dict[str, str]]) -> list[str]:
    notes = []
    if result.missing:
        asked = "; ".join(words["inputs"].get(i, i) for i in result.missing)
        notes.append(f"Not in the cases, so every case leaves it unanswered: {asked.rstrip('.')}"
                     + ("" if asked.endswith(("?", ".")) else "."))
    if result.unsure:
        notes.append(f"{result.unsure:,} cases have unsure answers, each weighed at its most urgent possibility.")
    return notes


def _words(old: CompiledRuleset, new: CompiledRuleset) -> dict[str, dict[str, str]]:
    """Both versions' words, the new version's where they differ (an id the new version dropped keeps the old)."""
    words = common.clinical_words(old.model)
    for kind, table in common.clinical_words(new.model).items():
        words[kind].update(table)
    return words


def _sayer(words: dict[str, dict[str, str]]) -> Any:
    def said(disposition: str | None) -> str:
        return "needs more answers" if disposition is None else words["dispositions"].get(disposition, disposition)
    return said


def _rule(words: dict[str, dict[str, str]], before: str | None, after: str | None) -> str:
    """The outcome a case reached under each version; one name when it is the same outcome, whose disposition
    changed."""
    if before == after:
        return f"{_node(words, after)} (the same outcome, its disposition changed)"
    return f"{_node(words, before)} → {_node(words, after)}"


def _node(words: dict[str, dict[str, str]], outcome: str | None) -> str:
    return "still asking" if outcome is None else words["nodes"].get(outcome, outcome)


def _flags(words: dict[str, dict[str, str]], flags: Sequence[str]) -> str:
    return ", ".join(words["flags"].get(f, f) for f in flags) or "none"


def _row(example: dict[str, Any], result: Impact) -> str:
    where = f"{Path(str(example.get('file'))).name}, " if len(result.files) > 1 else ""
    return f"{where}row {example.get('row')}"


@st.cache_data(max_entries=16, show_spinner=False)
def _table_bytes(_result: Impact, suffix: str, identity: tuple[Any, ...]) -> bytes:
    """The core's downloadable table (analysis/impact.py `write_transitions`) as the bytes of a file."""
    with tempfile.TemporaryDirectory(prefix="workbench-impact-") as folder:
        return write_transitions(_result, Path(folder) / f"impact{suffix}").read_bytes()
