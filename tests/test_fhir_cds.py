"""A release as a FHIR server serves it: Questionnaire and PlanDefinition (valid by the `fhir.resources` models and
HL7's FHIR R4 JSON Schema, each carrying the release's sha256 and signature), the CapabilityStatement, search by
canonical url, reads, errors as OperationOutcomes, SDC `$next-question` with a contained adaptive Questionnaire,
and our own next-question route. On the frozen 2.0.0 ruleset as a signed release."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.plandefinition import PlanDefinition
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tests.conftest import V2, run_cli
from tests.downstream_support import KEYRING, write_keyring
from tests.fhir_support import BASE, CANONICALS, UNSURE, as_response, released, schema_errors, serving
from tests.test_fhirpath import vignettes
from workbench import evaluate, load_ruleset
from workbench.api import create_app

RULESET = load_ruleset(V2 / "ruleset.yaml")
ID, VERSION = RULESET.id, RULESET.version
FHIR_ID = f"{ID}-{VERSION}"
OLD = f"/rulesets/{ID}/versions/{VERSION}"
COMPLETE = [v for v in vignettes(V2) if not v.get("unsure") and evaluate(RULESET, v["inputs"]).status == "complete"]
MODELS = {"Questionnaire": Questionnaire, "PlanDefinition": PlanDefinition, "QuestionnaireResponse":
          QuestionnaireResponse, "CapabilityStatement": CapabilityStatement, "Parameters": Parameters}


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Valid by fhir.resources (R4B) and by the official FHIR R4 JSON Schema. (The schema npm carries is R4's first
    release, 4.0.0, whose list of FHIR versions ends before 4.0.1, the R4 technical correction everything here is:
    that one field of the CapabilityStatement is checked as 4.0.0 by the schema and as 4.0.1 here.)"""
    MODELS[resource["resourceType"]].model_validate(resource)
    checked = resource
    if resource["resourceType"] == "CapabilityStatement":
        assert resource["fhirVersion"] == "4.0.1"
        checked = {**resource, "fhirVersion": "4.0.0"}
    assert not (errors := schema_errors(checked)), errors[:5]
    return resource


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rulesets")
    released(root, RULESET)
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[Any]:
    with serving(root) as test_client:
        yield test_client


def stamped(resource: dict[str, Any], release_sha: str) -> None:
    """The release's sha256 in meta.tag and, with the signature, in the release extension."""
    assert [t["code"] for t in resource["meta"]["tag"]] == [release_sha]
    (stamp,) = [e for e in resource["extension"] if e["url"] == CANONICALS.extension("release")]
    parts = {p["url"]: p["valueString"] for p in stamp["extension"]}
    assert parts["sha256"] == release_sha and parts["signer"] == "dr.approver" and len(parts["signature"]) > 40


# --- artefacts ---------------------------------------------------------------------------------------------

