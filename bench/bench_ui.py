"""Server time of each page's interactions on the shipped ruleset, measured with Streamlit's AppTest.

Budget (issue 4): every interaction under 300 ms of server time. Each interaction is timed twice: cold
(caches cleared just before, as after an edit changes the content) and warm (median of repeats, as when
the content is unchanged). Browser rendering is not included: this measures what the server does.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 300.0
REPEATS = 7


def app(page: str) -> AppTest:
    script = ("import streamlit as st\nfrom workbench.ui.login import current_identity\n"
              "from workbench.ui.pages import navigation\n"
              f"if current_identity() is None:\n    st.stop()\nnavigation({page!r}).run()\n")
    at = AppTest.from_string(script, default_timeout=120)
    at.run()
    quiet()
    return at


def quiet() -> None:
    """AppTest runs without a server; its 'no ScriptRunContext' and cache warnings are noise here."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def measure(name: str, prepare: Callable[[], AppTest], act: Callable[[AppTest, int], None]) -> tuple[str, float, float]:
    """Cold: fresh caches; warm: the same interaction again and again on warm caches."""
    at = prepare()
    clear_caches()
    cold = timed(lambda: act(at, 0))
    assert not at.exception, [e.value for e in at.exception]
    warm = statistics.median(timed(lambda i=i: act(at, i)) for i in range(1, REPEATS + 1))
    assert not at.exception, [e.value for e in at.exception]
    return name, cold, warm


def type_text(at: AppTest, text: str) -> None:
    ace = at.get("component_instance")[0]
    at.session_state[ace.key] = {"id": uuid.uuid4().hex[:8], "type": "change", "lang": "yaml", "text": text,
                                 "selected": "", "cursor": ""}
    at.run()


def main() -> int:
    folder = Path(tempfile.mkdtemp()) / "rulesets"
    shutil.copytree(ROOT / "rulesets", folder, ignore=shutil.ignore_patterns(".*"))
    os.environ["WORKBENCH_RULESETS"] = str(folder)
    os.environ["WORKBENCH_USERS"] = str(folder / "no-accounts.json")  # single-user install: all roles
    ruleset = (folder / "upper-back-pain" / "ruleset.yaml").read_text(encoding="utf-8")
    answer = "try.upper-back-pain.bladder_bowel_dysfunction"
    flip = ("yes", "no")

    rows = [
        measure("Rulesets: open the page", lambda: app("rulesets"), lambda at, i: at.run()),
        measure("Editor: open the page", lambda: app("editor"), lambda at, i: at.run()),
        measure("Editor: type (text checked as typed)", lambda: app("editor"),
                lambda at, i: type_text(at, ruleset + f"\n# edit {i % 2}\n")),
        measure("Editor: click a problem's line", lambda: app("editor"),
                lambda at, i: (type_text(at, ruleset.replace("next: suspected_mscc", "next: x")) if i == 0 else
                               at.button(key="editor.problem.0").click().run())),
        measure("Flow: open the page", lambda: app("flow"), lambda at, i: at.run()),
        measure("Flow: coverage overlay on/off", lambda: app("flow"),
                lambda at, i: at.toggle(key="flow.coverage").set_value(i % 2 == 0).run()),
        measure("Flow: rank direction", lambda: app("flow"),
                lambda at, i: at.radio(key="flow.rankdir").set_value("LR" if i % 2 == 0 else "TB").run()),
        measure("Try it: open the page", lambda: app("try"), lambda at, i: at.run()),
        measure("Try it: answer a question", lambda: app("try"),
                lambda at, i: at.radio(key=answer).set_value(flip[i % 2]).run()),
        measure("Vignettes: open the page", lambda: app("vignettes"), lambda at, i: at.run()),
        measure("Vignettes: replay all (56)", lambda: app("vignettes"),
                lambda at, i: at.button(key="vignettes.replay").click().run()),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'interaction':<{width}}  {'cold ms':>8}  {'warm ms':>8}  budget {BUDGET_MS:.0f} ms")
    over = 0
    for name, cold, warm in rows:
        verdict = "ok" if max(cold, warm) <= BUDGET_MS else "OVER"
        over += verdict == "OVER"
        print(f"{name:<{width}}  {cold:8.1f}  {warm:8.1f}  {verdict}")
    print(f"{len(rows) - over} of {len(rows)} interactions within {BUDGET_MS:.0f} ms (server time, AppTest, "
          f"median of {REPEATS} warm repeats)")
    shutil.rmtree(folder.parent, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
