"""The workbench in a real browser: `streamlit run streamlit_app.py` on a copy of the rulesets, driven by
Chromium through Playwright. Screenshots of every page are written to tests/artifacts/ for a person to
look at. Skipped, with the reason, only where Chromium or Playwright is missing."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from workbench.drafts import DRAFTS_ENV
from workbench.people import accounts

from ..conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright (python) is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium is not installed at {CHROMIUM}", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser") / "rulesets"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, root: Path) -> Iterator[str]:
    """The app as its README starts it, on a copy of rulesets/ and with no accounts; its URL."""
    shutil.copytree(ROOT / "rulesets", root, ignore=shutil.ignore_patterns(".*"))
    with serve(root, root.parent / "no-accounts.json", tmp_path_factory.getbasetemp() / "streamlit.log") as url:
        yield url


@pytest.fixture(autouse=True)
def no_draft_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test starts a new session as the same local person: a draft one test leaves would be offered to the
    next, whose editor would then wait for an answer."""
    yield
    for folder in tmp_path_factory.getbasetemp().rglob("drafts"):
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def serve(root: Path, users: Path, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on `root` with the accounts in `users` (none if it does not exist), and
    any other settings in `env`."""
    port = _free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.address", "127.0.0.1"],  # local only: also spares a lookup of this machine's public address
        cwd=ROOT, env={**os.environ, "WORKBENCH_RULESETS": str(root), accounts.USERS_ENV: str(users),
                       DRAFTS_ENV: str(log_path.parent / "drafts"), **(env or {})},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("streamlit stopped before it answered; see its log")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


LOCAL = ("127.0.0.1", "localhost")


@contextmanager
def private_context(browser):  # type: ignore[no-untyped-def]
    """A browser context in which any request leaving this machine is stopped and fails the test: the app must
    work offline and send nothing out (fonts, icons, telemetry included)."""
    import urllib.parse

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def only_local(route, request) -> None:  # type: ignore[no-untyped-def]
        url = urllib.parse.urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL:
            outside.append(request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_local)
    try:
        yield context
    finally:
        context.close()
    assert outside == [], f"requests left the machine: {outside[:5]}"


def opened(context, url: str):  # type: ignore[no-untyped-def]
    """A new tab on the app, once its first page is drawn."""
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(url)
    tab.get_by_role("heading", name="Rulesets").wait_for()
    return tab


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    with private_context(browser) as context:
        yield opened(context, server)


def go(tab, name: str) -> None:  # type: ignore[no-untyped-def]
    """Navigate as a user does, with the sidebar (the session, and unsaved text, is kept). Like a person, it
    waits for the page to finish first: a component still sending (the code editor reports its cursor a moment
    after it moves) would otherwise start a run of the page being left."""
    settle(tab)
    tab.wait_for_timeout(400)
    settle(tab)
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
    tab.get_by_role("heading", name=name, exact=True).first.wait_for()
    settle(tab)


def settle(tab) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app has finished running: Streamlit marks its root `notRunning` once a run is over (the
    status widget alone appears only after a delay, so a fast check can see a page half drawn)."""
    time.sleep(0.2)
    tab.wait_for_function("() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
                          " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
                          " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }", timeout=30_000)
    time.sleep(0.2)


def shot(tab, name: str, height: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """A screenshot at 1400×900, what a person sees first; with `height`, also `<name>-full.png`, the viewport
    that tall (the app scrolls inside its own frame, so a full-page capture would stop at the window)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if height is not None:
        tab.set_viewport_size({"width": 1400, "height": height})
        settle(tab)
        tab.screenshot(path=str(ARTIFACTS / f"{name}-full.png"))
        tab.set_viewport_size({"width": 1400, "height": 900})
        settle(tab)


def ace_frame(tab):  # type: ignore[no-untyped-def]
    """The code editor's frame, once Ace is in it: a component's frame loads after the run that drew it is over."""
    tab.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR").wait_for()
    return next(f for f in tab.frames if "code_editor" in (f.url or ""))


def editor_text(tab) -> str:  # type: ignore[no-untyped-def]
    """The whole text in the code editor, as the author sees it (Ace keeps its editor on the element)."""
    return str(ace_frame(tab).evaluate("() => document.querySelector('#REACT_ACE_EDITOR').env.editor.getValue()"))


def no_traceback(tab) -> None:  # type: ignore[no-untyped-def]
    assert tab.get_by_test_id("stException").count() == 0
    assert "Traceback" not in tab.content()


AXE = ROOT / "tests" / "ui" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ("Rulesets", "Overview", "Editor", "Flow", "Try it", "Vignettes", "Safety", "Releases", "People")


def accessibility_problems(tab) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core (from tests/ui/node_modules, installed by scripts/setup.sh; nothing fetched) run on the page and
    inside every frame (the code editor, the flow canvas): the serious and critical violations, one line each."""
    assert AXE.is_file(), "axe-core is missing: run scripts/setup.sh --with-browser (npm ci in tests/ui)"
    source = AXE.read_text(encoding="utf-8")
    for frame in tab.frames:
        if not frame.is_detached():
            frame.evaluate(source)
    found = tab.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — '
                 + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join('; '));
    }""")
    return list(found)


def test_nothing_offers_to_publish_nothing_leaves_the_machine_and_every_page_is_accessible(page):  # type: ignore[no-untyped-def]
    """No Deploy button (it offers to put clinical content on a public cloud); the page icon is a local file;
    the `page` fixture fails the test if any request, a font or an icon included, leaves 127.0.0.1; and no page
    has a serious or critical accessibility violation."""
    settle(page)
    assert page.get_by_role("button", name="Deploy").count() == 0 and page.get_by_text("Deploy").count() == 0
    icon = page.locator("link[rel~='icon']").first.get_attribute("href") or ""
    assert icon.startswith(("/", "./", "data:", "media/", "http://127.0.0.1")) and "twemoji" not in icon, icon
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all()
    names = [link.inner_text().strip().split("\n")[-1].strip() for link in links]  # after the icon's name
    assert names == list(PAGES)
    problems = {}
    for name in PAGES:  # every page, so any font or icon it would fetch is asked for
        if name != "Rulesets":
            go(page, name)
        no_traceback(page)
        found = accessibility_problems(page)  # WCAG 2.2 AA as axe-core checks it, frames included
        if found:
            problems[name] = found
        shot(page, name.lower().replace(" ", "-"))
    assert problems == {}


def test_rulesets_page_lists_the_shipped_ruleset(page):  # type: ignore[no-untyped-def]
    settle(page)
    assert page.get_by_text(re.compile(r"all \d+ vignettes pass")).is_visible()
    no_traceback(page)
    shot(page, "rulesets")


TRY_IT_ANSWERS = [  # a person with a past cancer and new band-like chest pain, nothing else: suspected MSCC
    ("Is there any of these: (a) tearing or ripping pain", "No"), ("any NEW dizziness or spinning", "No"),
    ("Is there pain in the tummy", "No"), ("Is the pain severe and unrelenting", "No"),
    ("Pregnant or could be", "No"), ("spreading down BOTH legs", "No"),
    ("anything new or different with the bladder or bowels", "No"), ("Is there any numbness around the bottom", "No"),
    ("Is there any new loss of sexual function", "No"), ("Is there any new weakness in the arms or legs", "No"),
    ("Is there any new difficulty walking", "No"), ("Is there any new numbness or tingling in both arms", "No"),
    ("Has the patient ever been diagnosed with cancer", "Yes"), ("Is there new pain spreading in a band", "Yes"),
]


def test_try_a_case_to_a_disposition_and_see_its_path(page):  # type: ignore[no-untyped-def]
    go(page, "Try it")
    for question, answer in TRY_IT_ANSWERS:
        asked = page.get_by_test_id("stRadio").filter(has_text=question)
        asked.first.wait_for()
        asked.first.get_by_text(answer, exact=True).click()
        settle(page)
    card = page.locator(".wb-disposition")
    assert "Emergency" in card.inner_text() and "MSCC" in card.inner_text()
    assert "History of cancer" in page.locator(".wb-red-flags").inner_text()
    no_traceback(page)
    shot(page, "try-it")
    page.get_by_role("button", name="Show on the flow").click()
    page.get_by_role("heading", name="Flow", exact=True).wait_for()
    settle(page)
    flow = canvas(page)
    page.wait_for_timeout(600)  # the canvas fits its view just after drawing
    frame = page.locator("iframe[title*='streamlit_flow']").bounding_box()
    main = page.get_by_test_id("stMain").bounding_box()
    assert frame["width"] > 0.9 * (main["width"] - 2 * 48)  # the content width, not a narrow column
    nodes = [n.bounding_box() for n in flow.locator(".react-flow__node").all()]
    inside = [b for b in nodes if b["x"] >= frame["x"] - 1 and b["x"] + b["width"] <= frame["x"] + frame["width"] + 1
              and b["y"] >= frame["y"] - 1 and b["y"] + b["height"] <= frame["y"] + frame["height"] + 1]
    assert len(inside) == len(nodes)  # the whole tree, fitted, on open
    controls_clear(flow)
    labels = [t for t in flow.locator(".react-flow__edge-text").all_text_contents() if t.strip()]
    assert labels and not [t for t in labels if t.strip().rstrip(".").isdigit() or t.strip() == "else"]
    titles = flow.locator(".react-flow__edge title").all_text_contents()  # the whole condition, on hover
    assert len(titles) == flow.locator(".react-flow__edge").count() and any(len(t) > 40 for t in titles)
    path = flow.locator(".react-flow__node[data-id='suspected_mscc']")
    assert "3px solid" in (path.get_attribute("style") or "")  # on the path: a thick border
    no_traceback(page)
    assert page.get_by_role("button", name="SVG").is_visible()
    shot(page, "flow")


def controls_clear(flow) -> None:  # type: ignore[no-untyped-def]
    """Nothing sits on a card: no minimap, and the zoom controls clear of every one."""
    assert flow.locator(".react-flow__minimap").count() == 0
    controls = flow.locator(".react-flow__controls").bounding_box()
    nodes = [n.bounding_box() for n in flow.locator(".react-flow__node").all()]
    assert not [b for b in nodes if b["x"] < controls["x"] + controls["width"] and controls["x"] < b["x"] + b["width"]
                and b["y"] < controls["y"] + controls["height"] and controls["y"] < b["y"] + b["height"]
                and b["width"] > 20]  # the invisible margin card is there to keep them clear


def canvas(page):  # type: ignore[no-untyped-def]
    """The Flow page's React Flow canvas (a component in its own frame), once its nodes are drawn."""
    flow = page.frame_locator("iframe[title*='streamlit_flow']")
    flow.locator(".react-flow__node").first.wait_for()
    return flow


