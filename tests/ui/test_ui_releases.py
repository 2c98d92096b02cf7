"""The Releases page finishes the job without a terminal (issue 21 items 2 and 3, issue 23 item 1), through
Streamlit's AppTest: each release downloads as its signed JSON, FHIR Questionnaire and PlanDefinition and CDS Hooks
discovery, each with the sha256 of the bytes downloaded and the signature; the review tab shows what the release
gate requires (the red-flag floors, the safety promises proved, broken and unproved) and offers no step the gate
would refuse; and what a version changes for the past cases on record, the less urgent first."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fhir.resources.R4B.plandefinition import PlanDefinition
from fhir.resources.R4B.questionnaire import Questionnaire
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from workbench.analysis.case_store import CASES_ENV
from workbench.files import read_versioned
from workbench.people import access
from workbench.publish import lifecycle
from workbench.publish.fhir import DEFAULT_BASE_URL
from workbench.publish.repository import Repository

from ..conftest import AUTHOR, MINI, REVIEWER, V1, keyring, released, submitted
from ..test_impact import NEW_MINI
from ..test_safety_gate import unproved_ruleset
from .test_ui_apptest import app, finished, no_errors, texts
from .test_ui_roles import PASSWORD, sign_in

RULESET = "upper-back-pain"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty rulesets folder the app is pointed at, with no accounts (names are typed) and no case store."""
    target = tmp_path / "rulesets"
    target.mkdir()
    monkeypatch.setenv("WORKBENCH_RULESETS", str(target))
    monkeypatch.setenv("WORKBENCH_USERS", str(tmp_path / "no-accounts.json"))
    monkeypatch.setenv(CASES_ENV, str(tmp_path / "no-cases"))
    return target


