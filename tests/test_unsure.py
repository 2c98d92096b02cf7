"""Unsure answers (SPEC 3a): the most urgent disposition over every value an unsure input could take, exactly."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MINI, run_json
from tests.test_verify import compiled, small_rulesets
from workbench import InputError, evaluate, load_ruleset
from workbench.run.engine import CompiledRuleset

RS = load_ruleset(MINI)


def by_the_spec(rs: CompiledRuleset, answers: dict[str, Any], unsure: list[str]) -> dict[str, Any]:
    """SPEC 3a read literally: evaluate every completion of the unsure inputs and combine them."""
    rank = {d.id: i for i, d in enumerate(rs.model.dispositions)}
    completions = [answers | dict(zip(unsure, values, strict=True))
                   for values in itertools.product(*(rs.possible_values[i] for i in unsure))]
    results = [evaluate(rs, case) for case in completions]
    complete = [r for r in results if r.status == "complete"]
    best = min(complete, key=lambda r: rank[r.disposition], default=None)
    order = [spec.id for spec in rs.model.inputs]
    if best is not None and (len(complete) == len(results) or rank[best.disposition] == 0):
        return {"status": "complete", "disposition": best.disposition,
                "outcomes": {r.outcome for r in complete if r.disposition == best.disposition}}
    needs = {i for r in results if r.status == "needs_input" for i in r.needs}
    return {"status": "needs_input", "needs": [i for i in order if i in needs]}


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    data = draw(small_rulesets())
    rs = compiled(data)
    answers: dict[str, Any] = {}
    unsure: list[str] = []
    for spec in rs.model.inputs:
        how = draw(st.sampled_from(["answer", "answer", "unknown", "unsure"]))
        if how == "answer":
            answers[spec.id] = draw(st.sampled_from(rs.possible_values[spec.id]))
        elif how == "unsure":
            unsure.append(spec.id)
    return data, answers, unsure


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_unsure_gives_what_evaluating_every_completion_gives(drawn: tuple[dict[str, Any], dict[str, Any],
                                                                          list[str]]) -> None:
    data, answers, unsure = drawn
    rs = compiled(data)
    result = evaluate(rs, answers, unsure=list(reversed(unsure)))
    expected = by_the_spec(rs, answers, unsure)
    assert result.status == expected["status"]
    assert result.unsure == unsure  # declaration order, whatever order they were given in
    assert result.red_flags == evaluate(rs, answers).red_flags  # red flags fire on known answers only
    flag_order = [flag.id for flag in rs.model.red_flags]
    assert not set(result.possible_red_flags) & set(result.red_flags)  # possible: not fired on the known answers
    assert result.possible_red_flags == [f for f in flag_order if f in result.possible_red_flags]
    for flag in rs.model.red_flags:
        if flag.id in result.possible_red_flags:  # hidden by an unsure answer its condition reads
            assert set(rs.condition(flag.when).reads) & set(unsure), flag.id
    if result.status == "complete":
        assert result.disposition == expected["disposition"]
        assert result.outcome in expected["outcomes"]
        assert result.path[-1] == result.outcome and result.needs == []
        completions = [evaluate(rs, answers | dict(zip(unsure, values, strict=True)))
                       for values in itertools.product(*(rs.possible_values[i] for i in unsure))]
        assert any(c.path == result.path and set(result.possible_red_flags) <= set(c.red_flags)
                   for c in completions), "the possible red flags are those of a completion the result reports"
    else:
        assert result.needs == expected["needs"]
        assert result.outcome is None and result.disposition is None


def test_unsure_is_never_safer_than_either_answer() -> None:
    rank = {d.id: i for i, d in enumerate(RS.model.dispositions)}
    for known_cancer, weak, site, age in itertools.product([True, False], [True, False],
                                                           ["cervical", "thoracic", "lumbar"], [30, 60, 80]):
        case = {"known_cancer": known_cancer, "limb_weakness": weak, "pain_site": site, "age": age}
        for input_id in case:
            without = {k: v for k, v in case.items() if k != input_id}
            unsure = evaluate(RS, without, unsure=[input_id])
            assert unsure.status == "complete"
            assert rank[unsure.disposition] <= rank[evaluate(RS, case).disposition], (case, input_id)


def test_an_unsure_age_is_taken_at_its_most_dangerous_region() -> None:
    """'age >= 60' decides: an unsure age must be tried on both sides of 60, not at one sampled value."""
    result = evaluate(RS, {"limb_weakness": False, "known_cancer": True, "pain_site": "lumbar"}, unsure=["age"])
    assert (result.status, result.disposition, result.outcome) == ("complete", "urgent", "mets")
    assert result.to_dict()["unsure"] == ["age"]


def test_a_complete_most_urgent_completion_wins_over_open_questions() -> None:
    result = evaluate(RS, {}, unsure=["limb_weakness"])
    assert (result.status, result.disposition) == ("complete", "emergency")  # weakness yes: emergency, whatever else


def test_open_questions_are_asked_when_no_completion_is_most_urgent() -> None:
    result = evaluate(RS, {"limb_weakness": False}, unsure=["known_cancer"])
    assert result.status == "needs_input" and result.needs == ["age", "pain_site"]
    assert result.red_flags == [] and result.unsure == ["known_cancer"]


def test_unsure_answers_do_not_fire_red_flags_but_name_the_flags_they_may_hide() -> None:
    result = evaluate(RS, {"limb_weakness": False, "age": 70, "pain_site": "lumbar"}, unsure=["known_cancer"])
    assert result.disposition == "urgent" and result.red_flags == []
    assert result.possible_red_flags == ["history_of_cancer"]
    assert result.to_dict()["possible_red_flags"] == ["history_of_cancer"]


def test_a_known_red_flag_is_never_also_possible() -> None:
    result = evaluate(RS, {"limb_weakness": False, "known_cancer": True, "pain_site": "lumbar"}, unsure=["age"])
    assert result.red_flags == ["history_of_cancer"] and result.possible_red_flags == []


def test_an_incomplete_case_names_the_flags_its_unsure_answers_may_hide() -> None:
    result = evaluate(RS, {"limb_weakness": False}, unsure=["known_cancer"])
    assert result.status == "needs_input" and result.possible_red_flags == ["history_of_cancer"]


def test_each_possible_red_flag_is_said_in_words_with_the_answers_behind_it() -> None:
    from workbench.run.explain import possible_flags

    result = evaluate(RS, {"limb_weakness": False, "age": 70, "pain_site": "lumbar"}, unsure=["known_cancer"])
    [flag] = possible_flags(RS, result)
    assert flag.unsure == ("known_cancer",)
    assert flag.text == "possible history of cancer: unsure about known cancer"


def test_the_cli_and_replay_say_which_red_flag_an_unsure_answer_may_hide(tmp_path) -> None:
    from tests.conftest import run_cli

    done = run_cli("evaluate", str(MINI), "--inputs", '{"limb_weakness": false, "age": 70, "pain_site": "lumbar"}',
                   "--unsure", "known_cancer")
    assert "Possible:    possible history of cancer: unsure about known cancer (history_of_cancer)" in done.stdout
    folder = tmp_path / "mini"
    (folder / "vignettes").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(MINI.read_text())
    (folder / "vignettes" / "unsure.yaml").write_text(
        "ruleset: mini\nvignettes:\n  - id: not-sure-about-cancer\n"
        "    inputs: {limb_weakness: false, age: 70, pain_site: lumbar}\n    unsure: [known_cancer]\n"
        "    expect: {disposition: urgent, possible_red_flags: [history_of_cancer]}\n"
        "  - id: wrongly-expects-nothing-hidden\n"
        "    inputs: {limb_weakness: false, age: 70, pain_site: lumbar}\n    unsure: [known_cancer]\n"
        "    expect: {disposition: urgent, possible_red_flags: []}\n")
    done = run_cli("replay", str(folder))
    assert done.returncode == 1
    assert "not-sure-about-cancer: possible history of cancer: unsure about known cancer" in done.stdout
    assert "FAIL wrongly-expects-nothing-hidden" in done.stdout
    assert "expected the unsure answers to leave possible nothing, but they leave 'history_of_cancer'" in done.stdout


@pytest.mark.parametrize("answers, unsure, message", [
    ({}, ["known_cancr"], "did you mean 'known_cancer'"),
    ({"known_cancer": True}, ["known_cancer"], "both answered and marked unsure"),
])
def test_bad_unsure_ids_are_bad_answers(answers: dict[str, Any], unsure: list[str], message: str) -> None:
    with pytest.raises(InputError) as raised:
        evaluate(RS, answers, unsure=unsure)
    assert message in raised.value.problems[0].message and raised.value.problems[0].code == "WB601"


def test_unsure_as_one_string_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        evaluate(RS, {}, unsure="known_cancer")


def test_cli_takes_unsure_ids() -> None:
    code, result = run_json("evaluate", str(MINI), "--inputs", '{"limb_weakness": false, "pain_site": "lumbar"}',
                            "--unsure", "known_cancer, age")
    assert code == 0 and result["disposition"] == "urgent" and result["unsure"] == ["age", "known_cancer"]
    code, _ = run_json("evaluate", str(MINI), "--inputs", "{}", "--unsure", "nonsense")
    assert code == 2


def test_too_many_unsure_answers_to_weigh_exactly_ask_for_answers_instead_of_guessing(monkeypatch) -> None:
    from workbench.run import engine

    monkeypatch.setattr(engine, "MAX_UNSURE_CASES", 3)
    with pytest.raises(InputError) as raised:
        evaluate(RS, {"limb_weakness": False}, unsure=["known_cancer", "age", "pain_site"])
    assert "too many to weigh every combination" in raised.value.problems[0].message
