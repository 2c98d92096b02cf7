"""The shipped ruleset gives what the clinical brief (version 3) says, on any complete case.

The oracle below is the brief's rules 1-13 (with 7a, 9a, 9b), its emergency doors and its red-flag table written as
plain Python, straight from `shared/clinical/upper-back-pain.md`, independently of the YAML; the cases are drawn
sparse (few yes answers) as well as dense, so the later rules are reached as often as the emergency ones, at every
age boundary, pain site, pregnancy and neck-injury answer.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SHIPPED
from workbench import evaluate, load_ruleset
from workbench.content.model import OutcomeNode
from workbench.run.explain import safety_net

UBP = load_ruleset(SHIPPED / "ruleset.yaml")
BOOLEANS = [spec.id for spec in UBP.model.inputs if spec.type == "boolean"]
MALIGNANCY = ("pain_progressive", "pain_severe_unremitting", "pain_worse_straining", "localised_tenderness",
              "night_pain", "not_improving")
CANCER_PAIN = ("pain_progressive", "pain_severe_unremitting", "pain_worse_straining", "mechanical_pain",
               "localised_tenderness", "night_pain", "not_improving", "unexplained_weight_loss")
NEEDS_CLINICIAN = ("not_improving", "pain_severe_unremitting", "radicular_pain", "sensory_loss", "known_cancer",
                   "on_chemotherapy", "osteoporosis_or_steroids", "infection_risk", "night_pain", "pain_progressive",
                   "localised_tenderness", "abdominal_pain")
PREGNANCY = ["not_pregnant", "possible_or_early", "later"]
NECK = ["not_injured", "turns_45", "cannot_turn_45"]

MATERNITY, EARLY_UNIT, NINE_NINE_NINE = "maternity triage", "early pregnancy", "999"


def brief(c: dict[str, Any]) -> tuple[str, str, str | None]:
    """(disposition, the rule that decides, the emergency door for rule 1), the brief's rules in order."""
    cancer = c["known_cancer"] or c["on_chemotherapy"]
    nerve = c["radicular_pain"] or c["sensory_loss"]
    age, site, pregnancy, neck = c["age"], c["pain_site"], c["pregnancy"], c["neck_injury"]
    pregnant, injured_neck = pregnancy != "not_pregnant", neck != "not_injured"
    acute_tummy = c["abdominal_pain"] and c["abdominal_pain_acute"]
    if c["emergency_features"] or c["vertebrobasilar_symptoms"]:
        return "emergency", "1", NINE_NINE_NINE
    if acute_tummy:
        return "emergency", "1", {"later": MATERNITY, "possible_or_early": EARLY_UNIT}.get(pregnancy, NINE_NINE_NINE)
    if c["pregnancy_warning_signs"]:
        return "emergency", "1", MATERNITY if pregnancy == "later" else EARLY_UNIT
    if pregnancy == "later" and c["pain_severe_unremitting"]:
        return "emergency", "1", MATERNITY
    if pregnancy == "possible_or_early" and c["abdominal_pain"]:
        return "emergency", "1", EARLY_UNIT
    if c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"] or c["sexual_dysfunction"] or c["bilateral_sciatica"]:
        return "emergency", "2", None
    if c["limb_weakness"] or c["difficulty_walking"] or c["sensory_level"]:
        return "emergency", "3", None
    if cancer and nerve:
        return "emergency", "4", None
    if c["on_chemotherapy"] and (c["fever"] or c["unwell_on_treatment"]):
        return "emergency", "5", None
    if (c["fever"] or c["infection_risk"]) and nerve:
        return "emergency", "6", None
    if (c["major_trauma"]
            or ((c["minor_trauma"] or injured_neck or (c["anticoagulant"] and c["pain_severe_unremitting"])) and nerve)
            or neck == "cannot_turn_45"
            or ((injured_neck or (c["minor_trauma"] and site == "cervical"))
                and (age >= 65 or c["osteoporosis_or_steroids"]))):
        return "emergency", "7", None
    if ((pregnant and (c["fever"] or c["pain_severe_unremitting"]))
            or (pregnancy == "later" and c["abdominal_pain"])):
        return "urgent_same_day", "7a", None
    if (c["fever"] or c["unwell_on_treatment"]
            or ((c["infection_risk"] or c["infection_risk_other"])
                and (c["pain_severe_unremitting"] or c["localised_tenderness"] or c["night_pain"]
                     or c["pain_progressive"]))
            or (c["pain_severe_unremitting"] and c["pain_progressive"])):
        return "urgent_same_day", "8", None
    if (((c["minor_trauma"] or injured_neck) and (age >= 50 or c["osteoporosis_or_steroids"] or c["known_cancer"]))
            or (c["osteoporosis_or_steroids"] and (c["pain_severe_unremitting"] or c["localised_tenderness"]))
            or (age >= 70 and c["pain_severe_unremitting"])
            or (c["anticoagulant"] and (c["minor_trauma"] or injured_neck or c["pain_severe_unremitting"]))):
        return "urgent_same_day", "9", None
    if c["band_rash"]:
        return "urgent_same_day", "9a", None
    if c["abdominal_pain"] and age >= 50:
        return "urgent_same_day", "9b", None
    if cancer and (site in ("thoracic", "cervical") or any(c[k] for k in CANCER_PAIN)):
        return "urgent_mri_1_week", "10", None
    features = (site == "thoracic") + sum(bool(c[k]) for k in MALIGNANCY)
    if (c["unexplained_weight_loss"]
            or (age >= 60 and (c["not_improving"] or c["night_pain"] or c["pain_progressive"]))
            or ((age >= 50 or age < 20) and features >= 2)
            or (features >= 3 and (c["not_improving"] or site == "thoracic"))):
        return "suspected_cancer_pathway", "11", None
    if any(c[k] for k in NEEDS_CLINICIAN) or ((age >= 50 or age < 20) and site == "thoracic"):
        return "routine", "12", None
    return "self_care", "13", None


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
    "trauma": lambda c: c["major_trauma"] or c["minor_trauma"] or c["neck_injury"] != "not_injured",
    "fracture_risk": lambda c: c["osteoporosis_or_steroids"],
    "not_responding_to_treatment": lambda c: c["not_improving"],
    "cauda_equina_symptoms": lambda c: c["bladder_bowel_dysfunction"] or c["saddle_anaesthesia"]
    or c["sexual_dysfunction"] or c["bilateral_sciatica"],
    "infection_risk": lambda c: c["infection_risk"],
    "mechanical_pain": lambda c: c["mechanical_pain"],
    "visceral_or_cardiac_features": lambda c: c["emergency_features"] or (c["abdominal_pain"]
                                                                         and c["abdominal_pain_acute"]),
    "on_anticancer_treatment": lambda c: c["on_chemotherapy"],
    "anticoagulated": lambda c: c["anticoagulant"],
    "obstetric_warning_signs": lambda c: c["pregnancy_warning_signs"]
    or (c["pregnancy"] != "not_pregnant" and c["abdominal_pain"])
    or (c["pregnancy"] == "later" and c["pain_severe_unremitting"]),
    "abdominal_pain": lambda c: c["abdominal_pain"],
    "vertebrobasilar_symptoms": lambda c: c["vertebrobasilar_symptoms"],
    "systemically_unwell": lambda c: c["unwell_on_treatment"],
    "neck_injury_not_cleared": lambda c: c["neck_injury"] == "cannot_turn_45",
    "shingles_rash": lambda c: c["band_rash"],
}

