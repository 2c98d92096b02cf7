"""What every page shares: where the rulesets are, the few named session-state keys, caches keyed on file
content, and the small views (problems, disposition, red flags) that must look the same everywhere."""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from ..content.model import OutcomeNode, Ruleset
from ..content.validate import Report, validate_vignettes_text
from ..files import plain_file, read_versioned
from ..folder import RULESET_FILE
from ..people import access
from ..people.access import Identity
from ..problems import Problem, ProblemError, quoted_list, sort_problems
from ..run.engine import CompiledRuleset, Result
from ..run.explain import possible_flags, safety_net
from ..run.load import Loaded, load_text
from ..run.replay import ReplayReport, RulesetSummary, replay_texts, summarise, vignette_paths
from . import login

ROOT_ENV = "WORKBENCH_RULESETS"

# The session-state keys, all of them (widget keys are prefixed by their page's name).
SELECTED = "ruleset"      # folder name of the ruleset every page works on (set by the sidebar picker)
EDITOR = "editor"         # {"file": path, "buffers": {path: Buffer dict}}: unsaved text survives navigation
CASE = "case"             # the Try-it case: {"ruleset", "asked": [ids], "raw": {id: widget value}, "chosen"}
FLOW = "flow"             # what the Flow page overlays: {"show": "try"|"vignette"|None, "vignette": id}
VIGNETTES = "vignettes"   # {"replayed": folder, "open": vignette id}


# --- where things are -----------------------------------------------------------------------

def rulesets_root() -> Path:
    """`rulesets/` beside streamlit_app.py, or the folder named by $WORKBENCH_RULESETS (tests use a copy)."""
    configured = os.environ.get(ROOT_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "rulesets"


def ruleset_folders(root: Path | None = None) -> list[Path]:
    root = root or rulesets_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
                  and plain_file(p / RULESET_FILE))


def open_ruleset(folder_name: str, page: str | None = None) -> None:
    """Make `folder_name` the ruleset every page works on, and optionally go to a page."""
    st.session_state[SELECTED] = folder_name
    if page:
        go(page)


def current_ruleset() -> Path | None:
    """The ruleset the pages work on, chosen in the sidebar; None (with a note) when there is none."""
    folders = ruleset_folders()
    if not folders:
        st.info(f"There are no rulesets in `{rulesets_root()}` yet. Create one on the Rulesets page.")
        return None
    names = [f.name for f in folders]
    chosen = st.session_state.get(SELECTED)
    if chosen not in names:
        chosen = names[0]
    titles = {f.name: folder_title(f) for f in folders}
    # Keyed by the choice, so a page may change the choice at any time and the picker follows.
    chosen = choose(st.sidebar, "Ruleset", names, chosen, key="picker", labels=lambda n: titles.get(n, n))
    st.session_state[SELECTED] = chosen
    folder = folders[names.index(chosen)]
    if unsaved(folder / RULESET_FILE):
        st.sidebar.caption(":orange[Unsaved changes in the editor are used on every page.]")
    return folder


PAGES: dict[str, Any] = {}
"""The app's pages by short name, filled in by pages.pages() when the navigation is built."""


def go(page: str) -> None:
    """Switch to another page by its short name ('editor', 'try', ...)."""
    st.switch_page(PAGES[page])


GO = "go"  # a page to switch to at the start of the next run, asked for by a button's callback


def edit_at(path: Path, line: int | None) -> None:
    """Open `path` in the Editor with `line` marked and scrolled into view (from a Flow node, say). A button
    callback: it only records the wish, which survives a rerun a component starts in between (pages.py acts)."""
    state = st.session_state.setdefault(EDITOR, {"file": None, "buffers": {}})
    state["file"] = str(path)
    state["jump"] = {"file": str(path), "line": line}
    st.session_state[GO] = "editor"


# --- who is acting: every write passes this identity to access.py, which checks the role again -----

def person() -> Identity | None:
    """Who signed in on this run (login.current_identity()); None means nobody, so access.py refuses everything."""
    return login.identity()


def may(action: str) -> bool:
    """Whether to offer a control: a hidden button is only a courtesy, the core still checks on every write."""
    who = person()
    return who is not None and who.can(action)


def not_allowed(action: str, what: str) -> None:
    """Say, where a control would be, why it is not there: the person's role in the core's own words."""
    try:
        access.require(person(), action)
    except access.AccessDenied as exc:
        st.caption(f":material/lock: {escape_md(what)}: {escape_md(exc.problems[0].message)}")