def visible_editor_lines(page) -> str:  # type: ignore[no-untyped-def]
    """The lines the code editor shows now, once it has been taken to its line (it scrolls inside itself)."""
    frame = ace_frame(page)
    page.wait_for_timeout(500)
    return str(frame.evaluate("""() => { const e = document.querySelector('#REACT_ACE_EDITOR').env.editor;
        const first = e.renderer.getFirstFullyVisibleRow(), last = e.renderer.getLastFullyVisibleRow();
        return e.session.getLines(first, last).join('\\n'); }"""))


def test_the_vignettes_are_replayed_on_opening_with_what_differs_in_view(page):  # type: ignore[no-untyped-def]
    go(page, "Vignettes")
    page.get_by_text(re.compile(r"All \d+ vignettes pass\.")).wait_for()
    settle(page)
    page.get_by_test_id("stTable").first.wait_for()
    no_traceback(page)
    shot(page, "vignettes", height=2600)


def test_break_the_yaml_in_the_editor_and_see_the_problem(page):  # type: ignore[no-untyped-def]
    go(page, "Editor")
    assert page.get_by_text("No problems found.").is_visible()
    assert page.get_by_text("The table shows the text as it is.").count() == 0  # read only once opened
    ace_frame(page)  # the code editor reports itself once its frame has loaded, and that run must be over first:
    settle(page)  # in one full run the table never opened after a click made while it was under way
    page.get_by_text("Rules as a table: a decision's branches, when → then").click()
    page.get_by_text("The table shows the text as it is.").wait_for()
    settle(page)
    table = page.get_by_test_id("stDataFrame").first
    table.scroll_into_view_if_needed()
    assert table.is_visible()
    shot(page, "editor-table")
    frame = page.frame_locator("iframe[title*='code_editor']")
    frame.locator("#REACT_ACE_EDITOR .ace_scroller").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nstart_here: nowhere")  # a misspelt top-level field
    page.get_by_text("WB011").first.wait_for()
    settle(page)
    assert page.get_by_text("unsaved changes").first.is_visible()
    page.get_by_role("button", name="Line", exact=False).first.click()
    settle(page)
    assert "start_here: nowhere" in visible_editor_lines(page)  # taken to the line of the problem
    no_traceback(page)
    shot(page, "editor", height=2200)
    go(page, "Try it")  # the unsaved, broken text is what every page now uses, and says so
    assert page.get_by_text("cannot be run yet").is_visible()
    no_traceback(page)
    shot(page, "try-it-broken")
    go(page, "Editor")  # back again: the editor shows the unsaved text, not the file
    page.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR .ace_scroller").wait_for()
    assert editor_text(page).endswith("start_here: nowhere")