AGES = [16, 19, 19.5, 20, 49, 49.9, 50, 59, 60, 64, 64.5, 65, 69, 70, 120]
SITES = ["cervical", "thoracic", "lumbar"]
OUTCOMES = {node.id: node for node in UBP.model.nodes if isinstance(node, OutcomeNode)}


def _case(yes: Iterable[str], age: float, site: str, pregnancy: str = "not_pregnant",
          neck: str = "not_injured") -> dict[str, Any]:
    chosen = set(yes)
    return {name: name in chosen for name in BOOLEANS} | {"age": age, "pain_site": site, "pregnancy": pregnancy,
                                                          "neck_injury": neck}


def _agrees(case: dict[str, Any], ruleset: Any = UBP) -> None:
    result = evaluate(ruleset, case)
    disposition, rule, door = brief(case)
    said = (sorted(k for k in BOOLEANS if case[k]), case["age"], case["pain_site"], case["pregnancy"],
            case["neck_injury"], f"rule {rule}")
    assert result.disposition == disposition, said
    assert result.red_flags == [flag for flag, fires in FLAGS.items() if fires(case)], said
    if door is not None:
        advice = OUTCOMES[result.outcome or ""].advice or ""
        assert door in advice, (said, result.outcome, door)
        if door == EARLY_UNIT:
            assert "not maternity triage" in advice or MATERNITY not in advice, (said, result.outcome)
        if door == NINE_NINE_NINE:
            assert MATERNITY not in advice, (said, result.outcome)


