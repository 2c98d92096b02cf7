"""Server time of each page's interactions on the shipped ruleset, measured with Streamlit's AppTest.

Budgets (issues 4 and 13): every page and interaction under 300 ms warm; opening a ruleset (its Overview)
under 1 s. Each interaction is timed cold (caches cleared just before, as after an edit changes the content)
and warm (median of repeats, as when the content is unchanged), with its ratio to a baseline measured in the
same run: an empty Streamlit page's rerun. Browser rendering is not included: this is what the server does.
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

from workbench.content import loader

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 300.0
OPEN_BUDGET_MS = 1000.0
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
    loader._parsed_vignettes.cache_clear()  # the core remembers vignette files by text


def measure(name: str, prepare: Callable[[], AppTest], act: Callable[[AppTest, int], None]) -> tuple[str, float, float]:
    """Cold: fresh caches; warm: the same interaction again and again on warm caches."""
    at = prepare()
    clear_caches()
    cold = timed(lambda: act(at, 0))
    assert not at.exception, [e.value for e in at.exception]
    warm = statistics.median(timed(lambda i=i: act(at, i)) for i in range(1, REPEATS + 1))
    assert not at.exception, [e.value for e in at.exception]
    return name, cold, warm


def click_node(at: AppTest, i: int) -> None:
    """What the canvas sends when a node is clicked: its state with that node selected."""
    import json

    flow = next(c for c in at.get("component_instance") if "streamlit_flow" in c.proto.component_name)
    data = json.loads(flow.proto.json_args)
    node = data["nodes"][i % len(data["nodes"])]["id"]
    at.session_state["flow.canvas"] = {"nodes": data["nodes"], "edges": data["edges"], "selectedId": node,
                                       "timestamp": i}
    at.run()


def type_text(at: AppTest, text: str) -> None:
    ace = at.get("component_instance")[0]
    at.session_state[ace.key] = {"id": uuid.uuid4().hex[:8], "type": "change", "lang": "yaml", "text": text,
                                 "selected": "", "cursor": ""}
    at.run()


def baseline() -> float:
    """The warm rerun of a page that writes one line: what any page costs before it does anything."""
    at = AppTest.from_string("import streamlit as st\nst.write('x')\n", default_timeout=60)
    at.run()
    return statistics.median(timed(at.run) for _ in range(REPEATS))


def open_ruleset() -> tuple[str, float, float]:
    """From the Rulesets page of a new session, Open: the ruleset's Overview opens. Cold with every cache
    cleared (the first visit after a start or an edit), warm as the median of new sessions."""
    def once(cold: bool) -> float:
        at = app("rulesets")
        if cold:
            clear_caches()
        took = timed(lambda: at.button(key="rulesets.open.upper-back-pain").click().run())
        assert [t.value for t in at.title] == ["Overview"], [t.value for t in at.title]
        return took

    cold = once(True)
    return "Rulesets → Open: the ruleset's Overview", cold, statistics.median(once(False) for _ in range(REPEATS))


def main() -> int:
    folder = Path(tempfile.mkdtemp()) / "rulesets"
    shutil.copytree(ROOT / "rulesets", folder, ignore=shutil.ignore_patterns(".*"))
    os.environ["WORKBENCH_RULESETS"] = str(folder)
    os.environ["WORKBENCH_USERS"] = str(folder / "no-accounts.json")  # single-user install: all roles
    ruleset = (folder / "upper-back-pain" / "ruleset.yaml").read_text(encoding="utf-8")
    answer = "try.upper-back-pain.emergency_features"
    flip = ("yes", "no")

    rows = [
        measure("Rulesets: open the page", lambda: app("rulesets"), lambda at, i: at.run()),
        measure("Editor: open the page", lambda: app("editor"), lambda at, i: at.run()),
        measure("Editor: type (text checked as typed)", lambda: app("editor"),
                lambda at, i: type_text(at, ruleset + f"\n# edit {i}\n")),  # new text each time, as typing
        measure("Editor: click a problem's line", lambda: app("editor"),
                lambda at, i: (type_text(at, ruleset.replace("next: suspected_mscc", "next: x")) if i == 0 else
                               at.button(key="editor.problem.0").click().run())),
        measure("Flow: open the page", lambda: app("flow"), lambda at, i: at.run()),
        measure("Flow: coverage overlay on/off", lambda: app("flow"),
                lambda at, i: at.toggle(key="flow.coverage").set_value(i % 2 == 0).run()),
        measure("Flow: direction", lambda: app("flow"),
                lambda at, i: at.radio(key="flow.direction").set_value("right" if i % 2 == 0 else "down").run()),
        measure("Flow: click a node", lambda: app("flow"), lambda at, i: click_node(at, i)),
        measure("Try it: open the page", lambda: app("try"), lambda at, i: at.run()),
        measure("Try it: answer a question", lambda: app("try"),
                lambda at, i: at.radio(key=answer).set_value(flip[i % 2]).run()),
        measure("Vignettes: open the page (all replayed)", lambda: app("vignettes"), lambda at, i: at.run()),
        measure("Safety: open the page", lambda: app("safety"), lambda at, i: at.run()),
        measure("Releases: open the page", lambda: app("releases"), lambda at, i: at.run()),
        open_ruleset(),
    ]
    base = baseline()
    width = max(len(name) for name, _, _ in rows)
    print(f"baseline: an empty page's rerun {base:.1f} ms (median of {REPEATS})")
    print(f"{'interaction':<{width}}  {'cold ms':>8}  {'warm ms':>8}  {'warm/base':>9}  budget")
    over = 0
    for name, cold, warm in rows:
        budget = OPEN_BUDGET_MS if name.startswith("Rulesets → Open") else BUDGET_MS
        verdict = "ok" if warm <= budget else "OVER"
        over += verdict == "OVER"
        print(f"{name:<{width}}  {cold:8.1f}  {warm:8.1f}  {warm / base:8.1f}x  {budget:.0f} ms {verdict}")
    print(f"{len(rows) - over} of {len(rows)} interactions within budget (server time, AppTest, median of {REPEATS} "
          "warm repeats; cold is after every cache is cleared)")
    shutil.rmtree(folder.parent, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
