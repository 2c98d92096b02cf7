"""Fetching what a CDS Hooks call did not prefetch from the CDS client's FHIR server, with the access token the
call gave (`fhirAuthorization`). Only servers the caller's issuer is configured with are contacted (auth.py);
answers are bounded in size and time, and anything but a FHIR resource in JSON counts as not fetched."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT = 5.0
MAX_BYTES = 1_000_000


class FetchFailed(Exception):
    """The FHIR server could not give the resource: unreachable, refused, or not FHIR JSON."""


def fetch(server: str, token: str, relative: str) -> Any:
    """`GET {server}/{relative}` as FHIR JSON: the resource, or None when the server says there is none (404)."""
    request = urllib.request.Request(f"{server.rstrip('/')}/{relative}", headers={
        "Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (http(s) checked by caller)
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise FetchFailed(f"the FHIR server answered {exc.code} for {relative}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchFailed(f"the FHIR server could not be reached for {relative} ({exc})") from None
    if len(body) > MAX_BYTES:
        raise FetchFailed(f"the FHIR server's answer for {relative} is over {MAX_BYTES:,} bytes")
    try:
        resource = json.loads(body)
    except ValueError:
        raise FetchFailed(f"the FHIR server's answer for {relative} is not JSON") from None
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FetchFailed(f"the FHIR server's answer for {relative} is not a FHIR resource")
    return resource