def test_contract_ids_are_present() -> None:
    model = UBP.model
    assert model.version == "3.0.0"
    assert [d.id for d in model.dispositions] == ["emergency", "urgent_same_day", "urgent_mri_1_week",
                                                  "suspected_cancer_pathway", "routine", "self_care"]
    assert [f.id for f in model.red_flags] == list(FLAGS)
    assert len(model.inputs) == 37 and len(BOOLEANS) == 33
    assert [spec.id for spec in model.inputs][-6:] == ["abdominal_pain_acute", "pregnancy",
                                                        "vertebrobasilar_symptoms", "neck_injury",
                                                        "infection_risk_other", "band_rash"]
    assert set(UBP.inputs["pregnancy"].values) == set(PREGNANCY)
    assert set(UBP.inputs["neck_injury"].values) == set(NECK)


def test_every_case_with_up_to_three_yes_answers_at_every_age_boundary_and_site() -> None:
    """Exhaustive where the rules live: every rule's clauses join at most three yes answers with an age, a site,
    a pregnancy and a neck-injury answer; every combination of up to three yes answers is tried at each side of every
    age threshold and site, and every combination of up to two with each pregnancy and neck-injury answer."""
    for size in range(4):
        for yes in itertools.combinations(BOOLEANS, size):
            for age in AGES:
                for site in SITES:
                    _agrees(_case(yes, age, site))
    for size in range(3):
        for yes in itertools.combinations(BOOLEANS, size):
            for pregnancy, neck in itertools.product(PREGNANCY, NECK):
                if (pregnancy, neck) == ("not_pregnant", "not_injured"):
                    continue
                for age in (19, 20, 49, 50, 64, 65, 70):
                    for site in SITES:
                        _agrees(_case(yes, age, site, pregnancy, neck))


@settings(max_examples=1500, deadline=None)
@given(st.sets(st.sampled_from(BOOLEANS), min_size=3, max_size=14), st.sampled_from(AGES), st.sampled_from(SITES),
       st.sampled_from(PREGNANCY), st.sampled_from(NECK))
def test_random_cases_with_many_yes_answers_agree_too(yes: set[str], age: float, site: str, pregnancy: str,
                                                      neck: str) -> None:
    _agrees(_case(yes, age, site, pregnancy, neck))


def _base(**answers: Any) -> dict[str, Any]:
    return _case((), 40, "lumbar") | answers


