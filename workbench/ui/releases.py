"""Releases: review state, the gate's reasons, submit / approve / reject / release, history and the diff.

Every decision is the core's (access.py, release.py, history.py, diff.py); this page collects reasons (and,
when nobody signs in, names), calls it, and shows what it says. Refusals are listed in full, one line per reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from .. import access
from .. import release as lifecycle
from ..access import Identity
from ..diff import Diff, diff_versions
from ..history import history
from ..problems import Problem, ProblemError
from . import common

OUTCOME = "releases.outcome"  # the last action's outcome dict, shown once after the rerun it causes


def page(ruleset_dir: Path) -> None:
    ruleset_dir = Path(ruleset_dir)
    st.title("Releases")
    try:
        gate = lifecycle.readiness(ruleset_dir)
    except ProblemError as exc:
        st.error("The review state cannot be read:")
        common.show_problems(exc.problems)
        return
    review = gate.review
    name = gate.draft.model.id if gate.draft.model else ruleset_dir.name
    state, where = review.state.replace("_", " "), review.describe()
    rest = where[len(state):] if where.startswith(state) else f" — {where}"  # describe() may name the state
    st.caption(f"`{name}` · working copy version {gate.draft.model.version if gate.draft.model else '?'} · "
               f"**{state}**{common.escape_md(rest)}")
    if common.unsaved(ruleset_dir / common.RULESET_FILE):
        st.warning("The editor has unsaved changes. Review and release use the saved file only: save first.")
    _last_outcome()
    actions, past, changes = st.tabs(["Review and release", "History", "What changed"])
    with actions:
        _gate(gate)
        _actions(ruleset_dir, review)
    with past:
        _history(ruleset_dir)
    with changes:
        _diff(ruleset_dir, [r.version for r in gate.releases])


# --- review and release ---------------------------------------------------------------------

def _gate(gate: lifecycle.Gate) -> None:
    summary = gate.draft.summary
    st.markdown(f"**Replay of the saved draft:** {summary['passed']} of {summary['total']} vignettes pass.")
    if gate.ok:
        st.success("Nothing stops a release: the draft is approved, unchanged since submission, valid, and every "
                   "vignette passes.")
        return
    st.error(f"A release would be refused now — {common.plural(len(gate.problems), 'reason')}:")
    common.show_problems(gate.problems, limit=30, with_file=True)


def _actions(ruleset_dir: Path, review: lifecycle.ReviewState) -> None:
    if review.state == "draft":
        if not common.may("submit"):
            common.not_allowed("submit", "Submit for review")
            return
        with st.form("releases.submit"):
            st.subheader("Submit for review")
            st.caption("The author asks a second clinician to review the saved draft as it is now.")
            author = _name("Your name (author)", "releases.author")
            reason = st.text_input("What changed and why (optional)", key="releases.submit_reason")
            if st.form_submit_button("Submit for review", type="primary"):
                _run(access.submit, ruleset_dir, author, reason)
        return
    left, right = st.columns(2)
    with left:
        if review.state == "in_review" and not common.may("approve"):
            common.not_allowed("approve", "Approve")
        elif review.state == "in_review":
            with st.form("releases.approve"):
                st.subheader("Approve")
                st.caption(f"Submitted by {common.escape_md(review.author or '?')}; approval must come from "
                           "another clinician.")
                reviewer = _name("Your name (reviewer)", "releases.reviewer")
                note = st.text_input("Note (optional)", key="releases.approve_note")
                if st.form_submit_button("Approve", type="primary"):
                    _run(access.approve, ruleset_dir, reviewer, note)
        elif not common.may("release"):
            common.not_allowed("release", "Release")
        else:
            with st.form("releases.release"):
                st.subheader("Release")
                st.caption(f"Approved by {common.escape_md(review.reviewer or '?')}, who makes the release. It can "
                           "never be changed after.")
                approver = _name("Your name (approver)", "releases.approver")
                reason = st.text_input("Reason for this release", key="releases.release_reason")
                if st.form_submit_button(f"Release version {review.version}", type="primary"):
                    _run(access.release, ruleset_dir, approver, reason)
    with right:
        if not common.may("reject"):
            common.not_allowed("reject", "Reject")
            return
        with st.form("releases.reject"):
            st.subheader("Reject")
            st.caption("Send it back to the author as a draft, saying what to change.")
            reviewer = _name("Your name (reviewer)", "releases.rejecter")
            reason = st.text_area("What must change", key="releases.reject_reason")
            if st.form_submit_button("Reject"):
                _run(access.reject, ruleset_dir, reviewer, reason)


def _name(label: str, key: str) -> str | None:
    """The name to act under. Signed in, it is the person's own (the audit log records it) and nothing is asked;
    without accounts it is typed, because the gate needs an author and a different approver."""
    who = common.person()
    if who is not None and who.signed_in:
        st.markdown(f"Recorded in the audit log as **{common.escape_md(who.name)}**.")
        return None
    return st.text_input(label, key=key)


def _acting(typed: str | None) -> Identity | None:
    """Who the action is recorded under: the signed-in person, or (no accounts) the name typed in the form."""
    who = common.person()
    if who is None or who.signed_in or typed is None:
        return who
    if not typed.strip():
        return replace(who, name="")  # no name given: the gate asks for one (WB711) rather than acting as 'local'
    return access.local_identity(typed)


def _run(action: Callable[[Identity | None, Path, str], lifecycle.Outcome], ruleset_dir: Path, typed: str | None,
         reason: str) -> None:
    """Act through access.py, which checks the role again; a refusal is shown here and the form keeps its text."""
    try:
        outcome = action(_acting(typed), ruleset_dir, reason)
    except ProblemError as exc:  # not allowed (AccessDenied), the folder is gone, the disk refused
        common.refused(exc)
        return
    st.session_state[OUTCOME] = outcome.to_dict()
    st.rerun()


def _last_outcome() -> None:
    outcome = st.session_state.pop(OUTCOME, None)
    if not outcome:
        return
    action = outcome["action"]
    if outcome["ok"]:
        made = outcome.get("release")
        st.success(f"Released version {made['version']} (sha256 `{made['sha256']}`)." if made
                   else {"submit": "Submitted for review.", "approve": "Approved.",
                         "reject": "Rejected: back to draft."}[action])
        return
    problems = [Problem(**p) for p in outcome["problems"]]
    st.error(f"{action.capitalize()} refused — {common.plural(len(problems), 'reason')}:")
    common.show_problems(problems, with_file=True)


# --- history --------------------------------------------------------------------------------

def _history(ruleset_dir: Path) -> None:
    found = history(ruleset_dir)
    entries = len(found.audit.entries)
    log = f"audit log of {entries} entr{'y' if entries == 1 else 'ies'}, its hash chain intact"
    if found.ok:
        st.success((f"{common.plural(len(found.releases), 'release')}, each matching its sha256 and the audit log; "
                    if found.releases else "No releases yet; ") + log + ".")
    else:
        st.error(f"Tampering or damage found — {common.plural(len(found.problems), 'problem')}:")
        common.show_problems(found.problems, with_file=True)
    st.subheader("Releases")
    if found.releases:
        st.dataframe([_release_row(r) for r in reversed(found.releases)], hide_index=True, width="stretch")
    else:
        st.caption("Nothing released yet.")
    st.subheader("Audit log")
    if found.audit.entries:
        st.dataframe([{"#": e["seq"], "when (UTC)": e["at"], "action": e["action"], "version": e["version"],
                       "who": e["actor"], "reason": e["reason"], "sha256": e["sha256"][:12]}
                      for e in reversed(found.audit.entries)], hide_index=True, width="stretch")
    else:
        st.caption("No review actions yet.")


def _release_row(item: lifecycle.Release) -> dict[str, Any]:
    replay = item.release.get("replay") or {}
    return {"version": item.version, "released (UTC)": item.released_at, "author": item.author,
            "approver": item.approver, "reason": item.release.get("reason"),
            "replay": f"{replay.get('passed')}/{replay.get('total')}", "sha256": item.sha256[:12]}


# --- diff -----------------------------------------------------------------------------------

def _diff(ruleset_dir: Path, versions: list[str]) -> None:
    if not versions:
        st.info("Nothing has been released yet: the first release has nothing to compare with.")
        return
    left, right = st.columns(2)
    start = left.selectbox("From", list(reversed(versions)), key="releases.from")
    end = right.selectbox("To", ["draft", *reversed(versions)], key="releases.to")
    try:
        result = diff_versions(ruleset_dir, start, end)
    except ProblemError as exc:
        st.error("These versions cannot be compared:")
        common.show_problems(exc.problems, with_file=True)
        return
    _bump(result)
    _structure(result)
    _behaviour(result)


def _bump(result: Diff) -> None:
    words = {"none": "no change", "patch": "patch (wording only)", "minor": "minor (escalations, new questions)",
             "major": "MAJOR (a case is de-escalated, or apps must change)"}
    st.metric("Suggested version", result.suggested_version or result.from_version,
              help=f"{result.from_version} + {words[result.bump]}")
    st.markdown(f"**Suggested bump: {words[result.bump]}**")
    for reason in result.reasons:
        st.markdown(f"- {common.escape_md(reason)}")
    for warning in result.warnings:
        st.warning(warning)


def _structure(result: Diff) -> None:
    st.subheader(f"What the ruleset says — {common.plural(len(result.changes), 'change')}")
    for change in result.changes:
        label = f"[{change.kind}] {change.text}"
        if change.before is None and change.after is None:
            st.markdown(f"- {common.escape_md(label)}")
            continue
        with st.expander(label):
            st.markdown(f"**Before:** {common.escape_md(change.before or '—')}")
            st.markdown(f"**After:** {common.escape_md(change.after or '—')}")


def _behaviour(result: Diff) -> None:
    st.subheader("What the ruleset does")
    st.markdown(f"**Vignettes:** {result.vignettes_run} run on both versions; "
                f"{len(result.vignettes)} give a different result.")
    if result.vignettes:
        st.dataframe([{"vignette": v.id, "change": v.direction, "before": common.expectation_text(v.before),
                       "after": common.expectation_text(v.after)} for v in result.vignettes],
                     hide_index=True, width="stretch")
    exhaustive = result.exhaustive
    if not exhaustive.checked:
        st.warning(f"Not every combination of answers could be compared: {exhaustive.reason}.")
        return
    st.markdown(f"**Every combination of answers:** {exhaustive.total:,} combinations of "
                f"{len(exhaustive.inputs)} questions (numbers by range); {exhaustive.changed:,} change result.")
    for note in exhaustive.notes:
        st.caption(note)
    if exhaustive.changes:
        st.dataframe(exhaustive.summary(), hide_index=True, width="stretch")
        st.dataframe([{"change": c.direction, "before": f"{c.before} ({c.outcome_before})",
                       "after": f"{c.after} ({c.outcome_after})", "combinations": c.combinations,
                       "when": "; ".join(f"{k}: {v}" for k, v in c.answers.items())}
                      for c in exhaustive.changes], hide_index=True, width="stretch")
    for flag in exhaustive.flags:
        st.markdown(f"- Red flag `{flag.id}` fires in {flag.gained} more and {flag.lost} fewer of "
                    f"{flag.combinations} combinations of its answers.")
