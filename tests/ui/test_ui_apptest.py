"""Each page's behaviour through Streamlit's AppTest, on a writable copy of the shipped rulesets.

AppTest runs the real pages server-side (no browser): widgets are set and clicked as a user would, and the
files on disk are checked afterwards. The code editor is a custom component, so typing is simulated by
giving the component the value the browser would send (tests/test_ui_browser.py types for real)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.content.validate import validate_ruleset_file
from workbench.drawing.colours import disposition_colours
from workbench.run.replay import replay_ruleset

from ..conftest import V1

RULESET = "upper-back-pain"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of rulesets/ that the app is pointed at; the real one is never written. No accounts file, so the
    app opens as the single local user with every role (tests/test_ui_roles.py signs people in)."""
    target = tmp_path / "rulesets"
    shutil.copytree(V1, target / RULESET)
    monkeypatch.setenv("WORKBENCH_RULESETS", str(target))
    monkeypatch.setenv("WORKBENCH_USERS", str(tmp_path / "no-accounts.json"))
    return target


def script(page: str) -> str:
    """What streamlit_app.py does, opening on `page`: who is there first, then the pages."""
    return ("import streamlit as st\nfrom workbench.ui.login import current_identity\n"
            "from workbench.ui.pages import navigation\n"
            f"if current_identity() is None:\n    st.stop()\nnavigation({page!r}).run()\n")


def app(page: str) -> AppTest:
    return AppTest.from_string(script(page), default_timeout=60).run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "unexpected problem" in e.value]


def texts(at: AppTest) -> str:
    """Everything written on the page, for 'does it say ...' checks."""
    parts = [e.value for kind in ("markdown", "caption", "title", "subheader", "success", "error", "warning", "info")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts).replace("\\", "")  # markdown escapes, as the reader sees it


def chooser(at: AppTest, key: str):
    """The selectbox common.choose draws under `key` (its full key also names what it shows)."""
    found = [w for w in at.selectbox if str(w.key).startswith(key + ".")]
    assert len(found) == 1, [w.key for w in at.selectbox]
    return found[0]


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget labelled {label!r}: {[w.label for w in widgets]}"
    return found[0]


# --- Rulesets -------------------------------------------------------------------------------

def test_rulesets_page_shows_each_ruleset_at_a_glance(root: Path):
    at = app("rulesets")
    no_errors(at)
    page = texts(at)
    assert "Upper back and neck pain" in page
    assert "version 1.0.0" in page and "**draft**" in page
    total = len(replay_ruleset(ruleset_path(root)).results)
    assert f"all {total} vignettes pass" in page and "valid" in page


def test_a_broken_ruleset_is_listed_with_its_errors_not_a_traceback(root: Path):
    ruleset = root / RULESET / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text(encoding="utf-8").replace("next: suspected_mscc", "next: suspected_msc"),
                       encoding="utf-8")
    for page in ("rulesets", "editor", "flow", "try", "vignettes"):
        at = app(page)
        no_errors(at)
    page = texts(app("rulesets"))
    assert "✗ 2 errors" in page and "vignettes not replayed until the errors are fixed" in page
    assert "cannot be run yet" in texts(app("try"))


def test_create_a_new_ruleset_from_the_template_and_open_it(root: Path):
    at = app("rulesets")
    by_label(at.text_input, "Title").input("Neck pain — serious causes")
    by_label(at.text_input, "Id (names the folder and the web address)").input("neck-pain")
    at.button(key="FormSubmitter:rulesets.new-Create").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Editor"]
    assert at.session_state["ruleset"] == "neck-pain"
    assert validate_ruleset_file(root / "neck-pain" / "ruleset.yaml").ok
    assert replay_ruleset(root / "neck-pain" / "ruleset.yaml").passed == 2


def test_a_bad_id_for_a_new_ruleset_is_explained_and_nothing_is_written(root: Path):
    at = app("rulesets")
    by_label(at.text_input, "Title").input("Neck")
    by_label(at.text_input, "Id (names the folder and the web address)").input("../Neck")
    at.button(key="FormSubmitter:rulesets.new-Create").click().run()
    no_errors(at)
    assert "cannot be a ruleset id" in texts(at)
    assert sorted(p.name for p in root.iterdir()) == [RULESET]


def test_open_lands_on_the_overview_of_that_ruleset_for_every_page(root: Path):
    shutil.copytree(root / RULESET, root / "second-copy")
    at = app("rulesets")
    at.button(key="rulesets.open.second-copy").click().run()
    finished(at)
    no_errors(at)
    assert [t.value for t in at.title] == ["Overview"]
    assert at.session_state["ruleset"] == "second-copy"
    page = texts(at)
    assert "Questions, in the order they are asked" in page and "Safety promises" in page
    assert "answer combinations" in page and ("billion" in page or "million" in page)


def test_search_by_content_opens_the_node_on_the_flow_and_its_lines_in_the_editor(root: Path):
    at = app("overview")
    finished(at)
    at.text_input(key="overview.search").input("bladder").run()
    no_errors(at)
    page = texts(at)
    assert "Sphincter, saddle or neurological symptoms" in page  # the cauda equina question, found by what it asks
    at.button(key="overview.hit.flow.0").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Flow"]
    assert at.session_state["flow"]["selected"] == "emergency_screen"
    assert "emergency_screen" in {n["id"] for n in canvas(at)["nodes"]}
    at = app("overview")
    finished(at)
    at.text_input(key="overview.search").input("bladder").run()
    at.button(key="overview.hit.edit.0").click().run()
    assert [t.value for t in at.title] == ["Editor"]
    line = ruleset_path(root).read_text(encoding="utf-8").splitlines().index("  - id: emergency_screen") + 1
    assert marked(at)[0] <= line <= marked(at)[0] + 3  # the node's lines, from the comments just above it


def test_the_overview_downloads_a_self_contained_safety_report(root: Path):
    at = app("overview")
    finished(at)
    no_errors(at)
    button = at.get("download_button")[0]
    assert "safety report" in button.proto.label.casefold()
    assert "Safety promises broken" in [m.label for m in at.metric]


# --- Editor ---------------------------------------------------------------------------------

