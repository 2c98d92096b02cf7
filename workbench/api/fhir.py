"""FHIR routes: each release as a Questionnaire and a PlanDefinition, and the next question for a response."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from ..problems import ProblemError
from ..publish.cds_hooks import answers_from_response
from ..publish.cds_hooks import next_question as cds_next_question
from ..publish.fhir import RESOURCES as FHIR_RESOURCES
from ..run.engine import evaluate
from .catalogue import Catalogue
from .problems import NOT_FOUND, TOO_LARGE, answers_problem, problem_response
from .rulesets import unknown_version
from .schemas import QuestionnaireResponseBody

FHIR_JSON = "application/fhir+json"
QR_HINT = ('Send a FHIR QuestionnaireResponse whose items use the linkIds of GET .../fhir/Questionnaire, e.g. '
           '{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": [{"linkId": "age", '
           '"answer": [{"valueDecimal": 62}]}]}.')


def add_routes(app: FastAPI, catalogue: Catalogue) -> None:
    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/Questionnaire", responses={**NOT_FOUND},
             summary="The release's inputs as a FHIR R4 Questionnaire")
    async def fhir_questionnaire(ruleset_id: str, version: str) -> Response:
        return _resource(catalogue, ruleset_id, version, "Questionnaire")

    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/PlanDefinition", responses={**NOT_FOUND},
             summary="The release's outcomes and red flags as a FHIR R4 PlanDefinition (an ECA rule)")
    async def fhir_plan_definition(ruleset_id: str, version: str) -> Response:
        return _resource(catalogue, ruleset_id, version, "PlanDefinition")

    @app.post("/rulesets/{ruleset_id}/versions/{version}/next-question", responses={
                  **NOT_FOUND, **TOO_LARGE,
                  422: problem_response("Not a QuestionnaireResponse, or answers that do not fit")},
              summary="SDC-style next question: the response with the next items to ask, or completed")
    async def next_question(ruleset_id: str, version: str, response: QuestionnaireResponseBody) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        body = response.model_dump()
        try:
            answers, unsure = answers_from_response(body, entry.release)
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return answers_problem(exc, QR_HINT)
        return JSONResponse(cds_next_question(entry.release, body, result), media_type=FHIR_JSON)


def _resource(catalogue: Catalogue, ruleset_id: str, version: str, kind: str) -> Response:
    entry = catalogue.get(ruleset_id, version)
    if entry is None:
        return unknown_version(catalogue, ruleset_id, version)
    return JSONResponse(FHIR_RESOURCES[kind](entry.release), media_type=FHIR_JSON)
