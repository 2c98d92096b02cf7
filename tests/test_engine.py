"""evaluate() follows SPEC 3 and 5 exactly, through the public Python API of SPEC 6."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MINI, SHIPPED, V1
from workbench import InputError, RulesetError, evaluate, load_ruleset
from workbench.content.model import Ruleset
from workbench.run.engine import CompiledRuleset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from generate import generate_ruleset, random_cases  # noqa: E402

RS = load_ruleset(MINI)
UBP = load_ruleset(V1 / "ruleset.yaml")
SHIPPED_RULESET = load_ruleset(SHIPPED / "ruleset.yaml")


def test_result_is_exactly_spec_5_with_spec_3a() -> None:
    result = evaluate(RS, {"limb_weakness": True, "known_cancer": True})
    assert result.to_dict() == {"status": "complete", "outcome": "mscc", "disposition": "emergency",
                                "red_flags": ["history_of_cancer"], "path": ["neuro", "mscc"], "needs": [],
                                "unsure": [], "possible_red_flags": []}
    assert (result.status, result.outcome, result.disposition) == ("complete", "mscc", "emergency")


def test_false_branch_is_skipped_and_else_taken_when_all_false() -> None:
    result = evaluate(RS, {"limb_weakness": False, "known_cancer": False})
    assert result.path == ["neuro", "cancer", "home"] and result.disposition == "self_care"


def test_unknown_branch_stops_with_the_inputs_it_reads_in_declaration_order() -> None:
    result = evaluate(RS, {"limb_weakness": False, "known_cancer": True})
    assert result.to_dict() == {"status": "needs_input", "outcome": None, "disposition": None,
                                "red_flags": ["history_of_cancer"], "path": ["neuro", "cancer"],
                                "needs": ["age", "pain_site"], "unsure": [],
                                "possible_red_flags": []}


def test_kleene_short_circuit_needs_nothing_more() -> None:
    assert evaluate(RS, {"limb_weakness": False, "known_cancer": False}).status == "complete"
    assert evaluate(RS, {"limb_weakness": False, "known_cancer": True, "pain_site": "thoracic"}).outcome == "mets"


def test_unknown_red_flag_is_not_fired_and_fired_ones_keep_declaration_order() -> None:
    assert evaluate(RS, {"limb_weakness": True}).red_flags == []
    both = evaluate(RS, {"limb_weakness": True, "pain_site": "thoracic", "known_cancer": True})
    assert both.red_flags == ["history_of_cancer", "thoracic"]


def test_none_is_an_unknown_answer() -> None:
    assert evaluate(RS, {"limb_weakness": None}).needs == ["limb_weakness"]


@pytest.mark.parametrize("answers, words", [
    ({"limb_weakness": "yes"}, "takes true or false"),
    ({"age": 200}, "outside its range of 16 to 120 years"),
    ({"age": True}, "takes a number"),
    ({"pain_site": "thorasic"}, "did you mean 'thoracic'"),
    ({"limb_weaknes": True}, "did you mean 'limb_weakness'"),
])
def test_answers_that_do_not_fit_raise_input_error(answers: dict, words: str) -> None:
    with pytest.raises(InputError) as caught:
        evaluate(RS, answers)
    assert words in caught.value.problems[0].message


def test_load_ruleset_raises_with_problems(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(MINI.read_text().replace("next: mscc", "next: msc"), encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(bad)
    assert [p.code for p in caught.value.problems] == ["WB104", "WB202"]


ANSWERS = {
    "age": st.integers(16, 120) | st.floats(16, 120),
    "pain_site": st.sampled_from(["cervical", "thoracic", "lumbar"]),
}


def complete_case() -> st.SearchStrategy[dict]:
    fields = {spec.id: ANSWERS.get(spec.id, st.booleans()) for spec in UBP.model.inputs}
    return st.fixed_dictionaries(fields)


@settings(max_examples=400, deadline=None)
@given(complete_case())
def test_complete_inputs_never_need_input(case: dict) -> None:
    result = evaluate(UBP, case)
    assert result.status == "complete" and result.needs == [] and result.path[-1] == result.outcome


@settings(max_examples=400, deadline=None)
@given(complete_case(), st.data())
def test_an_answer_left_unknown_never_lowers_urgency(case: dict, data: st.DataObject) -> None:
    """A partial case that completes gives the same disposition as every completion of it."""
    hidden = data.draw(st.sets(st.sampled_from(sorted(case))))
    partial = {k: v for k, v in case.items() if k not in hidden}
    result = evaluate(UBP, partial)
    if result.status == "complete":
        assert evaluate(UBP, case).disposition == result.disposition
    else:
        assert result.needs and set(result.needs) <= hidden


def test_generated_700_node_ruleset_completes_every_complete_case() -> None:
    data = generate_ruleset()
    rs = CompiledRuleset(Ruleset.model_validate(data))
    for case in random_cases(data, 500):
        assert evaluate(rs, case).status == "complete"


# --- the compiled fast path for complete cases ----------------------------------------------------

def test_the_compiled_tree_gives_what_the_three_valued_walk_gives_on_every_kind_of_tree() -> None:
    """run/codegen.py turns the tree into nested ifs for complete cases; on generated trees that share nodes
    (as real ones do) and on random complete answers it must agree with the walk exactly: outcome, disposition,
    red flags and path."""
    from generate import generate_yaml

    from workbench.run.engine import _run
    from workbench.run.load import load_text

    for seed in range(6):
        data = generate_ruleset(nodes=120, red_flags=8, seed=seed)
        ruleset = load_text(generate_yaml(nodes=120, red_flags=8, seed=seed), "g.yaml").required()
        for case in random_cases(data, 400, seed=seed):
            assert ruleset.run_complete(case) == _run(ruleset, case, None), (seed, case)
            some = {k: v for i, (k, v) in enumerate(case.items()) if (i + seed) % 4}
            assert ruleset.run_partial(some) == _run(ruleset, some, None), (seed, some)
            assert ruleset.run_partial(case) == _run(ruleset, case, None), (seed, case)
            unknown = case | {k: None for k in list(case)[seed::7]}  # every key, some answers unknown
            assert evaluate(ruleset, unknown, check=False) == _run(ruleset, unknown, None) == evaluate(
                ruleset, unknown), (seed, unknown)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_compiled_tree_agrees_on_the_shipped_ruleset(data: st.DataObject) -> None:
    from workbench.run.engine import _run

    ruleset = SHIPPED_RULESET
    case = {spec.id: data.draw(st.sampled_from(ruleset.possible_values[spec.id])) for spec in ruleset.model.inputs}
    assert ruleset.run_complete(case) == _run(ruleset, case, None)
    unanswered = data.draw(st.sets(st.sampled_from(list(case))))
    some = {k: v for k, v in case.items() if k not in unanswered}
    assert ruleset.run_partial(some) == _run(ruleset, some, None)  # the compiled three-valued walk, the same
    assert evaluate(ruleset, case) == _run(ruleset, case, None)  # and evaluate takes that path for it