def test_the_cancer_case_of_rules_2_3_8_9_9a_and_9b_has_its_own_outcome_naming_the_cancer_team() -> None:
    """The brief: where known_cancer or on_chemotherapy is true, the outcome reached by rules 2, 3, 8, 9, 9a or 9b
    also tells the person to contact the MSCC coordinator / acute oncology team."""
    triggers = {"2": {"bilateral_sciatica": True}, "3": {"sensory_level": True},
                "8": {"infection_risk": True, "night_pain": True},
                "9": {"osteoporosis_or_steroids": True, "localised_tenderness": True},
                "9a": {"band_rash": True}, "9b": {"abdominal_pain": True, "abdominal_pain_acute": False, "age": 55}}
    for rule, answers in triggers.items():
        plain = evaluate(UBP, _base(**answers))
        for cancer in ({"known_cancer": True}, {"on_chemotherapy": True}):
            case = _base(**(answers | cancer))
            with_cancer = evaluate(UBP, case)
            assert brief(case)[1] == brief(_base(**answers))[1] == rule
            assert with_cancer.disposition == plain.disposition and with_cancer.outcome != plain.outcome
            advice = OUTCOMES[with_cancer.outcome].advice or ""
            assert re.search(r"MSCC coordinator|acute oncology", advice), (rule, with_cancer.outcome)


def test_no_advice_asks_for_more_urgency_than_its_disposition() -> None:
    """Advice is for the case as it is; what to do *if* things change is safety-netting, kept apart."""
    for node in OUTCOMES.values():
        if node.disposition != "emergency":
            assert not re.search(r"999|ambulance|A&E|emergency department", node.advice or "", re.I), node.id


def test_every_non_emergency_outcome_safety_nets_the_cauda_equina_and_cord_symptoms_with_a_and_e_or_999() -> None:
    for node in OUTCOMES.values():
        if node.disposition == "emergency":
            continue
        text = (safety_net(UBP, node.id) or "").lower()
        assert "a&e now or call 999" in text, node.id
        for symptom in ("bottom", "bladder" if "bladder" in text else "urine", "weakness", "walking"):
            assert symptom in text, (node.id, symptom)


def test_self_care_says_no_anti_inflammatories_in_pregnancy_or_on_a_blood_thinner() -> None:
    self_care = [n for n in OUTCOMES.values() if n.disposition == "self_care"]
    assert self_care and all("pregnant" in (n.advice or "") and "blood thinner" in (n.advice or "")
                             for n in self_care)


def test_the_suspected_cancer_pathway_states_ng12s_time_frames() -> None:
    for node in OUTCOMES.values():
        if node.disposition == "suspected_cancer_pathway":
            advice = node.advice or ""
            assert "within 2 weeks" in advice and "48 hours" in advice and "direct-access CT" in advice, node.id


def test_tummy_pain_at_50_with_weight_loss_gives_the_two_week_ct_at_60_or_over() -> None:
    for age in (55, 63):
        result = evaluate(UBP, _base(abdominal_pain=True, abdominal_pain_acute=False, unexplained_weight_loss=True,
                                     age=age))
        assert result.disposition == "urgent_same_day"
        assert "direct-access CT within 2 weeks" in (OUTCOMES[result.outcome].advice or "")


def test_cauda_equina_emergency_says_mri_within_4_hours_and_mscc_within_24() -> None:
    cauda_equina = OUTCOMES[evaluate(UBP, _base(saddle_anaesthesia=True)).outcome].advice or ""
    assert "4 hours" in cauda_equina and "24 hours" not in cauda_equina
    mscc = OUTCOMES[evaluate(UBP, _base(known_cancer=True, limb_weakness=True)).outcome].advice or ""
    assert "24 hours" in mscc and "MSCC coordinator" in mscc


def test_a_neck_injury_imaged_by_the_c_spine_rule_keeps_the_neck_still_and_names_ct_within_an_hour() -> None:
    advice = OUTCOMES[evaluate(UBP, _base(neck_injury="cannot_turn_45", pain_site="cervical")).outcome].advice or ""
    assert "keep the neck still" in advice and "1 hour" in advice


@pytest.mark.parametrize("input_id, words", [
    ("bladder_bowel_dysfunction", ("since this back pain started", "burning or stinging")),
    ("localised_tenderness", ("examination", "Unsure")),
    ("not_improving", ("4 weeks",)),
    ("pregnancy", ("could be pregnant",)),
    ("neck_injury", ("45 degrees",)),
])
def test_questions_say_what_the_brief_says(input_id: str, words: tuple[str, ...]) -> None:
    spec = UBP.inputs[input_id]
    text = " ".join(filter(None, (spec.question, spec.help, *(getattr(spec, "labels", None) or {}).values())))
    for word in words:
        assert word.lower() in text.lower(), (input_id, word)


