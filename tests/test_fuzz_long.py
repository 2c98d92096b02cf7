"""Fuzzing that can run long: the loader, vignettes, conditions and evaluation with random answers.

Each property runs WORKBENCH_FUZZ_EXAMPLES examples (default 200, so CI stays fast); a long run is
`WORKBENCH_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz_long.py`. Whatever the input, the core
answers with problems from the catalogue or a result that keeps SPEC 5's promises, never with an exception.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import V1
from workbench import load_ruleset
from workbench.content.model import BooleanInput, EnumInput, NumberInput
from workbench.content.validate import validate_ruleset_text, validate_vignettes_text
from workbench.drawing.graph import to_dot
from workbench.expr import compile_condition
from workbench.problems import CODES, Problem
from workbench.publish.canonical import ruleset_data
from workbench.run.engine import CompiledRuleset, InputError, evaluate
from workbench.run.replay import check_vignette

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

UBP = load_ruleset(V1 / "ruleset.yaml")
MODEL = UBP.model
DATA = ruleset_data(MODEL)
IDS = sorted({item.id for section in (MODEL.nodes, MODEL.inputs, MODEL.red_flags, MODEL.dispositions)
              for item in section})

SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from(IDS + ["../x", "a/b", "<script>", "\x1b[2J", "\u202e", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8) | st.sampled_from(["id", "when", "next", "else", "kind", "type"]), inner, max_size=3),
    max_leaves=8)


def well_formed(problems: list[Problem], file: str | None) -> None:
    for problem in problems:
        assert problem.code in CODES and problem.message
        if file is not None and problem.file == file:
            assert problem.line is None or problem.line >= 1


def answer_for(spec: Any) -> st.SearchStrategy[Any]:
    """A fitting answer, unknown (None), or anything at all."""
    if isinstance(spec, BooleanInput):
        fitting: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(spec, NumberInput):
        fitting = st.integers(-5, 200) | st.floats(-5, 200)
    else:
        assert isinstance(spec, EnumInput)
        fitting = st.sampled_from(spec.values)
    return st.one_of(fitting, fitting, fitting, st.none(), SCALARS)


def answers_for(ruleset: CompiledRuleset) -> st.SearchStrategy[dict[str, Any]]:
    specs = list(ruleset.model.inputs)
    return st.builds(lambda chosen, values, extra: {**{s.id: values[i] for i, s in enumerate(specs) if chosen[i]},
                                                    **extra},
                     st.lists(st.booleans(), min_size=len(specs), max_size=len(specs)),
                     st.tuples(*(answer_for(s) for s in specs)),
                     st.dictionaries(st.text(max_size=6), SCALARS, max_size=1))


def check_result(ruleset: CompiledRuleset, answers: dict[str, Any]) -> None:
    """Either the answers are refused with WB601 problems, or the result keeps SPEC 5's promises."""
    model = ruleset.model
    try:
        result = evaluate(ruleset, answers)
    except InputError as exc:
        assert exc.problems and {p.code for p in exc.problems} == {"WB601"}
        return
    flags = [f.id for f in model.red_flags]
    assert result.red_flags == [f for f in flags if f in result.red_flags]
    assert result.path and result.path[0] == model.start
    if result.status == "complete":
        assert result.outcome == result.path[-1] and not result.needs
        assert result.disposition in {d.id for d in model.dispositions}
    else:
        assert result.status == "needs_input" and result.outcome is None and result.disposition is None
        assert result.needs and set(result.needs) <= set(ruleset.inputs)
        assert all(answers.get(need) is None for need in result.needs)


# --- the loader and validator on mutated rulesets --------------------------------------------

def mutate(data: Any, draw: Any, depth: int = 0) -> Any:
    """The data with one random change somewhere inside: a field removed, replaced, or a list item repeated."""
    if isinstance(data, dict) and data and depth < 6 and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(data)))
        return {**data, key: mutate(data[key], draw, depth + 1)}
    if isinstance(data, list) and data and depth < 6 and draw(st.booleans()):
        i = draw(st.integers(0, len(data) - 1))
        return [*data[:i], mutate(data[i], draw, depth + 1), *data[i + 1:]]
    action = draw(st.sampled_from(["replace", "drop", "repeat", "id"]))
    if action == "drop" and isinstance(data, dict) and data:
        key = draw(st.sampled_from(sorted(data)))
        return {k: v for k, v in data.items() if k != key}
    if action == "repeat" and isinstance(data, list) and data:
        return [*data, data[draw(st.integers(0, len(data) - 1))]]
    if action == "id":
        return draw(st.sampled_from(IDS))
    return draw(VALUES)