def refused(exc: ProblemError, kept: str = "") -> None:
    """A refused write, in the core's first sentence: what went wrong and, in `kept`, that nothing was lost."""
    message = exc.problems[0].message if exc.problems else "The change was refused."
    st.error(escape_md(message) + (f" {kept}" if kept else ""))


# --- texts: the editor's unsaved text wins over the file -------------------------------------

def buffers() -> dict[str, dict[str, Any]]:
    state = st.session_state.setdefault(EDITOR, {"file": None, "buffers": {}})
    return state["buffers"]


def set_text(buffer: dict[str, Any], text: str, *, line: int | None = None, notice: str | None = None) -> None:
    """Replace the text from outside the code editor (a form, 'load theirs'): the editor is redrawn with it and
    taken to `line`."""
    buffer.update(text=text, base=text, rev=buffer["rev"] + 1, line=line, scroll=line)
    if notice:
        buffer["notice"] = notice


PAGE_STYLE = """<style>
/* WCAG 2.2 AA: Streamlit's captions and grey text are 3.9:1 on white; these are 7:1. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p, [data-testid="stCaptionContainer"] code
  { color: #4a4a4a; opacity: 1; }
/* a table's cells wrap rather than cut */
[data-testid="stTable"] td, [data-testid="stTable"] th { white-space: normal; overflow-wrap: break-word; }
</style>"""


def page_style() -> None:
    """The few style rules every page needs (readable contrast, wrapping tables); a style, nothing fetched."""
    st.html(PAGE_STYLE)


def any_unsaved() -> bool:
    return any(buffer["text"] != buffer["saved"] for buffer in buffers().values() if "saved" in buffer)


def leave_guard() -> None:
    """The browser asks before a tab with unsaved editor text is closed or reloaded (a `beforeunload` handler,
    a few lines of script in this page, nothing fetched). The draft is on disk anyway (drafts.py); the question
    saves the author a surprise."""
    unsaved_now = "true" if any_unsaved() else "false"
    st.html(f"""<script>
window.wbUnsaved = {unsaved_now};
window.onbeforeunload = function (event) {{
  if (!window.wbUnsaved) return undefined;
  event.preventDefault();
  event.returnValue = '';
  return '';
}};
</script>""", unsafe_allow_javascript=True)


def unsaved(path: Path) -> bool:
    buffer = buffers().get(str(path))
    return bool(buffer) and buffer["text"] != buffer["saved"]


def file_text(path: Path) -> str:
    """What the pages work on: the editor's text while it has unsaved changes, else the file."""
    buffer = buffers().get(str(path))
    if buffer and buffer["text"] != buffer["saved"]:
        return str(buffer["text"])
    text, _ = read_versioned(path)
    return text or ""


@dataclass(frozen=True)
class Texts:
    """A ruleset folder's texts: the key for every cache below."""

    folder: str
    ruleset_file: str
    ruleset: str
    vignettes: tuple[tuple[str, str], ...]
    not_read: tuple[str, ...] = ()
    """Vignette files that are links, pipes or devices: named on the page, never opened."""


def readable_vignette_files(folder: Path) -> list[Path]:
    """The vignette files the pages open: plain files only (the CLI's replay reports the others as WB1023)."""
    return [p for p in vignette_paths(folder) if plain_file(p)]


def texts(folder: Path) -> Texts:
    ruleset_file = folder / RULESET_FILE
    vignettes = tuple((str(p), file_text(p)) for p in readable_vignette_files(folder))
    not_read = tuple(p.name for p in vignette_paths(folder) if not plain_file(p))
    return Texts(folder.name, str(ruleset_file), file_text(ruleset_file), vignettes, not_read)


def folder_title(folder: Path) -> str:
    """The title the sidebar shows: from the ruleset as it reads now, without replaying anything."""
    path = folder / RULESET_FILE
    document = validated(file_text(path), str(path)).document
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    return str(data.get("title") or folder.name)


# --- caches: pure work keyed on content --------------------------------------------------------

@st.cache_resource(max_entries=64, show_spinner=False)
def loaded(text: str, file: str) -> Loaded:
    """The ruleset text read once (run/load.py): its report and, when it has no errors, its compiled form."""
    return load_text(text, file)