def test_every_branch_outcome_red_flag_and_property_cites_its_source_as_data() -> None:
    model = UBP.model
    references = {ref.id for ref in model.references}
    for node in model.nodes:
        if isinstance(node, OutcomeNode):
            assert node.cites and set(node.cites) <= references, node.id
        for branch in getattr(node, "branches", []):
            assert branch.cites and set(branch.cites) <= references, (node.id, branch.when)
    for item in [*model.red_flags, *model.safety]:
        assert item.cites and set(item.cites) <= references, item.id


def test_an_unsure_pregnancy_or_neck_injury_takes_the_door_that_fits_not_knowing() -> None:
    """SPEC 3a gives the most urgent disposition over every value; the outcome reported is the ruleset's choice:
    unsure whether pregnant, with tummy pain, is A&E or the early pregnancy unit (never maternity triage alone);
    an unsure neck injury is imaged."""
    tummy = evaluate(UBP, {k: v for k, v in _base(abdominal_pain=True, abdominal_pain_acute=False).items()
                           if k != "pregnancy"}, unsure=["pregnancy"])
    assert tummy.disposition == "emergency" and EARLY_UNIT in (OUTCOMES[tummy.outcome].advice or "")
    neck = evaluate(UBP, {k: v for k, v in _base(pain_site="cervical").items() if k != "neck_injury"},
                    unsure=["neck_injury"])
    assert neck.disposition == "emergency" and neck.outcome == "neck_injury_imaging"
    assert neck.possible_red_flags == ["trauma", "neck_injury_not_cleared"]


MUTANTS = [  # (what a slip in the YAML would be, the text it changes, the text it becomes)
    ("tummy pain counted from 51", "abdominal_pain and age >= 50\n        next: tummy_pain_50_check",
     "abdominal_pain and age >= 51\n        next: tummy_pain_50_check"),
    ("thoracic pain under 19 only", "((age >= 50 or age < 20) and pain_site == 'thoracic')",
     "((age >= 50 or age < 19) and pain_site == 'thoracic')"),
    ("neck injury imaged from 66", "and (age >= 65 or osteoporosis_or_steroids)\n        next: neck_injury_imaging",
     "and (age >= 66 or osteoporosis_or_steroids)\n        next: neck_injury_imaging"),
    ("diabetes dropped from rule 8", "((infection_risk or infection_risk_other) and (pain_severe_unremitting",
     "((infection_risk) and (pain_severe_unremitting"),
    ("ectopic sent to maternity triage", "pregnancy == 'possible_or_early'\n        next: early_pregnancy_emergency",
     "pregnancy == 'possible_or_early'\n        next: acute_abdomen_later_pregnancy"),
    ("shingles only routine", "      - when: band_rash\n        next: shingles_cancer_check",
     "      - when: band_rash and not_improving\n        next: shingles_cancer_check"),
]


@pytest.mark.parametrize("slip, old, new", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_the_oracle_catches_a_slip_in_the_ruleset(slip: str, old: str, new: str) -> None:
    """The oracle test can fail: each slip a clinical lead could make in the YAML is caught by the sweep."""
    from workbench.run.load import load_text

    text = (SHIPPED / "ruleset.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, slip
    mutant = load_text(text.replace(old, new), "mutant.yaml").required()
    cases = (_case(yes, age, site, pregnancy, neck)
             for size in range(3) for yes in itertools.combinations(BOOLEANS, size)
             for pregnancy in PREGNANCY for neck in NECK for age in (19, 50, 65) for site in ("thoracic", "lumbar"))
    for case in cases:
        try:
            _agrees(case, mutant)
        except AssertionError:
            return
    pytest.fail(f"the oracle did not notice: {slip}")
