"""The generated answer checks used on every evaluation (codegen.py: `checked` for a complete case,
`partial_checked` for any other) agree with the detailed one that explains problems (content/answers.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import V1
from workbench import load_ruleset
from workbench.content.answers import answer_problems

UBP = load_ruleset(V1 / "ruleset.yaml")
KEYS = st.sampled_from([spec.id for spec in UBP.model.inputs] + ["agee", "unknown_input"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True),
                   st.sampled_from(["cervical", "thoracic", "lumbar", "sacral", "", "yes"]), st.just([1]))


def fast_verdict(answers: dict) -> str:
    """'complete' when the complete check takes the case, 'fits' when only the partial check does, else 'refused'."""
    if UBP.run_checked(answers) is not None:
        return "complete"
    return "fits" if UBP.run_partial_checked(answers) is not None else "refused"


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_fast_check_agrees_with_detailed_check(answers: dict) -> None:
    fits = answer_problems(UBP.answer_checks, answers) == []
    complete = fits and len(answers) == len(UBP.inputs) and None not in answers.values()
    assert fast_verdict(answers) == ("complete" if complete else "fits" if fits else "refused")


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({spec.id: VALUES for spec in UBP.model.inputs}))
def test_fast_check_agrees_on_complete_cases_too(answers: dict) -> None:
    """Every input answered, sometimes wrongly: the complete fast path must refuse exactly what the detailed
    check refuses."""
    fits = answer_problems(UBP.answer_checks, answers) == []
    assert fast_verdict(answers) == (("complete" if None not in answers.values() else "fits") if fits else "refused")


def test_one_and_zero_are_not_yes_and_no() -> None:
    assert fast_verdict({"fever": 1}) == fast_verdict({"fever": 0}) == "refused"
    assert fast_verdict({"fever": True, "age": None}) == "fits"
