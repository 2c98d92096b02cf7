"""HTTP problem documents (RFC 9457, `application/problem+json`): every error the API gives is one of these."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ..problems import ProblemError, Problems

PROBLEM_JSON = "application/problem+json"


class ProblemDetails(BaseModel):
    """RFC 9457; `problems` lists each answer that does not fit, `errors` each part of a malformed request."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}}}


Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: problem_response("No such released ruleset or version (drafts are never served)")}
TOO_LARGE: Responses = {413: problem_response("The request body is over 64 KiB")}


class EscapedJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: a problem quotes what the client sent, and a lone surrogate
    (valid in JSON text, not in UTF-8) must come back as `\\ud800`, not crash the response into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document; `type` is about:blank, so `title` is the status's own phrase."""
    body = {"type": "about:blank", "title": phrase(status), "status": status, "detail": detail, **extra}
    return EscapedJSON(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def operation_outcome(status: int, message: str, code: str = "processing") -> JSONResponse:
    """A FHIR OperationOutcome: how the FHIR endpoint and CDS Hooks (412) say what went wrong."""
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": message}]}
    return EscapedJSON(body, status_code=status, media_type="application/fhir+json")


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"




def answers_problem(exc: ProblemError, hint: str) -> JSONResponse:
    """422 (or the problems' own status) naming each answer that does not fit, with how to send it right."""
    said = "; ".join(p.message for p in exc.problems[:3])
    return problem(Problems(exc.problems).http_status(), f"Some answers cannot be read or do not fit this "
                   f"ruleset's inputs: {said} {hint}",
                   problems=[{"input": p.path_text, "message": p.message} for p in exc.problems])