def validated(text: str, file: str) -> Report:
    return loaded(text, file).report


@st.cache_resource(max_entries=256, show_spinner=False)
def validated_vignettes(text: str, file: str, ruleset_text: str, ruleset_file: str) -> Report:
    model = validated(ruleset_text, ruleset_file).model
    return validate_vignettes_text(text, file, model, ruleset_broken=model is None)


def compiled(text: str, file: str) -> CompiledRuleset | None:
    return loaded(text, file).ruleset


@st.cache_resource(max_entries=32, show_spinner=False)
def replayed(work: Texts) -> ReplayReport:
    return replay_texts(work.ruleset, work.ruleset_file, work.vignettes)


@st.cache_resource(max_entries=64, show_spinner=False)
def summary(work: Texts) -> RulesetSummary:
    return summarise(work.folder, work.ruleset, work.ruleset_file, work.vignettes)


def open_page(title: str) -> tuple[Path, Texts, CompiledRuleset] | None:
    """The start of every page that runs the ruleset: its folder, texts and compiled form, or None (said why)."""
    folder = current_ruleset()
    if folder is None:
        return None
    st.title(title)
    work = texts(folder)
    if work.not_read:
        st.warning(f"Not read: {quoted_list(work.not_read)} in the vignettes folder "
                   f"{'is a link or a special file' if len(work.not_read) == 1 else 'are links or special files'}"
                   ", which the workbench never opens (WB1023). Replace with a plain file to use it.")
    rs = usable(work)
    return None if rs is None else (folder, work, rs)


def usable(work: Texts) -> CompiledRuleset | None:
    """The compiled ruleset, or None after showing why it cannot be used yet."""
    rs = compiled(work.ruleset, work.ruleset_file)
    if rs is None:
        problems = [p for p in validated(work.ruleset, work.ruleset_file).problems if p.is_error]
        st.error(f"The ruleset has {plural(len(problems), 'error')}, so it cannot be run yet. "
                 f"Fix {'it' if len(problems) == 1 else 'them'} in the Editor:")
        show_problems(problems, limit=10)
        if st.button("Open the editor", key="usable.editor"):
            go("editor")
    return rs


def choose(where: Any, label: str, options: list[Any], current: Any, *, key: str,
           labels: Callable[[Any], str] = str, **options_of_widget: Any) -> Any:
    """A selectbox whose answer is always one of `options`, however the words shown for them change.

    Streamlit keeps a keyed selectbox's choice as the words it showed; when those words follow the content (a
    ruleset's title while the YAML is being typed, a vignette's ✓ or ✗), the old words are no longer among the
    options and Streamlit hands them back as if they were one — the `'<title>' is not in list` crash. So the
    widget is keyed by the words it shows too (new words, a new widget showing `current`), and anything that is
    not an option reads as `current`."""
    if current not in options:
        current = options[0]
    shown = [str(labels(option)) for option in options]
    if len(set(shown)) < len(shown):  # two options that read alike (two copies of one ruleset): tell them apart
        said, labels = dict(zip(options, shown, strict=True)), None
        shown = [f"{said[o]} ({o})" if shown.count(said[o]) > 1 else said[o] for o in options]
        labels = dict(zip(options, shown, strict=True)).__getitem__
    words = hashlib.sha256("\x1f".join(shown).encode("utf-8")).hexdigest()[:10]
    picked = where.selectbox(label, options, index=options.index(current), format_func=labels,
                             key=f"{key}.{current}.{words}", **options_of_widget)
    return picked if picked in options else current


# --- small views ----------------------------------------------------------------------------

def compact_count(n: int) -> str:
    """A count that fits a metric: 72,053; 17.7 billion; 1.46e+17."""
    from ..analysis.verify import count_text

    for size, word in ((10**12, ""), (10**9, "billion"), (10**6, "million")):
        if n >= size:
            return count_text(n) if not word else f"{n / size:.1f} {word}"
    return f"{n:,}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def problem_line(problem: Problem, *, with_file: bool = False) -> str:
    """'Line 12 · error WB104 · message' in markdown, for a list of problems."""
    icon = ":red[**error**]" if problem.is_error else ":orange[**warning**]"
    where = f"{Path(problem.file).name}, " if with_file and problem.file else ""
    line = f"{where}line {problem.line}" if problem.line else (where.rstrip(", ") or "")
    return f"{icon} `{problem.code}` {escape_md(problem.message)}" + (f" — *{line}*" if line else "")


