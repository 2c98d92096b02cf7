"""Safety: the ruleset's promises proved over every possible case (`workbench verify`), laid out for a reviewer.

The page shows what `verify.py` found: each safety property with its verdict and, when violated, the
counterexample ready to save as a vignette; monotonic escalation; dead logic; and every reachable path.
"""

from __future__ import annotations

import pathlib
from typing import Any

import streamlit as st
import yaml

from ..analysis.verify import DEFAULT_LIMIT, MAX_PATHS, Floor, PropertyVerdict, Verification, count_text, share_text
from ..content import authoring
from ..files import SaveConflict
from ..people import access
from ..problems import ProblemError
from ..run.engine import CompiledRuleset
from ..run.explain import input_label
from ..run.words import answers_in_words, condition_words
from . import background_check, common

_KIND_WORDS = {"at_least": "is always at least", "never": "never gets", "requires_red_flag": "always raises red flag"}
PAGE_TIME_LIMIT = 30
"""Seconds the page checks before it says "incomplete": a reviewer waits that long, not minutes."""
_DEAD_LOGIC = {"WB811", "WB812", "WB813", "WB814", "WB817"}


INLINE_WAIT = 2.0
"""Seconds the page waits for a check before showing its progress instead: the shipped ruleset takes well under
one, so a reviewer normally never sees a progress bar."""


def page(ruleset_file: pathlib.Path) -> None:
    st.title("Safety")
    st.caption("Every possible case is checked — yes/no and choice answers all enumerated, numbers by the ranges "
               "their thresholds define — not a sample. A broken promise comes with a case that shows it.")
    with st.expander("Exploration limits"):
        left, right = st.columns(2)
        limit = int(left.number_input("Decision-diagram nodes to build before giving up (a bound on memory)",
                                      min_value=1_000, value=DEFAULT_LIMIT, step=100_000, key="safety.limit"))
        time_limit = float(right.number_input("Seconds to check before giving up", min_value=1, max_value=3_600,
                                              value=PAGE_TIME_LIMIT, step=10, key="safety.time_limit"))
    run = (common.file_text(ruleset_file), str(ruleset_file), limit, time_limit)
    check = background_check.started(*run)
    if not check.wait(INLINE_WAIT):
        _in_progress(check)
        return
    report = check.report
    if report is None:
        st.error("The check stopped on an unexpected error; nothing is proved. Reload the page to try again, and "
                 "tell the workbench's maintainers if it happens again.")
        return
    if report.status == "invalid":
        st.error("The ruleset has errors, so it cannot be verified yet. Fix them in the Editor:")
        common.show_problems(report.problems, limit=10)
        return
    if report.stopped_by == "cancelled" and st.button("Check again", key="safety.again"):
        background_check.forget(run)
        st.rerun()
    _summary(report)
    _properties(report, ruleset_file, broken=True)  # broken promises first: what a reviewer must act on
    _floors(report, ruleset_file)
    _properties(report, ruleset_file, broken=False)
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    _monotonicity(report, rs)
    _dead_logic(report)
    _paths(report, rs)


def _in_progress(check: background_check.Check) -> None:
    """Progress of a long check, redrawn twice a second; the whole page is drawn again once it finishes."""

    @st.fragment(run_every=0.5)
    def progress() -> None:
        if check.done.is_set():
            st.rerun()
        st.progress(min(check.fraction, 1.0), text=f"Checking every possible case: {check.phase}…")
        if st.button("Cancel the check", key="safety.cancel"):
            check.cancel.set()
            st.rerun()

    progress()


