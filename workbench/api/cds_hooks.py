"""CDS Hooks routes: discovery, one service per released ruleset (its latest release)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from ..problems import ProblemError
from ..publish.cds_hooks import HOOK as CDS_HOOK
from ..publish.cds_hooks import answers_from_request, with_release
from ..publish.cds_hooks import cards as cds_cards
from ..publish.cds_hooks import services as cds_services
from ..publish.releases import latest
from ..run.engine import evaluate
from .catalogue import Catalogue
from .problems import NOT_FOUND, TOO_LARGE, answers_problem, problem, problem_response
from .rulesets import GONE_BACK, unknown_ruleset
from .schemas import CdsCards, CdsHooksRequest, CdsServices

CDS_HINT = ('Send {"hook": "patient-view", "hookInstance": "<uuid>", "context": {"patientId": "…", "answers": '
            '{"age": 62}, "unsure": []}} or a questionnaireResponse in context or prefetch.')


def add_routes(app: FastAPI, catalogue: Catalogue) -> None:
    @app.get("/cds-services", response_model=CdsServices, summary="CDS Hooks discovery: one service per ruleset")
    async def cds_discovery() -> Response:
        latest_releases = [latest(items) for items in catalogue.releases().values()]
        return JSONResponse(cds_services(latest_releases))

    @app.post("/cds-services/{service_id}", response_model=CdsCards,
              responses={**NOT_FOUND, **TOO_LARGE, **GONE_BACK,
                         422: problem_response("Answers that cannot be read or do not fit")},
              summary="CDS Hooks service: cards with the disposition, or the next questions to ask")
    async def cds_service(service_id: str, call: CdsHooksRequest) -> Response:
        entry = catalogue.latest(service_id)
        if entry is None:
            return unknown_ruleset(catalogue, service_id)
        if call.hook != CDS_HOOK:
            return problem(422, f"This service answers the {CDS_HOOK} hook, not {call.hook!r}. {CDS_HINT}")
        try:
            answers, unsure = answers_from_request(call.model_dump(), entry.release)
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return answers_problem(exc, CDS_HINT)
        return JSONResponse(with_release(cds_cards(entry.release, result, asked=bool(answers or unsure)),
                                         entry.release))
