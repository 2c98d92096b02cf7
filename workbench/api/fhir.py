"""FHIR routes. Under `/fhir`, a read-only FHIR R4 endpoint as an EHR expects one: the CapabilityStatement
(`/fhir/metadata`), each release's Questionnaire and PlanDefinition by id and by canonical `url` search, and SDC
`Questionnaire/$next-question`; errors are OperationOutcomes. Beside each release, our own older routes: its
Questionnaire and PlanDefinition, and the next question for a QuestionnaireResponse."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..problems import ProblemError
from ..publish.artefacts import BUILDERS, KINDS
from ..publish.fhir import Canonicals, capability_statement, fhir_id
from ..publish.releases import Release
from ..publish.responses import answers_from_response
from ..publish.sdc import adaptive_response, next_question, source_of
from ..run.engine import evaluate
from .catalogue import Catalogue, Entry
from .problems import NOT_FOUND, TOO_LARGE, answers_problem, operation_outcome, problem_response
from .rulesets import unknown_version
from .schemas import QuestionnaireResponseBody

FHIR_JSON = "application/fhir+json"
QR_HINT = ('Send a FHIR QuestionnaireResponse whose top-level items use the linkIds of the Questionnaire, e.g. '
           '{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": [{"linkId": "age", '
           '"answer": [{"valueDecimal": 62}]}]}.')
OUTCOME = {"description": "An OperationOutcome saying what is wrong", "content": {FHIR_JSON: {}}}


PARAMETERS_BODY = {"requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {
    "type": "object", "required": ["resourceType", "parameter"],
    "properties": {"resourceType": {"const": "Parameters"}, "parameter": {
        "type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "resource"],
            "properties": {"name": {"const": "questionnaire-response"},
                           "resource": {"$ref": "#/components/schemas/QuestionnaireResponseBody"}}}}}}}}}}
"""SDC $next-question's input: a Parameters with the `questionnaire-response`."""


class FhirJSON(JSONResponse):
    """FHIR's JSON (`application/fhir+json`), which the OpenAPI document then names for these routes."""

    media_type = FHIR_JSON


def add_routes(app: FastAPI, catalogue: Catalogue, canonicals: Canonicals, version: str) -> None:
    built: dict[tuple[str, str], dict[str, Any]] = {}

    def artefact(entry: Entry, kind: str) -> dict[str, Any]:
        """Each artefact built once per release (the PlanDefinition unfolds the whole tree)."""
        key = (entry.etag, kind)
        if key not in built:
            built[key] = BUILDERS[kind](entry.release, canonicals, entry.ruleset)
        return built[key]

    def entries() -> list[Entry]:
        return [found for releases in catalogue.releases().values() for r in releases
                if (found := catalogue.get(r.id, r.version)) is not None]

    @app.get("/fhir/metadata", response_class=FhirJSON, summary="FHIR CapabilityStatement of this read-only endpoint")
    async def fhir_metadata() -> Response:
        served = [e.release for e in entries()]
        return JSONResponse(capability_statement(served, canonicals, version), media_type=FHIR_JSON)

    async def operation(request: Request, instance: str | None) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return operation_outcome(422, "The body must be a FHIR Parameters resource in JSON.", "structure")
        response = _parameter(body)
        if response is None:
            return operation_outcome(422, "Send a Parameters resource with the parameter 'questionnaire-response' "
                                          "(a QuestionnaireResponse), as SDC $next-question defines it.", "required")
        entry = _by_instance(entries(), instance) if instance else _by_canonical(entries(), source_of(response),
                                                                                  canonicals)
        if entry is None:
            named = instance or source_of(response)
            return operation_outcome(404, f"No released Questionnaire {named!r} is served here: name one of "
                                          "GET /fhir/Questionnaire in the response's questionnaire (or the contained "
                                          "adaptive Questionnaire's derivedFrom).", "not-found")
        try:
            answers, unsure = answers_from_response(response, entry.release, canonicals)
            done = adaptive_response(entry.release, entry.ruleset, canonicals, response, answers, unsure)
        except ProblemError as exc:
            return operation_outcome(422, "; ".join(p.message for p in exc.problems[:3]) + " " + QR_HINT, "invalid")
        return JSONResponse({"resourceType": "Parameters", "parameter": [{"name": "return", "resource": done}]},
                            media_type=FHIR_JSON)

    @app.post("/fhir/Questionnaire/$next-question", response_class=FhirJSON,
              responses={404: OUTCOME, 422: OUTCOME, **TOO_LARGE}, openapi_extra=PARAMETERS_BODY,
              summary="SDC adaptive form: the next questions, in a contained Questionnaire, or the result")
    async def next_question_type(request: Request) -> Response:
        return await operation(request, None)

    @app.post("/fhir/Questionnaire/{resource_id}/$next-question", response_class=FhirJSON,
              responses={404: OUTCOME, 422: OUTCOME, **TOO_LARGE}, openapi_extra=PARAMETERS_BODY,
              summary="SDC $next-question on one release's Questionnaire")
    async def next_question_instance(resource_id: str, request: Request) -> Response:
        return await operation(request, resource_id)

    for kind in KINDS:  # after $next-question, so that path is never taken for a resource id
        _add_kind(app, kind, entries, artefact, canonicals)

    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/Questionnaire", response_class=FhirJSON,
             responses={**NOT_FOUND},
             summary="The release's inputs as a FHIR R4 Questionnaire")
    async def fhir_questionnaire(ruleset_id: str, version: str) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        return JSONResponse(artefact(entry, "Questionnaire"), media_type=FHIR_JSON)

    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/PlanDefinition", response_class=FhirJSON,
             responses={**NOT_FOUND},
             summary="The release's decision tree as a FHIR R4 PlanDefinition with FHIRPath conditions")
    async def fhir_plan_definition(ruleset_id: str, version: str) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        return JSONResponse(artefact(entry, "PlanDefinition"), media_type=FHIR_JSON)

    @app.post("/rulesets/{ruleset_id}/versions/{version}/next-question", response_class=FhirJSON, responses={
                  **NOT_FOUND, **TOO_LARGE,
                  422: problem_response("Not a QuestionnaireResponse, or answers that do not fit")},
              summary="Next question, our own simpler way: the response with the next items to ask, or completed")
    async def next_question_route(ruleset_id: str, version: str, response: QuestionnaireResponseBody) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        body = response.model_dump()
        try:
            answers, unsure = answers_from_response(body, entry.release, canonicals)
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return answers_problem(exc, QR_HINT)
        return JSONResponse(next_question(entry.release, canonicals, body, result), media_type=FHIR_JSON)


