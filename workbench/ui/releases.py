"""Releases: where the ruleset stands in review, what happens next and who may do it, one button each; the
history; and what changed.

Every decision is the core's (access.py, publish/lifecycle.py, diff.py): this page reads the state the history
gives, offers the one action that moves it on to the person allowed to take it, and shows what the core says.
Normal states (waiting for review, just released) are shown as states, not as errors; only what stops the
next step is listed, as things to do. Its parts with a module each: what the release gate requires
(release_gate.py), a release's files to download (release_downloads.py), and what a version changes for the past
cases on record (release_impact.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from ..content import authoring
from ..files import SaveConflict, read_versioned
from ..folder import RulesetFolder
from ..people import access
from ..people.access import Identity
from ..problems import Problem, ProblemError
from ..publish import lifecycle
from ..publish.diff import Diff, diff_versions
from ..publish.releases import Release
from ..run.engine import CompiledRuleset
from ..run.explain import input_label
from . import common, release_downloads, release_gate, release_impact

OUTCOME = "releases.outcome"  # the last action's outcome dict, shown once after the rerun it causes


def page(ruleset_dir: Path) -> None:
    ruleset_dir = Path(ruleset_dir)
    st.title("Releases")
    try:
        repository, ruleset_id = lifecycle.open_ruleset(ruleset_dir)
        stamp = _stamp(repository, ruleset_dir)
        found = _history_of(str(ruleset_dir), stamp)
    except ProblemError as exc:
        st.error("The history of this ruleset cannot be read:")
        common.show_problems(exc.problems)
        return
    _last_outcome()
    if common.unsaved(ruleset_dir / common.RULESET_FILE):
        st.warning("The editor has unsaved changes. Review and release use what is saved: save first.")
    actions, past, changes, cases = st.tabs(["Review and release", "History", "What changed",
                                             "What it changes for past cases"])
    with actions:
        _review(ruleset_dir, repository, ruleset_id, stamp, found)
    with past:
        _history(found)
    with changes:
        _diff(ruleset_dir, [r.version for r in found.releases])
    with cases:
        release_impact.tab(ruleset_dir, found.releases)


def _review(ruleset_dir: Path, repository: Any, ruleset_id: str, stamp: tuple[Any, ...],
            found: lifecycle.History) -> None:
    """The next step, once the gate's verification has finished: until then its progress, and no step offered,
    since whether the gate would take it is not known yet."""
    verified = release_gate.verified(repository, ruleset_id)
    if verified is None:
        return
    try:
        gate = _gate(str(ruleset_dir), _acting_name(), stamp, verified)
    except ProblemError as exc:
        st.error("The history of this ruleset cannot be read:")
        common.show_problems(exc.problems)
        return
    _next_step(ruleset_dir, gate, found)


@st.cache_resource(max_entries=8, show_spinner="Reading the history…")
def _history_of(ruleset_dir: str, stamp: tuple[Any, ...]) -> lifecycle.History:
    """The history, read again only when `stamp` says something it read could have changed."""
    repository, ruleset_id = lifecycle.open_ruleset(Path(ruleset_dir))
    return lifecycle.history(repository, ruleset_id, access.keyring())


@st.cache_resource(max_entries=8, show_spinner="Checking the release gate…")
def _gate(ruleset_dir: str, acting: str | None, stamp: tuple[Any, ...],
          _verified: release_gate.Verified) -> lifecycle.Gate:
    """The gate, with the verification the page ran in the background (`stamp` names the commit it verified)."""
    repository, ruleset_id = lifecycle.open_ruleset(Path(ruleset_dir))
    snap = lifecycle.snapshot(repository, ruleset_id)
    if _verified.report is not None:
        snap.adopt(_verified.text, _verified.report)
    return lifecycle.check_release(repository, ruleset_id, acting, access.keyring(), snap=snap)


def _stamp(repository: Any, ruleset_dir: Path) -> tuple[Any, ...]:
    """What the gate and the history read: the last commit, the keyring, and the ruleset's files on disk (an
    edit there that was never saved is one of the gate's reasons). A few stat calls, no file read."""
    from ..publish.signing import keyring_file

    folder = RulesetFolder(ruleset_dir)
    paths = [keyring_file(), folder.ruleset_file, *sorted(folder.vignettes_dir.glob("*")),
             *sorted(folder.releases_dir.glob("*"))]
    seen = []
    for path in paths:
        try:
            info = path.lstat()
            seen.append((str(path), info.st_mtime_ns, info.st_size, info.st_ino))
        except OSError:
            seen.append((str(path), None))
    return (repository.head(), *seen)


