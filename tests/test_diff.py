"""The diff: structural changes in clinical words, behaviour on vignettes and on every combination of answers,
and the suggested version bump (patch wording, minor escalation or new question, major de-escalation)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MINI, V1, released, run_cli
from workbench.analysis.behaviour import answer_domains
from workbench.content.model import Vignette
from workbench.content.validate import validate_ruleset_text
from workbench.problems import ProblemError
from workbench.publish.diff import Diff, diff_rulesets, diff_versions
from workbench.run.engine import CompiledRuleset, evaluate

V1_TEXT = (V1 / "ruleset.yaml").read_text(encoding="utf-8")  # diffs are tested on a fixed version
MINI_TEXT = MINI.read_text(encoding="utf-8")

RULE_4 = "      - when: fever\n        next: suspected_spinal_infection"
RULE_7 = "(age >= 60 and (not_improving"


def compiled(text: str) -> CompiledRuleset:
    report = validate_ruleset_text(text, "<test>")
    assert report.ok and report.model is not None, [str(p) for p in report.problems if p.is_error]
    return CompiledRuleset(report.model)


def edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def diff(new_text: str, old_text: str = V1_TEXT, vignettes: list[Vignette] | None = None) -> Diff:
    return diff_rulesets(compiled(old_text), compiled(new_text), vignettes or [])


# --- the suggested bump -------------------------------------------------------------------------

def test_wording_only_is_a_patch() -> None:
    result = diff(edited(V1_TEXT, ("Reassure: non-specific", "Reassure them: non-specific"),
                         ("label: Urgent — same-day medical assessment", "label: Urgent — same-day assessment")))
    assert result.bump == "patch" and result.suggested_version == "1.0.1"
    assert {(c.section, c.id, c.change, c.kind) for c in result.changes} == {
        ("nodes", "simple_back_pain", "advice reworded", "wording"),
        ("dispositions", "urgent_same_day", "reworded", "wording")}
    assert result.exhaustive.checked and result.exhaustive.changed == 0 and not result.vignettes


def test_identical_content_needs_no_bump() -> None:
    result = diff(V1_TEXT)
    assert result.bump == "none" and result.changes == [] and result.suggested_version is None


def test_an_escalation_is_a_minor_bump() -> None:
    result = diff(edited(V1_TEXT, (RULE_7, "(age >= 50 and (not_improving")))
    assert result.bump == "minor" and result.suggested_version == "1.1.0"
    exhaustive = result.exhaustive
    assert exhaustive.checked and exhaustive.changed > 0
    assert {c.direction for c in exhaustive.changes} == {"escalated"}
    assert {c.after for c in exhaustive.changes} == {"suspected_cancer_pathway"}
    assert {c.before for c in exhaustive.changes} == {"routine", "self_care"}
    assert all(c.answers["age"] == "50 or over and under 60 years" for c in exhaustive.changes)
    [change] = [c for c in result.changes if c.kind == "logic"]
    assert change.change == "branch condition changed" and change.id == "undiagnosed_cancer_screen"


def test_a_de_escalation_is_a_major_bump_most_urgent_change_first() -> None:
    result = diff(edited(V1_TEXT, (RULE_4, "      - when: fever and age >= 30\n"
                                                "        next: suspected_spinal_infection")))
    assert result.bump == "major" and result.suggested_version == "2.0.0"
    assert "de-escalated" in result.reasons[0]
    first = result.exhaustive.changes[0]
    assert (first.before, first.direction) == ("urgent_same_day", "de-escalated")
    assert first.answers["fever"] == "yes" and first.answers["age"] == "under 30 years"
    assert result.warnings == ["Version 1.0.0 does not follow from 1.0.0 with a major change: it should be at "
                               "least 2.0.0."]


def test_changes_are_listed_most_urgent_first() -> None:
    result = diff(edited(V1_TEXT, ("when: bladder_bowel_dysfunction or saddle_anaesthesia\n        next",
                                        "when: bladder_bowel_dysfunction\n        next"),
                         (RULE_7, "(age >= 50 and (not_improving")))
    order = ["emergency", "urgent_same_day", "urgent_mri_1_week", "suspected_cancer_pathway", "routine", "self_care"]
    ranks = [min(order.index(c.before), order.index(c.after)) for c in result.exhaustive.changes]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert result.exhaustive.changes[0].answers["saddle_anaesthesia"] == "yes"
    # 'changed': same disposition, another outcome (saddle anaesthesia with cancer now reaches suspected MSCC)
    assert {g["direction"] for g in result.exhaustive.summary()} == {"de-escalated", "escalated", "changed"}
    assert result.bump == "major"


def test_a_new_question_is_a_minor_bump() -> None:
    rigors = "  - id: rigors\n    type: boolean\n    question: Shaking chills?\n"
    text = edited(V1_TEXT,
                  ("  - id: fever\n    type: boolean\n", rigors + "  - id: fever\n    type: boolean\n"),
                  (RULE_4, "      - when: fever or rigors\n        next: suspected_spinal_infection"))
    result = diff(text)
    assert result.bump == "minor"
    assert any("New question 'rigors'" in reason for reason in result.reasons)
    assert {c.direction for c in result.exhaustive.changes} == {"escalated", "changed"}
    assert all(c.answers["rigors"] == "yes" for c in result.exhaustive.changes)


@pytest.mark.parametrize(("edit", "expected"), [
    (("    when: known_cancer\n    cites: [NG234, DOWNIE2013]",
      "    when: known_cancer and pain_progressive\n    cites: [NG234, DOWNIE2013]"), "no longer fires in 1 of 4"),
    (("    when: fever\n    cites: [CKS-LBP]", "    when: fever or significant_trauma\n    cites: [CKS-LBP]"),
     "fires in 1 more of 4"),
])
def test_red_flag_conditions_are_compared_over_their_answers(edit: tuple[str, str], expected: str) -> None:
    result = diff(edited(V1_TEXT, edit))
    assert any(expected in reason for reason in result.reasons), result.reasons
    assert result.bump == ("major" if "no longer" in expected else "minor")


def test_removing_a_red_flag_or_a_question_is_major() -> None:
    text = edited(V1_TEXT, ("  - id: fever\n    label: Fever — possible spinal infection\n    when: fever\n"
                                 "    cites: [CKS-LBP]\n", ""))
    result = diff(text)
    assert result.bump == "major" and any("Red flag 'fever'" in r for r in result.reasons)


def test_removed_enum_answers_are_major_and_not_compared() -> None:
    text = edited(MINI_TEXT, ("values: [cervical, thoracic, lumbar]", "values: [cervical, thoracic, lumbar, sacral]"))
    result = diff(text, MINI_TEXT)
    assert result.bump == "minor" and any("can now also be answered sacral" in r for r in result.reasons)
    assert any("sacral" in note for note in result.exhaustive.notes)
    assert diff(MINI_TEXT, text).bump == "major"


def test_a_version_number_too_small_for_the_change_is_warned_about() -> None:
    text = edited(V1_TEXT, ("version: 1.0.0", "version: 1.0.1"),
                  (RULE_4, "      - when: fever and age >= 30\n        next: suspected_spinal_infection"))
    assert diff(text).warnings == ["Version 1.0.1 does not follow from 1.0.0 with a major change: it should be at "
                                   "least 2.0.0."]


# --- behaviour: vignettes and every combination --------------------------------------------------

def test_vignettes_that_change_result_are_listed_with_direction() -> None:
    young_fever = Vignette.model_validate({"id": "young-fever", "inputs": {
        "age": 25, "fever": True, "known_cancer": False, "bladder_bowel_dysfunction": False,
        "saddle_anaesthesia": False, "limb_weakness": False, "difficulty_walking": False, "significant_trauma": False,
        "osteoporosis_or_steroids": False, "unexplained_weight_loss": False, "not_improving": False,
        "pain_severe_unremitting": False, "radicular_pain": False, "sensory_loss": False},
        "expect": {"disposition": "urgent_same_day"}})
    older_fever = Vignette.model_validate({"id": "older-fever", "inputs": young_fever.inputs | {"age": 45},
                                           "expect": {"disposition": "urgent_same_day"}})
    result = diff(edited(V1_TEXT, (RULE_4, "      - when: fever and age >= 30\n"
                                                "        next: suspected_spinal_infection")),
                  vignettes=[young_fever, older_fever])
    assert result.vignettes_run == 2
    [change] = result.vignettes
    assert (change.id, change.direction) == ("young-fever", "de-escalated")
    assert (change.before["disposition"], change.after["disposition"]) == ("urgent_same_day", "self_care")


@pytest.mark.parametrize("edits", [
    [("age >= 60", "age >= 50")],
    [("      - when: limb_weakness\n", "      - when: limb_weakness and known_cancer\n")],
    [("pain_site in ['thoracic', 'cervical'] or age >= 60", "pain_site == 'thoracic' or age > 70")],
])
def test_every_combination_agrees_with_brute_force(edits: list[tuple[str, str]]) -> None:
    """The lazy search and the merging of groups count exactly the combinations a full enumeration finds."""
    old, new = compiled(MINI_TEXT), compiled(edited(MINI_TEXT, *edits))
    result = diff_rulesets(old, new, []).exhaustive
    domains, _, _ = answer_domains(old.model, new.model)
    assert domains is not None
    names = result.inputs
    changed: dict[tuple[str, str], int] = {}
    for values in itertools.product(*(domains[n].values for n in names)):
        case = dict(zip(names, values, strict=True))
        before, after = evaluate(old, case, check=False), evaluate(new, case, check=False)
        if (before.disposition, before.outcome) != (after.disposition, after.outcome):
            key = (before.disposition, after.disposition)
            changed[key] = changed.get(key, 0) + 1
    assert result.total == len(list(itertools.product(*(domains[n].values for n in names))))
    assert {(g["before"], g["after"]): g["combinations"] for g in result.summary()} == changed


def test_every_integer_age_changes_as_the_groups_say() -> None:
    old, new = compiled(MINI_TEXT), compiled(edited(MINI_TEXT, ("age >= 60", "age >= 50")))
    result = diff_rulesets(old, new, []).exhaustive
    assert [c.answers["age"] for c in result.changes] == ["50 or over and under 60 years"]
    for age in range(16, 121):
        case = {"age": age, "known_cancer": True, "limb_weakness": False, "pain_site": "lumbar"}
        moved = evaluate(old, case).disposition != evaluate(new, case).disposition
        assert moved == (50 <= age < 60)


def test_numbers_compared_with_numbers_are_not_checked_and_say_so() -> None:
    onset = "  - id: onset_age\n    type: number\n    min: 0\n    max: 120\n    question: Age at onset?\n"
    base = edited(MINI_TEXT, ("  - id: known_cancer\n", onset + "  - id: known_cancer\n"),
                  ("or age >= 60)", "or age >= 60 or age > onset_age)"))
    result = diff(edited(base, ("age >= 60 or", "age >= 50 or")), base)
    assert not result.exhaustive.checked and "onset_age" in result.exhaustive.reason
    assert result.bump == "minor" and any("review it by hand" in r for r in result.reasons)


# --- versions on disk and the command line -------------------------------------------------------

def test_diff_versions_compares_the_last_release_with_the_draft(v1_copy: Path, signers: dict) -> None:
    released(v1_copy, signers)
    ruleset = v1_copy / "ruleset.yaml"
    ruleset.write_text(edited(ruleset.read_text(encoding="utf-8"), ("version: 1.0.0", "version: 1.1.0"),
                              (RULE_7, "(age >= 50 and (not_improving")), encoding="utf-8")
    result = diff_versions(v1_copy)
    assert (result.from_label, result.to_label) == ("release 1.0.0", "draft")
    assert result.bump == "minor" and result.warnings == []
    assert result.vignettes_run > 0


def test_cli_diff_json_and_exit_codes(v1_copy: Path, signers: dict) -> None:
    folder = str(v1_copy)
    assert run_cli("diff", folder).returncode == 2  # nothing released yet
    path = released(v1_copy, signers)
    ruleset = v1_copy / "ruleset.yaml"
    ruleset.write_text(edited(ruleset.read_text(encoding="utf-8"), ("version: 1.0.0", "version: 2.0.0"),
                              (RULE_4, "      - when: fever and age >= 30\n        next: suspected_spinal_infection")),
                       encoding="utf-8")
    done = run_cli("diff", folder, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["bump"]["suggested"] == "major" and data["bump"]["version"] == "2.0.0"
    assert data["from"] == {"label": "release 1.0.0", "version": "1.0.0"}
    assert data["structural"][0]["change"] == "branch condition changed"
    combos = data["behavioural"]["combinations"]
    assert combos["checked"] and combos["changes"][0]["direction"] == "de-escalated"
    text = run_cli("diff", folder, "--from", "1.0.0", "--to", "draft")
    assert text.returncode == 0 and "Suggested bump: major → 2.0.0" in text.stdout
    assert run_cli("diff", folder, "--from", "9.9.9").returncode == 2
    assert run_cli("diff", folder, "--to", "../../etc").returncode == 2
    path.write_text(path.read_text(encoding="utf-8").replace("Emergency", "Routine", 1), encoding="utf-8")
    tampered = run_cli("diff", folder)
    assert tampered.returncode == 1 and "WB906" in tampered.stdout


# --- any two versions: files, git revisions, and replaced questions ----------------------------------

def _git(folder: Path, *args: str) -> None:
    person = {"GIT_AUTHOR_NAME": "Dr Ada", "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Dr Ada",
              "GIT_COMMITTER_EMAIL": "ada@example.org"}
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                   env=person | {"PATH": os.environ["PATH"], "HOME": str(folder)})


def test_diff_compares_a_draft_with_a_file_and_with_a_git_revision(tmp_path: Path) -> None:
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "ruleset.yaml").write_text(MINI_TEXT, encoding="utf-8")
    _git(folder, "init", "-q")
    _git(folder, "add", "ruleset.yaml")
    _git(folder, "commit", "-q", "-m", "first version")
    (folder / "ruleset.yaml").write_text(edited(MINI_TEXT, ("version: 1.0.0", "version: 1.1.0"),
                                                ("age >= 60", "age >= 50")), encoding="utf-8")
    from_git, from_file = diff_versions(folder, "git:HEAD"), diff_versions(folder, str(MINI))
    assert (from_git.from_label, from_git.from_version, from_git.to_label) == ("git:HEAD", "1.0.0", "draft")
    assert from_file.from_label == f"file {MINI}"
    for result in (from_git, from_file):
        assert result.exhaustive.count("escalated") > 0 and result.exhaustive.count("de-escalated") == 0
        assert result.bump == "minor" and result.warnings == []
    with pytest.raises(ProblemError) as missing:
        diff_versions(folder, "git:no-such-revision")
    assert missing.value.problems[0].code == "WB722" and "no-such-revision" in missing.value.problems[0].message
    done = run_cli("diff", str(folder), "--from", "git:HEAD", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["from"] == {"label": "git:HEAD", "version": "1.0.0"}
    assert run_cli("diff", str(folder), "--from", "git:--output=/tmp/x").returncode == 2


def test_an_assumption_ties_a_replaced_question_to_its_successors() -> None:
    """v1 asked one injury question, v2 asks two; only cases where the answers agree are fairly compared."""
    injury = "  - id: injury\n    type: boolean\n    question: Injured?\n"
    both = ("  - id: major_injury\n    type: boolean\n    question: Badly injured?\n"
            "  - id: minor_injury\n    type: boolean\n    question: Knocked?\n")
    old_text = edited(MINI_TEXT, ("  - id: known_cancer\n", injury + "  - id: known_cancer\n"),
                      ("      - when: limb_weakness\n", "      - when: limb_weakness or injury\n"))
    new_text = edited(MINI_TEXT, ("version: 1.0.0", "version: 2.0.0"),
                      ("  - id: known_cancer\n", both + "  - id: known_cancer\n"),
                      ("      - when: limb_weakness\n",
                       "      - when: limb_weakness or major_injury or minor_injury\n"))
    old, new = compiled(old_text), compiled(new_text)
    free = diff_rulesets(old, new, [])
    assert free.exhaustive.count("de-escalated") > 0  # injury yes in v1, both no in v2: not a real patient
    tied = diff_rulesets(old, new, [], ["injury == (major_injury or minor_injury)"])
    assert tied.exhaustive.changed == 0 and tied.exhaustive.assumptions == ["injury == (major_injury or minor_injury)"]
    assert tied.exhaustive.total == free.exhaustive.total // 2  # of 8 injury answers, 4 agree
    with pytest.raises(ProblemError) as wrong:
        diff_rulesets(old, new, [], ["injury == (major_injury or minor_injry)"])
    assert wrong.value.problems[0].code == "WB302" and "did you mean 'minor_injury'" in wrong.value.problems[0].message
