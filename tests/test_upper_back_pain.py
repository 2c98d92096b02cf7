"""The shipped ruleset gives what the clinical brief (version 2) says, on any complete case.

The oracle below is the brief's rules 1-13 and red-flag table written as plain Python, straight from
`shared/clinical/upper-back-pain.md`, independently of the YAML; the cases are drawn sparse (few yes
answers) as well as dense, so the later rules are reached as often as the emergency ones.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SHIPPED
from workbench import evaluate, load_ruleset
from workbench.content.model import OutcomeNode

UBP = load_ruleset(SHIPPED / "ruleset.yaml")
BOOLEANS = [spec.id for spec in UBP.model.inputs if spec.type == "boolean"]
MALIGNANCY = ("pain_progressive", "pain_severe_unremitting", "pain_worse_straining", "localised_tenderness",
              "night_pain", "not_improving")
CANCER_PAIN = ("pain_progressive", "pain_severe_unremitting", "pain_worse_straining", "mechanical_pain",
               "localised_tenderness", "night_pain", "not_improving", "unexplained_weight_loss")
NEEDS_CLINICIAN = ("not_improving", "pain_severe_unremitting", "radicular_pain", "sensory_loss", "known_cancer",
                   "on_chemotherapy", "osteoporosis_or_steroids", "infection_risk", "night_pain", "pain_progressive",
                   "localised_tenderness")


def brief(c: dict[str, Any]) -> tuple[str, int]:
    """(disposition, the number of the rule that decides), rules 1-13 of the brief in order."""
    cancer = c["known_cancer"] or c["on_chemotherapy"]
    nerve = c["radicular_pain"] or c["sensory_loss"]
    age, site = c["age"], c["pain_site"]
    if c["emergency_features"] or (c["abdominal_pain"] and age >= 50) or c["pregnancy_warning_signs"]:
        return "emergency", 1
    if c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"] or c["sexual_dysfunction"] or c["bilateral_sciatica"]:
        return "emergency", 2
    if c["limb_weakness"] or c["difficulty_walking"] or c["sensory_level"]:
        return "emergency", 3
    if cancer and nerve:
        return "emergency", 4
    if c["on_chemotherapy"] and (c["fever"] or c["unwell_on_treatment"]):
        return "emergency", 5
    if (c["fever"] or c["infection_risk"]) and nerve:
        return "emergency", 6
    if (c["major_trauma"] or ((c["minor_trauma"] or (c["anticoagulant"] and c["pain_severe_unremitting"])) and nerve)
            or (c["minor_trauma"] and site == "cervical" and age >= 65)):
        return "emergency", 7
    if c["fever"] or (c["infection_risk"] and (c["pain_severe_unremitting"] or c["localised_tenderness"]
                                               or c["night_pain"] or c["pain_progressive"])):
        return "urgent_same_day", 8
    if ((c["minor_trauma"] and (age >= 50 or c["osteoporosis_or_steroids"] or c["known_cancer"]))
            or (c["osteoporosis_or_steroids"] and (c["pain_severe_unremitting"] or c["localised_tenderness"]))
            or (age >= 70 and c["pain_severe_unremitting"])
            or (c["anticoagulant"] and (c["minor_trauma"] or c["pain_severe_unremitting"]))):
        return "urgent_same_day", 9
    if cancer and (site in ("thoracic", "cervical") or any(c[k] for k in CANCER_PAIN)):
        return "urgent_mri_1_week", 10
    features = (site == "thoracic") + sum(bool(c[k]) for k in MALIGNANCY)
    if (c["unexplained_weight_loss"]
            or (age >= 60 and (c["not_improving"] or c["night_pain"] or c["pain_progressive"]))
            or ((age >= 50 or age < 20) and features >= 2)
            or (features >= 3 and (c["not_improving"] or site == "thoracic"))):
        return "suspected_cancer_pathway", 11
    if any(c[k] for k in NEEDS_CLINICIAN) or (age >= 50 and site == "thoracic"):
        return "routine", 12
    return "self_care", 13


FLAGS = {
    "history_of_cancer": lambda c: c["known_cancer"],
    "thoracic_or_cervical_pain": lambda c: c["pain_site"] in ("thoracic", "cervical"),
    "progressive_pain": lambda c: c["pain_progressive"],
    "severe_unremitting_pain": lambda c: c["pain_severe_unremitting"],
    "pain_on_straining": lambda c: c["pain_worse_straining"],
    "localised_tenderness": lambda c: c["localised_tenderness"],
    "night_pain": lambda c: c["night_pain"],
    "radicular_pain": lambda c: c["radicular_pain"],
    "neurological_deficit": lambda c: c["limb_weakness"] or c["difficulty_walking"] or c["sensory_loss"]
    or c["sensory_level"],
    "sphincter_disturbance": lambda c: c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"],
    "weight_loss": lambda c: c["unexplained_weight_loss"],
    "fever": lambda c: c["fever"],
    "trauma": lambda c: c["major_trauma"] or c["minor_trauma"],
    "fracture_risk": lambda c: c["osteoporosis_or_steroids"],
    "not_responding_to_treatment": lambda c: c["not_improving"],
    "cauda_equina_symptoms": lambda c: c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"]
    or c["sexual_dysfunction"] or c["bilateral_sciatica"],
    "infection_risk": lambda c: c["infection_risk"],
    "mechanical_pain": lambda c: c["mechanical_pain"],
    "visceral_or_cardiac_features": lambda c: c["emergency_features"] or (c["abdominal_pain"] and c["age"] >= 50),
    "on_anticancer_treatment": lambda c: c["on_chemotherapy"],
    "anticoagulated": lambda c: c["anticoagulant"],
    "obstetric_warning_signs": lambda c: c["pregnancy_warning_signs"],
}

AGES = [16, 19, 19.5, 20, 49, 49.9, 50, 59, 60, 64, 64.5, 65, 69, 70, 120]
SITES = ["cervical", "thoracic", "lumbar"]


def _case(yes: Iterable[str], age: float, site: str) -> dict[str, Any]:
    chosen = set(yes)
    return {name: name in chosen for name in BOOLEANS} | {"age": age, "pain_site": site}


def _agrees(case: dict[str, Any]) -> None:
    result = evaluate(UBP, case)
    disposition, rule = brief(case)
    assert result.disposition == disposition, (sorted(k for k in BOOLEANS if case[k]), case["age"],
                                               case["pain_site"], f"rule {rule}")
    assert result.red_flags == [flag for flag, fires in FLAGS.items() if fires(case)]


def test_contract_ids_are_present() -> None:
    model = UBP.model
    assert model.version == "2.0.0"
    assert [d.id for d in model.dispositions] == ["emergency", "urgent_same_day", "urgent_mri_1_week",
                                                  "suspected_cancer_pathway", "routine", "self_care"]
    assert [f.id for f in model.red_flags] == list(FLAGS)
    assert len(model.inputs) == 31 and len(BOOLEANS) == 29
    assert {"significant_trauma"}.isdisjoint(spec.id for spec in model.inputs)


def test_every_case_with_up_to_three_yes_answers_at_every_age_boundary_and_site() -> None:
    """Exhaustive where the rules live: every rule's clauses join at most three yes answers with an age and a
    site, so every combination of up to three yes answers is tried at each side of every age threshold."""
    for size in range(4):
        for yes in itertools.combinations(BOOLEANS, size):
            for age in AGES:
                for site in SITES:
                    _agrees(_case(yes, age, site))


@settings(max_examples=1500, deadline=None)
@given(st.sets(st.sampled_from(BOOLEANS), min_size=3, max_size=12), st.sampled_from(AGES), st.sampled_from(SITES))
def test_random_cases_with_many_yes_answers_agree_too(yes: set[str], age: float, site: str) -> None:
    _agrees(_case(yes, age, site))


def _base(**answers: Any) -> dict[str, Any]:
    return {name: False for name in BOOLEANS} | {"age": 40, "pain_site": "lumbar"} | answers


OUTCOMES = {node.id: node for node in UBP.model.nodes if isinstance(node, OutcomeNode)}


def test_rules_2_3_8_and_9_have_a_separate_outcome_that_sends_a_cancer_case_to_its_team() -> None:
    """The brief: where known_cancer or on_chemotherapy is true, the outcome of rules 2, 3, 8 or 9 also tells the
    person to contact the MSCC coordinator / acute oncology team."""
    triggers = {2: {"bilateral_sciatica": True}, 3: {"sensory_level": True}, 8: {"fever": True},
                9: {"osteoporosis_or_steroids": True, "localised_tenderness": True}}
    for rule, answers in triggers.items():
        plain = evaluate(UBP, _base(**answers))
        for cancer in ({"known_cancer": True}, {"on_chemotherapy": True}):
            if rule == 8 and "on_chemotherapy" in cancer:  # fever on chemotherapy is rule 5: use infection risk
                cancer = cancer | {"infection_risk": True, "night_pain": True, "fever": False}
            case = _base(**(answers | cancer))
            with_cancer = evaluate(UBP, case)
            assert brief(case)[1] == brief(_base(**answers))[1] == rule
            assert with_cancer.disposition == plain.disposition and with_cancer.outcome != plain.outcome
            advice = OUTCOMES[with_cancer.outcome].advice or ""
            assert re.search(r"MSCC coordinator|acute oncology", advice), (rule, with_cancer.outcome)


def test_no_advice_asks_for_more_urgency_than_its_disposition() -> None:
    for node in OUTCOMES.values():
        if node.disposition != "emergency":
            assert not re.search(r"999|ambulance|A&E|emergency department", node.advice or "", re.I), node.id


def test_cauda_equina_emergency_says_mri_within_4_hours_and_mscc_within_24() -> None:
    cauda_equina = OUTCOMES[evaluate(UBP, _base(saddle_anaesthesia=True)).outcome].advice or ""
    assert "4 hours" in cauda_equina and "24 hours" not in cauda_equina
    mscc = OUTCOMES[evaluate(UBP, _base(known_cancer=True, limb_weakness=True)).outcome].advice or ""
    assert "24 hours" in mscc and "MSCC coordinator" in mscc


def test_routine_and_self_care_advice_name_the_symptoms_to_come_back_for() -> None:
    for node in OUTCOMES.values():
        if node.disposition in ("routine", "self_care"):
            advice = (node.advice or "").lower()
            for symptom in ("bottom", "urine", "both legs", "weakness", "walking"):
                assert symptom in advice, (node.id, symptom)
    self_care = [n for n in OUTCOMES.values() if n.disposition == "self_care"]
    assert self_care and all("pregnant" in (n.advice or "") and "blood thinner" in (n.advice or "")
                             for n in self_care)


def test_tenderness_says_it_needs_an_examination_and_what_to_do_without_one() -> None:
    spec = UBP.inputs["localised_tenderness"]
    assert "examination" in (spec.help or "") and "Unsure" in (spec.help or "")


def test_every_branch_outcome_and_red_flag_cites_its_source_as_data() -> None:
    model = UBP.model
    for node in model.nodes:
        assert isinstance(node, OutcomeNode) or node.cites or node.branches, node.id
        if isinstance(node, OutcomeNode):
            assert node.cites, node.id
        for branch in getattr(node, "branches", []):
            assert branch.cites, (node.id, branch.when)
    for flag in model.red_flags:
        assert flag.cites, flag.id