def _acting_name() -> str | None:
    who = common.person()
    return who.name if who is not None and who.signed_in else None


# --- the state and the next step ---------------------------------------------------------------------

_WAITING = {"WB707", "WB704", "WB709", "WB711", "WB712"}  # the normal course of review, not a blocker
_VERSION = {"WB705", "WB706"}  # the version is not above the last release: put right by a new version number


def _next_step(ruleset_dir: Path, gate: lifecycle.Gate, found: lifecycle.History) -> None:
    review, snap = gate.review, gate.snapshot
    version = snap.model.version if snap.model else "?"
    released = gate.releases[-1] if gate.releases else None
    blockers = [p for p in gate.problems if p.code not in _WAITING]
    summary = snap.summary
    st.caption(f"`{snap.ruleset_id}` · saved version **{version}** · replay of what is saved: "
               f"{summary['passed']} of {summary['total']} vignettes pass"
               + (f" · latest release **{released.version}**" if released else " · never released"))
    if review.state == "draft" and released is not None and released.version == version:
        st.success(f"Released: version {released.version} is published, signed by {released.signer.name}.")
        if snap.model is None or released.has_content_of(snap.model):  # its files, right after the release
            release_downloads.show(released, key="released")
        release_gate.show(gate)
        if snap.model is not None and not released.has_content_of(snap.model):
            others = [p for p in blockers if p.code not in _VERSION]
            if others:  # never suggest a step the gate would refuse: what it says comes first
                st.info("There are saved changes since this release.")
                _blockers(others, "Before a new version can be released")
            else:
                _new_version(ruleset_dir, released.version, "There are saved changes since this release.")
        return
    if review.state == "draft":
        rejected = (f" It was sent back by {review.reviewer}: “{review.reject_reason}”." if review.reject_reason
                    else "")
        st.info(f"**Draft.**{rejected} Next: an author submits version {version} for review by a second "
                "clinician.")
        release_gate.show(gate)
        others = [p for p in blockers if p.code not in _VERSION]
        if released is not None and len(others) < len(blockers):
            if others:  # the version is the last thing to do, not the next: the gate's other reasons first
                st.info(f"Version {version} is not above the last release ({released.version}); it will need a new "
                        "version number once the things below are put right.")
            else:
                _new_version(ruleset_dir, released.version, f"Version {version} is not above the last release.")
            blockers = others
        _blockers(blockers, "Before it can be submitted")
        if not blockers:
            _form("submit", ruleset_dir, "Submit for review", "What changed and why", access.submit, signs=False)
        return
    if review.state == "in_review":
        st.info(f"**Waiting for review.** {review.author} submitted version {review.version} at "
                f"{review.submitted_at}. Next: a reviewer other than {review.author} approves it (or sends it back).")
        release_gate.show(gate)
        release_impact.summary(gate)
        _blockers(blockers, "Before it can be approved")
        left, right = st.columns(2)
        with left:
            if not blockers and release_gate.reasons_given(gate):
                _form("approve", ruleset_dir, "Approve", "Note (optional)", release_gate.approving(access.approve),
                      signs=True)
        with right:
            _form("reject", ruleset_dir, "Send back", "What must change", access.reject, signs=False)
        return
    st.info(f"**Approved** by {review.reviewer} at {review.reviewed_at}. Next: {review.reviewer} releases version "
            f"{review.version}, signing it; after that it can never change.")
    release_gate.show(gate)
    release_impact.summary(gate)
    _blockers(blockers, "Before it can be released")
    left, right = st.columns(2)
    with left:
        if not blockers:
            _form("release", ruleset_dir, f"Release version {review.version}", "Reason for this release",
                  access.release, signs=True)
    with right:
        _form("reject", ruleset_dir, "Send back", "What must change", access.reject, signs=False)