def _summary(report: Verification) -> None:
    holding = sum(p.status == "holds" for p in report.properties)
    if report.status == "verified":
        said = "1 safety property holds" if holding == 1 else f"{holding} safety properties hold"
        st.success(f"Verified over every possible case: {said} and every complete case reaches an outcome.")
    elif report.status == "violated":
        st.error("A safety promise is broken: each is shown first below, with a case that breaks it.")
    else:
        st.warning("Not every case could be checked, so nothing unfinished is proved.")
    for problem in report.problems:
        if problem.code == "WB816":
            st.warning(problem.message)
    columns = st.columns(4)
    columns[0].metric("Reachable paths", report.paths_text,
                      help=f"Listed up to {MAX_PATHS:,}; the checks cover every case whatever the number of paths")
    columns[1].metric("Every possible patient: answer combinations", common.compact_count(report.checked),
                      help=f"{count_text(report.checked)} of {count_text(report.total)} combinations of answers "
                      "checked; each number counted once per range its thresholds define")
    columns[2].metric("Decision-diagram nodes", f"{report.explored:,}",
                      help="The size of the diagrams that hold every case: the work the check did")
    columns[3].metric("Properties holding", f"{holding} of {len(report.properties)}")


def _floors(report: Verification, ruleset_file: pathlib.Path) -> None:
    """SPEC 7a: how low a case can go while red flags fire; the rows at the least urgent disposition first."""
    st.subheader("Red-flag floors")
    if "red-flag floors" in report.unfinished:
        st.warning(f"Not finished: {report.why_unfinished}.")
        return
    st.caption("For each red flag, and for each number of red flags firing together, the least urgent disposition "
               "any complete case reaches — found without any property written.")
    bottom = report.floors_at_bottom()
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    words = common.clinical_words(rs.model if rs else None)
    least = words["dispositions"].get(report.least_urgent or "", report.least_urgent)
    if bottom:
        st.warning(f"{common.plural(len(bottom), 'row')} reach **{least}**, the least urgent "
                   "disposition, while red flags fire. Check each is what the guidance intends:")
        for floor in bottom:
            _floor_row(floor, report, ruleset_file, words)
    else:
        st.success(f"No red flag fires in any case that reaches {least}.")
    rows = [{"Red flags": _floor_name(f, words), "Least urgent disposition":
             words["dispositions"].get(f.least_urgent, f.least_urgent) if f.least_urgent else "never fires",
             "At": words["nodes"].get(f.outcome or "", f.outcome or ""),
             "For example": _answers(f.example, rs) if f.example else ""}
            for f in [*report.red_flag_floor, *report.flag_count_floor] if f not in bottom]
    with st.expander(f"The other {common.plural(len(rows), 'row')}"):
        st.table(rows, hide_index=True, border="horizontal")


def _floor_name(floor: Floor, words: dict[str, dict[str, str]] | None = None) -> str:
    if floor.red_flag is not None:
        return (words or {}).get("flags", {}).get(floor.red_flag, floor.red_flag)
    return "any red flag" if floor.count == 1 else f"{floor.count} or more red flags together"


def _floor_row(floor: Floor, report: Verification, ruleset_file: pathlib.Path,
               words: dict[str, dict[str, str]]) -> None:
    assert floor.example is not None
    name = _floor_name(floor)
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    with st.container(border=True):
        example = common.escape_md(_answers(floor.example, rs, brief=True))
        outcome = words["nodes"].get(floor.outcome or "", floor.outcome or "")
        st.markdown(f"**{common.escape_md(_floor_name(floor, words))}** → "
                    f"**{common.escape_md(words['dispositions'].get(floor.least_urgent or '', ''))}** "
                    f"(at {common.escape_md(outcome)})  \nFor example: {example}",
                    help=f"ids: {floor.red_flag or 'count ' + str(floor.count)} → {floor.least_urgent} at "
                    f"{floor.outcome}")
        slug = name.replace(" ", "-").replace("_", "-")
        vignette = {"id": f"floor-{slug}"[:64], "narrative": (
                        f"Found by workbench verify: {name} fire(s) in this case, which reaches {floor.least_urgent}. "
                        "A clinician confirms the expectation and rewrites this narrative."),
                    "inputs": floor.example, "expect": {"disposition": floor.least_urgent}}
        _add_as_vignette(vignette, report, ruleset_file, key=f"floor.{slug}")


