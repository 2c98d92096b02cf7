"""The fast answer check used on every evaluation agrees with the detailed one that explains problems."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import V1
from workbench import load_ruleset
from workbench.content.answers import FITS, FITS_COMPLETE, answer_problems, answers_fit

UBP = load_ruleset(V1 / "ruleset.yaml")
FIT = answers_fit(UBP.model.inputs)
KEYS = st.sampled_from([spec.id for spec in UBP.model.inputs] + ["agee", "unknown_input"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True),
                   st.sampled_from(["cervical", "thoracic", "lumbar", "sacral", "", "yes"]), st.just([1]))


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_fast_check_agrees_with_detailed_check(answers: dict) -> None:
    fits = answer_problems(UBP.answer_checks, answers) == []
    complete = fits and len(answers) == len(UBP.inputs) and None not in answers.values()
    assert FIT(answers) == (FITS_COMPLETE if complete else FITS if fits else 0)


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({spec.id: VALUES for spec in UBP.model.inputs}))
def test_fast_check_agrees_on_complete_cases_too(answers: dict) -> None:
    """Every input answered, sometimes wrongly: the complete fast path must refuse exactly what the detailed
    check refuses."""
    fits = answer_problems(UBP.answer_checks, answers) == []
    assert FIT(answers) == ((FITS_COMPLETE if None not in answers.values() else FITS) if fits else 0)


def test_one_and_zero_are_not_yes_and_no() -> None:
    assert not FIT({"fever": 1}) and not FIT({"fever": 0}) and FIT({"fever": True, "age": None})