def type_into_editor(at: AppTest, text: str) -> AppTest:
    """What the browser's code editor sends after the author pauses typing."""
    ace = at.get("component_instance")[0]
    at.session_state[ace.key] = {"id": uuid.uuid4().hex[:8], "type": "change", "lang": "yaml", "text": text,
                                 "selected": "", "cursor": ""}
    return at.run()


def ruleset_path(root: Path) -> Path:
    return root / RULESET / "ruleset.yaml"


def test_typing_a_mistake_lists_it_with_its_line_and_saves_nothing(root: Path):
    original = ruleset_path(root).read_text(encoding="utf-8")
    at = app("editor")
    assert "No problems found." in texts(at)
    broken = original.replace("next: suspected_mscc", "next: suspected_msc")
    line = broken.splitlines().index("        next: suspected_msc") + 1
    at = type_into_editor(at, broken)
    no_errors(at)
    page = texts(at)
    assert "WB104" in page and "did you mean 'suspected_mscc'" in page
    assert "unsaved changes" in page
    assert ruleset_path(root).read_text(encoding="utf-8") == original
    at.button(key="editor.problem.0").click().run()
    assert f"gotoLine({line}, 0" in scripts(at)  # the editor is taken to the line
    assert marked(at) == [line]
    at.run()
    assert "gotoLine" not in scripts(at)  # once: the next run does not pull the author back there
    at = type_into_editor(at, broken.replace("title: Upper", "title: My upper"))
    assert marked(at) == []  # typing may move the line: the mark goes rather than point at the wrong one


def scripts(at: AppTest) -> str:
    """The scripts st.html put on the page."""
    return "".join(e.proto.body for e in at.get("html"))


def marked(at: AppTest) -> list[int]:
    """The lines the code editor marks as the one to look at (1-based)."""
    import json

    props = json.loads(at.get("component_instance")[0].proto.json_args)["props"]
    return [m["startRow"] + 1 for m in props["markers"] if m["className"] == "wb-focus"]


def test_a_reload_offers_the_unsaved_text_back_and_saving_or_discarding_forgets_it(root: Path):
    """Typed, then the tab is reloaded (a new session): the draft kept on disk is offered back, the editor is
    read-only until the author chooses, and restoring gives the text back unsaved."""
    from workbench import drafts

    original = ruleset_path(root).read_text(encoding="utf-8")
    typed = original + "\n# note for the MSCC pathway"
    at = type_into_editor(app("editor"), typed)
    assert drafts.found("local", ruleset_path(root)).text == typed
    again = app("editor")  # a reload: nothing in the session
    no_errors(again)
    assert "You have unsaved changes to ruleset.yaml" in texts(again)
    assert json.loads(again.get("component_instance")[0].proto.json_args)["options"]["readOnly"] is True
    again.button(key="editor.draft.restore").click().run()
    no_errors(again)
    assert "unsaved changes" in texts(again) and "Your unsaved changes are back" in texts(again)
    assert again.session_state["editor"]["buffers"][str(ruleset_path(root))]["text"] == typed
    assert ruleset_path(root).read_text(encoding="utf-8") == original  # nothing saved until Save
    again.button(key="editor.save").click().run()
    assert ruleset_path(root).read_text(encoding="utf-8") == typed
    assert drafts.found("local", ruleset_path(root)) is None  # saved: the draft is gone
    type_into_editor(at, typed + "\n# second thought")
    third = app("editor")
    third.button(key="editor.draft.discard").click().run()
    no_errors(third)
    assert drafts.found("local", ruleset_path(root)) is None and "You have unsaved" not in texts(third)


def test_the_page_asks_before_a_tab_with_unsaved_text_is_closed(root: Path):
    at = app("editor")
    assert "wbUnsaved = false" in scripts(at)
    at = type_into_editor(at, ruleset_path(root).read_text(encoding="utf-8") + "\n# x")
    assert "wbUnsaved = true" in scripts(at) and "beforeunload" in scripts(at)


def test_after_a_save_the_status_line_names_failing_vignettes_and_broken_promises(root: Path):
    """Cauda equina made routine and saved: the Editor says at once which vignettes fail and that a safety
    promise is broken, each a link to the page that shows it."""
    text = ruleset_path(root).read_text(encoding="utf-8")
    lines = text.splitlines()
    at_line = lines.index("  - id: suspected_cauda_equina_or_cord_compression")
    row = next(i for i in range(at_line, len(lines)) if lines[i].strip().startswith("disposition:"))
    lines[row] = lines[row].replace("emergency", "routine")
    at = type_into_editor(app("editor"), "\n".join(lines) + "\n")
    at.button(key="editor.save").click().run()
    finished(at)
    no_errors(at)
    failing = len([r for r in replay_ruleset(ruleset_path(root)).results if not r.passed])
    assert failing > 0
    labels = [b.label for b in at.button]
    assert f":red[✗ {failing} of " in " ".join(labels) and "vignettes fail]" in " ".join(labels)
    assert any(label.startswith(":red[✗ ") and "safety promise" in label and "broken" in label for label in labels)
    assert "Saved" in texts(at)
    at.button(key="editor.status.safety").click().run()
    finished(at)
    assert [t.value for t in at.title] == ["Safety"]


def test_editor_and_rulesets_count_the_same_problems(root: Path):
    """A node renamed: ruleset.yaml is fine, the vignettes that name the old outcome are not. The Editor says so
    (not a bare "no errors") and the Rulesets page gives the same count, naming the file."""
    path = ruleset_path(root)
    text = path.read_text(encoding="utf-8").replace("suspected_cauda_equina_or_cord_compression", "cauda_equina")
    path.write_text(text, encoding="utf-8")
    at = app("editor")
    no_errors(at)
    elsewhere = [b.label for b in at.button if b.key == "editor.status.elsewhere"]
    assert len(elsewhere) == 1
    count = int(elsewhere[0].split("✗ ")[1].split(" ")[0])
    rulesets = texts(app("rulesets"))
    assert f"✗ {count} error" in rulesets and "vignettes/" in rulesets
    at.button(key="editor.status.elsewhere").click().run()
    assert "vignettes" in at.session_state["editor"]["file"]