def _add_as_vignette(vignette: dict[str, Any], report: Verification, ruleset_file: pathlib.Path, key: str) -> None:
    """One click: the example saved as a vignette in `vignettes/from-safety.yaml`, with the expectation the
    reviewer picks (what the ruleset gives now, or more urgent)."""
    if not common.may("write_vignettes"):
        common.not_allowed("write_vignettes", "Saving examples as vignettes")
        return
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    if rs is None:
        return
    order = [d.id for d in rs.model.dispositions]
    current = vignette["expect"]["disposition"]
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    labels = common.clinical_words(rs.model)["dispositions"]
    expected = common.choose(left, "A clinician expects", order, current, key=f"safety.expect.{key}",
                             labels=lambda d: labels.get(d, d))
    if right.button("Add as vignette", key=f"safety.add.{key}", icon=":material/playlist_add:"):
        path = ruleset_file.parent / "vignettes" / "from-safety.yaml"
        taken = {r.id for r in common.replayed(common.texts(ruleset_file.parent)).results}
        chosen = dict(vignette, id=authoring.unique_id(vignette["id"], taken), expect={"disposition": expected})
        try:
            access.add_vignette(common.person(), path, rs.model, chosen)
        except SaveConflict:
            st.error(f"{path.name} changed while you were saving; nothing was overwritten. Add it again.")
        except ProblemError as exc:
            st.error("The vignette was not saved:")
            common.show_problems(exc.problems)
        else:
            st.success(f"Saved as vignette '{chosen['id']}' in vignettes/{path.name}: replay it on the Vignettes page.")


def _properties(report: Verification, ruleset_file: pathlib.Path, *, broken: bool) -> None:
    """The broken promises (`broken`), each with a case that breaks it, or the others."""
    chosen = [v for v in report.properties if (v.status == "violated") == broken]
    if broken:
        if chosen:
            st.subheader(f"Broken safety promises ({len(chosen)})")
            _verdicts(chosen, report, ruleset_file)
        return
    st.subheader("Safety properties" if not any(v.status == "violated" for v in report.properties)
                 else "The other safety properties")
    if not report.properties:
        st.info("This ruleset states no safety properties yet. Add a `safety:` section to the ruleset, e.g.")
        st.code(_EXAMPLE, language="yaml")
        return
    _verdicts(chosen, report, ruleset_file)


def _verdicts(verdicts: list[PropertyVerdict], report: Verification, ruleset_file: pathlib.Path) -> None:
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    words = common.clinical_words(rs.model if rs else None)
    targets = {**words["dispositions"], **words["flags"]}
    for verdict in verdicts:
        icon = {"holds": ":green[**holds**]", "violated": ":red[**BROKEN**]", "vacuous": ":orange[**applies to "
                "no case**]", "unproved": ":orange[**not proved**]"}[verdict.status]
        when = condition_words(rs, verdict.when) if rs else verdict.when
        st.markdown(f"{icon} — **{common.escape_md(verdict.title)}**  \nwhen {common.escape_md(when)}, it "
                    f"{_KIND_WORDS[verdict.kind]} **{common.escape_md(targets.get(verdict.target, verdict.target))}**",
                    help=f"{verdict.id}: when {verdict.when} it {_KIND_WORDS[verdict.kind]} {verdict.target}")
        if verdict.counterexample is not None:
            _counterexample(verdict, report, ruleset_file)


def _counterexample(verdict: PropertyVerdict, report: Verification, ruleset_file: pathlib.Path) -> None:
    assert verdict.counterexample is not None
    result = verdict.counterexample.result
    rs = common.compiled(common.file_text(ruleset_file), str(ruleset_file))
    titles = {n.id: n.title for n in rs.model.nodes} if rs else {}
    with st.expander("A case that breaks it", expanded=True):
        st.markdown(f"**Answers**: {common.escape_md(_answers(verdict.counterexample.inputs, rs))}")
        st.markdown(f"**Gives**: {common.escape_md(common.expectation_text(result, rs.model if rs else None))}  \n"
                    f"**Path**: {common.escape_md(' → '.join(titles.get(step, step) for step in result['path']))}",
                    help="ids: " + " → ".join(result["path"]))
        st.caption("As a vignette that expects what the property demands, so replay fails until the rules are "
                   "fixed. Check the expectation, then add it.")
        assert verdict.vignette is not None
        _add_as_vignette(verdict.vignette, report, ruleset_file, key=f"property.{verdict.id}")
        text = yaml.safe_dump({"ruleset": report.ruleset, "vignettes": [verdict.vignette]}, sort_keys=False,
                              allow_unicode=True)
        with st.popover("The vignette as YAML", icon=":material/code:"):
            st.code(text, language="yaml")
            st.download_button("Download vignette", text, file_name=f"{verdict.vignette['id']}.yaml",
                               mime="text/yaml", key=f"safety.download.{verdict.id}")


