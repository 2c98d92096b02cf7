"""The read-only HTTP API (SPEC 7): published releases and their evaluation, never drafts.

HTTP layer only: releases are read and verified by export.py, evaluated by engine.py. Each release file
is read, hash-checked and compiled once, and again only if the file changes. Every error is an
RFC 9457 problem document (`application/problem+json`), and no input makes it answer 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt, StrictStr, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .content.model import Ruleset
from .problems import ProblemError, Problems
from .publish.cds_hooks import HOOK as CDS_HOOK
from .publish.cds_hooks import answers_from_request, answers_from_response
from .publish.cds_hooks import cards as cds_cards
from .publish.cds_hooks import next_question as cds_next_question
from .publish.cds_hooks import services as cds_services
from .publish.export import index_data
from .publish.fhir import RESOURCES as FHIR_RESOURCES
from .publish.published import Watch, published
from .publish.releases import Release, document_bytes, group, latest
from .publish.signing import Keyring, load_keyring
from .run.engine import CompiledRuleset, InputError, evaluate

MAX_BODY_BYTES = 64 * 1024
PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("workbench.api")


# --- what the API speaks (for the OpenAPI document) ----------------------------------------------

FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]  # 1e999 reads as infinity: refused
Answer = StrictBool | StrictInt | FiniteFloat | StrictStr | None


class EvaluateRequest(BaseModel):
    """A case: answers by input id; a missing or null answer is unknown and may be asked for."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"inputs": {"age": 62},
                                                                             "unsure": ["known_cancer"]}})
    inputs: dict[str, Answer]
    unsure: list[StrictStr] = Field(default=[], max_length=1000, description=(
        "Inputs the person answered 'unsure' (SPEC 3a): each is taken as whichever answer is more dangerous."))


class EvaluationResult(BaseModel):
    """SPEC 5: the disposition, or (status needs_input) the inputs to ask for next."""

    status: Literal["complete", "needs_input"]
    outcome: str | None
    disposition: str | None
    red_flags: list[str]
    path: list[str]
    needs: list[str]
    unsure: list[str]


class RulesetSummary(BaseModel):
    id: str
    title: str
    latest: str
    versions: list[str]


class Index(BaseModel):
    rulesets: list[RulesetSummary]


class ReleaseSignature(BaseModel):
    """Ed25519 over the RFC 8785 canonical JSON of the document without `signature`."""

    algorithm: Literal["Ed25519"]
    canonicalization: Literal["RFC 8785"]
    key_id: str
    signer: str
    value: str


class ReleaseDocument(Ruleset):
    """A release: the ruleset as JSON plus `sha256` (of the canonical JSON of the ruleset's own fields: sorted
    keys, no spaces, UTF-8), `release` (who wrote and approved it, when, why, its vignettes and replay) and
    `signature` (the approver's). Check the signature against keys you trust before using it."""

    sha256: str
    release: dict[str, Any]
    signature: ReleaseSignature


class ProblemDetails(BaseModel):
    """RFC 9457; `problems` lists each answer that does not fit, `errors` each part of a malformed request."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}}}


class CdsHooksRequest(BaseModel):
    """A CDS Hooks call: answers in `context.answers` (by input id) or a FHIR QuestionnaireResponse in
    `context.questionnaireResponse` or `prefetch.questionnaireResponse`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "example", "answers": {"bladder_bowel_dysfunction": True}}}})
    hook: StrictStr
    hookInstance: StrictStr
    context: dict[str, Any] = {}
    prefetch: dict[str, Any] | None = None