def _new_version(ruleset_dir: Path, released: str, why: str) -> None:
    """The version the changes since `released` call for (diff.py: a de-escalation is major), and one button
    that gives it to the ruleset (a save like any other, recorded with its reason)."""
    try:
        change = _suggestion(ruleset_dir, released, common.file_text(ruleset_dir / common.RULESET_FILE))
    except ProblemError as exc:
        st.info(f"{why} Give the ruleset a new version number to release the changes.")
        common.show_problems(exc.problems, limit=5)
        return
    suggested, bump, reasons = change
    if not suggested:
        st.info(why)
        return
    st.info(f"{why} Next: version **{suggested}** — a {bump} change since {released}"
            + (f" ({common.escape_md(reasons[0])})" if reasons else "") + ". Then submit it for review.")
    if not common.may("edit_ruleset"):
        common.not_allowed("edit_ruleset", f"Using version {suggested}")
        return
    if st.button(f"Use version {suggested}", key="releases.version", type="primary", icon=":material/upgrade:"):
        path = ruleset_dir / common.RULESET_FILE
        text, token = read_versioned(path)
        try:
            new_text = authoring.with_version(text or "", suggested)
            access.save_ruleset(common.person(), path, new_text, token,
                                f"Version {suggested}: a {bump} change since {released}")
        except authoring.AuthoringError as exc:
            st.error(str(exc))
            return
        except SaveConflict:
            st.error("ruleset.yaml changed just now; nothing was saved. Try again.")
            return
        except ProblemError as exc:
            common.refused(exc)
            return
        common.buffers().pop(str(path), None)  # the editor opens the saved file next time
        st.session_state[OUTCOME] = {"action": "version", "ok": True, "version": suggested}
        st.rerun()


@st.cache_data(max_entries=16, show_spinner="Comparing with the last release…")
def _suggestion(ruleset_dir: Path, released: str, text: str) -> tuple[str | None, str, list[str]]:
    """(suggested version, bump, reasons): keyed on the saved text, so a save asks again."""
    result = diff_versions(ruleset_dir, released, "draft")
    return result.suggested_version, result.bump, list(result.reasons)


def _blockers(problems: list[Problem], heading: str) -> None:
    if problems:
        st.warning(f"{heading}, {common.plural(len(problems), 'thing')} to put right:")
        common.show_problems(problems, limit=30, with_file=True)


_ACTION_OF = {"submit": "submit", "approve": "approve", "reject": "reject", "release": "release"}


def _form(action: str, ruleset_dir: Path, button: str, reason_label: str, run: Callable[..., Any],
          signs: bool) -> None:
    """One action, offered only to a signed-in person whose role allows it, never under a typed name (without
    accounts the core's access.review_needs_account says why, and how to turn accounts on); signing actions ask
    for the password that opens the person's key."""
    who = common.person()
    if (closed := access.review_needs_account(who, action)) is not None:
        st.caption(f":material/lock: {common.escape_md(closed.message)} Create the first admin account in the "
                   "sidebar to turn them on.")
        return
    if not common.may(_ACTION_OF[action]):
        common.not_allowed(_ACTION_OF[action], button)
        return
    with st.form(f"releases.{action}", border=True):
        st.markdown(f"**{button}**")
        st.caption(f"Recorded in the history as {common.escape_md(who.name if who else '')}.")
        reason = (st.text_area if action == "reject" else st.text_input)(reason_label, key=f"releases.{action}.reason")
        secret = st.text_input("Your password (it opens your signing key)", type="password",
                               key=f"releases.{action}.password") if signs else None
        if st.form_submit_button(button, type="primary" if action != "reject" else "secondary"):
            _run(action, ruleset_dir, run, reason, secret)


def _acting(action: str) -> Identity:
    """Who the action is recorded under: the signed-in person, never a typed name (access.require_signed_in)."""
    return access.require_signed_in(common.person(), _ACTION_OF[action])


def _run(action: str, ruleset_dir: Path, run: Callable[..., Any], reason: str, secret: str | None) -> None:
    """Act through access.py, which checks the role again; a refusal is shown here and the form keeps its text."""
    try:
        identity = _acting(action)
        if secret is not None:
            key = access.unlock_key(identity, secret, _ACTION_OF[action])
            outcome = run(identity, ruleset_dir, reason, key)
        else:
            outcome = run(identity, ruleset_dir, reason)
    except ProblemError as exc:  # not allowed, wrong password, no key, the folder is gone, the disk refused
        common.refused(exc)
        return
    st.session_state[OUTCOME] = outcome.to_dict()
    st.rerun()


def _last_outcome() -> None:
    outcome = st.session_state.pop(OUTCOME, None)
    if not outcome:
        return
    action = outcome["action"]
    if action == "version":
        st.success(f"Saved as version {outcome['version']}. Next: submit it for review.")
        return
    if outcome["ok"]:
        made = outcome.get("release")
        st.success(f"Released version {made['version']}, signed by {made['signed_by']}." if made
                   else {"submit": "Submitted for review.", "approve": "Approved and signed.",
                         "reject": "Sent back to the author as a draft."}[action])
        return
    problems = [Problem(**p) for p in outcome["problems"]]
    st.warning(f"Not done: {action} — {common.plural(len(problems), 'thing')} to put right first:")
    common.show_problems(problems, with_file=True)