def show_problems(problems: list[Problem], *, limit: int = 50, with_file: bool = False) -> None:
    ordered = sort_problems(problems)
    for problem in ordered[:limit]:
        st.markdown(problem_line(problem, with_file=with_file))
    if len(ordered) > limit:
        st.caption(f"… and {len(ordered) - limit} more.")


def escape_md(text: str) -> str:
    """Text shown in markdown as written: no stray emphasis, links or HTML from file content."""
    for char in "\\`*_[]<>#|$~":
        text = text.replace(char, "\\" + char)
    return text


def colours(model: Ruleset) -> dict[str, str]:
    """Disposition colours from the graph module, so the simulator and the picture agree."""
    try:
        from ..drawing.colours import disposition_colours
    except ImportError:  # pragma: no cover - graph.py ships with the core
        return {d.id: "#dddddd" for d in model.dispositions}
    return disposition_colours(model)


def _ink(background: str) -> str:
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#1a1a1a" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def disposition_card(model: Ruleset, result: Result) -> None:
    """The result, big and in the urgency colour of the graph: the first thing a clinician looks at."""
    if result.status != "complete":
        where = result.path[-1] if result.path else model.start
        node = next((n for n in model.nodes if n.id == where), None)
        st.markdown(_card("#eef0f3", "Not decided yet",
                          "Answer the next question" + (f" — at “{node.title}”" if node else ""), ""),
                    unsafe_allow_html=True)
        return
    disposition = next((d for d in model.dispositions if d.id == result.disposition), None)
    outcome = next((n for n in model.nodes if n.id == result.outcome), None)
    rank = [d.id for d in model.dispositions].index(result.disposition) + 1 if disposition else 0
    colour = colours(model).get(result.disposition or "", "#dddddd")
    st.markdown(_card(colour, disposition.label if disposition else str(result.disposition),
                      outcome.title if outcome else str(result.outcome),
                      f"{result.disposition} · urgency {rank} of {len(model.dispositions)}"),
                unsafe_allow_html=True)


def _card(colour: str, headline: str, detail: str, small: str) -> str:
    ink = _ink(colour)
    return (f'<div class="wb-disposition" style="background:{colour};color:{ink};border-radius:0.6rem;'
            f'padding:1rem 1.2rem;margin-bottom:0.8rem;border:1px solid rgba(0,0,0,0.15)">'
            f'<div style="font-size:1.45rem;font-weight:700;line-height:1.3">{html.escape(headline)}</div>'
            f'<div style="font-size:1.05rem;margin-top:0.3rem">{html.escape(detail)}</div>'
            + (f'<div style="font-size:0.8rem;opacity:0.8;margin-top:0.4rem">{html.escape(small)}</div>'
               if small else "") + "</div>")


def red_flags_view(model: Ruleset, fired: list[str]) -> None:
    """Every fired red flag by its label, or a clear 'none' — never an empty space."""
    labels = {f.id: f.label for f in model.red_flags}
    if not fired:
        st.markdown("**Red flags:** none so far")
        return
    items = "".join(f'<li style="margin:0.15rem 0">{html.escape(labels.get(f, f))}</li>' for f in fired)
    st.markdown(f'<div class="wb-red-flags" style="border-left:0.35rem solid #d6336c;background:#fff0f3;'
                f'color:#1a1a1a;padding:0.6rem 0.9rem;border-radius:0.3rem;margin-bottom:0.8rem">'
                f'<b>&#9873; {html.escape(plural(len(fired), "red flag"))}</b>'
                f'<ul style="margin:0.3rem 0 0 0;padding-left:1.2rem">{items}</ul></div>', unsafe_allow_html=True)


def possible_flags_view(rs: CompiledRuleset, result: Result) -> None:
    """SPEC 3a: the red flags an unsure answer may hide, each with the answers behind it."""
    told = possible_flags(rs, result)
    if not told:
        return
    items = "".join(f'<li style="margin:0.15rem 0">{html.escape(flag.text[:1].upper() + flag.text[1:])}</li>'
                    for flag in told)
    st.markdown(f'<div class="wb-possible-flags" style="border-left:0.35rem dashed #d6336c;background:#fff8f0;'
                f'color:#1a1a1a;padding:0.6rem 0.9rem;border-radius:0.3rem;margin-bottom:0.8rem">'
                f'<b>&#9873;? {html.escape(plural(len(told), "possible red flag"))}</b> (behind an unsure answer)'
                f'<ul style="margin:0.3rem 0 0 0;padding-left:1.2rem">{items}</ul></div>', unsafe_allow_html=True)


