"""The FHIRPath target (STYLE 10: one compiled form, many targets, one truth): an EHR running the exported
PlanDefinition selects what our engine gives. Three engines on the same cases: our engine, fhirpathpy and
fhirpath.js (each expression compiled once; fhirpath.js in one Node process per batch), over every vignette of
the frozen 2.0.0 ruleset, 1,000 random complete cases, 300 partial and 300 with Unsure answers; the shipped
ruleset's vignettes; and every form a condition can take. A mutation (one exported operator flipped) shows the
comparison can fail."""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import MINI, SHIPPED, V2
from tests.fhir_selection import Fhirpathpy, Selection
from tests.fhir_support import CANONICALS, as_response, evaluate_js, fhirpath_js, released, schema_errors
from workbench import evaluate, load_ruleset
from workbench.content.model import Ruleset
from workbench.publish.plan_definition import plan_definition
from workbench.run.engine import CompiledRuleset
from workbench.run.fhirpath import FhirPath

FIELDS = ("status", "outcome", "disposition", "red_flags", "needs")
COMPLETE, PARTIAL, UNSURE = 1000, 300, 300


def vignettes(folder: Path) -> list[dict[str, Any]]:
    return [v for path in sorted((folder / "vignettes").glob("*.yaml"))
            for v in yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["vignettes"]]  # libyaml