def _monotonicity(report: Verification, rs: CompiledRuleset | None = None) -> None:
    st.subheader("Monotonic escalation")
    if report.monotonic is None and "monotonic escalation" in report.unfinished:
        st.warning(f"Not proved: {report.why_unfinished}.")
    elif report.monotonic is None:
        st.caption("Not asked for. Add `monotonic: true` to the ruleset to prove that answering yes instead of no "
                   "to a question a red flag reads never makes the disposition less urgent.")
    elif report.monotonic:
        st.success("Answering yes instead of no to any question a red flag reads never makes the disposition "
                   "less urgent.")
    elif report.escalations:
        st.error("Answering yes makes some cases less urgent:")
        words = common.clinical_words(rs.model if rs else None)

        def gives(result: dict[str, Any]) -> str:
            return (f"{words['dispositions'].get(result['disposition'], result['disposition'])} "
                    f"({words['nodes'].get(result['outcome'], result['outcome'])})")

        rows = [{"Question": input_label(rs, e.input) if rs else e.input,
                 "Other answers": _answers(e.answers, rs) if isinstance(e.answers, dict) else str(e.answers),
                 "No →": gives(e.no.result), "Yes →": gives(e.yes.result)} for e in report.escalations]
        st.table(rows, hide_index=True, border="horizontal")


def _dead_logic(report: Verification) -> None:
    found = [p for p in report.problems if p.code in _DEAD_LOGIC]
    st.subheader("Dead logic")
    if found:
        common.show_problems(found)
    elif report.status != "incomplete":
        st.caption("None: every branch can be taken, every red flag can fire and every node is reached.")


def _paths(report: Verification, rs: CompiledRuleset | None = None) -> None:
    st.subheader("Every reachable path")
    st.caption("The share is of the possible combinations of answers (numbers counted once per range), not of "
               "patients: it says how much of the space of answers a path covers, never how often it happens.")
    total = report.total or 1
    words = common.clinical_words(rs.model if rs else None)
    rows = [{"Disposition": words["dispositions"].get(p.disposition, p.disposition),
             "Outcome": words["nodes"].get(p.outcome, p.outcome),
             "Share of answer combinations": share_text(p.cases, total),
             "Path": " → ".join(words["nodes"].get(step, step) for step in p.path),
             "For example": _answers({k: p.example[k] for k in p.decided}, rs)}
            for p in sorted(report.paths, key=lambda p: (p.disposition, p.outcome))]
    with st.expander(f"{common.plural(len(rows), 'path')}, each with an example"):
        st.table(rows, hide_index=True, border="horizontal")


def _answers(case: dict[str, Any], rs: CompiledRuleset | None, *, brief: bool = False) -> str:
    """The answers that say something, in the ruleset's words: yes, numbers and choices; the other questions
    answered no (named, unless `brief`: a complete case has dozens of them)."""
    if rs is None:
        return ", ".join(f"{k} = {v}" for k, v in case.items()) or "any answers"
    return answers_in_words(rs, case, name_the_rest=not brief)


_EXAMPLE = """safety:
  - id: sphincter-symptoms-are-emergency
    title: Bladder or bowel dysfunction is always an emergency
    when: bladder_bowel_dysfunction
    at_least: emergency
    cites: [NG234]
monotonic: true
"""
