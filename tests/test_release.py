"""Versions, review and release: nothing reaches a patient without a passing replay and a second clinician.

Every refusal of the gate, immutability of releases, and tamper detection in release files and the audit log.
All on copies of the shipped ruleset (the `v1_copy` fixture); nothing is written under rulesets/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from workbench.audit import AUDIT_FILE, append_entry, verify_audit
from workbench.canonical import ruleset_data, ruleset_sha256, sha256_hex
from workbench.history import history
from workbench.release import (
    approve,
    check_release,
    list_releases,
    load_release,
    read_review,
    reject,
    release,
    scan_releases,
    submit,
)
from workbench.runtime import IntegrityError
from workbench.validate import validate_ruleset_file


def codes(problems: list) -> set[str]:
    return {p.code for p in problems}


def set_version(folder: Path, version: str) -> None:
    path = folder / "ruleset.yaml"
    text = path.read_text(encoding="utf-8")
    current = validate_ruleset_file(path).model.version  # type: ignore[union-attr]
    path.write_text(text.replace(f"version: {current}", f"version: {version}", 1), encoding="utf-8")


def reword(folder: Path, old: str, new: str) -> None:
    path = folder / "ruleset.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def approved(folder: Path, author: str = "Dr Ada Author", reviewer: str = "Dr Rex Reviewer") -> None:
    assert submit(folder, author, "change").ok
    assert approve(folder, reviewer).ok


def released(folder: Path, author: str = "Dr Ada Author", reviewer: str = "Dr Rex Reviewer") -> Path:
    approved(folder, author, reviewer)
    outcome = release(folder, reviewer, "clinical sign-off")
    assert outcome.ok, outcome.problems
    assert outcome.release is not None and outcome.release.path is not None
    return outcome.release.path


# --- the happy path and the file format -------------------------------------------------------

def test_submit_approve_release_writes_the_release_file_in_the_published_format(v1_copy: Path) -> None:
    path = released(v1_copy)
    assert path == v1_copy / "releases" / "1.0.0.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"id", "version", "sha256", "ruleset", "release"}
    model = validate_ruleset_file(v1_copy / "ruleset.yaml").model
    assert document["id"] == "upper-back-pain" and document["version"] == "1.0.0"
    assert document["ruleset"] == ruleset_data(model)
    assert document["sha256"] == ruleset_sha256(model) == sha256_hex(document["ruleset"])
    meta = document["release"]
    assert set(meta) == {"author", "approver", "released_at", "reason", "replay"}
    assert (meta["author"], meta["approver"], meta["reason"]) == ("Dr Ada Author", "Dr Rex Reviewer",
                                                                  "clinical sign-off")
    assert meta["released_at"].endswith("Z") and "T" in meta["released_at"]
    assert meta["replay"]["failed"] == 0 and meta["replay"]["passed"] == meta["replay"]["total"] > 0
    assert [r.version for r in list_releases(v1_copy)] == ["1.0.0"]
    assert read_review(v1_copy)[0].state == "draft"


def test_every_action_is_in_the_hash_chained_audit_log(v1_copy: Path) -> None:
    released(v1_copy)
    check = verify_audit(v1_copy / AUDIT_FILE)
    assert check.ok
    assert [(e["seq"], e["action"], e["actor"]) for e in check.entries] == [
        (1, "submit", "Dr Ada Author"), (2, "approve", "Dr Rex Reviewer"), (3, "release", "Dr Rex Reviewer")]
    assert check.entries[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(check.entries, check.entries[1:], strict=False))
    assert {e["sha256"] for e in check.entries} == {load_release(v1_copy / "releases/1.0.0.json").sha256}


def test_list_releases_sorts_by_semantic_version_not_text(v1_copy: Path) -> None:
    for version in ("1.0.0", "1.2.0", "1.10.0"):
        set_version(v1_copy, version)
        released(v1_copy)
    set_version(v1_copy, "1.9.0")  # lower than 1.10.0: refused, though '1.9.0' > '1.10.0' as text
    assert "WB705" in codes(submit(v1_copy, "Dr Ada Author").problems)
    assert [r.version for r in list_releases(v1_copy)] == ["1.0.0", "1.2.0", "1.10.0"]


# --- every refusal of the gate ------------------------------------------------------------------

def test_release_without_submission_is_refused(v1_copy: Path) -> None:
    outcome = release(v1_copy, "Dr Rex Reviewer", "because")
    assert not outcome.ok and codes(outcome.problems) == {"WB707"}
    assert not (v1_copy / "releases").exists()


def test_release_while_still_in_review_is_refused(v1_copy: Path) -> None:
    assert submit(v1_copy, "Dr Ada Author").ok
    assert codes(release(v1_copy, "Dr Rex Reviewer", "because").problems) == {"WB707"}


@pytest.mark.parametrize("same", ["Dr Ada Author", "dr ada author", "  Dr  Ada   Author "])
def test_the_author_cannot_approve_or_release_their_own_version(v1_copy: Path, same: str) -> None:
    assert submit(v1_copy, "Dr Ada Author").ok
    assert codes(approve(v1_copy, same).problems) == {"WB704"}
    assert codes(reject(v1_copy, same, "no").problems) == {"WB704"}
    assert approve(v1_copy, "Dr Rex Reviewer").ok
    assert "WB704" in codes(release(v1_copy, same, "because").problems)
    assert not (v1_copy / "releases").exists()


def test_release_by_someone_other_than_the_approver_is_refused(v1_copy: Path) -> None:
    approved(v1_copy)
    assert codes(release(v1_copy, "Dr Somebody Else", "because").problems) == {"WB709"}


def test_names_and_reasons_are_required(v1_copy: Path) -> None:
    assert codes(submit(v1_copy, " ").problems) == {"WB711"}
    assert submit(v1_copy, "Dr Ada Author").ok
    assert codes(approve(v1_copy, "").problems) == {"WB711"}
    assert codes(reject(v1_copy, "Dr Rex Reviewer", "  ").problems) == {"WB712"}
    assert approve(v1_copy, "Dr Rex Reviewer").ok
    assert codes(release(v1_copy, "Dr Rex Reviewer", "").problems) == {"WB712"}


def test_a_draft_changed_after_submission_cannot_be_approved(v1_copy: Path) -> None:
    assert submit(v1_copy, "Dr Ada Author").ok
    reword(v1_copy, "Reassure: non-specific", "Reassure them: non-specific")
    assert codes(approve(v1_copy, "Dr Rex Reviewer").problems) == {"WB708"}


def test_a_draft_changed_after_approval_cannot_be_released(v1_copy: Path) -> None:
    approved(v1_copy)
    reword(v1_copy, "Reassure: non-specific", "Reassure them: non-specific")
    assert codes(release(v1_copy, "Dr Rex Reviewer", "because").problems) == {"WB708"}
    assert not (v1_copy / "releases").exists()


def test_comments_and_layout_are_not_a_change(v1_copy: Path) -> None:
    """The submission is pinned by the canonical hash of the content, so a comment does not void the review."""
    approved(v1_copy)
    path = v1_copy / "ruleset.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# reviewed in the safety meeting\n", encoding="utf-8")
    assert release(v1_copy, "Dr Rex Reviewer", "because").ok


def test_validation_errors_are_listed_with_every_other_reason(v1_copy: Path) -> None:
    approved(v1_copy)
    reword(v1_copy, "next: suspected_spinal_infection", "next: suspected_spinal_infektion")
    problems = release(v1_copy, "Dr Rex Reviewer", "because").problems
    assert codes(problems) == {"WB708", "WB701"}
    assert any("suspected_spinal_infektion" in p.message for p in problems if p.code == "WB701")


def test_a_failing_vignette_refuses_release_even_after_approval(v1_copy: Path) -> None:
    approved(v1_copy)
    vignettes = v1_copy / "vignettes" / "cancer.yaml"
    text = vignettes.read_text(encoding="utf-8")
    expected = "disposition: urgent_mri_1_week\n      outcome: suspected_spinal_metastases"
    assert expected in text
    vignettes.write_text(text.replace(expected, "disposition: routine\n      outcome: persistent_or_nerve_root_pain",
                                      1), encoding="utf-8")
    problems = release(v1_copy, "Dr Rex Reviewer", "because").problems
    assert codes(problems) == {"WB702"}
    assert "known-breast-cancer-thoracic-night-pain" in problems[0].message


def test_no_vignettes_means_no_release(v1_copy: Path) -> None:
    for path in (v1_copy / "vignettes").iterdir():
        path.unlink()
    assert codes(submit(v1_copy, "Dr Ada Author").problems) == {"WB703"}
    assert "WB703" in codes(check_release(v1_copy, "Dr Rex Reviewer", "because").problems)


def test_version_must_be_higher_than_the_last_release(v1_copy: Path) -> None:
    set_version(v1_copy, "1.1.0")
    released(v1_copy)
    set_version(v1_copy, "1.0.5")
    assert codes(submit(v1_copy, "Dr Ada Author").problems) == {"WB705"}
    assert codes(check_release(v1_copy, "Dr Rex Reviewer", "because").problems) == {"WB705", "WB707"}


def test_an_already_released_version_is_refused(v1_copy: Path) -> None:
    released(v1_copy)
    reword(v1_copy, "Reassure: non-specific", "Reassure them: non-specific")  # new content, same version
    assert codes(submit(v1_copy, "Dr Ada Author").problems) == {"WB705", "WB706"}


def test_the_gate_lists_every_reason_at_once(v1_copy: Path) -> None:
    released(v1_copy)
    for path in (v1_copy / "vignettes").iterdir():
        path.unlink()
    problems = check_release(v1_copy, "", "").problems
    assert codes(problems) == {"WB711", "WB712", "WB707", "WB703", "WB705", "WB706"}


def test_reject_sends_it_back_to_draft_with_the_reason(v1_copy: Path) -> None:
    assert submit(v1_copy, "Dr Ada Author").ok
    outcome = reject(v1_copy, "Dr Rex Reviewer", "Rule 7 needs the NG12 age threshold checked")
    assert outcome.ok
    state, _ = read_review(v1_copy)
    assert state.state == "draft" and state.reject_reason.startswith("Rule 7")
    assert codes(approve(v1_copy, "Dr Rex Reviewer").problems) == {"WB710"}
    refused = release(v1_copy, "Dr Rex Reviewer", "because").problems
    assert codes(refused) == {"WB707"} and "Rule 7" in refused[0].message
    assert submit(v1_copy, "Dr Ada Author", "threshold checked").ok  # the author can submit again


def test_the_same_content_cannot_be_submitted_twice(v1_copy: Path) -> None:
    assert submit(v1_copy, "Dr Ada Author").ok
    assert codes(submit(v1_copy, "Dr Ada Author").problems) == {"WB710"}


# --- immutability -------------------------------------------------------------------------------

def test_a_second_release_of_the_same_version_is_refused_and_the_file_is_untouched(v1_copy: Path) -> None:
    path = released(v1_copy)
    before = path.read_bytes()
    reword(v1_copy, "Reassure: non-specific", "Reassure them: non-specific")
    # Even a review state forged to 'approved' for the new content cannot get past the gate.
    state = {"state": "approved", "version": "1.0.0", "author": "Dr Ada Author", "reviewer": "Dr Rex Reviewer",
             "sha256": ruleset_sha256(validate_ruleset_file(v1_copy / "ruleset.yaml").model)}
    (v1_copy / "review.json").write_text(json.dumps(state), encoding="utf-8")
    outcome = release(v1_copy, "Dr Rex Reviewer", "again")
    assert "WB706" in codes(outcome.problems)
    assert path.read_bytes() == before


def test_cli_second_release_is_refused_with_exit_1(v1_copy: Path) -> None:
    path = released(v1_copy)
    before = path.read_bytes()
    done = run_cli("release", str(v1_copy), "--approver", "Dr Rex Reviewer", "--reason", "again")
    assert done.returncode == 1
    assert "WB706" in done.stdout and "WB707" in done.stdout
    assert path.read_bytes() == before


# --- tampering ----------------------------------------------------------------------------------

def test_an_edited_release_file_is_detected(v1_copy: Path) -> None:
    path = released(v1_copy)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["ruleset"]["dispositions"][0]["label"] = "Routine"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    with pytest.raises(IntegrityError) as caught:
        load_release(path)
    assert codes(caught.value.problems) == {"WB902"}
    with pytest.raises(IntegrityError):
        list_releases(v1_copy)
    found = history(v1_copy)
    assert not found.ok and "WB902" in codes(found.problems)
    assert "WB902" in codes(check_release(v1_copy, "Dr Rex Reviewer", "x").problems)


def test_a_release_file_rewritten_with_a_fresh_hash_is_caught_by_the_audit_log(v1_copy: Path) -> None:
    path = released(v1_copy)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["ruleset"]["nodes"][0]["title"] = "Edited after release"
    document["sha256"] = sha256_hex(document["ruleset"])
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    assert load_release(path).sha256 == document["sha256"]  # the file alone looks fine
    found = history(v1_copy)
    assert codes(found.problems) == {"WB721"} and "replaced" in found.problems[0].message


def test_a_renamed_release_file_is_detected(v1_copy: Path) -> None:
    path = released(v1_copy)
    path.rename(path.with_name("2.0.0.json"))
    releases, problems = scan_releases(v1_copy)
    assert releases == [] and codes(problems) == {"WB903"}


def test_a_deleted_release_is_reported(v1_copy: Path) -> None:
    released(v1_copy).unlink()
    found = history(v1_copy)
    assert codes(found.problems) == {"WB721"} and "missing" in found.problems[0].message


@pytest.mark.parametrize("edit", ["actor", "delete", "swap"])
def test_an_edited_audit_log_breaks_the_chain_at_that_entry(v1_copy: Path, edit: str) -> None:
    released(v1_copy)
    log = v1_copy / AUDIT_FILE
    lines = log.read_text(encoding="utf-8").splitlines()
    if edit == "actor":
        entry = json.loads(lines[1])
        entry["actor"] = "Dr Ada Author"  # make it look as if the author approved
        lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    elif edit == "delete":
        del lines[1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = verify_audit(log)
    assert not check.ok and check.problem is not None
    assert check.problem.code == "WB720" and check.problem.line == 2 and "entry 2" in check.problem.message
    assert len(check.entries) == 1
    assert not history(v1_copy).ok
    # Nothing more is recorded on a broken chain, and nothing is released.
    set_version(v1_copy, "1.0.1")
    assert codes(submit(v1_copy, "Dr Ada Author").problems) == {"WB720"}
    with pytest.raises(Exception, match="broken"):
        append_entry(log, actor="x", action="submit", version="1.0.1", sha256="0" * 64)


def test_an_audit_entry_with_a_recomputed_hash_still_breaks_the_next_link(v1_copy: Path) -> None:
    from workbench.audit import entry_hash

    released(v1_copy)
    log = v1_copy / AUDIT_FILE
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[0])
    entry["actor"] = "Dr Mallory"
    entry["hash"] = entry_hash(entry)
    lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = verify_audit(log)
    assert check.problem is not None and check.problem.line == 2 and "prev_hash" in check.problem.message


# --- the command line ---------------------------------------------------------------------------

def test_cli_lifecycle_with_json_output_and_exit_codes(v1_copy: Path) -> None:
    folder = str(v1_copy)
    done = run_cli("submit", folder, "--author", "Dr Ada Author", "--reason", "first", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["review"]["state"] == "in_review"
    done = run_cli("approve", folder, "--reviewer", "Dr Ada Author", "--format", "json")
    assert done.returncode == 1
    assert [p["code"] for p in json.loads(done.stdout)["problems"]] == ["WB704"]
    assert run_cli("approve", folder, "--reviewer", "Dr Rex Reviewer").returncode == 0
    done = run_cli("release", folder, "--approver", "Dr Rex Reviewer", "--reason", "first", "--format", "json")
    assert done.returncode == 0, done.stdout
    made = json.loads(done.stdout)["release"]
    assert made["version"] == "1.0.0" and made["author"] == "Dr Ada Author" and len(made["sha256"]) == 64
    done = run_cli("history", folder, "--format", "json")
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert data["ok"] and [r["version"] for r in data["releases"]] == ["1.0.0"]
    assert [e["action"] for e in data["audit"]["entries"]] == ["submit", "approve", "release"]


def test_cli_history_reports_tampering_with_exit_1(v1_copy: Path) -> None:
    path = released(v1_copy)
    path.write_text(path.read_text(encoding="utf-8").replace("Emergency", "Routine", 1), encoding="utf-8")
    done = run_cli("history", str(v1_copy))
    assert done.returncode == 1
    assert "WB902" in done.stdout and "TAMPERING" in done.stdout


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("submit", str(tmp_path), "--author", "A").returncode == 2  # not a ruleset folder
    assert run_cli("reject", str(tmp_path), "--reviewer", "B").returncode == 2  # --reason is required
    assert run_cli("release", str(tmp_path), "--approver", "B").returncode == 2


# --- the page -----------------------------------------------------------------------------------

def _releases_page(folder: str) -> None:
    from pathlib import Path

    import streamlit as st

    from workbench.ui.login import current_identity
    from workbench.ui.releases import page

    if current_identity() is None:
        st.stop()
    page(Path(folder))


def test_releases_page_shows_the_gate_and_refusals(v1_copy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("WORKBENCH_USERS", str(tmp_path / "no-accounts.json"))  # no accounts: names are typed

    app = AppTest.from_function(_releases_page, args=(str(v1_copy),), default_timeout=60)
    app.run()
    assert not app.exception
    assert any("refused" in e.value for e in app.error)
    app.text_input(key="releases.author").input("Dr Ada Author")
    next(b for b in app.button if b.label == "Submit for review").click()
    app.run()
    assert any("Submitted" in s.value for s in app.success)
    app.text_input(key="releases.reviewer").input("dr ada author")
    next(b for b in app.button if b.label == "Approve").click()
    app.run()
    assert any("Approve refused" in e.value for e in app.error)
    assert any("WB704" in m.value for m in app.markdown)
    assert read_review(v1_copy)[0].state == "in_review"