def test_a_conflicting_save_shows_both_versions_and_keeps_mine(page, root):  # type: ignore[no-untyped-def]
    path = root / "upper-back-pain" / "ruleset.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        go(page, "Editor")
        frame = page.frame_locator("iframe[title*='code_editor']")
        frame.locator("#REACT_ACE_EDITOR .ace_scroller").click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n# my note")
        page.get_by_text("unsaved changes").first.wait_for()
        settle(page)
        theirs = original.replace("\nversion: ", "\nversion: 9", 1)  # someone else's save: the version changed
        path.write_text(theirs, encoding="utf-8")
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_text("Not saved: someone else saved this file").wait_for()
        settle(page)
        assert path.read_text(encoding="utf-8") == theirs
        diff = page.get_by_test_id("stCode").first.inner_text()
        assert "+# my note" in diff and "-version: 9" in diff
        assert "# my note" in editor_text(page)  # the editor still shows my text, not the text it was opened with
        no_traceback(page)
        shot(page, "editor-conflict", height=2200)
        page.get_by_role("button", name="Save mine over theirs").click()
        page.get_by_text("Saved ruleset.yaml.").wait_for()
        settle(page)
        assert path.read_text(encoding="utf-8").endswith("# my note")
        assert "# my note" in editor_text(page)
    finally:
        path.write_text(original, encoding="utf-8")




# --- issue 21: no edit lost, safety where the edit happens, a readable flow, search, overview, accessibility -----

