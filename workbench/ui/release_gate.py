"""What the release gate requires of the saved version, on the Releases page's review tab in every state: the
safety promises verification proved, broke (never released: WB714) or left unproved (released only on the
approver's signed reason: WB715), and the red-flag floors — each red flag and the least urgent disposition a case
can reach while it fires.

Verification is the gate's own (publish/lifecycle.py `gate_verification`), run in the background so the page
never waits on it: until it is done the page shows its progress and offers no next step, since it cannot know
whether the gate would take it. Approving with unproved promises asks for a reason for each, passed to the core
as the CLI's `approve --unproved-reason PROPERTY=WHY` passes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ..analysis.verify import Floor, Verification
from ..folder import RULESET_FILE
from ..publish import lifecycle
from ..publish.repository import Repository
from ..run.words import answers_in_words
from . import background_check, common

GATE_WAIT = 3.0
"""Seconds the page waits for the gate's verification before showing its progress instead: the shipped ruleset
takes about one, so a reviewer normally never sees a progress bar."""
REASON = "releases.unproved."
"""Session keys of the approver's reasons, one per unproved promise: REASON + its id."""


@dataclass(frozen=True)
class Verified:
    """The gate's verification of the ruleset as committed now (`report` None: it has errors, nothing to verify)."""

    text: str
    report: Verification | None


def verified(repository: Repository, ruleset_id: str) -> Verified | None:
    """The gate's verification of what is committed now, from the background; None while it runs (its progress is
    shown, and the page draws itself again when it finishes)."""
    text = (repository.read(f"{ruleset_id}/{RULESET_FILE}") or b"").decode("utf-8", "replace")
    file = str(repository.root / ruleset_id / RULESET_FILE)
    check = background_check.running(("gate", text, file), lambda progress, cancel: lifecycle.gate_verification(
        text, file, progress))
    if not check.wait(GATE_WAIT):
        background_check.waiting(check, "Checking every possible case, as the release gate will")
        return None
    return Verified(text, check.report)


# --- the summary ------------------------------------------------------------------------------------

def show(gate: lifecycle.Gate) -> None:
    """Proved, broken (first) and unproved promises, and the red-flag floors, in the ruleset's words (ids on
    hover)."""
    snap, review = gate.snapshot, gate.review
    found = snap.verification
    st.subheader("What the release gate requires", anchor=False)
    if found is None or snap.replay.ruleset is None:
        st.info("The saved ruleset has errors, so its safety promises cannot be checked yet; the gate refuses it "
                "until they are fixed (listed below).")
        return
    rs = snap.replay.ruleset
    words = common.clinical_words(rs.model)
    broken, unproved = snap.broken(), snap.unproved()
    proved = [p for p in found.properties if p.status == "holds"]
    violated = [p for p in found.properties if p.status == "violated"]
    stated = len(found.properties)
    if stated:
        st.markdown(f"**{len(proved)} of {stated} safety {'property' if stated == 1 else 'properties'} proved** over "
                    "every possible case" + (f"; {len(violated)} broken" if violated else "")
                    + ("; and escalation (a yes never makes it less urgent) is broken" if "monotonic" in broken else "")
                    + (f"; {len(unproved)} unproved" if unproved else "") + ".",
                    help="Verification of the saved version, as the release gate runs it: every combination of "
                    "answers, numbers by the ranges their thresholds define.")
    else:
        st.markdown("**This ruleset states no safety properties**, so the gate has none to prove; the red-flag "
                    "floors below still show how low a case can go while a red flag fires.")
    if broken:
        st.error(f"**{common.plural(len(broken), 'safety promise')} broken** — the gate refuses to release it "
                 "until the rules keep every promise:")
        for verdict in violated:
            case = verdict.counterexample
            example = (f"  \nFor example: {common.escape_md(answers_in_words(rs, case.inputs, name_the_rest=False))}"
                       f" → **{common.escape_md(words['dispositions'].get(case.result['disposition'], ''))}**"
                       if case is not None else "")
            st.markdown(f":red[**BROKEN**] — **{common.escape_md(verdict.title)}**{example}",
                        help=f"id: {verdict.id}; when {verdict.when}, {verdict.kind.replace('_', ' ')} "
                        f"{verdict.target}")
        if "monotonic" in broken:
            st.markdown(f":red[**BROKEN**] — **{common.escape_md(broken['monotonic'])}**", help="id: monotonic")
        st.caption("The Safety page shows a case that breaks each, ready to save as a vignette.")
    if unproved:
        _unproved(found, unproved, review)
    elif not broken and stated:
        st.success("Every safety promise is proved, so the gate's safety check passes.")
    _floors(found, rs, words, expanded=review.state != "draft")