@pytest.fixture
def people(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> dict:
    """Accounts for the author and the reviewer (the pages take review steps only from signed-in people, WB1008),
    each with a signing key locked with their password and trusted."""
    from workbench.people import accounts
    from workbench.publish.signing import create_key, trust

    users = tmp_path / "users.json"
    accounts.add_account(AUTHOR, ["author"], PASSWORD, path=users)
    accounts.add_account(REVIEWER, ["reviewer"], PASSWORD, path=users)
    monkeypatch.setenv("WORKBENCH_USERS", str(users))
    made = {}
    for name in (AUTHOR, REVIEWER):
        _, key = create_key(name, PASSWORD, isolated_home / "keys")
        trust(name, key.key.public_key(), isolated_home / "keyring.json")
        made[name] = key
    return made


def signed_in(name: str):  # type: ignore[no-untyped-def]
    at = sign_in(app("releases"), name)
    finished(at)
    no_errors(at)
    return at


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """The bytes each download button hands the browser, by the file name it is saved under."""
    kept: dict[str, bytes] = {}
    store = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        if filename and isinstance(path_or_data, bytes):
            kept[filename] = path_or_data
        return store(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    yield kept


def save(folder: Path, text: str, why: str = "edit") -> None:
    """A save as the workbench makes it: one commit by the author."""
    path = folder / "ruleset.yaml"
    _, token = read_versioned(path)
    access.save_ruleset(access.local_identity(AUTHOR), path, text, token, why)


def cauda_equina_routine(text: str) -> str:
    """Cauda equina sent to routine care: the safety promise about it is broken."""
    start = text.index("  - id: suspected_cauda_equina_or_cord_compression")
    at = text.index("disposition: emergency", start)
    return text[:at] + "disposition: routine" + text[at + len("disposition: emergency"):]


def in_order(at) -> list[str]:  # type: ignore[no-untyped-def]
    """What the page says, top to bottom: each alert, heading and table, as "kind: text"."""
    kinds = ("error", "warning", "success", "info", "subheader", "table")
    return [f"{node.type}: {node.value.to_csv() if node.type == 'table' else node.value}" for node in at.main
            if getattr(node, "type", None) in kinds]


def submit_buttons(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.key for b in at.button if str(b.key).startswith("FormSubmitter:releases.")]


# --- downloads ------------------------------------------------------------------------------------------

def test_a_release_downloads_as_json_fhir_and_cds_hooks_each_with_its_sha256_and_signature(
        root: Path, people: dict, media: dict[str, bytes]) -> None:
    folder = root / RULESET
    shutil.copytree(V1, folder)
    lifecycle_outcome = submitted(folder)
    assert lifecycle_outcome.ok
    assert lifecycle.approve(Repository(root), RULESET, _person(REVIEWER), "checked", people[REVIEWER], keyring()).ok
    at = signed_in(REVIEWER)
    at.text_input(key="releases.release.password").input(PASSWORD)
    at.text_input(key="releases.release.reason").input("first release")
    at.button(key="FormSubmitter:releases.release-Release version 1.0.0").click().run()
    no_errors(at)
    page = texts(at)
    assert "Released version 1.0.0, signed by Dr Rex Reviewer." in page  # right after the release: its files
    stem = f"{RULESET}-1.0.0"
    released_keys = {b.key for b in at.get("download_button")}
    assert {f"releases.download.released.1.0.0.{kind}" for kind in
            ("release", "Questionnaire", "PlanDefinition", "cds-services")} <= released_keys
    assert {f"releases.download.history.1.0.0.{kind}" for kind in ("release", "cds-services")} <= released_keys

    on_disk = (folder / "releases" / "1.0.0.json").read_bytes()
    assert media[f"{stem}.json"] == on_disk  # the signed file, byte for byte
    commit = next(c for c in Repository(root).log() if c.action == "release")
    assert hashlib.sha256(media[f"{stem}.json"]).hexdigest() == commit.fact("release_sha256")
    sums = [c.value for c in at.code if c.value.endswith(f"{stem}.cds-services.json")]
    assert len(sums) == 2  # after the release, and in the history
    assert sums[0].splitlines() == [f"{hashlib.sha256(media[name]).hexdigest()}  {name}" for name in (
        f"{stem}.json", f"{stem}.Questionnaire.json", f"{stem}.PlanDefinition.json", f"{stem}.cds-services.json")]

    document = json.loads(on_disk)
    questionnaire = json.loads(media[f"{stem}.Questionnaire.json"])
    Questionnaire.model_validate(questionnaire)
    PlanDefinition.model_validate(json.loads(media[f"{stem}.PlanDefinition.json"]))
    assert questionnaire["url"] == f"{DEFAULT_BASE_URL}/fhir/Questionnaire/{RULESET}"  # the export's default base
    assert questionnaire["meta"]["tag"][0]["code"] == document["sha256"]
    (service,) = json.loads(media[f"{stem}.cds-services.json"])["services"]
    assert service["id"] == RULESET and service["extension"]["org.clinical-rules-workbench.release"]["sha256"] == \
        document["sha256"]
    signature = document["signature"]
    assert f"signed by **{REVIEWER}** (key `{signature['key_id']}`, {signature['algorithm']})" in page
    assert DEFAULT_BASE_URL in page and document["sha256"] in page
    assert signature["value"] in "\n".join(c.value for c in at.code)


def _person(name: str):  # type: ignore[no-untyped-def]
    from workbench.publish.repository import Person

    return Person(name)


# --- what the gate requires ---------------------------------------------------------------------------------

def test_the_review_tab_shows_the_floors_and_a_broken_promise_and_offers_no_step_the_gate_refuses(
        root: Path, people: dict) -> None:
    folder = root / RULESET
    shutil.copytree(V1, folder)
    at = signed_in(AUTHOR)
    page = texts(at)
    assert "**5 of 5 safety properties proved** over every possible case." in page
    assert "Red-flag floors: 6 red flags can reach Self-care, the least urgent" in [e.label for e in at.expander]
    floors = [m for m in at.markdown if "→ at worst" in m.value]
    assert len(floors) == len(lifecycle.snapshot(Repository.open(root), RULESET).model.red_flags)  # one a red flag
    assert "**Bladder or bowel disturbance, or saddle anaesthesia** → at worst **Emergency**" in page
    assert all(m.help.startswith("ids: ") and "_" not in m.value for m in floors)  # clinical words, ids on hover
    assert "As many as **6 red flags together** can still reach **Self-care**." in page
    assert "FormSubmitter:releases.submit-Submit for review" in submit_buttons(at)

    text = (folder / "ruleset.yaml").read_text(encoding="utf-8")
    submitted(folder)  # then, while it is in review, cauda equina is sent to routine care and saved
    save(folder, cauda_equina_routine(text), "try routine")
    at = signed_in(REVIEWER)
    page = texts(at)
    gate = lifecycle.check_release(Repository(root), RULESET, None, keyring())
    assert any(p.code == "WB714" for p in gate.problems)  # the core refuses it
    assert "**Waiting for review.**" in page
    refused = gate.snapshot.broken()  # the gate's own verdict, each named on the page
    assert "Bladder or bowel dysfunction or saddle anaesthesia is always an emergency" in refused.values()
    violated = sum(p.status == "violated" for p in gate.snapshot.verification.properties)
    escalation = "; and escalation (a yes never makes it less urgent) is broken" if "monotonic" in refused else ""
    assert f"**{5 - violated} of 5 safety properties proved** over every possible case; {violated} broken" \
           f"{escalation}." in page
    assert f"**{len(refused)} safety promises broken** — the gate refuses to release it" in page
    broken = [m.value.replace("\\", "") for m in at.markdown if "BROKEN" in m.value]
    assert [next(t for t in refused.values() if t in b) for b in broken] == list(refused.values())
    order = [m.value for m in at.markdown]
    assert max(i for i, m in enumerate(order) if "BROKEN" in m) < min(i for i, m in enumerate(order)
                                                                     if "→ at worst" in m)  # broken first
    assert "FormSubmitter:releases.approve-Approve" not in submit_buttons(at)  # nothing the gate would refuse
    assert "WB714" in page


def test_an_unproved_promise_asks_the_approver_why_and_the_reason_is_signed_with_the_approval(
        root: Path, people: dict) -> None:
    folder = unproved_ruleset(root)
    submitted(folder)
    at = signed_in(REVIEWER)
    page = texts(at)
    assert "**0 of 1 safety property proved** over every possible case; 1 unproved." in page
    assert ":orange[**not proved**] — **Weakness is always an emergency**" in page
    assert "FormSubmitter:releases.approve-Approve" not in submit_buttons(at)  # the gate would refuse: WB715
    why = "weakness is the first branch; the comparison of numbers only decides cases without it"
    at.text_input(key="releases.unproved.weakness-is-emergency").input(why).run()
    assert "FormSubmitter:releases.approve-Approve" in submit_buttons(at)
    at.text_input(key="releases.approve.password").input(PASSWORD)
    at.button(key="FormSubmitter:releases.approve-Approve").click().run()
    no_errors(at)
    assert "Approved and signed." in texts(at), [e.value for e in at.error]
    approval = next(c for c in Repository(root).log() if c.action == "approve")
    assert approval.record["unproved"] == {"weakness-is-emergency": why}  # signed with the approval
    assert f"released on {REVIEWER}'s signed reason: “{why}”" in texts(at)
    assert "FormSubmitter:releases.release-Release version 1.0.0" in submit_buttons(at)


# --- what it changes for past cases --------------------------------------------------------------------------

CASES = [("age", "known_cancer", "limb_weakness", "pain_site"),
         (40, "no", "yes", "cervical"),   # emergency in both
         (30, "no", "no", "thoracic"),    # self-care in both
         (65, "yes", "no", "lumbar"),     # urgent in 1.0.0, self-care in 1.1.0: less urgent
         (75, "yes", "no", "lumbar")]     # urgent in both


def mini_released(root: Path, signers: dict) -> Path:
    """The mini ruleset released as 1.0.0, then 1.1.0 saved: a cancer patient of 60 to 69 with lumbar pain goes
    from urgent to self-care."""
    folder = root / "mini"
    (folder / "vignettes").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "vignettes" / "cases.yaml").write_text(
        "ruleset: mini\nvignettes:\n  - id: weak\n    inputs: {limb_weakness: true, age: 40}\n"
        "    expect: {disposition: emergency}\n", encoding="utf-8")
    released(folder, signers)
    save(folder, NEW_MINI, "cancer threshold 70")
    return folder


def write_cases(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


def test_what_a_version_changes_for_the_case_store_lists_the_less_urgent_case_first(
        root: Path, signers: dict, media: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mini_released(root, signers)
    store = tmp_path / "cases"
    write_cases(store / "2025.csv", CASES)
    monkeypatch.setenv(CASES_ENV, str(store))
    at = app("releases")
    finished(at)
    no_errors(at)
    page = texts(at)
    assert "**1 past case would become less urgent** — a hazard" in page
    said = in_order(at)
    hazard = next(i for i, text in enumerate(said) if text.startswith("error: **1 past case would become less"))
    assert hazard < said.index("subheader: From → to")  # the hazard first, before the whole table
    hazards, transitions, routes = (t.value for t in at.table[-3:])
    assert hazards.to_dict("records") == [{
        "Case": "row 3", "Was": "Urgent", "Would be": "Self care",
        "Rule (outcome) then → now": "Suspected metastases → Self care", "Red flags": "History of cancer",
        "Red flags an unsure or missing answer may hide": "none"}]
    assert transitions.iloc[0].to_dict() == {"From (version 1.0.0)": "Urgent", "To (the saved draft)": "Self care",
                                             "Change": "less urgent", "Cases": "1"}
    assert sorted(transitions["Cases"].astype(int)) == [1, 1, 1, 1]
    assert routes.iloc[0]["Red flags now"] == "History of cancer" and routes.iloc[0]["For example"] == "row 3"
    (picture,) = at.get("image")  # the core's transition matrix, drawn in the ruleset's words
    assert picture.value[0].startswith("data:image/svg+xml;base64,") or picture.value[0].endswith(".svg")
    assert picture.proto.imgs[0].alt.startswith("Transition matrix: 1 of 4 cases change disposition")
    name = "mini-1.1.0-against-1.0.0-impact"
    table = list(csv.DictReader(io.StringIO(media[f"{name}.csv"].decode())))
    assert table[0] == {"kind": "transition", "from": "urgent", "to": "self_care", "direction": "less_urgent",
                        "count": "1", "outcome_from": "", "outcome_to": "", "red_flags_from": "", "red_flags_to": ""}
    parquet = tmp_path / "t.parquet"
    parquet.write_bytes(media[f"{name}.parquet"])
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT kind, count FROM '{parquet}' WHERE direction = 'less_urgent'").fetchall()
    assert sorted(rows) == [("route", 1), ("transition", 1)]

    submitted(root / "mini")  # in review: the review tab leads with the same answer
    at = app("releases")
    finished(at)
    no_errors(at)
    summary = [e.value for e in at.error if "past case would become less urgent" in e.value]
    assert summary and summary[0].startswith("**1 past case would become less urgent** with version 1.1.0 against "
                                             "version 1.0.0, over 4 past cases")


def test_without_a_case_store_a_file_of_cases_is_uploaded_and_a_bad_one_is_a_clear_problem(
        root: Path, signers: dict) -> None:
    mini_released(root, signers)
    at = app("releases")
    finished(at)
    assert "No case store is configured" in texts(at)
    bad = [CASES[0], (40, "maybe", "yes", "cervical")]
    upload = at.get("file_uploader")[0]
    upload.set_value(("triage.csv", _csv(bad), "text/csv"))
    at.run()
    finished(at)
    no_errors(at)
    message = "\n".join(e.value for e in at.error)
    assert "cannot be analysed" in message
    problems = texts(at)
    assert "row 1, column 'known_cancer': 'maybe' is no answer to 'known_cancer'" in problems
    assert "triage.csv" in problems and "Traceback" not in problems
    at.get("file_uploader")[0].set_value(("triage.csv", _csv(CASES), "text/csv"))
    at.run()
    finished(at)
    no_errors(at)
    assert "**1 past case would become less urgent** — a hazard" in texts(at)
    at.get("file_uploader")[0].set_value(("triage.parquet", b"not parquet at all", "application/octet-stream"))
    at.run()
    finished(at)
    no_errors(at)
    page = texts(at)
    assert "triage.parquet cannot be read as parquet" in page
    assert "workbench-cases-" not in page  # said of the file uploaded, not of where it was put for a moment
    at.get("file_uploader")[0].set_value(("triage.csv", b"", "text/csv"))
    at.run()
    finished(at)
    no_errors(at)
    assert "There are no cases in triage.csv: nothing to compare." in texts(at)


def _csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()
