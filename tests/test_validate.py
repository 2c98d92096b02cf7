"""The validator enforces SPEC 2, each problem with a stable code, clinical words and the right line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHIPPED
from workbench.content.sources import validate_paths
from workbench.content.validate import validate_ruleset_text


def problems(text: str) -> list[tuple[str, str, int | None, str]]:
    return [(p.code, p.severity, p.line, p.message) for p in validate_ruleset_text(text, "r.yaml").problems]


def codes(text: str) -> set[str]:
    return {p[0] for p in problems(text)}


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_shipped_ruleset_is_clean() -> None:
    text = (SHIPPED / "ruleset.yaml").read_text(encoding="utf-8")
    assert problems(text) == []


def test_mini_fixture_is_clean(mini_text: str) -> None:
    assert problems(mini_text) == []


def test_dangling_next_names_the_near_miss_at_its_line(mini_text: str) -> None:
    text = mini_text.replace("next: mscc", "next: msc")
    found = problems(text)
    assert ("WB104", "error", line_of(text, "next: msc"),
            "Branch 1 of 'neuro' goes to 'msc', which is not a node — did you mean 'mscc'?") in found


def test_enum_typo_names_the_allowed_values(mini_text: str) -> None:
    text = mini_text.replace("when: pain_site == 'thoracic'", "when: pain_site == 'thorasic'")
    (code, severity, line, message), = [p for p in problems(text) if p[0] == "WB304"]
    assert line == line_of(text, "thorasic")
    assert "'cervical', 'thoracic', 'lumbar'" in message and "red flag 'thoracic'" in message


@pytest.mark.parametrize("old, new, code", [
    ("start: neuro", "start: nuero", "WB102"),
    ("    else: home", "    else: hom", "WB104"),
    ("    disposition: urgent\n", "    disposition: urgnet\n", "WB105"),
    ("    cites: [NG234]\n  - id: thoracic", "    cites: [NG999]\n  - id: thoracic", "WB106"),
    ("  - id: mets\n", "  - id: mscc\n", "WB101"),
    ("    else: home", "    else: neuro", "WB201"),
    ("      - when: limb_weakness\n        next: mscc", "      - when: limb_weakness\n        next: home", "WB202"),
    ("when: known_cancer and", "when: known_cancr and", "WB302"),
    ("age >= 60", "age >= 600", "WB305"),
    ("age >= 60", "age >= 'sixty'", "WB303"),
    ("when: limb_weakness\n", "when: limb_weakness and\n", "WB301"),
    ("    min: 16\n    max: 120", "    min: 130\n    max: 120", "WB107"),
    ("  - id: known_cancer", "  - id: known-cancer", "WB013"),
])
def test_each_rule_has_its_code(mini_text: str, old: str, new: str, code: str) -> None:
    assert old in mini_text
    assert code in codes(mini_text.replace(old, new))


def test_cycle_message_shows_the_loop(mini_text: str) -> None:
    text = mini_text.replace("    else: home", "    else: neuro")
    message = next(p[3] for p in problems(text) if p[0] == "WB201")
    assert "neuro → cancer → neuro" in message


@pytest.mark.parametrize("old, new, code", [
    ("  - id: limb_weakness\n    type: boolean\n    question: Weakness?\n",
     "  - id: limb_weakness\n    type: boolean\n    question: Weakness?\n"
     "  - id: fever\n    type: boolean\n    question: Fever?\n",
     "WB401"),
    ("    when: known_cancer\n    cites: [NG234]", "    when: known_cancer", "WB402"),
    ("        next: mscc\n", "        next: mscc\n      - when: limb_weakness\n        next: home\n", "WB403"),
    ("  - id: urgent\n    label: Urgent\n", "  - id: urgent\n    label: Urgent\n  - id: routine\n    label: Routine\n",
     "WB404"),
    ("    title: NICE NG234\n", "    title: NICE NG234\n  - id: NG12\n    title: NICE NG12\n", "WB405"),
])
def test_suspicious_content_is_a_warning(mini_text: str, old: str, new: str, code: str) -> None:
    assert old in mini_text
    found = [p for p in problems(mini_text.replace(old, new)) if p[0] == code]
    assert found and all(p[1] == "warning" for p in found)


def test_expression_error_column_points_inside_the_condition(mini_text: str) -> None:
    text = mini_text.replace("when: limb_weakness\n", "when: limb_weakness && known_cancer\n")
    problem = next(p for p in validate_ruleset_text(text, "r.yaml").problems if p.code == "WB301")
    line = text.splitlines()[problem.line - 1]
    assert line[problem.column - 1] == "&"


def test_count_misuse_is_reported_at_its_line_and_column(mini_text: str) -> None:
    text = mini_text.replace("      - when: limb_weakness\n", "      - when: count(limb_weakness, age) >= 1\n")
    problem = next(p for p in validate_ruleset_text(text, "r.yaml").problems if p.code == "WB306")
    line = text.splitlines()[problem.line - 1]
    assert "count(limb_weakness, age)" in line and line[problem.column - 1:].startswith("age")
    assert "count(...) counts yes/no conditions, but 'age' is a number" in problem.message


@pytest.mark.parametrize("unsure, code, words", [
    ("[known_cancr]", "WB502", "did you mean 'known_cancer'"),
    ("[limb_weakness]", "WB503", "both answers 'limb_weakness' and is unsure about it"),
])
def test_vignette_unsure_ids_are_checked(mini_text: str, tmp_path: Path, unsure: str, code: str, words: str) -> None:
    (tmp_path / "ruleset.yaml").write_text(mini_text, encoding="utf-8")
    vignettes = tmp_path / "vignettes.yaml"
    vignettes.write_text("ruleset: mini\nvignettes:\n  - id: not-sure\n    inputs: {limb_weakness: false}\n"
                         f"    unsure: {unsure}\n    expect: {{disposition: urgent}}\n", encoding="utf-8")
    problems = [p for p in validate_paths([tmp_path / "ruleset.yaml", vignettes]) if p.file == str(vignettes)]
    assert [(p.code, p.line) for p in problems] == [(code, 5)] and words in problems[0].message