def random_cases(ruleset: CompiledRuleset, seed: int, complete: int, partial: int,
                 unsure: int) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(kind, answers, unsure): yes/no mostly no (so cases reach the later rules), choices and numbers uniform over
    the values the rules tell apart; partial cases leave a third of the questions out; unsure cases mark one to
    three questions Unsure and leave a tenth out."""
    rng = random.Random(seed)
    values = ruleset.possible_values

    def answers() -> dict[str, Any]:
        return {i: (rng.random() < 0.15) if ruleset.inputs[i].type == "boolean" else rng.choice(v)
                for i, v in values.items()}

    cases: list[tuple[str, dict[str, Any], list[str]]] = [("complete", answers(), []) for _ in range(complete)]
    for _ in range(partial):
        case = answers()
        cases.append(("partial", {k: v for k, v in case.items() if rng.random() >= 0.33}, []))
    for _ in range(unsure):
        case = answers()
        marked = rng.sample(sorted(case), rng.randint(1, 3))
        cases.append(("unsure", {k: v for k, v in case.items() if k not in marked and rng.random() >= 0.1}, marked))
    return cases


def engine_result(ruleset: CompiledRuleset, answers: dict[str, Any], unsure: list[str]) -> dict[str, Any]:
    result = evaluate(ruleset, answers, unsure=unsure).to_dict()
    return {key: result[key] for key in FIELDS}


class Differential:
    """One PlanDefinition, its cases, and what each engine gives for them."""

    def __init__(self, ruleset: CompiledRuleset, plan: dict[str, Any],
                 cases: list[tuple[str, dict[str, Any], list[str]]], fhirpathpy: Fhirpathpy) -> None:
        self.ruleset, self.plan, self.cases = ruleset, plan, cases
        self.responses = [as_response(ruleset, answers, unsure) for _, answers, unsure in cases]
        started = time.perf_counter()
        self.engine = [engine_result(ruleset, answers, unsure) for _, answers, unsure in cases]
        self.times = {"engine": time.perf_counter() - started}
        started = time.perf_counter()
        self.js, self.js_evaluations = fhirpath_js(plan, self.responses)
        self.times["fhirpath.js"] = time.perf_counter() - started
        started = time.perf_counter()
        before = fhirpathpy.evaluations
        selection = Selection(plan, fhirpathpy)
        self.py = [selection.select(response) for response in self.responses]
        self.py_evaluations = fhirpathpy.evaluations - before
        self.times["fhirpathpy"] = time.perf_counter() - started

    def disagreements(self) -> list[str]:
        return [f"{kind} {answers} unsure={unsure}:\n  engine {e}\n  fhirpath.js {j}\n  fhirpathpy {p}"
                for (kind, answers, unsure), e, j, p in zip(self.cases, self.engine, self.js, self.py)
                if not e == j == p]

    def report(self) -> str:
        kinds: dict[str, int] = {}
        for kind, _, _ in self.cases:
            kinds[kind] = kinds.get(kind, 0) + 1
        agreed = len(self.cases) - len(self.disagreements())
        return (f"{len(self.cases)} cases ({', '.join(f'{n} {k}' for k, n in kinds.items())}): all three engines "
                f"agree on {agreed}; " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.times.items())
                + f"; expression evaluations: fhirpath.js {self.js_evaluations}, fhirpathpy {self.py_evaluations}")


@pytest.fixture(scope="module")
def fhirpathpy() -> Fhirpathpy:
    return Fhirpathpy()


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory, fhirpathpy: Fhirpathpy) -> Differential:
    ruleset = load_ruleset(V2 / "ruleset.yaml")
    plan = plan_definition(released(tmp_path_factory.mktemp("v2"), ruleset), CANONICALS, ruleset)
    cases = [("vignette", dict(v["inputs"]), list(v.get("unsure", []))) for v in vignettes(V2)]
    return Differential(ruleset, plan, cases + random_cases(ruleset, 22, COMPLETE, PARTIAL, UNSURE), fhirpathpy)


def test_three_engines_select_what_the_engine_gives_on_every_vignette_and_random_case(v2: Differential) -> None:
    kinds = {kind for kind, _, _ in v2.cases}
    assert kinds == {"vignette", "complete", "partial", "unsure"}
    assert sum(1 for e in v2.engine if e["status"] == "needs_input") > 100  # the "ask next" actions are exercised
    assert len({e["outcome"] for e in v2.engine}) > 10  # and most outcomes
    print("\nPlanDefinition differential, upper back pain 2.0.0:", v2.report())
    assert not v2.disagreements(), "\n".join(v2.disagreements()[:5])


def test_flipping_one_exported_operator_turns_the_differential_red(v2: Differential, fhirpathpy: Fhirpathpy) -> None:
    """The comparison can fail: `>=` turned into `<` in one condition of the tree (age >= 50 in rule 1) makes
    both FHIRPath engines select something else on some cases."""
    mutated = copy.deepcopy(v2.plan)
    flipped = _flip_first(mutated["action"][0], " >= ", " < ")
    assert flipped, "no condition with >= to flip"
    sample = v2.cases[:340]  # the vignettes and 200 random complete cases are enough to show it
    broken = Differential(v2.ruleset, mutated, sample, fhirpathpy)
    differing = broken.disagreements()
    print(f"\nmutation ({flipped}): {len(differing)} of {len(sample)} cases now disagree")
    assert len(differing) > 10
    assert any(e != j for e, j in zip(broken.engine, broken.js))
    assert any(e != p for e, p in zip(broken.engine, broken.py))


def _flip_first(action: dict[str, Any], old: str, new: str) -> str:
    for condition in action.get("condition", []):
        expression = condition["expression"]
        if old in expression["expression"]:
            expression["expression"] = expression["expression"].replace(old, new, 1)
            return f"'{old.strip()}' to '{new.strip()}' in the condition of {action['id']}"
    for child in action.get("action", []):
        if found := _flip_first(child, old, new):
            return found
    return ""


def test_the_plan_definition_is_laid_out_as_the_issue_says(v2: Differential) -> None:
    """Each decision a first-match group with ~ true, ~ false and .empty() children, unknown routed to "ask next";
    our own text an extension on each Expression; no condition in any language but FHIRPath; no exists() or iif()
    where a value may be unknown."""
    groups, expressions = [], []

    def walk(action: dict[str, Any]) -> None:
        expressions.extend(c["expression"] for c in action.get("condition", []))
        behaviour = [e["valueCode"] for e in action.get("extension", [])
                     if e["url"].endswith("cqf-applicabilityBehavior")]
        if behaviour == ["any"] and action["id"] != "triage":
            groups.append(action)
        for child in action.get("action", []):
            walk(child)

    for action in v2.plan["action"]:
        walk(action)
    assert groups
    for group in groups:
        tests = [child["condition"][0]["expression"]["expression"] for child in group["action"]]
        suffixes = (") ~ true", ") ~ false", ").empty()")
        assert all(t.endswith(end) for t, end in zip(tests, suffixes, strict=True)), group["id"]
        assert len({t[:-len(end)] for t, end in zip(tests, suffixes)}) == 1  # one condition, three values
        assert group["action"][2]["code"][0]["coding"][0]["code"] == "ask"
    assert all(e["language"] == "text/fhirpath" for e in expressions)
    assert all(e["extension"][0]["url"].endswith("/workbench-condition") for e in expressions)
    for expression in (e["expression"] for e in expressions):
        assert ".exists()" not in expression.replace("'asked-unknown' | 'unknown')).exists()", "")
        assert "iif(" not in expression or expression.count(", true, iif(") * 2 == expression.count("iif(")
    assert not schema_errors(v2.plan)


def test_the_shipped_ruleset_runs_the_same_in_an_ehr_on_all_its_vignettes(tmp_path: Path,
                                                                          fhirpathpy: Fhirpathpy) -> None:
    """Whatever the shipped content holds today: every vignette, three engines."""
    ruleset = load_ruleset(SHIPPED / "ruleset.yaml")
    plan = plan_definition(released(tmp_path, ruleset), CANONICALS, ruleset)
    cases = [("vignette", dict(v["inputs"]), list(v.get("unsure", []))) for v in vignettes(SHIPPED)]
    assert cases
    shipped = Differential(ruleset, plan, cases, fhirpathpy)
    assert not shipped.disagreements(), "\n".join(shipped.disagreements()[:5])


def test_a_small_ruleset_with_numbers_and_choices_runs_the_same(tmp_path: Path, fhirpathpy: Fhirpathpy) -> None:
    ruleset = load_ruleset(MINI)
    plan = plan_definition(released(tmp_path, ruleset), CANONICALS, ruleset)
    mini = Differential(ruleset, plan, random_cases(ruleset, 5, 40, 40, 40), fhirpathpy)
    assert not mini.disagreements(), "\n".join(mini.disagreements()[:5])


# --- every form a condition can take ----------------------------------------------------------------------

FORMS = [
    "b1", "not b1", "b1 and b2", "b1 or b2 or b3", "not (b1 and not b2)", "(b1 or b2) and (b3 or not b1)",
    "b1 == true", "b1 != false", "b1 == b2", "num >= 5", "num > 5", "num <= 5", "num < 5", "num == 5", "num != 5",
    "num >= 2.5", "1 < num <= 7", "5 <= num", "num > -1", "num == other", "num < other", "site == 'aa'",
    "site != 'aa'", "site in ['aa', 'bb']", "site not in ['aa', 'bb']", "num in [1, 5]", "num not in [1, 5]",
    "count(b1, b2, b3) >= 2", "count(b1, b2, b3) > 1", "count(b1, b2, b3) <= 1", "count(b1, b2, b3) < 2",
    "count(b1, b2, b3) == 1", "count(b1, b2, b3) != 1", "2 <= count(b1, b2, b3)",
    "count(b1, site == 'aa', num >= 5) >= 2", "count(b1, b1, b2) >= 2", "count(b1, b2, b3) in [0, 2]",
    "count(b1, b2, b3) not in [1]", "count(b1, b2) >= num", "count(b1, b2) == count(b3, not b1)",
    "count(b1, b2, b3) >= 2 and site == 'cc'", "not (count(b1, b2) >= 1)",
]


def forms_ruleset() -> CompiledRuleset:
    inputs = [{"id": f"b{i}", "type": "boolean", "question": f"B{i}?"} for i in (1, 2, 3)]
    inputs += [{"id": "num", "type": "number", "question": "N?", "min": -5, "max": 10},
               {"id": "other", "type": "number", "question": "M?", "min": 0, "max": 10},
               {"id": "site", "type": "enum", "question": "E?", "values": ["aa", "bb", "cc"]}]
    model = Ruleset.model_validate({
        "id": "forms", "version": "1.0.0", "title": "Forms", "dispositions": [{"id": "xx", "label": "X"}],
        "inputs": inputs, "start": "done",
        "nodes": [{"id": "done", "kind": "outcome", "title": "Done", "disposition": "xx"}],
        "red_flags": [{"id": f"f{i}", "label": text, "when": text} for i, text in enumerate(FORMS)]})
    return CompiledRuleset(model)


def test_every_form_of_condition_reads_the_same_in_three_engines(fhirpathpy: Fhirpathpy) -> None:
    """Three-valued, exactly as the engine: on cases with answers missing and answered Unsure (never read as yes or
    no), each condition is true, false or empty in fhirpathpy and fhirpath.js when the engine says true, false or
    unknown."""
    ruleset = forms_ruleset()
    target = FhirPath(ruleset, lambda input_id: CANONICALS.choice_system(ruleset.id, input_id))
    rng = random.Random(3)
    choices: dict[str, list[Any]] = {"b1": [True, False], "b2": [True, False], "b3": [True, False],
                                     "num": [0, 1, 2.5, 5, 7, 9.5, 10], "other": [0, 5, 7], "site": ["aa", "bb", "cc"]}
    cases = []
    for _ in range(80):
        answers, unsure = {}, []
        for name, options in choices.items():
            roll = rng.random()
            if roll < 0.6:
                answers[name] = rng.choice(options)
            elif roll < 0.8:
                unsure.append(name)
        cases.append((answers, unsure))
    responses = [as_response(ruleset, answers, unsure) for answers, unsure in cases]
    expressions = [target.condition(text) for text in FORMS]
    js = evaluate_js(expressions, responses)
    for text, expression, js_values in zip(FORMS, expressions, js):
        predicate = ruleset.condition(text).predicate
        for (answers, _), response, js_value in zip(cases, responses, js_values):
            expected = [] if (value := predicate(answers)) is None else [value]
            assert fhirpathpy(expression, response) == expected == js_value, (text, answers, expression)


def test_a_text_with_quotes_and_backslashes_stays_one_literal() -> None:
    target = FhirPath(forms_ruleset(), lambda input_id: "http://example.org/it's\\here")
    assert "'http://example.org/it\\'s\\\\here'" in target.value("site")
    assert json.dumps(target.condition("site == 'aa'"))
