"""The read-only HTTP API (SPEC 7): published releases and their evaluation, never drafts.

HTTP layer only, one module per surface: `rulesets` (SPEC 7), `fhir`, `cds_hooks`; `catalogue` reads and verifies
the releases (through publish/), `guard` holds the outer rules of every request, `problems` the RFC 9457
documents every error is, `schemas` what the OpenAPI document describes. No input makes it answer 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..publish.signing import Keyring
from . import cds_hooks, fhir, rulesets
from .catalogue import Catalogue
from .guard import Guard
from .not_modified import NotModified
from .problems import phrase, problem
from .rulesets import BODY_HINT
from .schemas import EvaluateRequest

__all__ = ["MAX_BODY_BYTES", "create_app", "app_from_environment"]

MAX_BODY_BYTES = 64 * 1024


def create_app(rulesets_root: Path, keyring: Keyring, *, recheck: float | None = None) -> FastAPI:
    """The read-only API over the published releases in `rulesets_root` (`<id>/releases/<version>.json`), those
    signed by a clinician `keyring` trusts; `recheck`: seconds between looks at the releases (catalogue.py)."""
    catalogue = Catalogue(rulesets_root, keyring, recheck=recheck)
    app = FastAPI(title="Clinical-rules workbench", version="1",
                  description="Published, hash-verified triage rulesets and their evaluation. Read-only: "
                              "releases only, never drafts.")
    app.add_middleware(NotModified, catalogue=catalogue)
    app.add_middleware(Guard, limit=MAX_BODY_BYTES)  # added last: the outermost
    app.state.catalogue = catalogue

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
    fhir.add_routes(app, catalogue)
    cds_hooks.add_routes(app, catalogue)

    @app.get("/healthz", summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

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
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]



SERVE_ROOT_ENV, SERVE_KEYRING_ENV = "WORKBENCH_SERVE_ROOT", "WORKBENCH_SERVE_KEYRING"


def app_from_environment() -> FastAPI:
    """The app for each worker process of `workbench serve --workers N` (uvicorn starts workers from an import
    string, so the folder and keyring come through the environment the command sets)."""
    import os

    from ..publish.signing import load_keyring

    keyring = os.environ.get(SERVE_KEYRING_ENV)
    return create_app(Path(os.environ[SERVE_ROOT_ENV]), load_keyring(Path(keyring) if keyring else None))