@FUZZ
@given(st.data())
def test_mutated_rulesets_give_problems_or_a_ruleset_that_evaluates(data: st.DataObject) -> None:
    changed = DATA
    for _ in range(data.draw(st.integers(1, 4))):
        changed = mutate(changed, data.draw)
    text = yaml.safe_dump(changed, allow_unicode=True, sort_keys=False)
    report = validate_ruleset_text(text, "fuzz.yaml")
    well_formed(report.problems, "fuzz.yaml")
    if report.ok:
        ruleset = CompiledRuleset(report.model, "fuzz.yaml")
        to_dot(ruleset)
        for _ in range(3):
            check_result(ruleset, data.draw(answers_for(ruleset)))


PIECES = st.sampled_from(["id: x\n", "nodes:\n", "  - ", "&a ", "*a ", "!!python/object:os.system ", "{", "}", "[",
                          "]", ": ", "- ", "'", '"', "\\", "\t", "\n", "#", "---\n", "? ", "<<: ", "\x1b", "\u202e",
                          "\ufeff", "9" * 30, "1e309", "when: a and (", "kind: decision\n", "else: x\n"])


@FUZZ
@given(st.lists(PIECES | st.text(max_size=10), max_size=60).map("".join))
def test_any_text_gives_problems_never_an_exception(text: str) -> None:
    for report in (validate_ruleset_text(text, "f.yaml"), validate_vignettes_text(text, "f.yaml", MODEL)):
        well_formed(report.problems, "f.yaml")


# --- vignettes --------------------------------------------------------------------------------

EXPECT = st.fixed_dictionaries({}, optional={
    "disposition": st.sampled_from([d.id for d in MODEL.dispositions]) | SCALARS,
    "outcome": st.sampled_from([n.id for n in MODEL.nodes]) | SCALARS,
    "red_flags": st.lists(st.sampled_from([f.id for f in MODEL.red_flags]) | SCALARS, max_size=3),
    "needs": st.lists(st.sampled_from([i.id for i in MODEL.inputs]) | SCALARS, max_size=3)})
VIGNETTE = st.fixed_dictionaries(
    {"id": st.sampled_from(["case-1", "case-2", "Bad Id", "../x"]) | st.text(max_size=8), "expect": EXPECT,
     "inputs": answers_for(UBP) | st.dictionaries(st.text(max_size=6), SCALARS, max_size=3)},
    optional={"narrative": SCALARS, "extra": SCALARS})


@FUZZ
@given(st.lists(VIGNETTE, max_size=5), st.sampled_from(["upper-back-pain", "other-one", "../x"]))
def test_random_vignettes_give_problems_or_replay(vignettes: list[dict[str, Any]], ruleset_id: str) -> None:
    text = yaml.safe_dump({"ruleset": ruleset_id, "vignettes": vignettes}, allow_unicode=True)
    report = validate_vignettes_text(text, "cases.yaml", MODEL)
    well_formed(report.problems, "cases.yaml")
    if report.ok:
        for vignette in report.model.vignettes:
            result, _ = check_vignette(UBP, vignette)
            assert result.passed in (True, False)


# --- conditions -------------------------------------------------------------------------------

ATOM = st.sampled_from([i.id for i in MODEL.inputs] + ["true", "false", "60", "-1", "2.5", "'thoracic'", "'x'",
                                                       "['cervical', 'lumbar']", "unknown_input", "[]"])
EXPRESSION = st.recursive(ATOM, lambda inner: st.one_of(
    st.builds("not {}".format, inner), st.builds("({})".format, inner),
    st.builds("{} {} {}".format, inner, st.sampled_from(["and", "or", "==", "!=", "<", "<=", ">", ">=", "in",
                                                         "not in"]), inner)), max_leaves=12)


def kleene_not(value: bool | None) -> bool | None:
    return None if value is None else not value


@FUZZ
@given(EXPRESSION, st.lists(st.sampled_from(list("()[]'=<>!, ")) | ATOM, max_size=3), st.data())
def test_conditions_compile_or_explain_and_negation_is_three_valued(text: str, noise: list[str],
                                                                    data: st.DataObject) -> None:
    for candidate in (text, text + " " + " ".join(noise), " ".join(noise) + " " + text):
        condition, issues = compile_condition(candidate, UBP.inputs)
        assert all(issue.code in CODES for issue in issues)
        assert condition is not None or any(issue.severity == "error" for issue in issues)
    condition, _ = compile_condition(text, UBP.inputs)
    negated, _ = compile_condition(f"not ({text})", UBP.inputs)
    if condition is None or negated is None:
        return
    case = {key: value for key, value in data.draw(answers_for(UBP)).items()
            if key in UBP.inputs and not UBP.case_problems({key: value})}
    value = condition.predicate(case)
    assert value in (True, False, None)
    assert negated.predicate(case) == kleene_not(value)


# --- evaluation -------------------------------------------------------------------------------

@FUZZ
@given(answers_for(UBP))
def test_any_answers_give_a_spec_result_or_wb601(answers: dict[str, Any]) -> None:
    check_result(UBP, answers)
