"""Slow work in a background thread, so a page shows progress instead of a frozen spinner: the Safety page's
verify run, the release gate's verification and the impact of a version over the case store (Releases page).

One run per key per server process: a second browser tab, or a rerun while it works, joins the run already going
rather than starting another. A finished run is kept (a few of them) like a cache entry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ..analysis.verify import verify_text

KEPT = 16
"""Finished runs kept per process, oldest dropped first: as many as the old result cache held."""


@dataclass
class Check:
    """One run: what it is doing now, and its report once finished (None if it stopped on an unexpected error)."""

    phase: str = "starting"
    fraction: float = 0.0
    report: Any = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, seconds: float) -> bool:
        """True once finished; a small ruleset finishes within the wait and the page never shows a progress bar."""
        return self.done.wait(seconds)


Work = Callable[[Callable[[str, float], None], threading.Event], Any]
"""What a run does, given a progress callback (phase, fraction) and the cancel event; its return is the report."""

_runs: OrderedDict[Hashable, Check] = OrderedDict()
_lock = threading.Lock()


def running(key: Hashable, work: Work) -> Check:
    """The run for `key`: the one going or finished (cancelled ones too, so the page can say so), else `work`
    started now in a thread of its own."""
    with _lock:
        check = _runs.get(key)
        if check is not None:
            _runs.move_to_end(key)
            return check
        check = _runs[key] = Check()
        while len(_runs) > KEPT:
            _runs.popitem(last=False)

    def progress(phase: str, fraction: float) -> None:
        check.phase, check.fraction = phase, fraction

    def run() -> None:
        try:
            check.report = work(progress, check.cancel)
        finally:
            check.done.set()

    threading.Thread(target=run, name="workbench-background", daemon=True).start()
    return check


def started(text: str, file: str, limit: int, time_limit: float) -> Check:
    """The Safety page's verify run for this text and these limits."""
    return running((text, file, limit, time_limit), lambda progress, cancel: verify_text(
        text, file, limit=limit, time_limit=time_limit, progress=progress, cancel=cancel))


def forget(key: Hashable) -> None:
    """Drop a finished run, so the next `running` does it afresh ("Check again" after a cancel)."""
    with _lock:
        _runs.pop(key, None)


def waiting(check: Check, text: str) -> None:
    """A run's progress, redrawn twice a second; the whole page is drawn again once it finishes."""
    @st.fragment(run_every=0.5)
    def progress() -> None:
        if check.done.is_set():
            st.rerun()
        st.progress(min(check.fraction, 1.0), text=f"{text}: {check.phase}…")

    progress()