class QuestionnaireResponseBody(BaseModel):
    """A FHIR R4 QuestionnaireResponse; each item's `linkId` is an input id, its first answer the answer."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "resourceType": "QuestionnaireResponse", "status": "in-progress",
        "item": [{"linkId": "age", "answer": [{"valueDecimal": 62}]}]}})
    resourceType: Literal["QuestionnaireResponse"]
    item: list[dict[str, Any]] = []


class CdsCard(BaseModel):
    uuid: str
    summary: str
    indicator: Literal["info", "warning", "critical"]
    detail: str
    source: dict[str, Any]


class CdsCards(BaseModel):
    cards: list[CdsCard]


class CdsServices(BaseModel):
    services: list[dict[str, Any]]


_FHIR_JSON = "application/fhir+json"


_BODY_HINT = 'Send a JSON object such as {"inputs": {"age": 62}} with Content-Type: application/json.'
Responses = dict[int | str, dict[str, Any]]
_NOT_FOUND: Responses = {404: _problem_response("No such released ruleset or version (drafts are never served)")}
_TOO_LARGE: Responses = {413: _problem_response("The request body is over 64 KiB")}
_CACHED: Responses = {304: {"description": "Not modified: the If-None-Match ETag is still current"}}


class _EscapedJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: a problem quotes what the client sent, and a lone surrogate
    (valid in JSON text, not in UTF-8) must come back as `\\ud800`, not crash the response into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document; `type` is about:blank, so `title` is the status's own phrase."""
    body = {"type": "about:blank", "title": _phrase(status), "status": status, "detail": detail, **extra}
    return _EscapedJSON(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- releases on disk ----------------------------------------------------------------------------

class Catalogue:
    """The published releases under a rulesets root (publish/published.py), each verified and compiled once.

    The whole set is read again only when it could have changed (publish.published.stamp: a few stat calls),
    so a request costs a dictionary lookup, not a walk of the folder or a hash of a file."""

    def __init__(self, rulesets_root: Path, keyring: Keyring) -> None:
        self.root = Path(rulesets_root)
        self.keyring = keyring
        self._keyring_path = str(keyring.file) if keyring.file else None
        self._watch = Watch(self.root)
        self._stamp: tuple[int, ...] | None = None
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._grouped: dict[str, list[Release]] = {}
        self.problems: list[str] = []

    def _fresh(self) -> None:
        current = (*self._watch.stamp(), *self._keyring_stamp())
        if current == self._stamp:
            return
        self._watch.refresh()  # new folders or files to watch; the stamp below covers them
        current = (*self._watch.stamp(), *self._keyring_stamp())
        if self._stamp is not None and self.keyring.file and current[-3:] != self._stamp[-3:]:
            self._reload_keyring()
        found, problems = published(self.root, self.keyring)
        self._entries = {(r.id, r.version): _Entry(r, CompiledRuleset(r.model, r.path), r.data,
                                                   '"' + hashlib.sha256(r.data).hexdigest() + '"') for r in found}
        self._grouped = group(found)
        self.problems = [f"{p.file}: {p.message}" if p.file else p.message for p in problems]
        for problem in self.problems:
            _log.warning("not serving %s", problem)
        self._stamp = current

    def _keyring_stamp(self) -> tuple[int, int, int]:
        """The keyring file changes when a key is added or taken out (revoked): releases are checked again."""
        try:
            info = os.stat(self._keyring_path) if self._keyring_path else None
        except OSError:
            return (0, 0, 0)
        return (info.st_mtime_ns, info.st_size, info.st_ino) if info else (0, 0, 0)

    def _reload_keyring(self) -> None:
        try:
            self.keyring = load_keyring(Path(str(self.keyring.file)), required=True)
        except ProblemError as exc:  # missing or damaged: trust nobody until it is restored
            _log.error("the keyring %s cannot be read (%s): serving nothing", self.keyring.file,
                       exc.problems[0].message)
            self.keyring = Keyring((), self.keyring.file)

    def get(self, ruleset_id: str, version: str) -> _Entry | None:
        self._fresh()
        return self._entries.get((ruleset_id, version))

    def releases(self) -> dict[str, list[Release]]:
        self._fresh()
        return self._grouped

    def latest(self, ruleset_id: str) -> _Entry | None:
        """The latest release of a ruleset (SPEC 7: the highest version that is not a pre-release)."""
        versions = self.versions(ruleset_id)
        return self.get(ruleset_id, latest(versions).version) if versions else None

    def versions(self, ruleset_id: str) -> list[Release]:
        return self.releases().get(ruleset_id, [])

    def withheld(self, ruleset_id: str, version: str) -> str:
        """Why a release file that exists is not served, if it is one of those."""
        self._fresh()
        place = f"{ruleset_id}/releases/{version}.json"
        return next((p.split(": ", 1)[1] for p in self.problems if p.startswith(place + ":")), "")


@dataclass(frozen=True)
class _Entry:
    """A published release: verified, compiled, its served bytes and their ETag (the sha256 of the document)."""

    release: Release
    ruleset: CompiledRuleset
    body: bytes
    etag: str


# --- the app -------------------------------------------------------------------------------------

def create_app(rulesets_root: Path, keyring: Keyring) -> FastAPI:
    """The read-only API over the published releases in `rulesets_root` (`<id>/releases/<version>.json`), those
    signed by a clinician `keyring` trusts."""
    catalogue = Catalogue(rulesets_root, keyring)
    app = FastAPI(title="Clinical-rules workbench", version="1",
                  description="Published, hash-verified triage rulesets and their evaluation. Read-only: "
                              "releases only, never drafts.")
    app.add_middleware(Guard, limit=MAX_BODY_BYTES)
    app.state.catalogue = catalogue

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. JSON nested too deeply)
            return problem(422, f"The request body cannot be read as JSON. {_BODY_HINT}")
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}; the API is described at /docs and /openapi.json."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed here: the API is read-only."
            if "GET" in headers.get("Allow", "").split(", "):
                headers["Allow"] += ", HEAD"
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(part) for part in error.get("loc", ())], "message": str(error.get("msg", ""))}
                  for error in exc.errors()]
        summary = "; ".join(f"{'.'.join(e['loc']) or 'body'}: {e['message']}" for e in errors)
        return problem(422, f"The request is not valid ({summary}). {_BODY_HINT}", errors=errors)

    # evaluate first: the route most called is matched first
    @app.post("/rulesets/{ruleset_id}/versions/{version}/evaluate", response_model=EvaluationResult,
              responses={**_NOT_FOUND, **_TOO_LARGE, 422: _problem_response("The request is malformed, or answers do "
                                                                            "not fit "
                                                             "the ruleset's inputs (see `problems`)")},
              summary="Evaluate a case: the disposition, or the next questions to ask",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/EvaluateRequest"}}}}})
    async def evaluate_case(ruleset_id: str, version: str, request: Request) -> Response:
        # The body is read here rather than declared as a parameter: FastAPI's dependency solving cost more than
        # the evaluation itself (bench/bench_api.py). The OpenAPI document still describes it (openapi_extra).
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            return problem(422, f"The request body must be sent as JSON (Content-Type: application/json), not "
                           f"{media or 'an empty type'}. {_BODY_HINT}")
        try:
            case = EvaluateRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                return problem(422, f"The request body cannot be read as JSON. {_BODY_HINT}")
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return _unknown_version(catalogue, ruleset_id, version)
        try:
            result = evaluate(entry.ruleset, case.inputs, unsure=case.unsure)
        except InputError as exc:
            return _answers_problem(exc, _BODY_HINT)
        return JSONResponse(result.to_dict())

    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/Questionnaire", responses={**_NOT_FOUND},
             summary="The release's inputs as a FHIR R4 Questionnaire")
    async def fhir_questionnaire(ruleset_id: str, version: str) -> Response:
        return _fhir(catalogue, ruleset_id, version, "Questionnaire")

    @app.get("/rulesets/{ruleset_id}/versions/{version}/fhir/PlanDefinition", responses={**_NOT_FOUND},
             summary="The release's outcomes and red flags as a FHIR R4 PlanDefinition (an ECA rule)")
    async def fhir_plan_definition(ruleset_id: str, version: str) -> Response:
        return _fhir(catalogue, ruleset_id, version, "PlanDefinition")

    @app.post("/rulesets/{ruleset_id}/versions/{version}/next-question", responses={
                  **_NOT_FOUND, **_TOO_LARGE,
                  422: _problem_response("Not a QuestionnaireResponse, or answers that do not fit")},
              summary="SDC-style next question: the response with the next items to ask, or completed")
    async def next_question(ruleset_id: str, version: str, response: QuestionnaireResponseBody) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return _unknown_version(catalogue, ruleset_id, version)
        body = response.model_dump()
        try:
            answers, unsure = answers_from_response(body, entry.release)
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return _answers_problem(exc, _QR_HINT)
        return JSONResponse(cds_next_question(entry.release, body, result), media_type=_FHIR_JSON)

    @app.get("/cds-services", response_model=CdsServices, summary="CDS Hooks discovery: one service per ruleset")
    async def cds_discovery() -> Response:
        latest_releases = [latest(items) for items in catalogue.releases().values()]
        return JSONResponse(cds_services(latest_releases))

    @app.post("/cds-services/{service_id}", response_model=CdsCards,
              responses={**_NOT_FOUND, **_TOO_LARGE,
                         422: _problem_response("Answers that cannot be read or do not fit")},
              summary="CDS Hooks service: cards with the disposition, or the next questions to ask")
    async def cds_service(service_id: str, call: CdsHooksRequest) -> Response:
        entry = catalogue.latest(service_id)
        if entry is None:
            return _unknown_ruleset(catalogue, service_id)
        if call.hook != CDS_HOOK:
            return problem(422, f"This service answers the {CDS_HOOK} hook, not {call.hook!r}. {_CDS_HINT}")
        try:
            answers, unsure = answers_from_request(call.model_dump(), entry.release)
            result = evaluate(entry.ruleset, answers, unsure=unsure)
        except ProblemError as exc:
            return _answers_problem(exc, _CDS_HINT)
        return JSONResponse(cds_cards(entry.release, result, asked=bool(answers or unsure)))

    @app.get("/healthz", summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/rulesets", response_model=Index, summary="Released rulesets and their versions")
    async def list_rulesets() -> Response:
        return Response(document_bytes(index_data(catalogue.releases())), media_type="application/json")

    @app.get("/rulesets/{ruleset_id}", response_model=ReleaseDocument, responses={**_CACHED, **_NOT_FOUND},
             summary="The latest release of a ruleset")
    async def latest_release(ruleset_id: str, request: Request) -> Response:
        entry = catalogue.latest(ruleset_id)
        if entry is None:
            return _unknown_ruleset(catalogue, ruleset_id)
        return _document(entry, request, immutable=False)

    @app.get("/rulesets/{ruleset_id}/versions/{version}", response_model=ReleaseDocument,
             responses={**_CACHED, **_NOT_FOUND}, summary="One release; its ETag is the sha256 of the bytes served")
    async def release_version(ruleset_id: str, version: str, request: Request) -> Response:
        entry = catalogue.get(ruleset_id, version)
        if entry is None:
            return _unknown_version(catalogue, ruleset_id, version)
        return _document(entry, request, immutable=True)

    _describe_evaluate_body(app)
    return app


def _describe_evaluate_body(app: FastAPI) -> None:
    """Put EvaluateRequest in the OpenAPI components: the evaluate endpoint reads its body itself."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schema = EvaluateRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.pop("$defs", {}))
            components["EvaluateRequest"] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _fhir(catalogue: Catalogue, ruleset_id: str, version: str, kind: str) -> Response:
    entry = catalogue.get(ruleset_id, version)
    if entry is None:
        return _unknown_version(catalogue, ruleset_id, version)
    return JSONResponse(FHIR_RESOURCES[kind](entry.release), media_type=_FHIR_JSON)


def _answers_problem(exc: ProblemError, hint: str) -> JSONResponse:
    said = "; ".join(p.message for p in exc.problems[:3])
    return problem(Problems(exc.problems).http_status(), f"Some answers cannot be read or do not fit this "
                   f"ruleset's inputs: {said} {hint}",
                   problems=[{"input": p.path_text, "message": p.message} for p in exc.problems])


_QR_HINT = ('Send a FHIR QuestionnaireResponse whose items use the linkIds of GET .../fhir/Questionnaire, e.g. '
            '{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": [{"linkId": "age", '
            '"answer": [{"valueDecimal": 62}]}]}.')
_CDS_HINT = ('Send {"hook": "patient-view", "hookInstance": "<uuid>", "context": {"patientId": "…", "answers": '
             '{"age": 62}, "unsure": []}} or a questionnaireResponse in context or prefetch.')


def _document(entry: _Entry, request: Request, *, immutable: bool) -> Response:
    """The release's bytes with a strong ETag (the sha256 of the whole document); 304 when the client has them."""
    etag = entry.etag
    headers = {"ETag": etag,
               "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses weak comparison (RFC 9110 13.1.2): W/"x" matches "x"."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _unknown_ruleset(catalogue: Catalogue, ruleset_id: str) -> JSONResponse:
    known = ", ".join(catalogue.releases()) or "none"
    return problem(404, f"No released ruleset is called '{ruleset_id}' (drafts are not served). "
                        f"Released rulesets: {known}.")


def _unknown_version(catalogue: Catalogue, ruleset_id: str, version: str) -> JSONResponse:
    reason = catalogue.withheld(ruleset_id, version)
    if reason:
        return problem(404, f"Release {version} of '{ruleset_id}' failed verification and is withheld: {reason}")
    versions = catalogue.versions(ruleset_id)
    if not versions:
        return _unknown_ruleset(catalogue, ruleset_id)
    return problem(404, f"'{ruleset_id}' has no release {version} (drafts are not served). "
                        f"Released versions: {', '.join(r.version for r in versions)}.")


class _ClientGone(Exception):
    """The client disconnected before sending its whole body: nobody is there to answer."""


class Guard:
    """Every request's outer rules, in one ASGI middleware (one wrapper per request, not four):

    - a body over `limit` bytes is refused with 413 before the app reads it;
    - HEAD is answered as GET without the body (RFC 9110 9.3.2), whatever the server does;
    - `X-Content-Type-Options: nosniff` on every response, so a browser never reads JSON that quotes hostile text
      (a ruleset title, a URL path) as HTML;
    - the last line: a fault reading the releases (a disk error, a file too big for memory) is a logged 503
      problem document saying so, never a 500 page; bad input has its own 4xx answer."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head, started = scope["method"] == "HEAD", False

        async def reply(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"]
                message = {**message, "headers": [*headers, (b"x-content-type-options", b"nosniff")]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            body = await self._body(scope, receive)
        except _ClientGone:
            return
        if body is None:
            too_large = problem(413, f"The request body is over the limit of {self.limit:,} bytes.")
            await too_large(scope, receive, reply)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app({**scope, "method": "GET"} if head else scope, replay, reply)
        except Exception:
            if started:
                raise
            _log.exception("could not answer %s %s", scope.get("method"), scope.get("path"))
            response = problem(503, "The releases could not be read just now; nothing was changed. Try again, and "
                               "tell whoever runs this server if it persists.", headers={"Retry-After": "30"})
            await response(scope, receive, reply)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is over the limit (declared or sent)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                return None
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return None
        return body