def _add_kind(app: FastAPI, kind: str, entries: Callable[[], list[Entry]],
              artefact: Callable[[Entry, str], dict[str, Any]], canonicals: Canonicals) -> None:
    @app.get(f"/fhir/{kind}", response_class=FhirJSON, summary=f"Search {kind} by canonical url (and version, or _id)",
             name=f"search_{kind}")
    async def search(request: Request) -> Response:
        url, version = request.query_params.get("url"), request.query_params.get("version")
        wanted_id = request.query_params.get("_id")
        if url and "|" in url:
            url, version = url.split("|", 1)
        matches = [e for e in entries()
                   if (url is None or canonicals.resource(kind, e.release.id) == url)
                   and (version is None or e.release.version == version)
                   and (wanted_id is None or fhir_id(e.release) == wanted_id)]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                  "link": [{"relation": "self", "url": str(request.url)}],
                  "entry": [{"fullUrl": f"{canonicals.fhir}/{kind}/{fhir_id(e.release)}",
                             "resource": artefact(e, kind), "search": {"mode": "match"}} for e in matches]}
        if not matches:
            del bundle["entry"]
        return JSONResponse(bundle, media_type=FHIR_JSON)

    @app.get(f"/fhir/{kind}/{{resource_id}}", response_class=FhirJSON, responses={404: OUTCOME},
             summary=f"Read one release's {kind}", name=f"read_{kind}")
    async def read(resource_id: str) -> Response:
        entry = _by_instance(entries(), resource_id)
        if entry is None:
            return operation_outcome(404, f"No {kind} with id {resource_id!r}: ids are <ruleset>-<version>, e.g. "
                                          f"GET /fhir/{kind}?url=... lists them.", "not-found")
        return JSONResponse(artefact(entry, kind), media_type=FHIR_JSON)


def _parameter(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        return None
    for parameter in body.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == "questionnaire-response":
            resource = parameter.get("resource")
            return resource if isinstance(resource, dict) else None
    return None


def _by_instance(entries: list[Entry], resource_id: str) -> Entry | None:
    return next((e for e in entries if fhir_id(e.release) == resource_id), None)


def _by_canonical(entries: list[Entry], reference: str | None, canonicals: Canonicals) -> Entry | None:
    """The release a canonical names (`url|version`; without a version, the latest)."""
    if not reference:
        return None
    url, _, version = reference.partition("|")
    found = [e for e in entries if canonicals.resource("Questionnaire", e.release.id) == url
             and (not version or e.release.version == version)]
    if not found:
        return None
    if version:
        return found[0]
    from ..publish.releases import latest

    best: Release = latest([e.release for e in found])
    return next(e for e in found if e.release is best)