def test_a_decisions_branches_edited_as_a_table_go_into_the_text_checked_and_unsaved(root: Path):
    original = ruleset_path(root).read_text(encoding="utf-8")
    at = app("editor")
    assert not [w for w in at.selectbox if str(w.key).startswith("editor.table.pick")]  # nothing read while closed
    at.session_state["editor.table.open"] = True  # what opening the expander sends
    at.run()
    chooser(at, "editor.table.pick").set_value("emergency_screen").run()
    assert "The table shows the text as it is." in texts(at)

    def type_in_table(row: int, text: str) -> None:  # what the table sends after a cell is typed
        rev = at.session_state["editor"]["buffers"][str(ruleset_path(root))]["rev"]
        at.session_state[f"editor.table.emergency_screen.{rev}"] = {
            "edited_rows": {row: {"When (condition)": text}}, "added_rows": [], "deleted_rows": []}
        at.run()

    type_in_table(1, "known_cancer and limb_weakness")
    no_errors(at)
    assert "The table checks out" in texts(at)
    at.button(key="editor.table.apply.emergency_screen").click().run()
    no_errors(at)
    text = at.session_state["editor"]["buffers"][str(ruleset_path(root))]["text"]
    assert "      - when: known_cancer and limb_weakness\n" in text
    assert len(text.splitlines()) == len(original.splitlines())  # one line changed, every comment kept
    assert ruleset_path(root).read_text(encoding="utf-8") == original and "unsaved changes" in texts(at)
    type_in_table(0, "pain_site == 'thorasic'")
    assert "would bring 1 new error" in texts(at) and "WB3" in texts(at)  # checked as typed, like the text


def test_save_writes_only_when_asked(root: Path):
    at = app("editor")
    edited = ruleset_path(root).read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0")
    at = type_into_editor(at, edited)
    assert ruleset_path(root).read_text(encoding="utf-8") != edited
    at.button(key="editor.save").click().run()
    no_errors(at)
    assert ruleset_path(root).read_text(encoding="utf-8") == edited
    assert "Saved ruleset.yaml." in texts(at)


def test_a_save_over_someone_elses_newer_save_is_refused_and_nothing_is_lost(root: Path):
    path = ruleset_path(root)
    original = path.read_text(encoding="utf-8")
    at = app("editor")
    theirs = original.replace("version: 1.0.0", "version: 1.0.1")
    path.write_text(theirs, encoding="utf-8")  # someone else saves meanwhile
    mine = original.replace("title: Upper back", "title: My upper back")
    at = type_into_editor(at, mine)
    at.button(key="editor.save").click().run()
    no_errors(at)
    page = texts(at)
    assert "Not saved: someone else saved this file" in page and "nothing has been lost" in page
    assert path.read_text(encoding="utf-8") == theirs
    diff = at.code[0].value
    assert "-version: 1.0.1" in diff and "+title: My upper back" in diff
    assert at.session_state["editor"]["buffers"][str(path)]["text"] == mine
    at.button(key="editor.conflict.mine").click().run()
    no_errors(at)
    assert path.read_text(encoding="utf-8") == mine


def test_the_history_says_who_changed_a_rule_when_and_why(root: Path):
    """Two clinicians change the metastases rule with reasons; the Editor's history panel shows both for the rule,
    newest first, and names who last changed the line in focus."""
    from workbench.files import read_versioned
    from workbench.people import access

    path = ruleset_path(root)
    for who, old, new, why in [
            ("Dr Ada Author", "title: Cancer history with pain suggestive of spinal metastases?",
             "title: Cancer history with pain that suggests spinal metastases?", "Plainer words for the title"),
            ("Dr Ben Author", "cites: [CKS-LBP, DOWNIE2013]\n\n  # ------",
             "cites: [CKS-LBP, DOWNIE2013, NG234]\n\n  # ------", "NG234 is the source for the same-day screen too")]:
        text, version = read_versioned(path)
        assert text is not None and old in text
        access.save_ruleset(access.local_identity(who), path, text.replace(old, new, 1), version, why)
    at = app("editor")
    by_label(at.selectbox, "Rule").set_value("nodes · metastases_screen").run()
    no_errors(at)
    rows = at.table[0].value.to_dict("records")
    assert [(r["Who"], r["Why"]) for r in rows][:1] == [("Dr Ada Author", "Plainer words for the title")]
    assert "Start the history of these rulesets" in [r["What"] for r in rows]
    by_label(at.selectbox, "Rule").set_value("nodes · same_day_screen").run()
    rows = at.table[0].value.to_dict("records")
    assert rows[0]["Who"] == "Dr Ben Author" and rows[0]["Why"] == "NG234 is the source for the same-day screen too"
    line = 1 + path.read_text(encoding="utf-8").splitlines().index(
        "    title: Cancer history with pain that suggests spinal metastases?")
    at.session_state["editor"]["buffers"][str(path)]["line"] = line  # what clicking a problem's line does
    at.run()
    assert by_label(at.selectbox, "Rule").value == "nodes · metastases_screen"
    page = texts(at)
    assert f"Line {line} was last changed by **Dr Ada Author**" in page and "*Plainer words for the title*" in page


def test_take_theirs_loads_the_newer_file(root: Path):
    path = ruleset_path(root)
    at = app("editor")
    theirs = path.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.0.1")
    path.write_text(theirs, encoding="utf-8")
    at = type_into_editor(at, theirs.replace("version: 1.0.1", "version: 2.0.0"))
    at.button(key="editor.save").click().run()
    at.button(key="editor.conflict.theirs").click().run()
    no_errors(at)
    buffer = at.session_state["editor"]["buffers"][str(path)]
    assert buffer["text"] == theirs and buffer["conflict"] is None


def test_the_question_form_adds_to_the_text_and_save_writes_it(root: Path):
    at = app("editor")
    by_label(at.text_input, "Id (used in conditions)").input("smoker")
    by_label(at.text_input, "Question, as it is asked").input("Does the patient smoke?")
    at.button(key="FormSubmitter:editor.form.question-Add question").click().run()
    no_errors(at)
    assert "Question 'smoker' added" in texts(at)
    assert "id: smoker" not in ruleset_path(root).read_text(encoding="utf-8")
    added = at.session_state["editor"]["buffers"][str(ruleset_path(root))]["text"].splitlines().index(
        "  - id: smoker") + 1
    assert f"gotoLine({added}, 0" in scripts(at) and marked(at) == [added]  # taken to what the form added
    at.button(key="editor.save").click().run()
    saved = ruleset_path(root).read_text(encoding="utf-8")
    assert "  - id: smoker\n    type: boolean\n    question: Does the patient smoke?\n" in saved
    assert validate_ruleset_file(ruleset_path(root)).ok


