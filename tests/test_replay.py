"""Replay checks every expectation, says precisely what differed, and measures coverage."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SHIPPED
from workbench.run.replay import replay_ruleset


def test_every_shipped_vignette_passes_with_full_coverage() -> None:
    report = replay_ruleset(SHIPPED / "ruleset.yaml")
    assert report.ok and len(report.results) >= 30 and report.failed == 0
    coverage = report.to_dict()["coverage"]
    assert coverage["nodes"]["uncovered"] == [] and coverage["branches"]["uncovered"] == []


def write_vignettes(folder: Path, body: str) -> Path:
    path = folder / "vignettes" / "extra.yaml"
    path.write_text("ruleset: upper-back-pain\nvignettes:\n" + body, encoding="utf-8")
    return path


def test_failure_says_what_differed_and_the_path(v1_copy: Path) -> None:
    path = write_vignettes(v1_copy, """
  - id: wrong-disposition
    inputs: {bladder_bowel_dysfunction: true, saddle_anaesthesia: false, known_cancer: true}
    expect: {disposition: routine, red_flags: [sphincter_disturbance]}
""")
    report = replay_ruleset(v1_copy / "ruleset.yaml", [path])
    (result,) = report.results
    assert not result.passed and result.line == 4
    assert result.differences[0].startswith("expected disposition 'routine', got 'emergency' via emergency_screen")
    assert result.differences[1] == "red flags differ: unexpected 'history_of_cancer'"


def test_needs_expectation_and_incomplete_results(v1_copy: Path) -> None:
    path = write_vignettes(v1_copy, """
  - id: asks-first-question
    inputs: {}
    expect: {needs: [bladder_bowel_dysfunction, saddle_anaesthesia]}
  - id: expects-complete-but-incomplete
    inputs: {}
    expect: {disposition: self_care}
""")
    asks, incomplete = replay_ruleset(v1_copy / "ruleset.yaml", [path]).results
    assert asks.passed and asks.actual["status"] == "needs_input"
    assert not incomplete.passed and "asking for 'bladder_bowel_dysfunction'" in incomplete.differences[0]


def test_vignette_with_bad_answers_fails_with_the_reason(v1_copy: Path) -> None:
    path = write_vignettes(v1_copy, """
  - id: bad-age
    inputs: {age: 300}
    expect: {disposition: self_care}
""")
    report = replay_ruleset(v1_copy / "ruleset.yaml", [path])
    assert not report.ok and "outside its range" in report.results[0].differences[0]
    assert any(p.code == "WB503" for p in report.problems)


def test_coverage_lists_what_no_vignette_reaches(v1_copy: Path) -> None:
    path = write_vignettes(v1_copy, """
  - id: only-one
    inputs: {bladder_bowel_dysfunction: true}
    expect: {disposition: emergency}
""")
    coverage = replay_ruleset(v1_copy / "ruleset.yaml", [path]).to_dict()["coverage"]
    assert coverage["nodes"]["covered"] == 2
    assert "emergency_screen else" in coverage["branches"]["uncovered"]
