"""Editor: the YAML in a code editor, checked as you type, each problem at its line; saved only when asked,
and never over someone else's newer save. Forms make the common additions without typing YAML."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import streamlit as st

from .. import drafts
from ..analysis.verify import DEFAULT_LIMIT
from ..content.validate import Report
from ..files import SaveConflict, disk_reason, read_versioned
from ..people import access
from ..problems import ProblemError, sort_problems
from . import background_check, common, editor_forms, editor_table, line_history

_ACE_CSS = (".wb-problem {position:absolute; background:rgba(250,82,82,0.16);}"
            ".wb-focus {position:absolute; background:rgba(250,176,5,0.45);}")


def page() -> None:
    folder = common.current_ruleset()
    if folder is None:
        return
    st.title("Editor")
    files = [folder / common.RULESET_FILE] + common.readable_vignette_files(folder)
    state = st.session_state.setdefault(common.EDITOR, {"file": None, "buffers": {}})
    names = [str(p) for p in files]
    current = state["file"] if state["file"] in names else names[0]
    top = st.container()
    # Messages always take this one place, so the code editor below never moves: a moved component is
    # redrawn from scratch, and would show the text it was first given rather than the text as typed.
    messages = st.container()
    path = Path(current)
    buffer = _open(path)
    jump = state.pop("jump", None)
    if jump and jump.get("file") == str(path) and jump.get("line"):
        _focus(buffer, int(jump["line"]))
    _take_typing(_ace_key(folder, path, buffer), buffer)
    _refresh(path, buffer)
    _keep_draft(path, buffer)
    report = _validate(folder, path, buffer["text"])
    action = _action(path)
    allowed = common.may(action)

    with top:
        chooser, status, actions = st.columns([3, 3, 2], vertical_alignment="bottom")
        status_row = st.container()
        picked = common.choose(chooser, "File", names, current, key="editor.file",
                               labels=lambda n: _label(folder, Path(n)))
        if picked != current:
            state["file"] = picked
            st.rerun()
        state["file"] = current
        status.markdown(_status(buffer, report))
        with status_row:
            _safety_line(folder, path, buffer)
        save, revert = actions.columns(2)
        save_clicked = save.button("Save", type="primary", disabled=not (_dirty(buffer) and allowed),
                                   key="editor.save", width="stretch", help="Write your text to the file. Nothing "
                                   "is saved until you press this.")
        revert_clicked = False
        if _dirty(buffer) and allowed:
            st.text_input("Why (saved in the history with your change)", key="editor.reason",
                          placeholder="e.g. NG234: MRI within 1 week for suspected metastases")
        if _dirty(buffer):
            with revert.popover("Discard", width="stretch", help="Throw away your changes."):
                st.markdown("Throw away your unsaved changes and show the saved file?")
                revert_clicked = st.button("Discard my changes", key="editor.revert", type="primary")

    with messages:
        _offer_draft(path, buffer)
        if not allowed:
            common.not_allowed(action, "Read only")
        if save_clicked:
            _save(path, buffer, report, expected=buffer["version"])
        if revert_clicked:
            _reload(path, buffer)
            st.rerun()
        notice = buffer.pop("notice", None)
        if notice:
            st.success(notice)
        if buffer["conflict"] is not None:
            _conflict(path, buffer)
        else:
            _, disk_version = read_versioned(path)
            if _dirty(buffer) and disk_version != buffer["version"]:
                st.warning("Someone else has saved this file since you opened it. Saving will show you both "
                           "versions first, so nothing is lost.")

    text_column, problems_column = st.columns([5, 3], gap="medium")
    with text_column:
        _ace(folder, path, buffer, report, read_only=not allowed or buffer.get("offer") is not None)
    with problems_column:
        _problems(buffer, report)
    line_history.panel(folder, path, buffer)
    if path.name == common.RULESET_FILE:
        editor_table.panel(buffer, report, lambda text: _validate(folder, path, text),
                           common.compiled(buffer["text"], str(path)))
        editor_forms.forms(buffer, report, lambda text: _validate(folder, path, text))
    else:
        st.caption("Add vignettes from the **Try it** page (save a case as a vignette) or on the **Vignettes** page.")


# --- buffers: the text being edited, kept in session state so it survives navigation ----------

def _open(path: Path) -> dict[str, Any]:
    """The buffer for `path`, opened from the file the first time."""
    buffers = common.buffers()
    buffer = buffers.get(str(path))
    if buffer is None:
        buffer = buffers[str(path)] = {"rev": 0, "line": None, "conflict": None, "event": ""}
        _reload(path, buffer)
        draft = drafts.found(_person(), path) if _person() else None
        if draft is not None and draft.text != buffer["saved"]:
            buffer["offer"] = draft
        buffer["kept"] = draft.text if draft is not None else None
    return buffer


def _person() -> str:
    who = common.person()
    return who.name if who is not None else ""


def _keep_draft(path: Path, buffer: dict[str, Any]) -> None:
    """Every change typed is on disk before the page is drawn (drafts.py): a reload, a crash or a closed tab
    loses nothing. A buffer with nothing unsaved has no draft."""
    person = _person()
    if not person or buffer.get("offer") is not None:  # a draft waiting for an answer is never overwritten
        return
    if _dirty(buffer):
        if buffer.get("kept") != buffer["text"]:
            try:
                drafts.keep(person, path, buffer["text"], buffer["version"])
            except OSError as exc:
                buffer["notice_error"] = (f"Your changes could not be kept on disk ({disk_reason(exc)}); they are "
                                          "still in the editor, so save them before closing the page.")
            buffer["kept"] = buffer["text"]
    elif buffer.get("kept") is not None or "kept" not in buffer:
        drafts.drop(person, path)
        buffer["kept"] = None


def _offer_draft(path: Path, buffer: dict[str, Any]) -> None:
    """A draft found when the file was opened: offered back, with what differs, until the author chooses."""
    draft = buffer.get("offer")
    problem = buffer.pop("notice_error", None)
    if problem:
        st.error(problem)
    if draft is None:
        return
    with st.container(border=True):
        st.warning(f"**You have unsaved changes to {path.name} from {draft.at[:16].replace('T', ' ')} UTC** "
                   "(the page was reloaded or closed before they were saved).")
        if draft.base != buffer["version"]:
            st.caption("The file has been saved by someone since. If you restore your changes, saving them will "
                       "show both versions first, so nothing is lost.")
        diff = difflib.unified_diff(buffer["saved"].splitlines(), draft.text.splitlines(), "saved file",
                                    "your unsaved changes", lineterm="", n=1)
        with st.expander("What differs"):
            st.code("\n".join(diff) or "The two texts are the same.", language="diff")
        restore, discard = st.columns(2)
        restore.button("Restore my changes", key="editor.draft.restore", type="primary", on_click=_restore,
                       args=(buffer,), width="stretch")
        discard.button("Discard them", key="editor.draft.discard", on_click=_discard_draft, args=(path, buffer),
                       width="stretch")


def _restore(buffer: dict[str, Any]) -> None:
    draft = buffer.pop("offer")
    buffer.update(text=draft.text, base=draft.text, version=draft.base, rev=buffer["rev"] + 1, kept=draft.text)
    buffer["notice"] = "Your unsaved changes are back in the editor. They are not saved yet: press Save."


def _discard_draft(path: Path, buffer: dict[str, Any]) -> None:
    buffer.pop("offer", None)
    drafts.drop(_person(), path)
    buffer["kept"] = None


def _refresh(path: Path, buffer: dict[str, Any]) -> None:
    """Show a newer saved file when the buffer has no changes of its own (someone else saved it)."""
    _, disk_version = read_versioned(path)
    if not _dirty(buffer) and buffer["conflict"] is None and disk_version != buffer["version"]:
        _reload(path, buffer)


def _reload(path: Path, buffer: dict[str, Any]) -> None:
    text, version = read_versioned(path)
    buffer.update(text=text or "", saved=text or "", base=text or "", version=version, conflict=None,
                  rev=buffer["rev"] + 1)


def _dirty(buffer: dict[str, Any]) -> bool:
    return bool(buffer["text"] != buffer["saved"])


def _label(folder: Path, path: Path) -> str:
    return str(path.relative_to(folder))


def _validate(folder: Path, path: Path, text: str) -> Report:
    if path.name == common.RULESET_FILE:
        return common.validated(text, str(path))
    ruleset_file = folder / common.RULESET_FILE
    return common.validated_vignettes(text, str(path), common.file_text(ruleset_file), str(ruleset_file))


def _status(buffer: dict[str, Any], report: Report) -> str:
    errors = sum(p.is_error for p in report.problems)
    warnings = len(report.problems) - errors
    checks = (f":red[**✗ {common.plural(errors, 'error')}**]" if errors else ":green[**✓ no errors in this file**]") + (
        f" · :orange[{common.plural(warnings, 'warning')}]" if warnings else "")
    saved = ":orange[**● unsaved changes**]" if _dirty(buffer) else "saved"
    return f"{checks} · {saved}"


def _safety_line(folder: Path, path: Path, buffer: dict[str, Any]) -> None:
    """What the rules as they stand do to safety, where the edit happens: the problems in the other files, the
    vignettes that fail (on the text as typed: replay is quick) and the safety promises broken (on the saved
    text: proved over every case in the background, as the Safety page does, and shared with it)."""
    work = common.texts(folder)
    summary = common.summary(work)
    elsewhere = [p for p in summary.problems if p.is_error and p.file and Path(p.file) != path]
    ruleset_file = folder / common.RULESET_FILE
    saved = buffer["saved"] if path == ruleset_file else (read_versioned(ruleset_file)[0] or "")

    known = _safety_known(saved, str(ruleset_file))

    @st.fragment(run_every=None if known else 1.0)  # polls only while the check runs
    def line() -> None:
        row = st.container(horizontal=True, vertical_alignment="center", gap="small")
        row.markdown("**Saved**" if not _dirty(buffer) else "**As typed**")
        if elsewhere:
            first = Path(str(elsewhere[0].file))
            if row.button(f":red[✗ {common.plural(len(elsewhere), 'error')} in {_label(folder, first)}]",
                          key="editor.status.elsewhere", type="tertiary",
                          help="Open that file here: one list of problems for the whole ruleset, as on Rulesets."):
                _open_file(first)
                st.rerun()  # the whole page, not only this line (a button in a fragment reruns the fragment)
        if summary.vignettes:
            if summary.failed:
                if row.button(f":red[✗ {summary.failed} of {summary.vignettes} vignettes fail]",
                              key="editor.status.vignettes", type="tertiary",
                              help="See what differs on the Vignettes page: " + ", ".join(summary.failing[:5])):
                    _go("vignettes")
                    st.rerun()
            else:
                row.markdown(f":green[✓ all {summary.vignettes} vignettes pass]")
        check = _safety_check(saved, str(ruleset_file))
        report = check.report if check.done.is_set() else None
        if not check.done.is_set():
            row.caption("checking the safety promises of the saved rules…")
        elif report is None or report.status == "invalid":
            row.caption("safety promises: not checked until the saved rules have no errors")
        else:
            broken = [v for v in report.properties if v.status == "violated"]
            word = "promise" if len(broken) == 1 else "promises"
            if broken:
                if row.button(f":red[✗ {len(broken)} safety {word} broken]", key="editor.status.safety",
                              type="tertiary", help="Broken: " + "; ".join(v.title for v in broken[:5])
                              + ". The Safety page shows each with a case that breaks it."):
                    _go("safety")
                    st.rerun()
            elif report.properties:
                row.markdown(f":green[✓ {common.plural(len(report.properties), 'safety promise')} kept]")
            if _dirty(buffer) and path == ruleset_file:
                row.caption("(safety promises: of the saved rules)")
            if report.status == "incomplete":
                row.markdown(":orange[not every case could be checked]")
        if check.done.is_set() and not known:
            st.rerun()  # the whole page once, so the line stops polling

    line()


def _safety_check(text: str, file: str) -> background_check.Check:
    from .safety import PAGE_TIME_LIMIT

    return background_check.started(text, file, DEFAULT_LIMIT, PAGE_TIME_LIMIT)


def _safety_known(text: str, file: str) -> bool:
    check = _safety_check(text, file)
    return check.wait(0.5)


def _open_file(path: Path) -> None:
    state = st.session_state.setdefault(common.EDITOR, {"file": None, "buffers": {}})
    state["file"] = str(path)


def _go(page: str) -> None:
    st.session_state[common.GO] = page


# --- the code editor --------------------------------------------------------------------------

def _ace_key(folder: Path, path: Path, buffer: dict[str, Any]) -> str:
    return f"editor.ace.{folder.name}.{path.name}.{buffer['rev']}"


def _take_typing(key: str, buffer: dict[str, Any]) -> None:
    """Take the text typed in the code editor into the buffer before anything is drawn, so the problems,
    the status and a Save in this very run all see the text as typed."""
    response = st.session_state.get(key)
    if isinstance(response, dict) and response.get("id") and response.get("id") != buffer["event"]:
        buffer["event"] = response["id"]
        typed = str(response.get("text") or "")
        if typed != buffer["text"]:
            buffer["line"] = None  # the marked line may have moved: never point at the wrong one
        buffer["text"] = typed


def _ace(folder: Path, path: Path, buffer: dict[str, Any], report: Report, *, read_only: bool) -> None:
    from .offline_editor import code_editor as offline_code_editor

    code_editor = offline_code_editor()
    key = _ace_key(folder, path, buffer)
    if key not in st.session_state:
        buffer["base"] = buffer["text"]  # mounted afresh (e.g. after visiting another page): show the buffer
    markers = [_marker(p.line, "wb-problem") for p in report.problems if p.is_error and p.line]
    if buffer["line"]:
        markers.append(_marker(buffer["line"], "wb-focus"))
    code_editor(buffer["base"], lang="yaml", key=key, height=[24, 38], response_mode="debounce",
                options={"showLineNumbers": True, "tabSize": 2, "useSoftTabs": True, "wrap": True,
                         "readOnly": read_only,
                         # keyboard users: Tab reaches the editor, Enter starts typing, Escape then Tab leaves it
                         "enableKeyboardAccessibility": True, "textInputAriaLabel": f"Text of {path.name}"},
                props={"showGutter": True, "markers": markers, "debounceChangePeriod": 300,
                       "scrollMargin": [0, 0, 0, 0]},  # the component's default margin shifts the line numbers
                component_props={"css": _ACE_CSS})
    line = buffer.pop("scroll", None)
    if line:
        _scroll_to(line)
    _keyboard_exit()
    if not read_only:
        st.caption("Changes are checked as you type and kept when you visit other pages; **Save** writes them. "
                   "Keyboard: Tab reaches the text, Enter starts typing, Escape twice then Tab moves on.")


def _keyboard_exit() -> None:
    """Escape leaves the text for the editor's frame, so Tab and Shift+Tab move on (WCAG 2.1.2: no keyboard trap;
    inside the text Tab indents, as authors expect). The component has no option for it: a few lines of script
    find its Ace editor (same origin) and add the command once."""
    st.html("""<script>(function () {
  let tries = 0;
  function add() {
    const frame = document.querySelector('iframe[title*="code_editor"]');
    const ace = frame && frame.contentDocument && frame.contentDocument.querySelector('#REACT_ACE_EDITOR');
    const editor = ace && ace.env && ace.env.editor;
    if (!editor) { if (tries++ < 100) setTimeout(add, 100); return; }
    if (editor.wbKeyboardExit) return;
    editor.wbKeyboardExit = true;
    editor.commands.addCommand({name: 'leaveText', bindKey: {win: 'Esc', mac: 'Esc'},
      exec: function (ed) { ed.blur(); ed.renderer.scroller.focus(); }});
  }
  add();
})();</script>""", unsafe_allow_javascript=True)


def _scroll_to(line: int) -> None:
    """Move the code editor's cursor to `line` and bring it into view, once (the component has no way to be
    told; a few lines of script find its Ace editor, same origin, and call gotoLine). Only a number goes in."""
    st.html(f"""<script>(function () {{
  let tries = 0;
  function go() {{
    const frame = document.querySelector('iframe[title*="code_editor"]');
    const ace = frame && frame.contentDocument && frame.contentDocument.querySelector('#REACT_ACE_EDITOR');
    const editor = ace && ace.env && ace.env.editor;
    if (!editor || editor.session.getLength() < {int(line)}) {{
      if (tries++ < 80) setTimeout(go, 100);
      return;
    }}
    editor.gotoLine({int(line)}, 0, false);
    editor.scrollToLine({int(line) - 1}, true, false, function () {{}});
    setTimeout(function () {{  // then the page itself, so the line is in the middle of the window
      let box = frame.parentElement;
      while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY)))
        box = box.parentElement;
      const y = frame.getBoundingClientRect().top + editor.renderer.textToScreenCoordinates({int(line) - 1}, 0).pageY;
      (box || document.scrollingElement).scrollBy({{top: y - window.innerHeight / 2}});
    }}, 60);
  }}
  go();
}})();</script>""", unsafe_allow_javascript=True)


def _marker(line: int, css: str) -> dict[str, Any]:
    return {"startRow": line - 1, "startCol": 0, "endRow": line - 1, "endCol": 1, "className": css,
            "type": "fullLine"}


# --- problems ---------------------------------------------------------------------------------

def _problems(buffer: dict[str, Any], report: Report) -> None:
    problems = sort_problems(report.problems)
    st.subheader("Problems", anchor=False)
    if not problems:
        st.success("No problems found.")
        return
    st.caption("Click a line number to go to it in the editor.")
    for i, problem in enumerate(problems[:60]):
        number, message = st.columns([1, 3], vertical_alignment="top")
        if problem.line:
            number.button(f"Line {problem.line}", key=f"editor.problem.{i}", type="tertiary",
                          on_click=_focus, args=(buffer, problem.line))
        message.markdown(common.problem_line(problem).split(" — *line")[0])
    if len(problems) > 60:
        st.caption(f"… and {len(problems) - 60} more.")


def _focus(buffer: dict[str, Any], line: int) -> None:
    """Mark `line` in the editor and scroll to it."""
    buffer["line"] = line
    buffer["scroll"] = line


# --- saving -----------------------------------------------------------------------------------

def _action(path: Path) -> str:
    """What saving this file takes: rules need an author; vignettes an author or a QA clinician."""
    return "edit_ruleset" if path.name == common.RULESET_FILE else "write_vignettes"


def _save(path: Path, buffer: dict[str, Any], report: Report, *, expected: str | None) -> None:
    """Save through access.py, which checks the role again whatever the page showed."""
    write = access.save_ruleset if path.name == common.RULESET_FILE else access.save_vignettes
    try:
        version = write(common.person(), path, buffer["text"], expected, st.session_state.get("editor.reason") or "")
    except SaveConflict as exc:
        buffer["conflict"] = exc.current if exc.current is not None else ""
        st.rerun()
    except ProblemError as exc:  # not allowed (AccessDenied), the disk refused, the folder is gone
        common.refused(exc, "Your text is still in the editor.")
        return
    buffer.update(saved=buffer["text"], version=version, conflict=None)
    st.session_state.pop("editor.reason", None)
    errors = sum(p.is_error for p in report.problems)
    buffer["notice"] = f"Saved {path.name}." + (
        f" It still has {common.plural(errors, 'error')}: it can be tried and released only once they are fixed."
        if errors else "")
    st.rerun()


def _conflict(path: Path, buffer: dict[str, Any]) -> None:
    """Refused save: both texts side by side as a diff, and the user chooses; their text is kept meanwhile."""
    theirs, mine = buffer["conflict"], buffer["text"]
    with st.container(border=True):
        st.error("**Not saved: someone else saved this file after you opened it.** Your text is still in the "
                 "editor — nothing has been lost. Below is what differs between their saved file and your text.")
        diff = difflib.unified_diff(theirs.splitlines(), mine.splitlines(), "saved file (theirs)",
                                    "editor (yours)", lineterm="")
        st.code("\n".join(diff) or "The two texts are the same.", language="diff")
        keep, take, download = st.columns(3)
        if keep.button("Save mine over theirs", key="editor.conflict.mine", width="stretch",
                       help="Replace their saved file with your text."):
            _, current_version = read_versioned(path)
            _save(path, buffer, common.validated(mine, str(path)), expected=current_version)
        if take.button("Take theirs, drop mine", key="editor.conflict.theirs", width="stretch",
                       help="Load their saved file into the editor; download yours first if you need it."):
            _reload(path, buffer)
            st.rerun()
        download.download_button("Download my text", data=mine.encode("utf-8"), file_name=f"mine-{path.name}",
                                 mime="text/yaml", key="editor.conflict.download", width="stretch",
                                 on_click="ignore")

