"""Overview: a ruleset as a clinical safety officer reads it (publish/overview.py), searchable by what it says
(content/search.py), and downloadable as the clinical safety report (publish/safety_report.py). Where "Open" on the
Rulesets page lands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from ..analysis.verify import DEFAULT_LIMIT, Verification
from ..content.loader import read_yaml
from ..content.search import Hit, search
from ..problems import ProblemError
from ..publish import lifecycle
from ..publish.line_history import rules
from ..publish.overview import Overview, build
from ..publish.releases import Release
from ..publish.safety_report import report_html
from ..run.engine import CompiledRuleset
from . import background_check, common

_STATUS = {"holds": ":green[**holds**]", "violated": ":red[**BROKEN**]", "vacuous": ":orange[**applies to no case**]",
           "unproved": ":orange[**not proved**]", "not checked": "*checking…*"}


def page() -> None:
    opened = common.open_page("Overview")
    if opened is None:
        return
    folder, work, rs = opened
    _search(folder, work, rs)
    verification = _verification(work)
    overview = _overview(folder, work, rs, verification)
    _headline(overview, verification)
    _report(overview)
    _promises(overview)
    _questions(overview)
    _dispositions(overview)
    _flags(overview)
    _release(overview)


# --- search ---------------------------------------------------------------------------------------

def _search(folder: Path, work: common.Texts, rs: CompiledRuleset) -> None:
    query = st.text_input("Search the rules", key="overview.search", placeholder="e.g. bladder, NG234, fever",
                          help="Finds questions, outcomes, red flags, safety promises and sources by what they say: "
                          "titles, questions, help, the questions conditions read, advice and citations.")
    if not query.strip():
        return
    hits = search(rs.model, query)
    if not hits:
        st.caption(f"Nothing in this ruleset says “{common.escape_md(query)}”.")
        return
    st.caption(f"{common.plural(len(hits), 'result')} for “{common.escape_md(query)}”:")
    document, _ = read_yaml(work.ruleset, work.ruleset_file)
    lines = {(r.section, r.id): r.first for r in rules(document)} if document is not None else {}
    with st.container(border=True):
        for i, hit in enumerate(hits):
            _hit(folder, hit, lines.get((hit.section, hit.id)), i)


def _hit(folder: Path, hit: Hit, line: int | None, i: int) -> None:
    text, flow, edit = st.columns([6, 1.3, 1.3], vertical_alignment="center")
    text.markdown(f"**{common.escape_md(hit.title)}** · {hit.kind_words}  \n"
                  f"*found in {common.escape_md(', '.join(hit.matched[:3]))}*: “{common.escape_md(hit.excerpt)}”",
                  help=f"id: {hit.id}")
    if hit.nodes:
        flow.button("On the flow", key=f"overview.hit.flow.{i}", icon=":material/account_tree:", width="stretch",
                    on_click=_show_on_flow, args=(hit.nodes[0],))
    edit.button("In the editor", key=f"overview.hit.edit.{i}", icon=":material/edit_note:", width="stretch",
                on_click=common.edit_at, args=(folder / common.RULESET_FILE, line),
                help=f"Line {line} of ruleset.yaml" if line else None)


def _show_on_flow(node_id: str) -> None:
    """A button callback: the Flow page opens on this node, in focus and shown whole."""
    st.session_state[common.FLOW] = {"show": "none", "vignette": None, "focus": node_id, "selected": node_id,
                                     "radius": 1}
    st.session_state[common.GO] = "flow"


# --- what the core says ----------------------------------------------------------------------

def _verification(work: common.Texts) -> Verification | None:
    """The same background check as the Safety page and the Editor (one run per text), waited for briefly."""
    from .safety import PAGE_TIME_LIMIT

    check = background_check.started(work.ruleset, work.ruleset_file, DEFAULT_LIMIT, PAGE_TIME_LIMIT)
    if check.wait(2.0):
        return check.report

    @st.fragment(run_every=1.0)
    def waiting() -> None:
        if check.done.is_set():
            st.rerun()
        st.caption("Checking the safety promises over every possible case…")

    waiting()
    return None


def _releases(folder: Path) -> list[Release]:
    try:
        repository, ruleset_id = lifecycle.open_ruleset(folder, create=False)
        return lifecycle.history(repository, ruleset_id, _keyring()).releases
    except ProblemError:  # no history yet, or a damaged one (the Releases page says why)
        return []


def _keyring() -> Any:
    from ..people.access import keyring

    return keyring()


@st.cache_resource(max_entries=16, show_spinner="Comparing with the last release…")
def _built(work: common.Texts, folder: str, verified: int | None, releases: tuple[str, ...],
           _verification: Verification | None) -> Overview:
    """Keyed on the texts, which verification (its id; the object itself is not hashed) and the releases: the
    diff since the last release is worked out once."""
    rs = common.compiled(work.ruleset, work.ruleset_file)
    assert rs is not None
    return build(rs, common.replayed(work), _verification, _releases(Path(folder)), Path(folder))


def _overview(folder: Path, work: common.Texts, rs: CompiledRuleset, verification: Verification | None) -> Overview:
    releases = tuple(f"{r.version}:{r.sha256}" for r in _releases(folder))
    return _built(work, str(folder), id(verification) if verification else None, releases, verification)


# --- views -----------------------------------------------------------------------------------

def _headline(o: Overview, verification: Verification | None) -> None:
    st.markdown(f"**{common.escape_md(o.title)}** · version {common.escape_md(o.version)}"
                + (f"  \n{common.escape_md(' '.join(o.description.split()))}" if o.description else ""))
    columns = st.columns(4)
    columns[0].metric("Safety promises broken", len(o.broken) if verification else "…",
                      help=f"Of {len(o.promises)} promises, proved over every possible case")
    columns[1].metric("Vignettes failing", f"{o.vignettes - o.passed} of {o.vignettes}")
    columns[2].metric("Nodes the vignettes reach", f"{o.nodes_reached[0]} of {o.nodes_reached[1]}")
    last = o.release
    columns[3].metric("Last release", last.version if last else "none",
                      help=f"sha256 {last.sha256}" if last else "Never released")
    if o.combinations:
        st.caption(f"Every possible patient: **{common.compact_count(o.combinations)} answer combinations** "
                   "(numbers counted by the ranges their thresholds define), all checked.")


def _report(o: Overview) -> None:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    left, right = st.columns([2, 3], vertical_alignment="center")
    left.download_button("Clinical safety report (HTML, prints to PDF)", report_html(o, made).encode("utf-8"),
                         file_name=f"{o.id}-{o.version}-safety-report.html", mime="text/html",
                         key="overview.report", icon=":material/download:", on_click="ignore")
    right.caption("A self-contained page for the hazard log (DCB0129): open it and print to PDF. It names the "
                  "release's sha256, or says it describes a draft.")


def _promises(o: Overview) -> None:
    st.subheader("Safety promises", anchor=False)
    if not o.promises:
        st.caption("None stated yet: add a `safety:` section (the Safety page shows an example).")
        return
    for promise in sorted(o.promises, key=lambda p: p.status != "violated"):
        line = (f"{_STATUS.get(promise.status, promise.status)} — **{common.escape_md(promise.title)}**  \n"
                f"when {common.escape_md(promise.when)}: {common.escape_md(promise.demands)}")
        if promise.counterexample:
            line += f"  \n:red[broken by: {common.escape_md(promise.counterexample)}]"
        st.markdown(line, help=f"id: {promise.id}")
    if o.broken:
        st.button("See each broken promise with its case", key="overview.safety", on_click=_go, args=("safety",))


def _questions(o: Overview) -> None:
    st.subheader("Questions, in the order they are asked", anchor=False)
    for number, question in enumerate(o.questions, start=1):
        with st.expander(f"{number}. {question.title}", expanded=number == 1):
            if question.asks:
                st.caption("Asks: " + "; ".join(common.escape_md(q) for _, q in question.asks))
            st.table([{"When": step.when, "Then": step.to + (f" ({step.disposition})" if step.disposition else "")}
                      for step in question.steps], hide_index=True, border="horizontal")


def _dispositions(o: Overview) -> None:
    st.subheader("Dispositions, most urgent first, with their outcomes", anchor=False)
    st.table([{"Disposition": f"{i + 1}. {d.label}", "Outcomes": "; ".join(t for _, t in d.outcomes) or "—"}
              for i, d in enumerate(o.dispositions)], hide_index=True, border="horizontal")


def _flags(o: Overview) -> None:
    st.subheader("Red flags", anchor=False)
    if not o.red_flags:
        st.caption("None.")
        return
    st.table([{"Red flag": f.label, "Raised when": f.when} for f in o.red_flags], hide_index=True,
             border="horizontal")


def _release(o: Overview) -> None:
    st.subheader("Last release and what changed", anchor=False)
    if o.release is None:
        st.caption("Never released.")
        return
    r = o.release
    st.markdown(f"Version **{common.escape_md(r.version)}**, released {common.escape_md(r.released_at)}, written by "
                f"{common.escape_md(r.author)} and approved by {common.escape_md(r.approver)}.  \n"
                f"sha256 `{r.sha256}`")
    if r.current:
        st.caption("The rules as they are now are this release's content.")
        return
    bump = f" — a **{o.bump}** change" if o.bump and o.bump != "none" else ""
    st.markdown(f"**Changed since{bump}:**")
    for change in o.changes[:40]:
        st.markdown(f"- {common.escape_md(change)}")
    if len(o.changes) > 40:
        st.caption(f"… and {len(o.changes) - 40} more (Releases → What changed).")


def _go(page: str) -> None:
    st.session_state[common.GO] = page
