"""CDS Hooks 2.0 routes: discovery, one service per released ruleset (its latest release), and feedback. Every
call carries a JWT (auth.py) unless the server runs with --insecure-no-auth."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from filelock import FileLock
from starlette.concurrency import run_in_threadpool

from ..problems import ProblemError
from ..publish import cds_hooks
from ..publish.fhir import Canonicals, release_stamp
from ..publish.releases import latest
from ..run.engine import evaluate
from .auth import CdsAuth, Refused, loopback
from .catalogue import Catalogue
from .fhir_client import FetchFailed, fetch
from .problems import NOT_FOUND, TOO_LARGE, answers_problem, operation_outcome, problem, problem_response
from .rulesets import GONE_BACK, unknown_ruleset
from .schemas import CdsCards, CdsFeedback, CdsHooksRequest, CdsServices

CDS_HINT = ('Send {"hook": "patient-view", "hookInstance": "<uuid>", "context": {"userId": "Practitioner/1", '
            '"patientId": "…"}, "prefetch": {"patient": {…}, "questionnaireResponse": {…}}} (see GET /cds-services).')
UNAUTHORIZED = {401: problem_response("No JWT, or one this service does not accept (CDS Hooks 2.0)"),
                429: problem_response("Too many calls within a token's lifetime")}
PRECONDITION = {412: {"description": "Data the service needs was neither prefetched nor fetchable (an "
                                     "OperationOutcome)", "content": {"application/fhir+json": {}}}}


class Gate:
    """The JWT check, or (for local trials) none."""

    def __init__(self, auth: CdsAuth | None, insecure: bool, canonicals: Canonicals) -> None:
        self.auth, self.insecure, self.canonicals = auth, insecure, canonicals

    def check(self, request: Request, path: str) -> dict[str, Any] | Response:
        """The caller's claims, or the 401 refusing the call (the audience is this server's URL for `path`)."""
        if self.insecure:
            return {}
        if self.auth is None:
            return _refusal(Refused("No CDS client is trusted yet: start the server with --cds-auth FILE (the "
                                    "issuers and their keys), or --insecure-no-auth for a local trial."))
        try:
            return self.auth.verify(request.headers.get("authorization"), f"{self.canonicals.base}{path}")
        except Refused as exc:
            return _refusal(exc)

    def may_fetch(self, claims: dict[str, Any], server: str) -> bool:
        if self.insecure:
            return loopback(server)
        return self.auth is not None and self.auth.fhir_server_allowed(claims, server)


def _refusal(exc: Refused) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else {}
    return problem(exc.status, exc.message, headers=headers)


def add_routes(app: FastAPI, catalogue: Catalogue, canonicals: Canonicals, gate: Gate, audit: Path | None) -> None:
    @app.get("/cds-services", response_model=CdsServices, responses={**UNAUTHORIZED},
             summary="CDS Hooks discovery: one service per released ruleset")
    async def cds_discovery(request: Request) -> Response:
        claims = gate.check(request, "/cds-services")
        if isinstance(claims, Response):
            return claims
        latest_releases = [latest(items) for items in catalogue.releases().values()]
        return JSONResponse(cds_hooks.services(latest_releases, canonicals))

    @app.post("/cds-services/{service_id}", response_model=CdsCards,
              responses={**NOT_FOUND, **TOO_LARGE, **UNAUTHORIZED, **PRECONDITION, **GONE_BACK,
                         422: problem_response("A call or answers that cannot be read or do not fit")},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/CdsHooksRequest"}}}}},
              summary="CDS Hooks service: a card with the disposition, or the next questions to ask")
    async def cds_service(service_id: str, request: Request) -> Response:
        entry = catalogue.latest(service_id)
        if entry is None:
            return unknown_ruleset(catalogue, service_id)
        claims = gate.check(request, f"/cds-services/{service_id}")
        if isinstance(claims, Response):
            return claims
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        release = entry.release
        try:
            call = cds_hooks.read_call(body)
            missing = cds_hooks.to_fetch(call, release, canonicals)
            unreachable = ""
            if missing and call.fhir_server and call.access_token:
                if gate.may_fetch(claims, call.fhir_server):
                    for key, relative in missing.items():
                        try:
                            call.fetched[key] = await run_in_threadpool(fetch, call.fhir_server, call.access_token,
                                                                        relative)
                        except FetchFailed as exc:
                            unreachable = f" ({exc})"
                else:
                    unreachable = f" (the FHIR server {call.fhir_server} is not one this service may contact)"
            try:
                answers, unsure, asked = cds_hooks.gather(call, release, canonicals)
            except cds_hooks.PreconditionFailed as exc:
                return operation_outcome(412, exc.message + unreachable, "not-found")
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return answers_problem(exc, CDS_HINT)
        return JSONResponse(cds_hooks.cards(release, entry.ruleset, result, canonicals, answers, unsure, asked))

    @app.post("/cds-services/{service_id}/feedback", responses={
                  **NOT_FOUND, **TOO_LARGE, **UNAUTHORIZED, 422: problem_response("Feedback that is not valid"),
                  503: problem_response("No audit log to keep the feedback in")},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/CdsFeedback"}}}}},
              summary="CDS Hooks feedback on a card (accepted or overridden), kept in the audit log")
    async def cds_feedback(service_id: str, request: Request) -> Response:
        entry = catalogue.latest(service_id)
        if entry is None:
            return unknown_ruleset(catalogue, service_id)
        claims = gate.check(request, f"/cds-services/{service_id}/feedback")
        if isinstance(claims, Response):
            return claims
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        try:
            items = CdsFeedback.model_validate(body).feedback
        except ValueError as exc:
            return problem(422, f"Feedback must be {{\"feedback\": [{{\"card\", \"outcome\", \"outcomeTimestamp\", "
                                f"…}}]}} as CDS Hooks 2.0 defines it: {str(exc).splitlines()[0]}")
        if audit is None:
            return problem(503, "Feedback cannot be kept: this server has no audit log (workbench serve --audit).")
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        records = [{"received_at": now, "service": service_id, "release": release_stamp(entry.release),
                    "client": {k: claims.get(k) for k in ("iss", "sub", "tenant", "jti") if claims.get(k)},
                    "feedback": item.model_dump(exclude_none=True)} for item in items]
        await run_in_threadpool(_append, audit, records)
        return JSONResponse({"stored": len(records), "extension": {cds_hooks.EXTENSION: release_stamp(entry.release)}})


async def _json_object(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return problem(422, f"The request body cannot be read as JSON. {CDS_HINT}")
    if not isinstance(body, dict):
        return problem(422, f"The request body must be a JSON object. {CDS_HINT}")
    return body


def _append(path: Path, records: list[dict[str, Any]]) -> None:
    """One JSON line per feedback, appended under a lock and flushed to disk before the call is answered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"), path.open("a", encoding="utf-8") as log:
        for record in records:
            log.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        log.flush()
        os.fsync(log.fileno())


__all__ = ["CdsHooksRequest", "Gate", "add_routes"]
