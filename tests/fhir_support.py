"""Shared by the FHIR and CDS Hooks tests: signed releases, the official FHIR R4 JSON Schema, responses as an EHR's
form writes them, and fhirpath.js run by Node once per batch."""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.downstream_support import KEYRING, REPO, write_release
from workbench.publish.canonical import ruleset_data
from workbench.publish.fhir import Canonicals
from workbench.publish.published import published
from workbench.publish.releases import Release
from workbench.run.engine import CompiledRuleset
from workbench.run.fhirpath import UNSURE_SYSTEM

FHIR_JS = REPO / "tests" / "fhir-js"
SCHEMA = FHIR_JS / "node_modules" / "@asymmetrik" / "fhir-json-schema-validator" / "fhir.schema.json"
SETUP_HINT = "run ./scripts/setup.sh --with-browser (it installs Node and the npm packages of tests/fhir-js)"
BASE = "http://127.0.0.1:8000"
CANONICALS = Canonicals.of(BASE)
UNSURE = {"system": UNSURE_SYSTEM, "code": "asked-unknown"}


def serving(root: Path, **options: Any) -> Any:
    """An in-process client of the API over `root`'s releases, at the tests' base URL."""
    import warnings

    from workbench.api import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_app(root, KEYRING, base_url=BASE, **options))


def released(root: Path, ruleset: CompiledRuleset) -> Release:
    """The ruleset as a signed release under `root`, read back and verified as the server reads it."""
    write_release(root, ruleset_data(ruleset.model))
    found, problems = published(root, KEYRING)
    assert not problems, problems
    return next(r for r in found if r.id == ruleset.id and r.version == ruleset.version)


@functools.cache
def _schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        pytest.fail(f"the FHIR R4 JSON Schema is missing ({SCHEMA}): {SETUP_HINT}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"  # HL7's R4 schema, as published
    return schema


@functools.cache
def _validator(kind: str | None = None) -> Draft7Validator:
    """The whole schema (any resource), or its definition of one resource type (to say precisely what is wrong).

    The schema names `resourceType` as its discriminator; a resource nested in another (`contained`, a Parameters
    `resource`) is checked against the definition its resourceType names, as that discriminator says, rather than
    tried against all 146 in turn (`oneOf`, which takes minutes on three levels of nesting). Draft 7's if/then
    says exactly that; every other keyword is the schema's own, unchanged."""
    schema = copy.deepcopy(_schema())
    names = [ref["$ref"].rsplit("/", 1)[1] for ref in schema["definitions"]["ResourceList"]["oneOf"]]
    dispatch = {"type": "object", "required": ["resourceType"],
                "properties": {"resourceType": {"enum": names}},
                "allOf": [{"if": {"properties": {"resourceType": {"const": name}}},
                           "then": {"$ref": f"#/definitions/{name}"}} for name in names]}
    schema["definitions"]["ResourceList"] = dispatch
    schema.pop("oneOf", None)
    schema.pop("discriminator", None)
    schema.update({"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/ResourceList"})
    if kind is not None:
        schema["$ref"] = f"#/definitions/{kind}"
    return Draft7Validator(schema)


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """What the official FHIR R4 JSON Schema finds wrong with a resource (empty: valid). The resource is checked
    against the whole schema; when that fails, the resource type's own definition says where."""
    if _validator().is_valid(resource):
        return []
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    typed = _validator(kind) if isinstance(kind, str) and kind in _schema()["definitions"] else None
    errors = list(typed.iter_errors(resource)) if typed else []
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors] or ["not a FHIR R4 resource"]


def as_response(ruleset: CompiledRuleset, answers: dict[str, Any], unsure: list[str] = (),  # type: ignore[assignment]
                canonicals: Canonicals = CANONICALS) -> dict[str, Any]:
    """Answers as an EHR's form records them: a QuestionnaireResponse to the release's Questionnaire."""
    items = []
    for input_id, spec in ruleset.inputs.items():
        if input_id in unsure:
            items.append({"linkId": input_id, "answer": [{"valueCoding": dict(UNSURE)}]})
            continue
        value = answers.get(input_id)
        if value is None:
            continue
        if spec.type == "boolean":
            answer = {"valueBoolean": value}
        elif spec.type == "number":
            answer = {"valueDecimal": value}
        else:
            answer = {"valueCoding": {"system": canonicals.choice_system(ruleset.id, input_id), "code": value}}
        items.append({"linkId": input_id, "answer": [answer]})
    return {"resourceType": "QuestionnaireResponse", "status": "in-progress",
            "questionnaire": f"{canonicals.resource('Questionnaire', ruleset.id)}|{ruleset.version}", "item": items}


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"node is not installed: {SETUP_HINT}")
    if not (FHIR_JS / "node_modules" / "fhirpath" / "package.json").is_file():
        pytest.fail(f"{FHIR_JS / 'node_modules'} is missing: {SETUP_HINT}")
    return found


def fhirpath_js(plan: dict[str, Any], responses: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """What fhirpath.js selects for each response (tests/fhir-js/select.mjs, one Node process for the batch), and
    how many expression evaluations it made."""
    done = subprocess.run([node(), "select.mjs"], cwd=FHIR_JS, input=json.dumps({"plan": plan, "responses": responses}),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["results"], answer["evaluations"]


def evaluate_js(expressions: list[str], responses: list[dict[str, Any]]) -> list[list[Any]]:
    """fhirpath.js on every expression and response: results[e][r]."""
    done = subprocess.run([node(), "select.mjs", "--evaluate"], cwd=FHIR_JS,
                          input=json.dumps({"expressions": expressions, "responses": responses}),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