def test_the_questionnaire_validates_and_asks_exactly_what_the_ruleset_asks(client: Any, root: Path) -> None:
    response = client.get(f"/fhir/Questionnaire/{FHIR_ID}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    resource = valid(response.json())
    assert resource == client.get(f"{OLD}/fhir/Questionnaire").json()
    assert resource["url"] == f"{BASE}/fhir/Questionnaire/{ID}" and resource["version"] == VERSION
    assert resource["text"]["status"] == "generated"
    assert RULESET.model.inputs[0].question[:30] in resource["text"]["div"]
    stamped(resource, released(root, RULESET).sha256)
    assert read_back(resource) == [spec.model_dump(exclude_none=True) for spec in RULESET.model.inputs]


def read_back(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs a Questionnaire asks, read back as the ruleset writes them: the round trip."""
    inputs = []
    for item in resource["item"]:
        spec: dict[str, Any] = {"id": item["linkId"], "question": item["text"]}
        if "prefix" in item:
            spec["label"] = item["prefix"]
        helps = [sub["text"] for sub in item.get("item", []) if sub["type"] == "display"]
        if helps:
            spec["help"] = helps[0]
        if item["type"] == "boolean":
            spec["type"] = "boolean"
        elif item["type"] == "choice":
            codings = [option["valueCoding"] for option in item["answerOption"]]
            assert {c["system"] for c in codings} == {CANONICALS.choice_system(ID, item["linkId"])}
            spec.update(type="enum", values=[c["code"] for c in codings])
            labels = {c["code"]: c["display"] for c in codings if c["display"] != c["code"]}
            if labels:
                spec["labels"] = labels
        else:
            assert item["type"] == "decimal"
            spec["type"] = "number"
            for extension in item.get("extension", []):
                name = extension["url"].rsplit("/", 1)[1]
                if name == "questionnaire-unit":
                    spec["unit"] = extension["valueCoding"]["display"]
                    assert extension["valueCoding"]["system"] == "http://unitsofmeasure.org"  # years: UCUM 'a'
                    assert extension["valueCoding"]["code"] == "a"
                else:
                    spec[{"minValue": "min", "maxValue": "max"}[name]] = extension["valueDecimal"]
        inputs.append(spec)
    return inputs


def test_the_plan_definition_validates_and_carries_dispositions_advice_safety_net_and_citations(client: Any,
                                                                                              root: Path) -> None:
    resource = valid(client.get(f"/fhir/PlanDefinition/{FHIR_ID}").json())
    stamped(resource, released(root, RULESET).sha256)
    assert resource["reviewer"][0]["name"] == "dr.approver" and resource["status"] == "active"
    assert resource["relatedArtifact"][0]["resource"] == f"{BASE}/fhir/Questionnaire/{ID}|{VERSION}"
    leaves: dict[str, dict[str, Any]] = {}

    def walk(action: dict[str, Any]) -> None:
        codes = {c["system"].rsplit("-", 1)[1]: c["code"] for concept in action.get("code", [])
                 for c in concept["coding"] if c["system"].startswith(f"{BASE}/fhir/CodeSystem/{ID}-")}
        if "outcome" in codes:
            leaves.setdefault(codes["outcome"], action)
        for child in action.get("action", []):
            walk(child)

    walk(resource["action"][0])
    outcomes = [n for n in RULESET.model.nodes if n.kind == "outcome"]
    assert set(leaves) == {o.id for o in outcomes}
    from workbench.run.explain import safety_net

    urls = {r.id: r.url for r in RULESET.model.references}
    for outcome in outcomes:
        action = leaves[outcome.id]
        assert outcome.advice in action["description"]
        net = safety_net(RULESET, outcome.id)
        assert (net is None) or f"Safety-net: {net}" in action["description"]
        assert [d["label"] for d in action.get("documentation", [])] == outcome.cites
        assert all(d.get("url") == urls[d["label"]] for d in action.get("documentation", []))
    flags = resource["action"][1]
    assert [a["id"] for a in flags["action"]] == [f"red-flag-{f.id}" for f in RULESET.model.red_flags]
    order = [e["valueCoding"]["code"] for e in resource["extension"] if e["url"].endswith("/disposition-order")]
    assert order == [d.id for d in RULESET.model.dispositions]


def test_the_json_schema_check_is_not_empty(client: Any) -> None:
    """The check that found the old resources invalid still finds them so: our own condition language is not one
    FHIR R4 allows, and a PlanDefinition without status is no PlanDefinition."""
    resource = client.get(f"/fhir/PlanDefinition/{FHIR_ID}").json()
    old = copy.deepcopy(resource)
    old["action"][1]["action"][0]["condition"][0]["expression"]["language"] = "text/x-workbench-condition"
    assert any("text/x-workbench-condition" in error for error in schema_errors(old))
    del old["status"]
    assert schema_errors(old)


def test_codes_the_ruleset_gives_reach_the_questionnaire_and_the_plan_definition(tmp_path: Path) -> None:
    """SNOMED CT or LOINC, only where the ruleset says which (none are invented)."""
    data = RULESET.model.model_dump(by_alias=True, exclude_none=True)
    data["inputs"][[i["id"] for i in data["inputs"]].index("age")]["code"] = {
        "system": "http://loinc.org", "code": "30525-0", "display": "Age"}
    data["red_flags"][0]["code"] = {"system": "http://snomed.info/sct", "code": "363346000",
                                    "display": "Malignant neoplastic disease"}
    from workbench.content.model import Ruleset
    from workbench.run.engine import CompiledRuleset

    coded = CompiledRuleset(Ruleset.model_validate({**data, "version": "2.0.1"}))
    released(tmp_path, coded)
    with serving(tmp_path) as live:
        questionnaire = valid(live.get(f"/fhir/Questionnaire/{ID}-2.0.1").json())
        plan = valid(live.get(f"/fhir/PlanDefinition/{ID}-2.0.1").json())
    age = next(i for i in questionnaire["item"] if i["linkId"] == "age")
    assert age["code"] == [{"system": "http://loinc.org", "code": "30525-0", "display": "Age"}]
    assert "code" not in next(i for i in questionnaire["item"] if i["linkId"] == "known_cancer")
    flag = plan["action"][1]["action"][0]
    assert {"system": "http://snomed.info/sct", "code": "363346000", "display": "Malignant neoplastic disease"} in \
        flag["code"][0]["coding"]


# --- a FHIR server's manners -------------------------------------------------------------------------------

def test_metadata_is_a_capability_statement_naming_what_is_served(client: Any) -> None:
    statement = valid(client.get("/fhir/metadata").json())
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    kinds = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(kinds) == {"Questionnaire", "PlanDefinition"}
    assert kinds["Questionnaire"]["operation"][0]["name"] == "$next-question"
    assert any(VERSION in e["valueString"] for e in statement["extension"])


@pytest.mark.parametrize("kind", ["Questionnaire", "PlanDefinition"])
def test_search_by_canonical_url_finds_the_release(client: Any, kind: str) -> None:
    url = f"{BASE}/fhir/{kind}/{ID}"
    for query in (f"url={url}", f"url={url}|{VERSION}", f"url={url}&version={VERSION}", f"_id={FHIR_ID}"):
        bundle = client.get(f"/fhir/{kind}?{query}").json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset" and bundle["total"] == 1, query
        assert bundle["entry"][0]["resource"]["url"] == url
    assert client.get(f"/fhir/{kind}?url={url}|9.9.9").json()["total"] == 0
    assert client.get(f"/fhir/{kind}?url=http://elsewhere/{kind}/x").json()["total"] == 0


def test_an_unknown_resource_is_a_404_operation_outcome(client: Any) -> None:
    response = client.get("/fhir/PlanDefinition/no-such-thing")
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


def test_the_base_url_comes_from_the_option_else_the_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_BASE_URL", "https://triage.example.org")
    with serving(root) as live:  # base_url=BASE given: the option wins
        assert live.get(f"/fhir/Questionnaire/{FHIR_ID}").json()["url"].startswith(BASE)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(root, KEYRING)) as live:
        assert live.get(f"/fhir/Questionnaire/{FHIR_ID}").json()["url"] == \
            f"https://triage.example.org/fhir/Questionnaire/{ID}"


def test_export_writes_the_fhir_resources_under_the_base_url_given(root: Path, tmp_path: Path) -> None:
    keyring = write_keyring(tmp_path / "keyring.json")
    out = tmp_path / "out"
    done = run_cli("export", "--out", str(out), "--rulesets", str(root), "--keyring", str(keyring), "--fhir",
                   "--base-url", "https://triage.example.org")
    assert done.returncode == 0, done.stderr
    for kind in ("Questionnaire", "PlanDefinition"):
        resource = valid(json.loads((out / ID / "fhir" / f"{VERSION}.{kind}.json").read_text("utf-8")))
        assert resource["url"] == f"https://triage.example.org/fhir/{kind}/{ID}"
    done = run_cli("export", "--out", str(out), "--rulesets", str(root), "--keyring", str(keyring))
    assert done.returncode == 0 and not (out / ID / "fhir" / f"{VERSION}.Questionnaire.json").exists()
    bad = run_cli("export", "--out", str(out), "--rulesets", str(root), "--keyring", str(keyring), "--fhir",
                  "--base-url", "ftp://nope")
    assert bad.returncode == 2 and "base URL" in bad.stderr


# --- SDC $next-question --------------------------------------------------------------------------------

def next_question(client: Any, response: dict[str, Any], path: str = "/fhir/Questionnaire/$next-question") -> Any:
    return client.post(path, json={"resourceType": "Parameters",
                                   "parameter": [{"name": "questionnaire-response", "resource": response}]})


def start() -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "in-progress",
            "questionnaire": f"{BASE}/fhir/Questionnaire/{ID}|{VERSION}"}


@pytest.mark.parametrize("vignette", COMPLETE[::9], ids=lambda v: v["id"])
def test_next_question_from_an_empty_response_to_a_disposition(client: Any, vignette: dict[str, Any]) -> None:
    """Parameters in and out; a contained adaptive Questionnaire (derivedFrom, the adaptive extension) holding the
    questions asked so far in Questionnaire order; answer what it asks from the vignette until completed."""
    order = [spec.id for spec in RULESET.model.inputs]
    response = start()
    for _ in range(len(order) + 1):
        answer = next_question(client, response)
        assert answer.status_code == 200, answer.text
        (out,) = valid(answer.json())["parameter"]
        assert out["name"] == "return"
        response = valid(out["resource"])
        (adaptive,) = response["contained"]
        assert response["questionnaire"] == f"#{adaptive['id']}"
        assert adaptive["derivedFrom"] == [f"{BASE}/fhir/Questionnaire/{ID}|{VERSION}"]
        assert {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive",
                "valueBoolean": True} in adaptive["extension"]
        links = [i["linkId"] for i in adaptive["item"] if i["type"] != "display"]
        assert links == sorted(links, key=order.index)  # Questionnaire order, never asked order
        if response["status"] == "completed":
            break
        answered = {i["linkId"] for i in response.get("item", [])}
        asked = [link for link in links if link not in answered]
        assert asked
        response["item"] = response.get("item", []) + as_response(
            RULESET, {k: vignette["inputs"].get(k, False) for k in asked})["item"]
    values = {e["url"]: e["valueCode"] for e in response["extension"][1]["extension"]}
    assert response["status"] == "completed" and values["disposition"] == vignette["expect"]["disposition"]
    assert adaptive["item"][-1]["type"] == "display"  # the result, said


def test_an_item_asked_because_of_an_earlier_answer_is_enabled_by_it(client: Any) -> None:
    """Cauda equina symptoms lead to "cancer, or cancer treatment?": that question is enabled when any of them is
    yes (enableWhen, enableBehavior any)."""
    answers = {"emergency_features": False, "abdominal_pain": False, "pregnancy_warning_signs": False,
               "age": 40, "bladder_bowel_dysfunction": True, "saddle_anaesthesia": False,
               "sexual_dysfunction": False, "bilateral_sciatica": False}
    response = {**start(), "item": as_response(RULESET, answers)["item"]}
    (out,) = next_question(client, response).json()["parameter"]
    items = {i["linkId"]: i for i in out["resource"]["contained"][0]["item"]}
    cancer = items["known_cancer"]
    assert cancer["enableBehavior"] == "any"
    assert {"question": "bladder_bowel_dysfunction", "operator": "=", "answerBoolean": True} in cancer["enableWhen"]
    assert "enableWhen" not in items["emergency_features"]


def test_next_question_on_one_questionnaire_and_its_refusals(client: Any) -> None:
    assert next_question(client, start(), f"/fhir/Questionnaire/{FHIR_ID}/$next-question").status_code == 200
    assert next_question(client, start(), "/fhir/Questionnaire/nope-1.0.0/$next-question").status_code == 404
    elsewhere = {**start(), "questionnaire": "http://elsewhere.example.org/Questionnaire/x"}
    assert next_question(client, elsewhere).status_code == 404
    wrong = {**start(), "item": [{"linkId": "age", "answer": [{"valueBoolean": True}]}]}
    refused = next_question(client, wrong)
    assert refused.status_code == 422 and refused.json()["resourceType"] == "OperationOutcome"
    assert "valueDecimal" in refused.json()["issue"][0]["diagnostics"]
    assert client.post("/fhir/Questionnaire/$next-question", json={"resourceType": "Bundle"}).status_code == 422


# --- our own next-question route, and reading a response strictly ------------------------------------------

def test_our_own_route_stays_and_keeps_questionnaire_order(client: Any) -> None:
    response = as_response(RULESET, {"sexual_dysfunction": False, "emergency_features": False})
    done = client.post(f"{OLD}/next-question", json=response)
    assert done.status_code == 200
    body = valid(done.json())
    order = [spec.id for spec in RULESET.model.inputs]
    links = [i["linkId"] for i in body["item"]]
    assert links == sorted(links, key=order.index) and body["status"] == "in-progress"


def response_of(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": list(items)}


SITE = CANONICALS.choice_system(ID, "pain_site")


@pytest.mark.parametrize(("items", "said"), [
    ([{"linkId": "bladder_bowel_dysfuncton", "answer": [{"valueBoolean": True}]}], "not a question"),
    ([{"linkId": "bladder_bowel_dysfunction", "answer": [{"valueBoolean": False}, {"valueBoolean": True}]}],
     "takes one answer"),
    ([{"linkId": "bladder_bowel_dysfunction", "answer": [{"valueBoolean": True}]},
      {"linkId": "bladder_bowel_dysfunction", "answer": [{"valueBoolean": False}]}], "answered twice"),
    ([{"linkId": "pain_site", "answer": [{"valueCoding": {"system": "http://snomed.info/sct", "code": "lumbar"}}]}],
     "answer options"),
    ([{"linkId": "pain_site", "answer": [{"valueCoding": {"code": "lumbar"}}]}], "answer options"),
    ([{"linkId": "pain_site", "answer": [{"valueString": "lumbar"}]}], "valueCoding"),
    ([{"linkId": "age", "answer": [{"valueBoolean": True}]}], "valueDecimal"),
    ([{"linkId": "age", "answer": [{"valueInteger": 62}]}], "valueDecimal"),
    ([{"linkId": "screen", "item": [{"linkId": "emergency_features", "answer": [{"valueBoolean": True}]}]}],
     "top level"),
    ([{"linkId": "age", "answer": [{"valueDecimal": 40, "item": [
        {"linkId": "abdominal_pain", "answer": [{"valueBoolean": True}]}]}]}], "top level")])
def test_answers_that_could_lose_a_symptom_are_refused_never_dropped(client: Any, items: list, said: str) -> None:
    """A mistyped linkId, a second answer, a coding from another system, an answer of another type than the item's,
    a question inside a group or under an answer: each is read by neither our engine nor the exported conditions,
    so it is refused (never silently unknown: an unread yes could be a missed emergency)."""
    response = client.post(f"{OLD}/next-question", json=response_of(*items))
    assert response.status_code == 422 and said in response.json()["detail"], response.json()["detail"]


def test_unsure_reaches_the_engine_from_a_questionnaire_response(client: Any) -> None:
    unsure_cases = [v for v in vignettes(V2) if v.get("unsure")]
    assert unsure_cases
    for vignette in unsure_cases:
        expected = evaluate(RULESET, vignette["inputs"], unsure=vignette["unsure"])
        done = client.post(f"{OLD}/next-question", json=as_response(RULESET, vignette["inputs"],
                                                                     vignette["unsure"])).json()
        if expected.status == "complete":
            values = {e["url"]: e["valueCode"] for e in done["extension"][1]["extension"]}
            assert done["status"] == "completed" and values["disposition"] == expected.disposition, vignette["id"]
        else:
            assert done["status"] == "in-progress"
            assert [i["linkId"] for i in done["item"] if "answer" not in i] == expected.needs


def test_an_answer_for_another_version_of_the_questionnaire_is_refused(client: Any) -> None:
    response = {**response_of({"linkId": "age", "answer": [{"valueDecimal": 40}]}),
                "questionnaire": f"{BASE}/fhir/Questionnaire/{ID}|1.0.0"}
    refused = client.post(f"{OLD}/next-question", json=response)
    assert refused.status_code == 422 and "version 1.0.0" in refused.json()["detail"]
    assert UNSURE["code"] == "asked-unknown"
