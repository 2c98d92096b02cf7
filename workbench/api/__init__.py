"""The read-only HTTP API (SPEC 7): published releases and their evaluation, never drafts.

HTTP layer only, one module per surface: `rulesets` (SPEC 7), `fhir`, `cds_hooks`, `auth` (the JWT every CDS Hooks
call carries, CORS); `catalogue` reads and verifies the releases (through publish/), `guard` holds the outer rules
of every request, `problems` the RFC 9457 documents every error is, `schemas` what the OpenAPI document describes,
`fhir_client` fetches from an EHR's FHIR server what a CDS Hooks call did not prefetch. No input makes it answer
500.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from ..publish.fhir import Canonicals
from ..publish.signing import Keyring
from . import cds_hooks, fhir, rulesets
from .auth import CdsAuth, InsecureNotice
from .catalogue import Catalogue
from .guard import Guard
from .not_modified import NotModified
from .problems import phrase, problem
from .rulesets import BODY_HINT
from .schemas import CdsFeedback, CdsHooksRequest, EvaluateRequest

__all__ = ["MAX_BODY_BYTES", "ServeConfig", "app_from_environment", "create_app"]

MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024


def create_app(rulesets_root: Path, keyring: Keyring, served: Path | None = None, *, base_url: str | None = None,
               cds_auth: CdsAuth | None = None, insecure_no_auth: bool = False, audit: Path | None = None,
               cors_origins: tuple[str, ...] = (), recheck: float | None = None) -> FastAPI:
    """The read-only API over the published releases in `rulesets_root` (`<id>/releases/<version>.json`), those
    signed by a clinician `keyring` trusts; `served` records the highest release served of each (api/served.py).

    `base_url` is the server's own address (canonical URLs, CDS Hooks audiences; else $WORKBENCH_BASE_URL);
    `cds_auth` the CDS clients trusted (without it, and without `insecure_no_auth`, every CDS Hooks call is
    refused); `audit` the file CDS Hooks feedback is appended to; `cors_origins` the browser origins allowed
    (with `insecure_no_auth` and none given: any); `recheck`: seconds between looks at the releases (catalogue.py)."""
    catalogue = Catalogue(rulesets_root, keyring, served, recheck=recheck)
    canonicals = Canonicals.of(base_url)
    # /docs and /redoc from assets shipped in the fastapi-offline package: no page of ours loads from a CDN
    app = FastAPIOffline(title="Clinical-rules workbench", version="1",
                         description="Published, hash-verified triage rulesets and their evaluation. Read-only: "
                                     "releases only, never drafts.")
    app.add_middleware(NotModified, catalogue=catalogue)  # innermost: a 304 still gets CORS and the notice
    origins = tuple(cors_origins) or (cds_auth.cors_origins if cds_auth else ()) or (("*",) if insecure_no_auth else ())
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600,
                           expose_headers=["ETag", "Location", "Content-Location"])
    if insecure_no_auth:
        app.add_middleware(InsecureNotice)
    app.add_middleware(Guard, limit=MAX_BODY_BYTES, header_limit=MAX_HEADER_BYTES)  # added last: the outermost
    app.state.catalogue = catalogue
    app.state.canonicals = canonicals

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. JSON nested too deeply)
            return problem(422, f"The request body cannot be read as JSON. {BODY_HINT}")
        detail = exc.detail if isinstance(exc.detail, str) else phrase(exc.status_code)
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
        return problem(422, f"The request is not valid ({summary}). {BODY_HINT}", errors=errors)

    rulesets.add_evaluate(app, catalogue)  # the route most called is matched first
    fhir.add_routes(app, catalogue, canonicals, app.version)
    cds_hooks.add_routes(app, catalogue, canonicals, cds_hooks.Gate(cds_auth, insecure_no_auth, canonicals), audit)

    @app.get("/healthz", summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health", summary="What is served: each ruleset's latest release, the highest ever served here, and "
                                "any release that disappeared (never rolled back)",
             responses={503: {"description": "Degraded: a release served before is gone (see `rulesets`)"}})
    async def health() -> JSONResponse:
        state = catalogue.health()
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    rulesets.add_releases(app, catalogue)
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
            for model in (CdsHooksRequest, CdsFeedback):
                described = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(described.pop("$defs", {}))
                components[model.__name__] = described
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]



SERVE_ENV = "WORKBENCH_SERVE"


@dataclass(frozen=True)
class ServeConfig:
    """Everything `workbench serve` builds the app from, so each worker of `--workers N` (started by uvicorn from
    an import string, with nothing but the environment) builds the same app as a single process does."""

    root: str
    keyring: str | None = None
    served: str | None = None
    base_url: str | None = None
    cds_auth: str | None = None
    insecure_no_auth: bool = False
    audit: str | None = None
    cors_origins: tuple[str, ...] = ()

    def app(self) -> FastAPI:
        from ..publish.signing import load_keyring
        from .auth import CdsAuth

        return create_app(Path(self.root), load_keyring(Path(self.keyring) if self.keyring else None),
                          Path(self.served) if self.served else None, base_url=self.base_url,
                          cds_auth=CdsAuth.from_file(Path(self.cds_auth)) if self.cds_auth else None,
                          insecure_no_auth=self.insecure_no_auth, audit=Path(self.audit) if self.audit else None,
                          cors_origins=tuple(self.cors_origins))

    def to_environment(self) -> None:
        os.environ[SERVE_ENV] = json.dumps(asdict(self))


def app_from_environment() -> FastAPI:
    """The app for each worker process of `workbench serve --workers N` (see ServeConfig)."""
    return ServeConfig(**json.loads(os.environ[SERVE_ENV])).app()