def test_a_form_edit_that_would_add_an_error_is_refused_with_the_reason(root: Path):
    at = app("editor")
    by_label(at.text_input, "Id").input("night_pain_flag")  # the red flag form's id
    by_label(at.text_input, "Label, as shown to the clinician").input("Night pain")
    by_label(at.text_input, "Fires when (a condition)").input("pain_site == 'thorasic'")
    at.button(key="FormSubmitter:editor.form.red_flag-Add red flag").click().run()
    no_errors(at)
    page = texts(at)
    assert "was not added" in page and "thorasic" in page
    assert not at.session_state["editor"]["buffers"][str(ruleset_path(root))]["text"].count("night_pain_flag")


def test_the_outcome_form_adds_a_reachable_outcome(root: Path):
    at = app("editor")
    form = [w for w in at.text_input if w.label == "Id"]
    form[1].input("suspected_shingles")  # the outcome form's id (the red flag form's comes first)
    by_label(at.text_input, "Title").input("Suspected shingles")
    by_label(at.text_input, "When").input("fever and radicular_pain")
    by_label(at.selectbox, "Reached from").set_value("persistent_pain_screen")
    at.button(key="FormSubmitter:editor.form.outcome-Add outcome").click().run()
    no_errors(at)
    text = at.session_state["editor"]["buffers"][str(ruleset_path(root))]["text"]
    assert "next: suspected_shingles" in text and "  - id: suspected_shingles\n    kind: outcome\n" in text


# --- Try it ---------------------------------------------------------------------------------

def answer_everything(at: AppTest, *, boolean: str = "no", number: int = 40) -> AppTest:
    """Answer each question the page asks, as a user would, until it asks no more."""
    model = validate_ruleset_file(V1 / "ruleset.yaml").model
    specs = {spec.id: spec for spec in model.inputs}
    for _ in range(40):
        open_radios = [r for r in at.radio if r.key and r.key.startswith("try.") and r.value is None]
        open_numbers = [n for n in at.number_input if n.key and n.key.startswith("try.") and n.value is None]
        if not open_radios and not open_numbers:
            return at
        if open_numbers:
            open_numbers[0].set_value(number)
        else:
            spec = specs[open_radios[0].key.rsplit(".", 1)[1]]
            open_radios[0].set_value(boolean if spec.type == "boolean" else spec.values[-1])
        at.run()
        no_errors(at)
    raise AssertionError("the simulator kept asking")


def card(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "wb-disposition" in m.value)


def test_try_it_asks_the_next_question_in_the_rulesets_words(root: Path):
    at = app("try")
    no_errors(at)
    assert "Not decided yet" in card(at)
    questions = [r.label for r in at.radio]
    assert "Any new problem passing or controlling urine or stools?" in questions


def test_try_it_reaches_an_emergency_at_once_in_its_colour_with_the_red_flag(root: Path):
    at = app("try")
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("yes").run()
    no_errors(at)
    shown = card(at)
    model = validate_ruleset_file(ruleset_path(root)).model
    assert "Emergency" in shown and disposition_colours(model)["emergency"] in shown
    page = texts(at)
    assert "Bladder or bowel disturbance" in page
    assert "Advice" in page and "Treat as an emergency" in page


def test_try_it_walks_a_whole_case_to_self_care_and_answers_stay_editable(root: Path):
    at = answer_everything(app("try"))
    assert "Self-care" in card(at)
    assert any(n.label == "How old is the patient? (years)" for n in at.number_input)
    at.radio(key=f"try.{RULESET}.fever").set_value("yes").run()  # change an earlier answer
    assert "Same-day" in card(at) or "same-day" in card(at)


def test_an_unanswered_question_stops_with_a_question_rather_than_guessing(root: Path):
    at = app("try")
    at.radio(key=f"try.{RULESET}.saddle_anaesthesia").set_value("no").run()
    assert "Not decided yet" in card(at)


def test_unsure_is_offered_beside_every_answer_and_taken_as_the_more_dangerous(root: Path):
    at = app("try")
    assert "taken as whichever answer is more dangerous" in texts(at)
    assert all("Unsure" in [str(o) for o in r.options] for r in at.radio)
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("unsure").run()
    no_errors(at)
    assert "Emergency" in card(at)  # it could be a new bladder problem: cauda equina
    assert any("Taken as whichever answer is more dangerous" in i.value and "urine or stools" in i.value
               for i in at.info)
    hidden = [m.value for m in at.markdown if "wb-possible-flags" in m.value]
    assert hidden and "possible red flag" in hidden[0] and "unsure about bladder bowel dysfunction" in hidden[0]


def test_try_it_gives_the_safety_netting_with_the_advice(root: Path):
    ruleset = root / RULESET / "ruleset.yaml"
    label = "    label: Self-care — advice with safety-netting; come back at once if any red flag appears\n"
    ruleset.write_text(ruleset.read_text().replace(label, label + "    safety_net: If you cannot pass urine, go to "
                                                   "A&E now or call 999.\n"))
    at = answer_everything(app("try"))
    assert "Self-care" in card(at)
    said = texts(at)
    assert "If things change (safety-netting)" in said and "If you cannot pass urine, go to A&E now" in said


def test_an_unsure_age_is_tried_on_both_sides_of_the_threshold(root: Path):
    at = answer_everything(app("try"))  # 40 years old, no to everything: self-care
    if not any(r.key == f"try.{RULESET}.pain_progressive" for r in at.radio):
        at.selectbox(key="try.more").set_value("pain_progressive").run()
    at.radio(key=f"try.{RULESET}.pain_progressive").set_value("yes").run()
    assert "Self-care" in card(at)  # progressive pain under 60
    at.checkbox(key=f"try.{RULESET}.age.unsure").check().run()  # a number: Unsure is a box beside it
    no_errors(at)
    assert "Suspected cancer" in card(at)  # it could be 60 or over


