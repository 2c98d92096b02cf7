"""The SPEC 7 routes: the released rulesets, each release's document, and evaluating a case on it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ..publish.export import index_data
from ..publish.releases import document_bytes
from ..run.engine import InputError, evaluate
from ..run.explain import advice, safety_net
from .catalogue import Catalogue, Entry
from .problems import NOT_FOUND, TOO_LARGE, Responses, answers_problem, problem, problem_response
from .schemas import EvaluateRequest, EvaluationResult, Index, ReleaseDocument

BODY_HINT = 'Send a JSON object such as {"inputs": {"age": 62}} with Content-Type: application/json.'
_CACHED: Responses = {304: {"description": "Not modified: the If-None-Match ETag is still current"}}
GONE_BACK: Responses = {503: problem_response("The latest release served before is gone; an older one is never served "
                                              "in its place")}


def add_evaluate(app: FastAPI, catalogue: Catalogue) -> None:
    """Evaluate first: the route most called is matched first."""

    @app.post("/rulesets/{ruleset_id}/versions/{version}/evaluate", response_model=EvaluationResult,
              responses={**NOT_FOUND, **TOO_LARGE, 422: problem_response("The request is malformed, or answers do "
                                                                          "not fit the ruleset's inputs (see "
                                                                          "`problems`)")},
              summary="Evaluate a case: the disposition, or the next questions to ask",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/EvaluateRequest"}}}}})
    async def evaluate_case(ruleset_id: str, version: str, request: Request) -> Response:
        # The body is read here rather than declared as a parameter: FastAPI's dependency solving cost more than
        # the evaluation itself (bench/bench_api.py). The OpenAPI document still describes it (openapi_extra).
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            return problem(422, f"The request body must be sent as JSON (Content-Type: application/json), not "
                           f"{media or 'an empty type'}. {BODY_HINT}")
        try:
            case = EvaluateRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                return problem(422, f"The request body cannot be read as JSON. {BODY_HINT}")
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        try:
            result = evaluate(entry.ruleset, case.inputs, unsure=case.unsure)
        except InputError as exc:
            return answers_problem(exc, BODY_HINT)
        return JSONResponse({**result.to_dict(), "advice": advice(entry.ruleset, result.outcome),
                             "safety_net": safety_net(entry.ruleset, result.outcome), "release": entry.stamp})


def add_releases(app: FastAPI, catalogue: Catalogue) -> None:
    @app.get("/rulesets", response_model=Index, summary="Released rulesets and their versions")
    async def list_rulesets() -> Response:
        return Response(document_bytes(index_data(catalogue.releases())), media_type="application/json")

    @app.get("/rulesets/{ruleset_id}", response_model=ReleaseDocument,
             responses={**_CACHED, **NOT_FOUND, **GONE_BACK}, summary="The latest release of a ruleset")
    async def latest_release(ruleset_id: str, request: Request) -> Response:
        entry = catalogue.latest(ruleset_id)
        if entry is None:
            return unknown_ruleset(catalogue, ruleset_id)
        return _document(entry, request, immutable=False)

    @app.get("/rulesets/{ruleset_id}/versions/{version}", response_model=ReleaseDocument,
             responses={**_CACHED, **NOT_FOUND}, summary="One release; its ETag is the sha256 of the bytes served")
    async def release_version(ruleset_id: str, version: str, request: Request) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return unknown_version(catalogue, ruleset_id, version)
        return _document(entry, request, immutable=True)


def _document(entry: Entry, request: Request, *, immutable: bool) -> Response:
    """The release's bytes with a strong ETag (the sha256 of the whole document); 304 when the client has them."""
    # a matching If-None-Match never gets here: not_modified.py answers it with a 304 before any other work
    return Response(entry.body, media_type="application/json", headers=release_headers(entry, immutable))


def release_headers(entry: Entry, immutable: bool) -> dict[str, str]:
    """A release's ETag and caching: a version never changes; the latest is asked again each time."""
    return {"ETag": entry.etag, "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses weak comparison (RFC 9110 13.1.2): W/"x" matches "x"."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def unknown_ruleset(catalogue: Catalogue, ruleset_id: str) -> JSONResponse:
    if refused := catalogue.refused(ruleset_id):  # the latest served before is gone: never an older one instead
        return problem(503, refused, headers={"Retry-After": "300"})
    known = ", ".join(catalogue.releases()) or "none"
    return problem(404, f"No released ruleset is called '{ruleset_id}' (drafts are not served). "
                        f"Released rulesets: {known}.")


def unknown_version(catalogue: Catalogue, ruleset_id: str, version: str) -> JSONResponse:
    reason = catalogue.withheld(ruleset_id, version)
    if reason:
        return problem(404, f"Release {version} of '{ruleset_id}' failed verification and is withheld: {reason}")
    versions = catalogue.versions(ruleset_id)
    if not versions:
        return unknown_ruleset(catalogue, ruleset_id)
    return problem(404, f"'{ruleset_id}' has no release {version} (drafts are not served). "
                        f"Released versions: {', '.join(r.version for r in versions)}.")

