"""Schemathesis against the API's own OpenAPI document (in-process ASGI): no generated request, valid or
not, gets a 5xx, and every response is what the document promises. Derandomized, so CI is repeatable."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.downstream_support import KEYRING, shipped_data, write_release
from workbench.api import create_app

# The app reads its releases per request, so the folder can be filled by the fixture below; the schema
# itself must exist at import time for schemathesis to generate the tests.
ROOT = Path(tempfile.mkdtemp(prefix="workbench-fuzz-"))
atexit.register(shutil.rmtree, ROOT, True)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ROOT, KEYRING))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# A body over the limit is rejected before it is read, with 413: as good a refusal of invalid data as a 422.
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413"]
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def release() -> None:
    write_release(ROOT, shipped_data())


@schema.parametrize()
@FUZZ
def test_no_server_errors_and_every_response_matches_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()


@schema.parametrize()
@FUZZ
def test_any_body_against_a_release_that_exists_gets_no_server_error(case: schemathesis.Case) -> None:
    """Unknown ids are 404 before the body matters; here every case reaches the released ruleset."""
    if case.path_parameters and "ruleset_id" in case.path_parameters:
        case.path_parameters = {**case.path_parameters, "ruleset_id": "upper-back-pain", "version": "1.0.0"}
    case.call_and_validate(checks=[not_a_server_error])


@pytest.mark.parametrize("body", [
    b'{"inputs": {"\\ud800": 1}}',  # a lone surrogate: valid JSON text, not encodable as UTF-8
    b'{"inputs": {"age": "\\udc00"}}',
    b'{"inputs": {"age": 62}, "unsure": ["\\ud800"]}',
    b'{"inputs": {"age": 1e999}}',
    b'{"inputs": {"age": ' + b"9" * 5000 + b"}}",
    b"\xff\xfe\x00",
    b"[" * 20_000,
], ids=["surrogate-key", "surrogate-value", "surrogate-unsure", "infinite", "5000-digits", "not-utf8", "deep"])
def test_hostile_bodies_get_a_problem_document_never_a_500(body: bytes) -> None:
    """Found by hand before schemathesis did: a lone surrogate in an input key was an HTTP 500 in text/plain."""
    from tests.asgi_support import call

    status, headers, answer = call(create_app(ROOT, KEYRING), "POST",
                                   "/rulesets/upper-back-pain/versions/1.0.0/evaluate", body)
    assert status in (413, 422) and headers["content-type"] == "application/problem+json"
    document = json.loads(answer)
    assert document["status"] == status and document["detail"]