def test_save_a_tried_case_as_a_vignette_that_passes(root: Path):
    at = answer_everything(app("try"))
    by_label(at.text_input, "Narrative").input("Simple back pain, nothing else.")
    at.button(key="FormSubmitter:try.save-Save vignette").click().run()
    no_errors(at)
    assert "Saved vignette 'simple-back-pain'" in texts(at)
    report = replay_ruleset(ruleset_path(root))
    saved = next(r for r in report.results if r.id == "simple-back-pain")
    assert saved.passed and saved.narrative == "Simple back pain, nothing else."
    assert (root / RULESET / "vignettes" / "tried-cases.yaml").is_file()


def test_the_try_it_case_survives_a_visit_to_another_page(root: Path):
    at = app("try")
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("yes").run()
    at.button(key="try.flow").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Flow"]
    assert on_path(at) == ["emergency_screen", "suspected_cauda_equina_or_cord_compression"]


# --- Flow -----------------------------------------------------------------------------------

def canvas(at: AppTest) -> dict:
    """What the Flow page gives its React Flow canvas: the nodes and edges, with their places and styles."""
    import json

    data = json.loads(next(c for c in at.get("component_instance") if "streamlit_flow" in c.proto.component_name)
                      .proto.json_args)
    margin = [n for n in data["nodes"] if n["id"] == "wb-margin"]  # an invisible card that keeps the controls clear
    assert len(margin) == 1 and all(margin[0]["position"]["x"] < n["position"]["x"] for n in data["nodes"]
                                    if n is not margin[0])
    data["nodes"] = [n for n in data["nodes"] if n is not margin[0]]
    return data


def on_path(at: AppTest) -> list[str]:
    """The nodes drawn as on the path (a thick dark border), in the order of their places down the page."""
    nodes = sorted(canvas(at)["nodes"], key=lambda n: (n["position"]["y"], n["position"]["x"]))
    return [n["id"] for n in nodes if n["style"]["border"].startswith(("3px solid #1f1f1f", "4px double"))]


def test_flow_lays_the_tree_out_to_read_at_100_percent_from_the_top_left(root: Path):
    at = app("flow")
    no_errors(at)
    data = canvas(at)
    model = validate_ruleset_file(ruleset_path(root)).model
    assert {n["id"] for n in data["nodes"]} == {n.id for n in model.nodes}
    assert len(data["edges"]) == sum(len(n.branches) + 1 for n in model.nodes if n.kind == "decision")
    start = next(n for n in data["nodes"] if n["id"] == model.start)
    assert start["position"] == {"x": 0, "y": 0} and data["fitView"] is True  # the whole tree, fitted, on open
    assert data["showMiniMap"] is False  # a minimap sits on the nodes
    labels = [e["label"] for e in data["edges"]]
    assert not [label for label in labels if label.rstrip(".").isdigit() or label == "else"]  # words, not numbers
    assert "otherwise" in labels and any(len(label) > 8 for label in labels)
    assert all(n["style"]["fontSize"] == "14px" and n["style"]["width"] == 250 for n in data["nodes"])
    boxes = [(n["position"]["x"], n["position"]["y"], n["style"]["height"]) for n in data["nodes"]]
    for i, (x, y, h) in enumerate(boxes):  # no card covers another
        assert not any(x == x2 and y < y2 < y + h for j, (x2, y2, _) in enumerate(boxes) if j != i)
    at.toggle(key="flow.coverage").set_value(True).run()
    no_errors(at)
    nodes = len(model.nodes)
    assert f"{nodes} of {nodes} nodes" in texts(at)
    assert not any("dashed" in n["style"]["border"] for n in canvas(at)["nodes"])  # every node is reached


def test_flow_shows_a_vignettes_path(root: Path):
    at = app("flow")
    by_label(at.selectbox, "Show the path of").set_value("vignette").run()
    by_label(at.selectbox, "Vignette").set_value("known-cancer-cervical-pain-only").run()
    no_errors(at)
    assert on_path(at)[-1] == "suspected_spinal_metastases"
    faded = [n["id"] for n in canvas(at)["nodes"] if n["style"]["opacity"] < 1]
    assert "simple_back_pain" in faded and "suspected_spinal_metastases" not in faded


def test_clicking_a_node_shows_it_whole_and_opens_its_lines_in_the_editor(root: Path):
    at = app("flow")
    at.session_state["flow.canvas"] = {"nodes": canvas(at)["nodes"], "edges": canvas(at)["edges"],
                                       "selectedId": "metastases_screen", "timestamp": 1}  # what a click sends
    at.run()
    no_errors(at)
    page = texts(at)
    assert "Cancer history with pain suggestive of spinal metastases?" in page
    assert "Reached by" in page and "known-cancer-cervical-pain-only" in page
    at.button(key="flow.edit.metastases_screen").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Editor"]
    lines = ruleset_path(root).read_text(encoding="utf-8").splitlines()
    line = lines.index("  - id: metastases_screen")  # its comment, just above, is part of it (1-based: +1 -1)
    assert lines[line - 1].lstrip().startswith("# ---")
    assert f"gotoLine({line}, 0" in scripts(at) and marked(at) == [line]


def test_a_failing_vignette_is_shown_zoomed_to_where_it_ends(root: Path):
    path = ruleset_path(root)
    cancer = root / RULESET / "vignettes" / "cancer.yaml"
    cancer.write_text(cancer.read_text(encoding="utf-8").replace("disposition: urgent_mri_1_week",
                                                                 "disposition: routine", 1), encoding="utf-8")
    at = app("flow")
    by_label(at.selectbox, "Show the path of").set_value("vignette").run()
    no_errors(at)
    shown = {n["id"] for n in canvas(at)["nodes"]}
    failing = [r for r in replay_ruleset(path).results if not r.passed]
    chosen = at.session_state["flow"]["vignette"]
    end = next(r for r in failing if r.id == chosen).actual["path"][-1]
    assert end in shown and len(shown) < len(validate_ruleset_file(path).model.nodes)
    assert "Zoomed to where the failing vignette ends" in texts(at) and canvas(at)["fitView"] is True
    at.button(key="flow.whole").click().run()
    assert len(canvas(at)["nodes"]) == len(validate_ruleset_file(path).model.nodes)


def test_every_node_can_be_read_without_the_canvas(root: Path):
    """The keyboard's way in: a list of the same nodes; choosing one shows it whole."""
    at = app("flow")
    chooser(at, "flow.read").set_value("metastases_screen").run()
    no_errors(at)
    assert "Cancer history with pain suggestive of spinal metastases?" in texts(at)
    assert "→ " in texts(at) and "otherwise" in texts(at).casefold()