def focused(tab) -> str:  # type: ignore[no-untyped-def]
    """What has the keyboard focus, through frames: its tag, role, aria-label and text, for a test to look for."""
    return str(tab.evaluate("""() => {
        let doc = document, el = doc.activeElement;
        while (el && el.tagName === 'IFRAME' && el.contentDocument) {
            doc = el.contentDocument;
            el = doc.activeElement;
        }
        if (!el) return '';
        return [el.tagName, el.getAttribute('role') || '', el.getAttribute('aria-label') || '',
                el.getAttribute('type') || '', (el.innerText || el.value || '').slice(0, 80),
                el.className && el.className.baseVal === undefined ? el.className : ''].join(' | ');
    }"""))


def tab_to(tab, wanted, backwards: bool = False, limit: int = 150) -> str:  # type: ignore[no-untyped-def]
    """Press Tab (or Shift+Tab) until `wanted(focused text)` holds, as a keyboard user does; what is focused."""
    for _ in range(limit):
        tab.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(tab)
        if wanted(now):
            return now
    raise AssertionError(f"the keyboard never reached it; last focused: {focused(tab)}")


def test_try_it_by_keyboard_alone(page):  # type: ignore[no-untyped-def]
    go(page, "Try it")
    page.get_by_role("heading", name="Try it", exact=True).click()  # start from the top of the page
    tab_to(page, lambda now: now.startswith("INPUT") and "radio" in now)
    page.keyboard.press("Space")  # the first answer of the first question: Yes
    page.locator(".wb-disposition").wait_for()
    settle(page)
    assert "Emergency" in page.locator(".wb-disposition").inner_text()
    shot(page, "keyboard-try-it")
    tab_to(page, lambda now: "Start again" in now)
    page.keyboard.press("Enter")
    settle(page)
    assert "Not decided yet" in page.locator(".wb-disposition").inner_text()
    no_traceback(page)


def test_editor_by_keyboard_alone(page, root):  # type: ignore[no-untyped-def]
    """Tab reaches the code editor, Enter starts typing, Escape twice then Shift+Tab leaves it for Save: no
    keyboard trap."""
    path = root / "upper-back-pain" / "ruleset.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        go(page, "Editor")
        page.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR .ace_scroller").wait_for()
        page.get_by_role("heading", name="Editor", exact=True).click()  # start from the top of the page
        tab_to(page, lambda now: "Editor content" in now)
        page.keyboard.press("Enter")
        page.keyboard.press("Control+End")
        page.keyboard.type("\n# typed with the keyboard alone")
        page.get_by_text("unsaved changes").first.wait_for()
        settle(page)
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        tab_to(page, lambda now: now.startswith("BUTTON") and "Save" in now and "Discard" not in now, backwards=True)
        page.keyboard.press("Enter")
        page.get_by_text("Saved ruleset.yaml.").wait_for()
        settle(page)
        assert path.read_text(encoding="utf-8").endswith("# typed with the keyboard alone")
        no_traceback(page)
    finally:
        path.write_text(original, encoding="utf-8")


def test_three_hundred_random_edits_never_stop_the_editor(page, root):  # type: ignore[no-untyped-def]
    """Typing, deleting, undo, redo, paste and broken YAML, 300 times at random (seeded), with undo back to the
    saved text along the way (which once stopped the page: '<title>' is not in list)."""
    import random

    chance = random.Random(21)
    go(page, "Editor")
    frame = page.frame_locator("iframe[title*='code_editor']")
    frame.locator("#REACT_ACE_EDITOR .ace_scroller").click()
    snippets = ["\n  - id: new_question\n    type: boolean\n    question: Is it new?", "\ntitle: [", "\n\t- broken",
                "\n# a note", ": :", "\nversion: 9.9.9", "'unclosed", "\n  - when: fever and\n"]
    for n in range(300):
        move = chance.choice(["type", "type", "enter", "delete", "undo", "redo", "paste", "broken", "home", "undo_all"])
        if move == "type":
            page.keyboard.type(chance.choice(["a", "bladder ", "x", " ", "0", "-"]))
        elif move == "enter":
            page.keyboard.press("Enter")
        elif move == "delete":
            page.keyboard.press(chance.choice(["Backspace", "Delete"]))
        elif move == "undo":
            page.keyboard.press("Control+z")
        elif move == "redo":
            page.keyboard.press("Control+Shift+z")
        elif move == "paste":
            page.keyboard.insert_text(chance.choice(snippets))
        elif move == "broken":
            page.keyboard.type(chance.choice(["\n  bad: [", "\n:", "\n   - x: 1"]))
        elif move == "home":
            page.keyboard.press(chance.choice(["Control+Home", "Control+End", "PageDown", "ArrowUp"]))
        else:
            for _ in range(40):
                page.keyboard.press("Control+z")
        if n % 100 == 99:  # let the page take what was typed, as a pause in typing does
            page.wait_for_timeout(400)
            settle(page)
            no_traceback(page)
            assert page.get_by_text("unexpected problem").count() == 0
            frame.locator("#REACT_ACE_EDITOR .ace_scroller").click()
    page.wait_for_timeout(400)
    settle(page)
    no_traceback(page)
    assert page.get_by_text("unexpected problem").count() == 0
    shot(page, "editor-after-300-edits")


