"""Every limit, at the limit (accepted) and just over it (refused with its code and a sentence saying the limit):
file size, YAML depth and value count, text length, node count, condition length and depth, vignettes per file,
and the API's request body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.asgi_support import call
from tests.downstream_support import KEYRING, shipped_data, write_release
from workbench.api import MAX_BODY_BYTES, create_app
from workbench.content.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, read_text, read_yaml
from workbench.content.model import BooleanInput, NumberInput
from workbench.content.validate import MAX_NODES, MAX_VIGNETTES, validate_ruleset_text, validate_vignettes_text
from workbench.expr import compile_condition
from workbench.expr.syntax import MAX_DEPTH as EXPR_DEPTH
from workbench.expr.syntax import MAX_LENGTH as EXPR_LENGTH
from workbench.run.engine import CompiledRuleset, evaluate


def codes(problems: list) -> set[str]:
    return {p.code for p in problems}


def padded(text: str, size: int) -> str:
    """`text` with a comment that brings it to exactly `size` bytes."""
    filler = size - len(text.encode("utf-8")) - 3
    assert filler >= 0
    return text + "#" + "x" * filler + "\n\n"


# --- the file ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "refused"), [(MAX_FILE_BYTES, False), (MAX_FILE_BYTES + 1, True)])
def test_file_size_limit(mini_text: str, tmp_path: Path, size: int, refused: bool) -> None:
    text = padded(mini_text, size)
    assert len(text.encode("utf-8")) == size
    report = validate_ruleset_text(text, "big.yaml")
    assert ("WB001" in codes(report.problems)) is refused and report.ok is not refused
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    content, problems = read_text(path)
    assert (content is None) is refused and codes(problems) == ({"WB001"} if refused else set())
    if refused:
        assert f"{MAX_FILE_BYTES:,}" in problems[0].message


@pytest.mark.parametrize(("depth", "refused"), [(MAX_DEPTH, False), (MAX_DEPTH + 1, True)])
def test_yaml_nesting_limit(depth: int, refused: bool) -> None:
    document, problems = read_yaml("[" * depth + "]" * depth)
    assert (document is None) is refused and codes(problems) == ({"WB007"} if refused else set())


@pytest.mark.parametrize(("count", "refused"), [(MAX_VALUES - 1, False), (MAX_VALUES, True)])
def test_yaml_value_count_limit(count: int, refused: bool) -> None:
    """The list itself is one value, so MAX_VALUES - 1 items make exactly MAX_VALUES values."""
    document, problems = read_yaml("[" + "0," * count + "]")
    assert (document is None) is refused and codes(problems) == ({"WB007"} if refused else set())


@pytest.mark.parametrize(("length", "refused"), [(5000, False), (5001, True)])
def test_text_length_limit(mini_text: str, length: int, refused: bool) -> None:
    report = validate_ruleset_text(mini_text.replace("title: Mini back pain", f"title: {'x' * length}", 1))
    assert report.ok is not refused
    if refused:
        assert codes(report.problems) == {"WB014"} and "5000 characters" in report.problems[0].message


# --- the tree ---------------------------------------------------------------------------------

def chain(nodes: int) -> str:
    """A valid ruleset of exactly `nodes` nodes: decisions in a row, each able to end at the one outcome."""
    lines = ["id: big", "version: 1.0.0", "title: Big", "dispositions: [{id: done, label: Done}]",
             "inputs: [{id: flag, type: boolean, question: Flag}]", "start: d1", "nodes:"]
    for i in range(1, nodes):
        after = f"d{i + 1}" if i + 1 < nodes else "out"
        lines.append(f"  - {{id: d{i}, kind: decision, title: Step {i}, branches: [{{when: flag, next: out}}], "
                     f"else: {after}}}")
    lines.append("  - {id: out, kind: outcome, title: Out, disposition: done}")
    return "\n".join(lines) + "\n"


def test_node_limit_accepts_exactly_max_nodes_and_evaluates_the_whole_path() -> None:
    report = validate_ruleset_text(chain(MAX_NODES))
    assert report.ok and len(report.model.nodes) == MAX_NODES
    result = evaluate(CompiledRuleset(report.model), {"flag": False})
    assert result.status == "complete" and len(result.path) == MAX_NODES


def test_node_limit_refuses_one_more_node() -> None:
    report = validate_ruleset_text(chain(MAX_NODES + 1))
    assert not report.ok and codes(report.problems) == {"WB1010"}
    assert f"{MAX_NODES + 1:,} nodes; the limit is {MAX_NODES:,}" in report.problems[0].message


# --- conditions -------------------------------------------------------------------------------

INPUTS = {"flag": BooleanInput(id="flag", type="boolean", question="Flag?")}


@pytest.mark.parametrize(("length", "refused"), [(EXPR_LENGTH, False), (EXPR_LENGTH + 1, True)])
def test_condition_length_limit(mini_text: str, length: int, refused: bool) -> None:
    compiled, issues = compile_condition("flag".ljust(length), INPUTS)
    assert (compiled is None) is refused and codes(issues) == ({"WB307"} if refused else set())
    condition = "known_cancer".ljust(length)
    report = validate_ruleset_text(mini_text.replace("when: known_cancer\n", f"when: '{condition}'\n", 1))
    assert report.ok is not refused
    if refused:  # the model's own limit speaks first, naming the same number
        assert codes(report.problems) == {"WB014"} and f"{EXPR_LENGTH} characters" in report.problems[0].message


@pytest.mark.parametrize("shape", ["({})", "not {}"])
@pytest.mark.parametrize(("depth", "refused"), [(EXPR_DEPTH - 1, False), (EXPR_DEPTH, True)])
def test_condition_nesting_limit(mini_text: str, shape: str, depth: int, refused: bool) -> None:
    """`depth` brackets (or nots) around a name: with the condition itself, MAX_DEPTH levels are allowed."""
    condition = "known_cancer"
    for _ in range(depth):
        condition = shape.format(condition)
    report = validate_ruleset_text(mini_text.replace("when: known_cancer\n", f"when: '{condition}'\n", 1))
    assert report.ok is not refused
    if refused:
        assert codes(report.problems) == {"WB307"} and f"more than {EXPR_DEPTH} levels" in report.problems[0].message


# --- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("bound", "refused"), [
    ("1000000000000000", False), ("1000000000000001", True),
    (".inf", True), ("-.inf", True), (".nan", True), ("1.0e+400", True), ("9" * 4000, True)])
def test_number_bounds_are_finite_and_within_a_clinical_range(mini_text: str, bound: str, refused: bool) -> None:
    """LARGEST is where JSON numbers stop being exact in most languages; past it a bound is a slip, not a rule."""
    text = mini_text.replace("max: 120", f"max: {bound}", 1).replace("min: 16", "min: -1000000000000000", 1)
    report = validate_ruleset_text(text)
    assert report.ok is not refused, [str(p) for p in report.problems]
    if refused:
        refusal = next(p for p in report.problems if p.code == "WB1035")  # -.inf is also below min: said too
        assert refusal.line == 19 and "not a finite number a clinical value could take" in refusal.message


@pytest.mark.parametrize(("literal", "refused"), [("1000000000000000", False), ("1000000000000001", True),
                                                  ("9" * 400, True), ("0.000000000000001", False)])
def test_condition_numbers_past_the_clinical_range_are_refused(literal: str, refused: bool) -> None:
    ages = {"age": NumberInput(id="age", type="number", question="Age?")}
    compiled, issues = compile_condition(f"age < {literal}", ages)
    assert (compiled is None) is refused and codes(issues) == ({"WB1035"} if refused else set())


@pytest.mark.parametrize(("tagged", "words"), [("!!bool maybe", "true or false"), ("!!int ''", "a whole number"),
                                               ("!!float twelve", "a number"), ("!!int 0x", "a whole number")])
def test_a_tagged_value_that_cannot_be_read_is_a_problem_at_its_line(mini_text: str, tagged: str, words: str) -> None:
    report = validate_ruleset_text(mini_text.replace("max: 120", f"max: {tagged}", 1), "tagged.yaml")
    assert codes(report.problems) == {"WB012"}, [str(p) for p in report.problems]
    assert (report.problems[0].file, report.problems[0].line) == ("tagged.yaml", 19)
    assert f"cannot be read as {words}" in report.problems[0].message


# --- vignettes --------------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "refused"), [(MAX_VIGNETTES, False), (MAX_VIGNETTES + 1, True)])
def test_vignettes_per_file_limit(mini_text: str, count: int, refused: bool) -> None:
    ruleset = validate_ruleset_text(mini_text).model
    lines = ["ruleset: mini", "vignettes:"] + [
        f"  - {{id: case-{i}, inputs: {{limb_weakness: true}}, expect: {{disposition: emergency}}}}"
        for i in range(count)]
    report = validate_vignettes_text("\n".join(lines) + "\n", "cases.yaml", ruleset)
    assert report.ok is not refused and codes(report.problems) == ({"WB1011"} if refused else set())
    if refused:
        assert f"limit is {MAX_VIGNETTES:,}" in report.problems[0].message


# --- the API ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("limits")
    write_release(root, shipped_data())
    return create_app(root, KEYRING)


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY_BYTES, 200), (MAX_BODY_BYTES + 1, 413)])
def test_request_body_limit(app: Any, size: int, status: int) -> None:
    body = json.dumps({"inputs": {"age": 62, "known_cancer": True}}).encode()
    body += b" " * (size - len(body))  # JSON allows trailing white space
    assert len(body) == size
    got, headers, answer = call(app, "POST", "/rulesets/upper-back-pain/versions/1.0.0/evaluate", body)
    assert got == status, answer
    if status == 413:
        assert headers["content-type"] == "application/problem+json"
        assert f"{MAX_BODY_BYTES:,} bytes" in json.loads(answer)["detail"]
    else:
        assert json.loads(answer)["status"] == "needs_input"