def test_focus_shows_one_nodes_neighbourhood(root: Path):
    at = app("flow")
    chooser(at, "flow.focus").set_value("metastases_screen").run()
    no_errors(at)
    shown = {n["id"] for n in canvas(at)["nodes"]}
    assert "metastases_screen" in shown and "self_care_advice" not in shown
    assert "more are hidden" in texts(at)


# --- Vignettes ------------------------------------------------------------------------------

def replayed(root: Path) -> AppTest:
    at = app("vignettes")
    no_errors(at)
    return at


def test_the_vignettes_are_replayed_without_asking(root: Path):
    at = replayed(root)
    metrics = {m.label: m.value for m in at.metric}
    total = len(replay_ruleset(ruleset_path(root)).results)
    assert metrics["Vignettes"] == str(total) and metrics["Pass"] == str(total) and metrics["Fail"] == "0"
    assert f"All {total} vignettes pass." in texts(at)


def test_a_failing_vignette_shows_what_differs_and_its_path(root: Path):
    cancer = root / RULESET / "vignettes" / "cancer.yaml"
    cancer.write_text(cancer.read_text(encoding="utf-8").replace("disposition: urgent_mri_1_week",
                                                                 "disposition: routine", 1), encoding="utf-8")
    at = replayed(root)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fail"] == "1"
    table = at.table[0].value
    assert list(table["Vignette"]) == ["known-breast-cancer-thoracic-night-pain"]  # only failing, by default
    assert "Urgent" in table["Actual"][0] and "History of cancer" in table["Actual"][0]  # labels, not ids
    page = texts(at)
    assert "Expected **Routine**, but the ruleset gives **Urgent**." in page  # what differs, whole, up front
    assert "Suspected spinal metastases (no neurological symptoms)" in page  # its path, by title


def test_results_follow_every_change_without_a_replay_button(root: Path):
    """Was: adding a failing vignette still said "All 57 vignettes pass" until Replay was pressed again."""
    at = replayed(root)
    total = len(replay_ruleset(ruleset_path(root)).results)
    assert f"All {total} vignettes pass." in texts(at)
    cancer = root / RULESET / "vignettes" / "cancer.yaml"
    cancer.write_text(cancer.read_text(encoding="utf-8") + "  - id: deliberately-wrong\n    inputs: {known_cancer: "
                      "true}\n    expect: {disposition: self_care}\n", encoding="utf-8")
    at.run()
    no_errors(at)
    assert f"1 of {total + 1} vignettes fail." in texts(at)


def test_edit_and_delete_a_vignette(root: Path):
    cancer = root / RULESET / "vignettes" / "cancer.yaml"
    total = len(replay_ruleset(ruleset_path(root)).results)
    at = replayed(root)
    by_label(at.selectbox, "Open a vignette").set_value("known-cancer-cervical-pain-only").run()
    at.text_input(key="vignettes.edit.known-cancer-cervical-pain-only.narrative").input(
        "Thyroid cancer last year; neck pain only.")
    at.button(key="FormSubmitter:vignettes.edit.known-cancer-cervical-pain-only-Save vignette").click().run()
    no_errors(at)
    text = cancer.read_text(encoding="utf-8")
    assert "narrative: Thyroid cancer last year; neck pain only." in text
    assert replay_ruleset(ruleset_path(root)).failed == 0
    at.button(key="vignettes.delete").click().run()
    no_errors(at)
    assert "known-cancer-cervical-pain-only" not in cancer.read_text(encoding="utf-8")
    assert replay_ruleset(ruleset_path(root)).passed == total - 1


def test_add_a_vignette_with_the_form(root: Path):
    at = app("vignettes")
    at.text_input(key="vignettes.add.id").input("cauda-equina-only")
    at.text_area(key="vignettes.add.answers").input("bladder_bowel_dysfunction: true")
    at.selectbox(key="vignettes.add.disposition").set_value("emergency")
    at.selectbox(key="vignettes.add.file").set_value("new-cases.yaml")
    at.button(key="FormSubmitter:vignettes.add-Save vignette").click().run()
    no_errors(at)
    assert "Saved vignette 'cauda-equina-only'" in texts(at)
    report = replay_ruleset(ruleset_path(root))
    assert next(r for r in report.results if r.id == "cauda-equina-only").passed


def test_a_vignette_that_does_not_fit_is_refused_in_clinical_words(root: Path):
    at = app("vignettes")
    at.text_input(key="vignettes.add.id").input("bad-case")
    at.text_area(key="vignettes.add.answers").input("pain_site: thorasic")
    at.selectbox(key="vignettes.add.disposition").set_value("emergency")
    at.button(key="FormSubmitter:vignettes.add-Save vignette").click().run()
    no_errors(at)
    assert "was not saved" in texts(at) and "did you mean 'thoracic'" in texts(at)


def test_try_this_case_loads_a_vignette_into_the_simulator(root: Path):
    at = replayed(root)
    by_label(at.selectbox, "Open a vignette").set_value("known-cancer-cervical-pain-only").run()
    at.button(key="vignettes.try").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Try it"]
    assert "Urgent" in card(at) and "MRI" in card(at)


# --- unsaved edits reach every page ---------------------------------------------------------

def test_unsaved_editor_text_is_what_try_it_runs(root: Path):
    path = ruleset_path(root)
    text = path.read_text(encoding="utf-8")
    mine = text.replace("label: Emergency — contact", "label: EMERGENCY NOW — contact")
    at = AppTest.from_string(script("try"), default_timeout=60)
    at.session_state["editor"] = {"file": str(path), "buffers": {str(path): {
        "text": mine, "saved": text, "base": mine, "version": None, "rev": 1, "line": None, "conflict": None,
        "event": ""}}}
    at.run()
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("yes").run()
    no_errors(at)
    assert "EMERGENCY NOW" in card(at)
    assert path.read_text(encoding="utf-8") == text


def test_answer_another_question_that_the_path_does_not_ask(root: Path):
    at = app("try")
    by_label(at.selectbox, "Answer another question").set_value("fever").run()
    no_errors(at)
    at.radio(key=f"try.{RULESET}.fever").set_value("yes").run()
    no_errors(at)
    assert "Fever — possible spinal infection" in texts(at)  # the red flag fires whatever the path
    assert "Not decided yet" in card(at)