def test_a_tab_closed_mid_edit_warns_and_the_draft_comes_back(browser, server):  # type: ignore[no-untyped-def]
    with private_context(browser) as context:
        first = opened(context, server)
        go(first, "Editor")
        first.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR .ace_scroller").click()
        first.keyboard.press("Control+End")
        first.keyboard.type("\n# half-finished thought about NG234")
        first.get_by_text("unsaved changes").first.wait_for()
        settle(first)
        asked: list[str] = []
        first.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
        second = opened(context, server)
        first.close(run_before_unload=True)
        for _ in range(100):  # Playwright hands events over while it is waiting
            if asked:
                break
            second.wait_for_timeout(100)
        assert asked == ["beforeunload"]  # the browser asked before the tab went
        second.reload()  # a new session, as a reopened tab is
        second.get_by_role("heading", name="Rulesets").wait_for()
        go(second, "Editor")
        second.get_by_text("You have unsaved changes to ruleset.yaml").wait_for()
        shot(second, "editor-draft-offered")
        second.get_by_role("button", name="Restore my changes").click()
        second.get_by_text("Your unsaved changes are back").wait_for()
        settle(second)
        second.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR .ace_scroller").wait_for()
        assert editor_text(second).endswith("# half-finished thought about NG234")
        no_traceback(second)


# --- issue 21 items 2 and 3, issue 23 item 1: the Releases page finishes the job ---------------------------------