def _unproved(found: Verification, unproved: dict[str, str], review: lifecycle.ReviewState) -> None:
    st.warning(f"Verification could not finish ({found.why_unfinished}), so "
               f"{common.plural(len(unproved), 'safety promise')} {'is' if len(unproved) == 1 else 'are'} not "
               "proved. It can be released only when the approver says why each may be released anyway; the reason "
               "is signed with the approval and shown on the release.")
    for key, title in unproved.items():
        given = review.unproved.get(key) if review.state == "approved" else None
        said = (f" — released on {common.escape_md(review.reviewer or '')}'s signed reason: "
                f"“{common.escape_md(given)}”" if given else "")
        st.markdown(f":orange[**not proved**] — **{common.escape_md(title)}**{said}", help=f"id: {key}")


def _floors(found: Verification, rs: Any, words: dict[str, dict[str, str]], *, expanded: bool) -> None:
    """Each red flag and the least urgent disposition a case reaches while it fires, those that reach the least
    urgent of all first (as the Safety page leads with them); then how many red flags together can still reach
    it. The Safety page has every row with an example case."""
    if "red-flag floors" in found.unfinished:
        st.caption(f"Red-flag floors: not finished ({found.why_unfinished}).")
        return
    at_bottom = found.floors_at_bottom()
    bottom = [f for f in found.red_flag_floor if f in at_bottom]
    least = words["dispositions"].get(found.least_urgent or "", found.least_urgent or "")
    title = (f"Red-flag floors: {common.plural(len(bottom), 'red flag')} can reach {least}, the least urgent"
             if bottom else f"Red-flag floors: no red flag fires in a case that reaches {least}")
    with st.expander(title, expanded=expanded or bool(bottom)):
        st.caption("For each red flag, the least urgent disposition any complete case reaches while it fires.")
        for floor in sorted(found.red_flag_floor, key=lambda f: f not in bottom):
            reached = words["dispositions"].get(floor.least_urgent or "", floor.least_urgent or "")
            where = words["nodes"].get(floor.outcome or "", floor.outcome or "")
            mark = ":orange[**least urgent**] " if floor in bottom else ""
            st.markdown(f"{mark}**{common.escape_md(_flag_words(floor, words))}** → at worst "
                        + (f"**{common.escape_md(reached)}** (at {common.escape_md(where)})" if floor.least_urgent
                           else "never fires"),
                        help=f"ids: {floor.red_flag} → {floor.least_urgent} at {floor.outcome}")
        together = [f.count or 0 for f in found.flag_count_floor if f in at_bottom]
        if together:
            st.markdown(f":orange[**least urgent**] As many as **{max(together)} red flags together** can still "
                        f"reach **{common.escape_md(least)}**.", help=f"ids: {max(together)} red flags → "
                        f"{found.least_urgent}")


def _flag_words(floor: Floor, words: dict[str, dict[str, str]]) -> str:
    return words["flags"].get(floor.red_flag or "", floor.red_flag or "")


# --- the approver's reasons for unproved promises ------------------------------------------------------

def reasons_given(gate: lifecycle.Gate) -> bool:
    """For someone who may approve: a field per unproved promise for their reason. True once each has one (or none
    is needed), so Approve is offered only when the gate would take it (without a reason it refuses: WB715)."""
    unproved = gate.snapshot.unproved()
    if not unproved or not common.may("approve"):
        return True
    st.markdown("**Why may each unproved promise be released anyway?** Your reason is signed with your approval.")
    for key, title in unproved.items():
        st.text_input(title, key=REASON + key, help=f"id: {key}", placeholder="e.g. why no case can break it")
    missing = [title for key, title in unproved.items() if not str(st.session_state.get(REASON + key) or "").strip()]
    if missing:
        st.caption(f"Approve is offered once each has a reason ({len(missing)} to give).")
    return not missing


def reasons() -> dict[str, str]:
    """The reasons typed, by property id: what `approve(..., unproved=...)` takes."""
    return {key[len(REASON):]: str(value) for key, value in st.session_state.items()
            if isinstance(key, str) and key.startswith(REASON) and str(value or "").strip()}


def approving(run: Callable[..., Any]) -> Callable[..., Any]:
    """`run` (access.approve) with the reasons typed for unproved promises: the hook the approve form calls, so the
    form itself need not know of them."""

    def approve(identity: Any, ruleset_dir: Any, reason: str, key: Any) -> Any:
        return run(identity, ruleset_dir, reason, key, unproved=reasons())

    return approve