# --- history --------------------------------------------------------------------------------

def _history(found: lifecycle.History) -> None:
    if found.ok:
        st.success((f"{common.plural(len(found.releases), 'release')}, each signed by its approver with a trusted "
                    "key and unchanged since; " if found.releases else "No releases yet; ")
                   + f"{common.plural(len(found.commits), 'change')} in the history.")
    else:
        st.error(f"Tampering or damage found — {common.plural(len(found.problems), 'problem')}:")
        common.show_problems(found.problems, with_file=True)
    st.subheader("Releases", anchor=False)
    if found.releases:
        st.table([_release_row(r) for r in reversed(found.releases)], hide_index=True, border="horizontal")
        release_downloads.chooser(found.releases)
    else:
        st.caption("Nothing released yet.")
    st.subheader("Every change", anchor=False)
    with st.expander(f"{common.plural(len(found.commits), 'change')}, newest first", expanded=len(found.commits) < 8):
        st.table([{"When (UTC)": c.at[:16].replace("T", " "), "Who": c.author, "What": c.subject,
                   "Why": c.reason.split("\n")[0]} for c in found.commits], hide_index=True, border="horizontal")


def _release_row(item: Release) -> dict[str, Any]:
    replay = item.record.get("replay") or {}
    return {"version": item.version, "released (UTC)": item.released_at, "author": item.author,
            "approved and signed by": item.signer.name, "reason": item.record.get("reason"),
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
    rs = common.compiled(common.file_text(ruleset_dir / common.RULESET_FILE), str(ruleset_dir / common.RULESET_FILE))
    _bump(result)
    _structure(result)
    _behaviour(result, rs)


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


def _behaviour(result: Diff, rs: CompiledRuleset | None) -> None:
    """What changed in what the rules do, in the draft's words (a node or answer the draft no longer has keeps
    its id), in tables that wrap rather than cut."""
    st.subheader("What the ruleset does")
    model = rs.model if rs else None
    words = common.clinical_words(model)
    st.markdown(f"**Vignettes:** {result.vignettes_run} run on both versions; "
                f"{len(result.vignettes)} give a different result.")
    if result.vignettes:
        st.table([{"Vignette": v.id, "Change": v.direction, "Before": common.expectation_text(v.before, model),
                   "After": common.expectation_text(v.after, model)} for v in result.vignettes],
                 hide_index=True, border="horizontal")
    exhaustive = result.exhaustive
    if not exhaustive.checked:
        st.warning(f"Not every combination of answers could be compared: {exhaustive.reason}.")
        return
    st.markdown(f"**Every possible patient:** {common.compact_count(exhaustive.total)} answer combinations of "
                f"{len(exhaustive.inputs)} questions (numbers counted by range); "
                f"{common.compact_count(exhaustive.changed)} change result.",
                help=f"{exhaustive.total:,} combinations; {exhaustive.changed:,} change result")
    for note in exhaustive.notes:
        st.caption(note)

    def said(disposition: str, outcome: str | None = None) -> str:
        text = words["dispositions"].get(disposition, disposition)
        return f"{text} ({words['nodes'].get(outcome, outcome)})" if outcome else text

    if exhaustive.changes:
        st.table([{"From": said(row["before"]), "To": said(row["after"]), "Change": row["direction"],
                   "Answer combinations": f"{row['combinations']:,}"} for row in exhaustive.summary()],
                 hide_index=True, border="horizontal")
        st.markdown("**Which patients changed**")
        st.table([{"Patients who have": "; ".join(f"{input_label(rs, k) if rs else k}: {v}"
                                                  for k, v in c.answers.items()) or "any answers",
                   "Before": said(c.before, c.outcome_before), "After": said(c.after, c.outcome_after),
                   "Change": c.direction, "Combinations": f"{c.combinations:,}"}
                  for c in exhaustive.changes], hide_index=True, border="horizontal")
    for flag in exhaustive.flags:
        st.markdown(f"- Red flag **{common.escape_md(words['flags'].get(flag.id, flag.id))}** fires in "
                    f"{flag.gained:,} more and {flag.lost:,} fewer of {flag.combinations:,} combinations of its "
                    "answers.", help=f"id: {flag.id}")
