"""The shipped ruleset gives what the clinical brief's rules 1-9 give, on any complete case."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SHIPPED
from workbench import evaluate, load_ruleset

UBP = load_ruleset(SHIPPED / "ruleset.yaml")
BOOLEANS = [spec.id for spec in UBP.model.inputs if spec.type == "boolean"]


def brief(c: dict) -> str:
    """The brief's rules, written independently of the YAML, as the oracle."""
    neuro = c["radicular_pain"] or c["limb_weakness"] or c["difficulty_walking"] or c["sensory_loss"]
    if c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"]:
        return "emergency"
    if c["known_cancer"] and neuro:
        return "emergency"
    if c["limb_weakness"] or c["difficulty_walking"]:
        return "emergency"
    if c["fever"]:
        return "urgent_same_day"
    if c["significant_trauma"] or (c["osteoporosis_or_steroids"] and c["pain_severe_unremitting"]):
        return "urgent_same_day"
    if c["known_cancer"] and (c["pain_site"] in ("thoracic", "cervical") or c["pain_progressive"]
                              or c["pain_severe_unremitting"] or c["pain_worse_straining"]
                              or c["localised_tenderness"] or c["night_pain"]):
        return "urgent_mri_1_week"
    if c["unexplained_weight_loss"] or (c["age"] >= 60 and (c["not_improving"] or c["night_pain"]
                                                             or c["pain_progressive"])):
        return "suspected_cancer_pathway"
    if (c["not_improving"] or c["pain_severe_unremitting"] or c["radicular_pain"] or c["sensory_loss"]
            or c["known_cancer"]):
        return "routine"
    return "self_care"


FLAGS = {
    "history_of_cancer": lambda c: c["known_cancer"],
    "thoracic_or_cervical_pain": lambda c: c["pain_site"] in ("thoracic", "cervical"),
    "progressive_pain": lambda c: c["pain_progressive"],
    "severe_unremitting_pain": lambda c: c["pain_severe_unremitting"],
    "pain_on_straining": lambda c: c["pain_worse_straining"],
    "localised_tenderness": lambda c: c["localised_tenderness"],
    "night_pain": lambda c: c["night_pain"],
    "radicular_pain": lambda c: c["radicular_pain"],
    "neurological_deficit": lambda c: c["limb_weakness"] or c["difficulty_walking"] or c["sensory_loss"],
    "sphincter_disturbance": lambda c: c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"],
    "weight_loss": lambda c: c["unexplained_weight_loss"],
    "fever": lambda c: c["fever"],
    "trauma": lambda c: c["significant_trauma"],
    "fracture_risk": lambda c: c["osteoporosis_or_steroids"],
    "not_responding_to_treatment": lambda c: c["not_improving"],
}

CASES = st.fixed_dictionaries({
    **{name: st.booleans() for name in BOOLEANS},
    "age": st.sampled_from([16, 40, 59, 59.9, 60, 61, 120]),
    "pain_site": st.sampled_from(["cervical", "thoracic", "lumbar"]),
})


def test_contract_ids_are_present() -> None:
    model = UBP.model
    assert [d.id for d in model.dispositions] == ["emergency", "urgent_same_day", "urgent_mri_1_week",
                                                  "suspected_cancer_pathway", "routine", "self_care"]
    assert [f.id for f in model.red_flags] == list(FLAGS)
    assert len(model.inputs) == 19 and len(BOOLEANS) == 17


@settings(max_examples=3000, deadline=None)
@given(CASES)
def test_every_complete_case_gets_the_briefs_disposition_and_red_flags(case: dict) -> None:
    result = evaluate(UBP, case)
    assert result.disposition == brief(case)
    assert result.red_flags == [flag for flag, fires in FLAGS.items() if fires(case)]


def test_known_cancer_is_never_sent_home_with_self_care() -> None:
    case = {name: False for name in BOOLEANS} | {"age": 40, "pain_site": "lumbar", "known_cancer": True}
    assert evaluate(UBP, case).disposition == "routine"
