"""A verify run in a background thread, so the Safety page shows progress and a Cancel button instead of a
frozen spinner on a large ruleset.

One run per (text, limits) per server process: a second browser tab, or a rerun while it works, joins the run
already going rather than starting another. A finished run is kept (a few of them) like a cache entry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from ..analysis.verify import Verification, verify_text

KEPT = 16
"""Finished runs kept per process, oldest dropped first: as many as the old result cache held."""


@dataclass
class Check:
    """One verify run: what it is doing now, and its report once finished."""

    phase: str = "starting"
    fraction: float = 0.0
    report: Verification | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, seconds: float) -> bool:
        """True once finished; a small ruleset finishes within the wait and the page never shows a progress bar."""
        return self.done.wait(seconds)


_runs: OrderedDict[tuple[str, str, int, float], Check] = OrderedDict()
_lock = threading.Lock()


def started(text: str, file: str, limit: int, time_limit: float) -> Check:
    """The run for this text and these limits: the one going or finished (cancelled ones too, so the page can
    say so), else a new one started now."""
    key = (text, file, limit, time_limit)
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

    def work() -> None:
        try:
            check.report = verify_text(text, file, limit=limit, time_limit=time_limit, progress=progress,
                                       cancel=check.cancel)
        finally:
            check.done.set()

    threading.Thread(target=work, name="workbench-verify", daemon=True).start()
    return check


def forget(text: str, file: str, limit: int, time_limit: float) -> None:
    """Drop a finished run, so the next `started` checks afresh ("Check again" after a cancel)."""
    with _lock:
        _runs.pop((text, file, limit, time_limit), None)