@pytest.fixture(scope="module")
def server_with_a_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Upper back pain 1.0.0 released (keys and keyring in a workspace of its own), then cauda equina sent to routine
    care and saved; a case store of past cases, one with bladder dysfunction. The app's URL and the release file."""
    from workbench.analysis.case_store import CASES_ENV
    from workbench.files import read_versioned
    from workbench.people import access
    from workbench.publish.signing import KEYRING_ENV, KEYS_ENV, create_key, trust
    from workbench.workspace import HOME_ENV

    from ..conftest import AUTHOR, REVIEWER, V1, released

    base = tmp_path_factory.mktemp("releases")
    folder = base / "rulesets" / "upper-back-pain"
    shutil.copytree(V1, folder)
    (base / "cases").mkdir()
    (base / "cases" / "2025.csv").write_text(
        "age,bladder_bowel_dysfunction,limb_weakness,fever\n40,yes,no,no\n70,no,no,yes\n55,no,yes,no\n",
        encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ((HOME_ENV, base / "home"), (KEYS_ENV, base / "home" / "keys"),
                            (KEYRING_ENV, base / "home" / "keyring.json"), (CASES_ENV, base / "cases")):
            patch.setenv(name, str(value))
        signers = {}
        for name in (AUTHOR, REVIEWER):
            _, signers[name] = create_key(name, None, base / "home" / "keys")
            trust(name, signers[name].key.public_key(), base / "home" / "keyring.json")
        release = released(folder, signers)
        path = folder / "ruleset.yaml"
        text, token = read_versioned(path)
        start = (text or "").index("  - id: suspected_cauda_equina_or_cord_compression")
        at = (text or "").index("disposition: emergency", start)
        access.save_ruleset(access.local_identity(AUTHOR), path, (text or "")[:at] + "disposition: routine"
                            + (text or "")[at + len("disposition: emergency"):], token, "try routine")
        with serve(base / "rulesets", base / "no-accounts.json", base / "streamlit.log") as url:
            yield url, release


def test_the_releases_page_shows_the_gate_downloads_a_release_and_what_a_version_changes_for_past_cases(
        browser, server_with_a_release):  # type: ignore[no-untyped-def]
    """The review tab leads with the broken promises and offers no step; the History tab downloads the signed
    release byte for byte; the impact tab lists the past case that would become less urgent first. Each state is
    checked with axe-core and kept as a screenshot."""
    url, release = server_with_a_release
    with private_context(browser) as context:
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(f"{url}/releases")  # straight to the page, as a bookmark opens it
        tab.get_by_text(re.compile(r"safety promises? broken")).first.wait_for()
        settle(tab)
        assert tab.get_by_role("button", name="Submit for review").count() == 0  # the gate would refuse it
        assert tab.get_by_text("needs accounts").count() == 0  # withheld by the gate, before any question of who
        no_traceback(tab)
        shot(tab, "releases-gate")
        problems = accessibility_problems(tab)

        tab.get_by_role("tab", name="History").click()
        settle(tab)
        button = tab.get_by_role("button", name="Release (signed JSON)").first
        button.scroll_into_view_if_needed()
        with tab.expect_download() as download:
            button.click()
        assert Path(download.value.path()).read_bytes() == release.read_bytes()
        assert download.value.suggested_filename == "upper-back-pain-1.0.0.json"
        shot(tab, "releases-downloads")
        problems += accessibility_problems(tab)

        tab.get_by_role("tab", name="What it changes for past cases").click()
        tab.get_by_text(re.compile(r"past cases? would become less urgent")).first.wait_for()
        settle(tab)
        no_traceback(tab)
        shot(tab, "releases-impact", height=1700)
        problems += accessibility_problems(tab)
        assert problems == [], problems


# --- issue 21, done when: a newcomer does the whole job in the browser, from ./run to the downloads -------------

WALKTHROUGH = ARTIFACTS / "walkthrough"  # looked at, and kept in docs/screenshots/walkthrough/


def step(tab, number: int, name: str, height: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """One step of the walkthrough as a numbered screenshot, taken once the page has finished."""
    settle(tab)
    WALKTHROUGH.mkdir(parents=True, exist_ok=True)
    shot(tab, f"walkthrough/{number:02d}-{name}", height)


def set_disposition(tab, outcome: str, disposition: str) -> None:  # type: ignore[no-untyped-def]
    """In the Editor, the `disposition:` line of `outcome` retyped as a person does: cursor to the line, select it
    from its indentation, type."""
    lines = editor_text(tab).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  - id: {outcome}"))
    row = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("disposition:"))
    ace_frame(tab).evaluate(f"() => document.querySelector('#REACT_ACE_EDITOR').env.editor.gotoLine({row + 1}, 0)")
    tab.frame_locator("iframe[title*='code_editor']").locator("#REACT_ACE_EDITOR textarea").focus()
    tab.keyboard.press("End")
    tab.keyboard.press("Shift+Home")  # to the first character after the indentation
    tab.keyboard.type(f"disposition: {disposition}")
    tab.get_by_text("unsaved changes").first.wait_for()
    settle(tab)


def save_with(tab, reason: str) -> None:  # type: ignore[no-untyped-def]
    tab.get_by_label("Why (saved in the history with your change)").fill(reason)
    tab.get_by_role("button", name="Save", exact=True).click()
    tab.get_by_text("Saved ruleset.yaml.").wait_for()


def sign_in(tab, name: str, password: str, number: Iterator[int]) -> None:  # type: ignore[no-untyped-def]
    tab.get_by_role("heading", name="Sign in").wait_for()
    tab.get_by_role("textbox", name="Name", exact=True).fill(name)
    tab.get_by_role("textbox", name="Password", exact=True).fill(password)
    step(tab, next(number), "sign-in")
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for()
    settle(tab)


def review_form(tab, button: str):  # type: ignore[no-untyped-def]
    """The Releases page's form for one review step, once the gate's verification (in the background) is done."""
    form = tab.get_by_test_id("stForm").filter(has=tab.get_by_role("button", name=button))
    form.wait_for(timeout=90_000)
    settle(tab)
    return form


def test_a_newcomer_does_the_whole_job_in_the_browser(browser, tmp_path):  # type: ignore[no-untyped-def]
    """The issue's walkthrough, on a workspace made as ./run makes it and with nothing typed in a terminal: the first
    admin account; the overview; "bladder" finds the cauda equina question; cauda equina made routine and saved, and
    the Editor's status line names the failing vignettes and the broken promise; the counterexample kept as a
    vignette; the rule put back; an approver added, who makes their key in the page, approves and releases; the
    FHIR and CDS Hooks files downloaded, each checked against its sha256 on the page and the signed release. Axe
    on each new form; a numbered screenshot of every step."""
    from workbench.analysis.case_store import CASES_ENV
    from workbench.publish.releases import load_release
    from workbench.publish.signing import KEYRING_ENV, KEYS_ENV, load_keyring
    from workbench.workspace import HOME_ENV

    from ..conftest import run_cli

    home = tmp_path / ".workbench"  # the workspace ./run uses; every file the app keeps is in it
    made = run_cli("init", str(home / "rulesets"), "--from", str(ROOT / "rulesets"))  # what ./run does first
    assert made.returncode == 0, made.stderr
    env = {HOME_ENV: str(home), KEYS_ENV: str(home / "keys"), KEYRING_ENV: str(home / "keyring.json"),
           CASES_ENV: str(home / "cases")}
    ruleset = home / "rulesets" / "upper-back-pain"
    number = itertools.count(1)  # the screenshots' order
    with serve(home / "rulesets", home / "users.json", home / "streamlit.log", env) as url, \
            private_context(browser) as context:
        tab = opened(context, url)
        settle(tab)
        sidebar = tab.get_by_test_id("stSidebar")
        sidebar.get_by_text("Create the first admin account", exact=True).click()
        sidebar.get_by_label("Your name, as the history will record it").fill("Dr Ada Lee")
        sidebar.get_by_label("Password (8 characters or more)").fill("correct horse battery")
        sidebar.get_by_label("The same password again").fill("correct horse battery")
        settle(tab)
        assert accessibility_problems(tab) == []
        sidebar.get_by_role("button", name="Create and sign in").scroll_into_view_if_needed()
        step(tab, next(number), "first-admin-account")
        sidebar.get_by_role("button", name="Create and sign in").click()
        sidebar.get_by_text("Signed in as").wait_for()
        settle(tab)
        assert "Dr Ada Lee" in sidebar.inner_text() and "admin, author" in sidebar.inner_text()
        assert tab.get_by_text("Not shared with a team yet").is_visible()  # the Rulesets page says how to share

        tab.get_by_test_id("stMain").get_by_role("button", name="Open", exact=True).click()
        tab.get_by_role("heading", name="Overview", exact=True).wait_for()
        settle(tab)
        tab.get_by_text("answer combinations").first.wait_for()  # drawn once its count is made, not before
        step(tab, next(number), "overview", height=2400)

        tab.get_by_role("textbox", name="Search the rules").fill("bladder")
        tab.keyboard.press("Enter")
        tab.get_by_text(re.compile(r"\d+ results? for")).wait_for()
        first = tab.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"· Question on the flow")).first
        assert "cauda equina" in first.inner_text().casefold()  # the first hit asks about it, whatever its wording
        step(tab, next(number), "search-bladder")
        tab.get_by_role("button", name="On the flow").first.click()
        tab.get_by_role("heading", name="Flow", exact=True).wait_for()
        settle(tab)
        tab.wait_for_timeout(600)  # the canvas fits its view just after drawing
        controls_clear(canvas(tab))
        assert "cauda equina" in tab.locator(".st-key-flow-details").inner_text().casefold()
        step(tab, next(number), "cauda-equina-on-the-flow")
        tab.get_by_role("button", name="Open in the Editor").click()  # its lines, in the Editor
        tab.get_by_role("heading", name="Editor", exact=True).wait_for()
        settle(tab)
        assert "id: rule2_cauda_equina" in visible_editor_lines(tab)

        # break a rule: cauda equina sent to routine care, saved
        set_disposition(tab, "suspected_cauda_equina", "routine")
        save_with(tab, "Trying routine care for cauda equina")
        broken = tab.get_by_role("button", name=re.compile(r"safety promises? broken"))
        broken.wait_for(timeout=60_000)
        failing = tab.get_by_role("button", name=re.compile(r"\d+ of \d+ vignettes fail"))
        assert failing.is_visible()
        total = int(re.search(r"of (\d+) vignettes", failing.inner_text()).group(1))  # type: ignore[union-attr]
        step(tab, next(number), "editor-says-what-the-change-breaks")

        broken.click()  # the link leads to the promise, with a case that breaks it
        tab.get_by_role("heading", name=re.compile("Broken safety promises")).wait_for()
        settle(tab)
        step(tab, next(number), "safety-broken-promise")
        tab.locator(".st-key-safety-add-property-cauda-equina-emergency").get_by_role("button").click()
        saved = tab.get_by_text(re.compile(r"Saved as vignette '.+' in vignettes/from-safety.yaml"))
        saved.wait_for()
        saved.scroll_into_view_if_needed()
        step(tab, next(number), "counterexample-kept-as-a-vignette")
        kept = yaml.safe_load((ruleset / "vignettes" / "from-safety.yaml").read_text(encoding="utf-8"))["vignettes"]
        assert [v["expect"] for v in kept] == [{"disposition": "emergency"}]  # what the promise demands

        go(tab, "Editor")  # the rule put back: everything passes, the new vignette with it
        set_disposition(tab, "suspected_cauda_equina", "emergency")
        save_with(tab, "Cauda equina back to emergency; the counterexample stays as a vignette")
        tab.get_by_text(re.compile(r"safety promises kept")).wait_for(timeout=60_000)
        assert tab.get_by_text(f"all {total + 1} vignettes pass").is_visible()
        step(tab, next(number), "editor-all-safe-again")
        tab.get_by_text("History: who changed this rule, when and why").click()
        settle(tab)
        tab.wait_for_timeout(400)  # as go() does: the code editor reports its cursor a moment after the save, and
        settle(tab)  # the run that starts closed the list just opened (a full run today: no option was listed)
        rule = tab.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(
            has=tab.get_by_text("Rule", exact=True))
        rule.get_by_role("combobox").click()
        sync_api.expect(rule.get_by_role("combobox")).to_have_attribute("aria-expanded", "true")
        tab.keyboard.type("suspected_cauda_equina")  # the rule just changed, found as a person finds it
        # filtered to two, suspected_cauda_equina and suspected_cauda_equina_cancer, and the one wanted clicked. Enter
        # was not deterministic: it took the option under the pointer (twice on CI, the cancer rule), and when no
        # option had the focus yet it took none and left the typed text in the box
        sync_api.expect(tab.get_by_role("option", name=re.compile("suspected_cauda_equina"))).to_have_count(2)
        tab.get_by_role("option", name="nodes · suspected_cauda_equina", exact=True).click()
        sync_api.expect(rule.get_by_role("combobox")).to_have_value("nodes · suspected_cauda_equina")
        settle(tab)
        table = tab.get_by_test_id("stTable").first
        sync_api.expect(table).to_contain_text("Dr Ada Lee")  # this rule's table, not the first's
        rows = table.inner_text()  # the changes that still show in the rule's lines, each with its reason
        assert "Dr Ada Lee" in rows and "Cauda equina back to emergency" in rows
        assert "Trying routine care" not in rows  # put back: that change no longer shows in any line

        go(tab, "People")  # a second clinician, to approve
        tab.get_by_text("Add a person, or replace an account", exact=True).click()
        settle(tab)
        tab.get_by_label("Name, as the history will record it").fill("Dr Raj Shah")
        roles = tab.get_by_test_id("stMultiSelect").filter(has_text="Roles")
        roles.get_by_role("combobox").click()
        tab.keyboard.type("reviewer")
        tab.get_by_role("option", name="reviewer (approves and releases)").wait_for()
        tab.keyboard.press("Enter")
        roles.get_by_text("reviewer (approves and releases)").wait_for()
        tab.keyboard.press("Escape")
        tab.get_by_label("Their first password (8 characters or more)").fill("staple gun saddle")
        tab.get_by_label("Their first password again").fill("staple gun saddle")
        tab.get_by_label("Your password, to confirm it is you").first.fill("correct horse battery")
        settle(tab)
        assert accessibility_problems(tab) == []
        tab.get_by_role("button", name="Save the account").click()
        tab.get_by_text("Dr Raj Shah (reviewer) can sign in now").wait_for()
        step(tab, next(number), "approver-added")

        go(tab, "Releases")
        form = review_form(tab, "Submit for review")
        form.get_by_label("What changed and why").fill("Cauda equina counterexample kept as a vignette")
        step(tab, next(number), "submit-for-review")
        form.get_by_role("button", name="Submit for review").click()
        tab.get_by_text("Submitted for review.").wait_for()
        step(tab, next(number), "waiting-for-review")

        sidebar.get_by_role("button", name="Sign out").click()  # the second clinician, on the same machine
        tab.get_by_role("heading", name="Sign in").wait_for()
        settle(tab)
        assert tab.get_by_role("heading", name="Rulesets").count() == 0  # nobody gets in without signing in
        sign_in(tab, "Dr Raj Shah", "staple gun saddle", number)
        go(tab, "People")
        tab.get_by_label("Your password (it locks the key)").fill("staple gun saddle")
        tab.get_by_label("Your password again").fill("staple gun saddle")
        tab.get_by_role("button", name="Make my signing key").click()
        tab.get_by_text("Fingerprint").first.wait_for()
        settle(tab)
        assert accessibility_problems(tab) == []
        step(tab, next(number), "approver-makes-their-key")

        go(tab, "Releases")
        form = review_form(tab, "Approve")
        assert "Recorded in the history as Dr Raj Shah." in form.inner_text()  # never a typed name
        assert tab.get_by_label(re.compile("^Your name")).count() == 0
        form.get_by_label("Note (optional)").fill("Counterexample checked against NG234")
        form.get_by_label("Your password (it opens your signing key)").fill("staple gun saddle")
        step(tab, next(number), "approve")
        form.get_by_role("button", name="Approve").click()
        tab.get_by_text("Approved and signed.").wait_for()
        form = review_form(tab, "Release version 3.0.0")
        form.get_by_label("Reason for this release").fill("First release in this workspace")
        form.get_by_label("Your password (it opens your signing key)").fill("staple gun saddle")
        step(tab, next(number), "release")
        form.get_by_role("button", name="Release version 3.0.0").click()
        tab.get_by_text("Released version 3.0.0, signed by Dr Raj Shah.").wait_for()
        settle(tab)
        assert accessibility_problems(tab) == []

        got = {}
        for title in ("Release (signed JSON)", "FHIR R4 Questionnaire", "FHIR R4 PlanDefinition",
                      "CDS Hooks discovery"):
            with tab.expect_download() as download:
                tab.get_by_role("button", name=title).first.click()
            got[download.value.suggested_filename] = Path(download.value.path()).read_bytes()
        sums = tab.get_by_test_id("stCode").filter(has_text="upper-back-pain-3.0.0.json").first.inner_text()
        step(tab, next(number), "downloads", height=1800)
        no_traceback(tab)

    import hashlib

    release_file = ruleset / "releases" / "3.0.0.json"
    assert got["upper-back-pain-3.0.0.json"] == release_file.read_bytes()  # byte for byte what was signed
    verified = load_release(release_file.read_bytes(), load_keyring(home / "keyring.json"), str(release_file))
    assert verified.signer.name == "Dr Raj Shah" and verified.author == "Dr Ada Lee"
    for name, data in got.items():  # each file's sha256 as the page printed it, sha256sum style
        assert f"{hashlib.sha256(data).hexdigest()}  {name}" in sums
    questionnaire = json.loads(got["upper-back-pain-3.0.0.Questionnaire.json"])
    plan = json.loads(got["upper-back-pain-3.0.0.PlanDefinition.json"])
    discovery = json.loads(got["upper-back-pain-3.0.0.cds-services.json"])
    assert questionnaire["resourceType"] == "Questionnaire" and plan["resourceType"] == "PlanDefinition"
    assert verified.sha256 in json.dumps(questionnaire) and verified.sha256 in json.dumps(plan)
    assert [s["hook"] for s in discovery["services"]] and "bladder" in json.dumps(questionnaire).casefold()