def test_start_again_clears_the_case(root: Path):
    at = app("try")
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("yes").run()
    at.button(key="try.restart").click().run()
    no_errors(at)
    assert "Not decided yet" in card(at)
    assert at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").value is None


def test_a_page_that_fails_says_so_plainly_without_a_traceback(root: Path, monkeypatch: pytest.MonkeyPatch):
    from workbench.ui import common

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(common, "dot", broken)
    at = app("flow")
    assert not at.exception
    assert any("unexpected problem" in e.value and "disk on fire" in e.value for e in at.error)


def test_show_a_vignette_on_the_flow(root: Path):
    at = replayed(root)
    by_label(at.selectbox, "Open a vignette").set_value("known-cancer-cervical-pain-only").run()
    at.button(key="vignettes.flow").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Flow"]
    assert by_label(at.selectbox, "Vignette").value == "known-cancer-cervical-pain-only"
    assert on_path(at)[-1] == "suspected_spinal_metastases"


def test_discard_asks_first_then_shows_the_saved_file(root: Path):
    path = ruleset_path(root)
    saved = path.read_text(encoding="utf-8")
    at = type_into_editor(app("editor"), saved.replace("version: 1.0.0", "version: 9.0.0"))
    assert "unsaved changes" in texts(at)
    at.button(key="editor.revert").click().run()
    no_errors(at)
    assert at.session_state["editor"]["buffers"][str(path)]["text"] == saved
    assert "unsaved changes" not in texts(at)


def test_the_rulesets_page_shows_review_and_release_state(root: Path, signers: dict):
    from workbench.publish import lifecycle
    from workbench.publish.repository import Person, Repository

    from ..conftest import approved, keyring

    folder = root / RULESET
    assert "**draft** · " in texts(app("rulesets"))
    approved(folder, signers)
    assert "**approved**" in texts(app("rulesets"))
    done = lifecycle.release(Repository(root), RULESET, Person("Dr Rex Reviewer"), "go live",
                             signers["Dr Rex Reviewer"], keyring())
    assert done.ok, done.problems
    page = texts(app("rulesets"))
    assert "**released** · latest release 1.0.0" in page


def test_content_is_shown_as_written_never_as_markup(root: Path):
    path = ruleset_path(root)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "label: Emergency — contact", "label: Emergency <img src=x onerror=alert(1)> — contact").replace(
        "label: History of cancer — the red flag", "label: History of <b>cancer</b> — the red flag"),
        encoding="utf-8")
    at = app("try")
    at.radio(key=f"try.{RULESET}.bladder_bowel_dysfunction").set_value("yes").run()
    by_label(at.selectbox, "Answer another question").set_value("known_cancer").run()
    at.radio(key=f"try.{RULESET}.known_cancer").set_value("yes").run()
    no_errors(at)
    html = "\n".join(m.value for m in at.markdown)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in card(at)
    assert "<b>cancer" not in html and "History of &lt;b&gt;cancer&lt;/b&gt;" in html


# --- Safety ---------------------------------------------------------------------------------

def test_safety_leads_with_the_red_flags_that_reach_self_care_and_saves_one_as_a_vignette(root: Path):
    """Version 1.0.0 sent a case with six red flags to self-care: the page says so first, and one click turns the
    example into a vignette that expects what the reviewer picks (and so fails replay until the rules change)."""
    at = app("safety")
    no_errors(at)
    page = texts(at)
    assert page.index("Red-flag floors") < page.index("Safety properties")
    assert "reach **Self-care**, the least urgent disposition" in page  # in the ruleset's words
    assert "6 or more red flags together** → **Self-care** (at " in page
    assert "not of patients: it says how much of the space of answers a path covers, never how often" in page
    by_label(at.selectbox, "A clinician expects")  # one per row; the first row is a red flag
    rows = [b for b in at.button if b.label == "Add as vignette"]
    assert len(rows) >= 7
    picks = [s for s in at.selectbox if s.label == "A clinician expects"]
    picks[-1].set_value("routine")
    at.run()
    [b for b in at.button if b.label == "Add as vignette"][-1].click()
    at.run()
    no_errors(at)
    saved = root / RULESET / "vignettes" / "from-safety.yaml"
    assert any("from-safety.yaml" in s.value for s in at.success)
    report = replay_ruleset(root / RULESET / "ruleset.yaml")
    added = [r for r in report.results if r.id.startswith("floor-6-or-more")]
    assert saved.is_file() and len(added) == 1
    assert added[0].expected == {"disposition": "routine"} and not added[0].passed  # it fails until rules change


def test_safety_leads_with_a_broken_promise_in_clinical_words(root: Path):
    path = ruleset_path(root)
    lines = path.read_text(encoding="utf-8").splitlines()
    at_line = lines.index("  - id: suspected_cauda_equina_or_cord_compression")
    row = next(i for i in range(at_line, len(lines)) if lines[i].strip().startswith("disposition:"))
    lines[row] = lines[row].replace("emergency", "routine")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    at = app("safety")
    finished(at)
    no_errors(at)
    headings = [h.value for h in at.subheader]
    assert headings[0].startswith("Broken safety promises")
    assert headings.index("Red-flag floors") < headings.index("The other safety properties")
    broken = "\n".join(m.value for m in at.markdown if "BROKEN" in m.value or "**Answers**" in m.value
                       or "**Gives**" in m.value).replace("\\", "")
    assert "Bladder or bowel dysfunction or saddle anaesthesia is always an emergency" in broken
    assert "bladder_bowel_dysfunction" not in broken and "_" not in broken  # words, not ids (ids are on hover)
    assert "Suspected cauda equina syndrome or spinal cord compression" in broken  # the path by its titles
    assert "answer combinations" in [m.label for m in at.metric][1]


def finished(at: AppTest) -> None:
    """Wait for every background check the page started, then draw the page again, as its progress view does."""
    from workbench.ui import background_check

    for check in list(background_check._runs.values()):
        assert check.done.wait(60)
    at.run()


