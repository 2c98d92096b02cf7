"""The pages of the workbench, by short name, for `st.navigation` and for buttons that switch page."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import streamlit as st

from . import common, editor, flow, overview, rulesets, try_it, vignettes


def _releases() -> None:
    from . import releases

    folder = common.current_ruleset()
    if folder is not None:
        releases.page(folder)


def _people() -> None:
    from . import people

    people.page()


def _safety() -> None:
    from . import safety

    folder = common.current_ruleset()
    if folder is not None:
        safety.page(folder / common.RULESET_FILE)


_log = logging.getLogger("workbench.ui")


def _guarded(run: Callable[[], None]) -> Callable[[], None]:
    """A page that fails shows a plain message, never a traceback; the details go to the server log.
    Streamlit's own rerun and stop signals are BaseExceptions and pass through."""

    @functools.wraps(run)
    def page() -> None:
        target = st.session_state.pop(common.GO, None)
        if target:
            common.go(target)
        common.page_style()
        try:
            run()
        except Exception as exc:  # the last line of defence: every expected problem is shown by the page
            _log.exception("page failed")
            st.error(f"This page hit an unexpected problem and stopped ({type(exc).__name__}: {exc}). "
                     "Nothing has been lost: unsaved text stays in the editor and is kept on disk as a draft, "
                     "offered back when you open the Editor again. Reload the page to try again.")
        common.leave_guard()

    return page


def _specs() -> list[tuple[str, str, str, Callable[[], None]]]:
    specs = [
        ("rulesets", "Rulesets", ":material/folder_open:", rulesets.page),
        ("overview", "Overview", ":material/summarize:", overview.page),
        ("editor", "Editor", ":material/edit_note:", editor.page),
        ("flow", "Flow", ":material/account_tree:", flow.page),
        ("try", "Try it", ":material/stethoscope:", try_it.page),
        ("vignettes", "Vignettes", ":material/fact_check:", vignettes.page),
    ]
    specs.append(("safety", "Safety", ":material/health_and_safety:", _safety))
    specs.append(("releases", "Releases", ":material/verified:", _releases))
    specs.append(("people", "People", ":material/group:", _people))
    return specs


def pages(default: str = "rulesets") -> dict[str, st.Page]:
    """Every page by short name; also left in common.PAGES, through which the pages switch to each other."""
    made = {name: st.Page(_guarded(run), title=title, icon=icon, url_path=name, default=name == default)
            for name, title, icon, run in _specs()}
    common.PAGES.clear()
    common.PAGES.update(made)
    return made


def navigation(default: str = "rulesets") -> st.Page:
    """The app: every page in the sidebar, `default` first shown."""
    return st.navigation(list(pages(default).values()))