def safety_net_view(rs: CompiledRuleset, result: Result) -> None:
    """What to do if things change: the outcome's safety-netting, always shown with the advice."""
    text = safety_net(rs, result.outcome)
    if text:
        st.markdown(f"**If things change (safety-netting)**  \n{escape_md(text)}")


def path_view(model: Ruleset, path: list[str]) -> None:
    titles = {n.id: n.title for n in model.nodes}
    steps = [f"{i + 1}. {escape_md(titles.get(node_id, node_id))} (`{node_id}`)" for i, node_id in enumerate(path)]
    st.markdown("**Path taken**  \n" + "  \n".join(steps))


def advice_view(model: Ruleset, result: Result) -> None:
    outcome = next((n for n in model.nodes if n.id == result.outcome), None)
    if isinstance(outcome, OutcomeNode) and outcome.advice:
        st.markdown(f"**Advice**  \n{escape_md(outcome.advice)}")
        if outcome.cites:
            titles = {r.id: r.title for r in model.references}
            st.caption("Sources: " + "; ".join(escape_md(titles.get(c, c)) for c in outcome.cites))


def expectation_text(data: dict[str, Any] | None, model: Ruleset | None = None) -> str:
    """A vignette's expectation or a result in one line a clinician scans: with the ruleset, in its own words
    (the disposition's label, the outcome's title, the red flags' labels, the questions still to ask)."""
    if not data:
        return "—"
    words = clinical_words(model)
    parts = []
    if data.get("status") == "needs_input" or ("needs" in data and data.get("needs") and "status" not in data):
        parts.append("asks " + "; ".join(words["inputs"].get(n, n) for n in data.get("needs") or []))
    if data.get("disposition"):
        parts.append(words["dispositions"].get(data["disposition"], str(data["disposition"])))
    if data.get("outcome"):
        parts.append(f"at {words['nodes'].get(data['outcome'], data['outcome'])}")
    if data.get("red_flags") is not None:
        parts.append("⚑ " + (", ".join(words["flags"].get(f, f) for f in data["red_flags"]) or "none"))
    return " · ".join(parts) or "—"


def clinical_words(model: Ruleset | None) -> dict[str, dict[str, str]]:
    """Clinical words for ids: disposition and red-flag labels to their first dash clause, node titles,
    questions."""
    from ..drawing.flow_map import short

    if model is None:
        return {"dispositions": {}, "nodes": {}, "flags": {}, "inputs": {}}
    return {"dispositions": {d.id: short(d.label) for d in model.dispositions},
            "nodes": {n.id: n.title for n in model.nodes},
            "flags": {f.id: short(f.label) for f in model.red_flags},
            "inputs": {i.id: i.question for i in model.inputs}}


def release_state(folder: Path) -> tuple[str, str | None]:
    """('draft' | 'in review' | 'approved' | 'released', latest published version): the core's answer."""
    from ..people.access import keyring
    from ..publish.lifecycle import standing

    try:
        return standing(folder, keyring())
    except ProblemError:  # a damaged keyring is shown on the Releases page, not in every list
        return "draft", None


def result_key(result: Result | None) -> tuple[Any, ...] | None:
    """A result as plain tuples, so it can key a cache."""
    if result is None:
        return None
    return (result.status, result.outcome, result.disposition, tuple(result.red_flags), tuple(result.path),
            tuple(result.needs))


@st.cache_data(max_entries=128, show_spinner=False)
def dot(work: Texts, result: tuple[Any, ...] | None, coverage: bool, rankdir: str) -> str:
    """The flow as DOT for this content, path and overlay (graph.to_dot, cached on all of them)."""
    from ..drawing.graph import to_dot

    rs = compiled(work.ruleset, work.ruleset_file)
    assert rs is not None
    path = None if result is None else Result(result[0], result[1], result[2], list(result[3]), list(result[4]),
                                              list(result[5]))
    return to_dot(rs, result=path, coverage=replayed(work).coverage if coverage else None, rankdir=rankdir)