def test_safety_stops_at_its_time_limit_and_says_so(root: Path):
    import yaml

    from ..test_verify import tangled

    data = tangled(3)
    data["id"] = RULESET
    ruleset_path(root).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.rmtree(root / RULESET / "vignettes")
    at = AppTest.from_string(script("safety"), default_timeout=60)
    at.session_state["safety.time_limit"] = 1  # what the reviewer types into "Seconds to check before giving up"
    at.run()
    finished(at)  # on a busy machine the check can outlast the page's inline wait: then it shows progress first
    no_errors(at)
    page = texts(at)
    assert "Not every case could be checked, so nothing unfinished is proved." in page
    assert "within the time limit of 1 s" in page and "Not finished: the time limit of 1 s was reached first." in page



def test_a_long_safety_check_runs_in_the_background_with_progress_and_can_be_cancelled(
        root: Path, monkeypatch: pytest.MonkeyPatch):
    """The page never blocks: past a short wait it shows what the check is doing and a Cancel button; a cancelled
    check says it proved nothing and offers to check again."""
    import time

    import yaml

    from workbench.ui import background_check, safety

    from ..test_verify import tangled

    monkeypatch.setattr(safety, "INLINE_WAIT", 0.0)
    data = tangled(1)
    data["id"] = RULESET
    ruleset_path(root).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.rmtree(root / RULESET / "vignettes")
    at = AppTest.from_string(script("safety"), default_timeout=60)
    at.session_state["safety.time_limit"] = 600
    at.run()
    no_errors(at)
    (bar,) = at.get("progress")
    assert "Checking every possible case:" in bar.proto.text
    assert "Red-flag floors" not in texts(at)  # nothing claimed while it runs
    at.button(key="safety.cancel").click().run()
    for _ in range(100):  # the check stops at its next step
        if not any(c.done.is_set() is False for c in background_check._runs.values()):
            break
        time.sleep(0.1)
    at.run()
    no_errors(at)
    page = texts(at)
    assert "Not every case could be checked, so nothing unfinished is proved." in page
    assert "cancelled" in page
    assert at.button(key="safety.again")

# --- Releases ---------------------------------------------------------------------------------

def test_releases_speaks_in_states_with_one_next_step_and_takes_the_next_version_in_one_click(
        root: Path, signers: dict):
    """Was: normal states shown as red errors, a command line named on the page, no way to take the suggested
    version. Now each state says what happens next and who does it, one button each; after a release, saved
    changes get their version in one click."""
    from workbench.files import read_versioned
    from workbench.people import access
    from workbench.publish import lifecycle
    from workbench.publish.repository import Person, Repository

    from ..conftest import REVIEWER, keyring, submitted

    folder = root / RULESET

    def calm(at: AppTest) -> str:
        no_errors(at)
        main = "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "success", "warning")
                         for e in getattr(at.main, kind))
        assert not at.error and "workbench " not in main, [e.value for e in at.error]  # states, not errors
        return texts(at)

    assert "**Draft.**" in calm(app("releases"))
    submitted(folder)
    assert "**Waiting for review.**" in calm(app("releases"))
    assert lifecycle.approve(Repository(root), RULESET, Person(REVIEWER), "ok", signers[REVIEWER], keyring()).ok
    assert "**Approved** by Dr Rex Reviewer" in calm(app("releases"))
    assert lifecycle.release(Repository(root), RULESET, Person(REVIEWER), "go", signers[REVIEWER], keyring()).ok
    assert "Released: version 1.0.0 is published" in calm(app("releases"))

    path = folder / "ruleset.yaml"
    text, token = read_versioned(path)
    access.save_ruleset(access.local_identity("Dr Ada Author"), path,
                        (text or "").replace("title: Upper back", "title: Upper (thoracic) back", 1), token, "wording")
    at = app("releases")
    page = calm(at)
    assert "There are saved changes since this release. Next: version **1.0.1** — a patch change" in page
    at.button(key="releases.version").click().run()
    page = calm(at)
    assert "Saved as version 1.0.1. Next: submit it for review." in page and "**Draft.**" in page
    assert "version: 1.0.1" in path.read_text(encoding="utf-8")
    last = Repository(root).log(RULESET)[0]
    assert last.reason == "Version 1.0.1: a patch change since 1.0.0" and last.author == "local"


def test_releases_never_suggests_a_version_the_gate_would_refuse(root: Path, signers: dict):
    """Released, then cauda equina made routine and saved: vignettes fail, so the gate (lifecycle.check_release)
    would refuse any release. The page lists what the gate says and offers no "Use version" step."""
    from workbench.files import read_versioned
    from workbench.people import access
    from workbench.publish import lifecycle
    from workbench.publish.repository import Person, Repository

    from ..conftest import REVIEWER, keyring, submitted

    folder = root / RULESET
    submitted(folder)
    assert lifecycle.approve(Repository(root), RULESET, Person(REVIEWER), "ok", signers[REVIEWER], keyring()).ok
    assert lifecycle.release(Repository(root), RULESET, Person(REVIEWER), "go", signers[REVIEWER], keyring()).ok
    path = folder / "ruleset.yaml"
    text, token = read_versioned(path)
    lines = (text or "").splitlines()
    at_line = lines.index("  - id: suspected_cauda_equina_or_cord_compression")
    row = next(i for i in range(at_line, len(lines)) if lines[i].strip().startswith("disposition:"))
    lines[row] = lines[row].replace("emergency", "routine")
    access.save_ruleset(access.local_identity("Dr Ada Author"), path, "\n".join(lines) + "\n", token, "try routine")
    gate = lifecycle.check_release(Repository(root), RULESET, None, keyring())
    assert [p for p in gate.problems if p.code not in ("WB705", "WB706")]  # the core refuses it
    at = app("releases")
    no_errors(at)
    page = texts(at)
    assert "Before a new version can be released" in page and "Use version" not in page
    assert not [b for b in at.button if b.key == "releases.version"]


def test_the_app_does_not_watch_its_own_source_nor_collect_all_garbage_after_each_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Started from the project (as ./run and the browser tests start it), Streamlit reads .streamlit/config.toml: it
    polls no source file (without watchdog it would poll every module, 4 % of a core while the app sits idle), and
    does not run a full garbage collection after every run of a page (about 100 ms a click with a ruleset loaded)."""
    from streamlit import config

    from ..conftest import ROOT

    monkeypatch.chdir(ROOT)
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.runOnSave") is False
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
