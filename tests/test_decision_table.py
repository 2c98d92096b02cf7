"""Rules as a table: a decision's branches read as rows and written back without losing a comment or the layout."""

from __future__ import annotations

import difflib

import pytest

from tests.conftest import ROOT, V1
from workbench.content.decision_table import Row, TableError, rows, with_rows
from workbench.content.validate import validate_ruleset_text

TEXT = (V1 / "ruleset.yaml").read_text(encoding="utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_the_rows_are_the_branches_in_order_then_otherwise():
    table = rows(TEXT, "emergency_screen")
    assert [r.next for r in table] == ["suspected_cauda_equina_or_cord_compression", "suspected_mscc",
                                      "suspected_cord_compression", "same_day_screen"]
    assert table[0].when == "bladder_bowel_dysfunction or saddle_anaesthesia" and table[-1].when is None
    assert table[0].label == "Rule 1 — sphincter or saddle symptoms" and table[0].source == 0


@pytest.mark.parametrize("path", [V1 / "ruleset.yaml", ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml",
                                  ROOT / "tests" / "fixtures" / "mini.yaml"])
def test_writing_the_table_back_unchanged_changes_nothing(path):
    text = path.read_text(encoding="utf-8")
    result = validate_ruleset_text(text)
    for node in [n for n in result.model.nodes if n.kind == "decision"][:3]:
        assert with_rows(text, node.id, rows(text, node.id)) == text


def test_editing_one_row_changes_only_its_line_and_keeps_every_comment():
    table = rows(TEXT, "emergency_screen")
    table[1] = Row("known_cancer and (radicular_pain or limb_weakness)", table[1].next, table[1].label, 1)
    after = with_rows(TEXT, "emergency_screen", table)
    assert changed_lines(TEXT, after) == [
        "-      - when: known_cancer and (radicular_pain or limb_weakness or difficulty_walking or sensory_loss)",
        "+      - when: known_cancer and (radicular_pain or limb_weakness)"]
    assert validate_ruleset_text(after).ok


def test_add_delete_and_move_rows_and_change_otherwise_keeping_comments_with_their_rows():
    table = rows(TEXT, "emergency_screen")
    rule1, rule2, rule3, otherwise = table
    new = Row("age >= 90", "suspected_mscc", "Rule 0 — the very old")
    after = with_rows(TEXT, "emergency_screen", [new, rule3, rule1, Row(None, "metastases_screen")])
    assert validate_ruleset_text(after).model is not None
    lines = after.splitlines()
    start = lines.index("  - id: emergency_screen")
    block = "\n".join(lines[start:start + 30])
    assert block.index("when: age >= 90") < block.index("when: limb_weakness or difficulty_walking") \
        < block.index("when: bladder_bowel_dysfunction or saddle_anaesthesia")
    assert "    else: metastases_screen" in lines and "when: known_cancer and (radicular_pain" not in block
    comment = "# Rule 1 — CKS Back pain - low / CKS Sciatica: red flags for cauda equina syndrome (sphincter"
    assert comment in after  # a comment of a kept row is never lost
    assert rows(after, "emergency_screen")[0] == Row("age >= 90", "suspected_mscc", "Rule 0 — the very old", 0)
    # everything outside the node is byte for byte as it was
    end = next(i for i in range(start + 1, len(TEXT.splitlines())) if TEXT.splitlines()[i].startswith("  - id:"))
    tail = "\n".join(TEXT.splitlines()[end:])
    assert after.endswith(tail + ("\n" if TEXT.endswith("\n") else ""))


@pytest.mark.parametrize("table, words", [
    ([Row("fever", "x")], "otherwise"),
    ([Row("", "x"), Row(None, "y")], "needs both a condition"),
])
def test_an_incomplete_table_is_refused_in_words(table, words):
    with pytest.raises(TableError) as refused:
        with_rows(TEXT, "emergency_screen", table)
    assert words in refused.value.problems[0].message


def test_broken_yaml_or_an_unknown_node_is_refused_in_words():
    with pytest.raises(TableError):
        rows(TEXT + "\n  bad: [", "emergency_screen")
    with pytest.raises(TableError):
        rows(TEXT, "no_such_node")
