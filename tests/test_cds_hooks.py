"""CDS Hooks 2.0 as an EHR calls it: a JWT issuer of the tests' own (ES384 keys made here) signs every call, a
local FHIR server of the tests' own answers what a call did not prefetch, and every path is taken, refusals
included: discovery, prefetch, the fallback fetch with fhirAuthorization, 412, each kind of bad token, replay,
CORS, feedback into the audit log, and the cards themselves. On the frozen 2.0.0 ruleset as a signed release."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import V2
from tests.fhir_support import BASE, UNSURE, as_response, released, serving
from tests.test_fhirpath import vignettes
from workbench import evaluate, load_ruleset
from workbench.api.auth import INSECURE_HEADER, CdsAuth

RULESET = load_ruleset(V2 / "ruleset.yaml")
ID, VERSION = RULESET.id, RULESET.version
SERVICE = f"/cds-services/{ID}"
ISSUER = "https://ehr.example.org"
KID = "ehr-key-1"
KEY = ec.generate_private_key(ec.SECP384R1())
ORIGIN = "https://ehr.example.org"
COMPLETE = [v for v in vignettes(V2) if not v.get("unsure") and evaluate(RULESET, v["inputs"]).status == "complete"]


def token(aud: str, key: Any = KEY, alg: str = "ES384", headers: dict[str, Any] | None = None, **claims: Any) -> str:
    """A CDS client's JWT: iss, aud, iat, exp (5 minutes), a fresh jti; `claims` change or (None) drop any."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": KID, "typ": "JWT", **(headers or {})})


def bearer(path: str, **options: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(f'{BASE}{path}', **options)}"}


class FhirServer:
    """The EHR's FHIR server, on loopback: Patient reads and QuestionnaireResponse searches, only with the access
    token it issued; it records every request."""

    TOKEN = "ehr-access-token-for-the-cds-service"

    def __init__(self) -> None:
        self.patients: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {FhirServer.TOKEN}":
                    return self.reply(401, {"resourceType": "OperationOutcome", "issue": [
                        {"severity": "error", "code": "login"}]})
                parts = urlsplit(self.path)
                if match := re.fullmatch(r"/fhir/Patient/([A-Za-z0-9.-]+)", parts.path):
                    found = server.patients.get(match[1])
                    return self.reply(200, found) if found else self.reply(404, {"resourceType": "OperationOutcome",
                                                                                  "issue": []})
                if parts.path == "/fhir/QuestionnaireResponse":
                    query = parse_qs(parts.query)
                    patient = query["subject"][0].removeprefix("Patient/")
                    entries = [{"resource": r} for r in server.responses.get(patient, [])
                               if r.get("questionnaire") == query["questionnaire"][0]]
                    return self.reply(200, {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                                            "entry": entries})
                return self.reply(404, {"resourceType": "OperationOutcome", "issue": []})

            def reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FhirServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[FhirServer]:
    with FhirServer() as server:
        yield server


def jwks(key: Any = KEY, kid: str = KID) -> dict[str, Any]:
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES384"}]}


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory, fhir_server: FhirServer) -> Path:
    folder = tmp_path_factory.mktemp("auth")
    (folder / "ehr-jwks.json").write_text(json.dumps(jwks()), encoding="utf-8")
    path = folder / "cds-auth.json"
    path.write_text(json.dumps({"issuers": [{"iss": ISSUER, "jwks_file": "ehr-jwks.json",
                                             "fhir_servers": [fhir_server.url]}],
                                "cors_origins": [ORIGIN]}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rulesets")
    released(root, RULESET)
    return root


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit") / "cds-feedback.jsonl"


@pytest.fixture(scope="module")
def client(root: Path, auth_file: Path, audit: Path) -> Iterator[Any]:
    with serving(root, cds_auth=CdsAuth.from_file(auth_file), audit=audit) as test_client:
        yield test_client


def patient(years: int, patient_id: str = "p1") -> dict[str, Any]:
    """A Patient exactly `years` old today (born `years` years ago, a day earlier)."""
    today = date.today()
    born = date(today.year - years, today.month, 1 if today.day > 1 else today.day)
    return {"resourceType": "Patient", "id": patient_id, "birthDate": born.isoformat()}


def call(client: Any, *, prefetch: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
         **fields: Any) -> Any:
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-lee", "patientId": "p1"}, **fields}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return client.post(SERVICE, json=body, headers=bearer(SERVICE) if headers is None else headers)


def form(answers: dict[str, Any], unsure: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {**as_response(RULESET, answers, unsure), "status": "completed", "authored": "2026-01-02T10:00:00Z",
            "subject": {"reference": "Patient/p1"}}


# --- discovery -----------------------------------------------------------------------------------------------

def test_discovery_lists_the_service_with_its_prefetch_templates(client: Any) -> None:
    assert client.get("/cds-services").status_code == 401  # JWT on every call, discovery included
    services = client.get("/cds-services", headers=bearer("/cds-services")).json()["services"]
    (service,) = services
    assert (service["id"], service["hook"]) == (ID, "patient-view")
    questionnaire = f"{BASE}/fhir/Questionnaire/{ID}|{VERSION}"
    assert service["prefetch"] == {
        "patient": "Patient/{{context.patientId}}",
        "questionnaireResponse": f"QuestionnaireResponse?subject=Patient/{{{{context.patientId}}}}"
                                 f"&questionnaire={questionnaire}&_sort=-authored&_count=1"}
    assert "order-select" in service["usageRequirements"]
    assert service["extension"]["org.clinical-rules-workbench.release"]["version"] == VERSION


# --- the JWT, and every way it is refused --------------------------------------------------------------------

OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def unsigned() -> str:
    return jwt.encode({"iss": ISSUER, "aud": f"{BASE}{SERVICE}", "iat": int(time.time()),
                       "exp": int(time.time()) + 60, "jti": str(uuid.uuid4())}, None, algorithm="none",
                      headers={"kid": KID, "typ": "JWT"})


def hmac_with_the_public_key() -> str:
    """The classic confusion attack: HS256 keyed with the public key's PEM bytes (made by hand: PyJWT refuses to)."""
    secret = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    claims = {"iss": ISSUER, "aud": f"{BASE}{SERVICE}", "iat": int(time.time()), "exp": int(time.time()) + 60,
              "jti": str(uuid.uuid4())}
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = jwt.utils.base64url_encode(hmac.new(secret, header + b"." + body, hashlib.sha256).digest())
    return (header + b"." + body + b"." + signature).decode()


REFUSED = {
    "no header": lambda: {},
    "not bearer": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": lambda: {"Authorization": "Bearer not.a.jwt"},
    "alg none": lambda: {"Authorization": f"Bearer {unsigned()}"},
    "HMAC with the public key": lambda: {"Authorization": f"Bearer {hmac_with_the_public_key()}"},
    "another key": lambda: bearer(SERVICE, key=OTHER_KEY),
    "unknown issuer": lambda: bearer(SERVICE, iss="https://evil.example.org"),
    "unknown kid": lambda: bearer(SERVICE, headers={"kid": "someone-else"}),
    "no typ": lambda: {"Authorization": "Bearer " + jwt.encode(
        {"iss": ISSUER, "aud": f"{BASE}{SERVICE}", "iat": int(time.time()), "exp": int(time.time()) + 60,
         "jti": "x"}, KEY, algorithm="ES384", headers={"kid": KID, "typ": None})},
    "jku not configured": lambda: bearer(SERVICE, headers={"jku": "https://evil.example.org/jwks"}),
    "aud of discovery": lambda: bearer("/cds-services"),
    "aud with a slash": lambda: {"Authorization": f"Bearer {token(f'{BASE}{SERVICE}/')}"},
    "aud of another host": lambda: {"Authorization": f"Bearer {token(f'https://elsewhere.example.org{SERVICE}')}"},
    "aud as two": lambda: {"Authorization": f"Bearer {token([f'{BASE}{SERVICE}', 'https://x.example.org'])}"},
    "no exp": lambda: bearer(SERVICE, exp=None),
    "no iat": lambda: bearer(SERVICE, iat=None),
    "no jti": lambda: bearer(SERVICE, jti=None),
    "expired": lambda: bearer(SERVICE, iat=int(time.time()) - 400, exp=int(time.time()) - 100),
    "issued in the future": lambda: bearer(SERVICE, iat=int(time.time()) + 600, exp=int(time.time()) + 700),
    "valid for a day": lambda: bearer(SERVICE, exp=int(time.time()) + 86_400),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_call_without_a_good_jwt_is_refused_with_401(client: Any, case: str) -> None:
    response = call(client, headers=REFUSED[case](), context={"userId": "Practitioner/a", "patientId": "p1",
                                                              "answers": {"age": 40}})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"]


def test_a_replayed_token_is_refused(client: Any) -> None:
    headers = bearer(SERVICE)
    context = {"userId": "Practitioner/a", "patientId": "p1", "answers": {"age": 40}}
    assert call(client, headers=headers, context=context).status_code == 200
    replay = call(client, headers=headers, context=context)
    assert replay.status_code == 401 and "used before" in replay.json()["detail"]


def test_a_token_for_the_service_url_as_a_list_of_one_is_accepted(client: Any) -> None:
    headers = {"Authorization": f"Bearer {token([f'{BASE}{SERVICE}'])}"}
    assert call(client, headers=headers, context={"userId": "Practitioner/a", "patientId": "p1",
                                                  "answers": {"age": 40}}).status_code == 200


def test_without_trusted_issuers_every_call_is_refused_and_insecure_mode_says_so(root: Path) -> None:
    with serving(root) as closed:
        refused = closed.get("/cds-services")
        assert refused.status_code == 401 and "--cds-auth" in refused.json()["detail"]
    with serving(root, insecure_no_auth=True) as open_:
        for path in ("/cds-services", "/rulesets", "/fhir/metadata", "/healthz"):
            assert "local trials only" in open_.get(path).headers[INSECURE_HEADER]
        answered = open_.post(SERVICE, json={"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": {
            "userId": "Practitioner/a", "patientId": "p1", "answers": {"age": 40}}})
        assert answered.status_code == 200 and INSECURE_HEADER in answered.headers


def test_a_jwks_url_is_fetched_only_when_configured_and_jku_must_be_it(root: Path, tmp_path: Path) -> None:
    body = json.dumps(jwks()).encode()

    class Keys(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/jwks"
        config = tmp_path / "auth.json"
        config.write_text(json.dumps({"issuers": [{"iss": ISSUER, "jwks_url": url}]}), encoding="utf-8")
        with serving(root, cds_auth=CdsAuth.from_file(config)) as live:
            assert live.get("/cds-services", headers=bearer("/cds-services", headers={"jku": url})).status_code == 200
            assert live.get("/cds-services", headers=bearer("/cds-services")).status_code == 200
            other = bearer("/cds-services", headers={"jku": url + "?other"})
            assert live.get("/cds-services", headers=other).status_code == 401
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("config", [
    {}, {"issuers": []}, {"issuers": [{"iss": ISSUER}]},
    {"issuers": [{"iss": ISSUER, "jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}}]},
    {"issuers": [{"iss": ISSUER, "jwks": {"keys": [{**jwks()["keys"][0], "d": "private"}]}}]},
    {"issuers": [{"iss": ISSUER, "jwks": jwks()}], "cors_origins": ["*"]}])
def test_an_auth_file_that_cannot_be_trusted_is_refused_at_start(tmp_path: Path, config: dict[str, Any]) -> None:
    from workbench.api.auth import AuthConfigError

    path = tmp_path / "auth.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(AuthConfigError):
        CdsAuth.from_file(path)


# --- CORS --------------------------------------------------------------------------------------------------

def test_a_browser_client_from_an_allowed_origin_gets_its_preflight_answered(client: Any) -> None:
    preflight = client.options(SERVICE, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answered = client.get("/cds-services", headers={"Origin": ORIGIN, **bearer("/cds-services")})
    assert answered.headers["access-control-allow-origin"] == ORIGIN
    other = client.options(SERVICE, headers={"Origin": "https://evil.example.org",
                                             "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


# --- data: prefetch, the fallback fetch, 412 ---------------------------------------------------------------

NO_AGE = {"emergency_features": False, "abdominal_pain": True, "pregnancy_warning_signs": False}
"""Tummy pain with back pain: a possible leaking aneurysm at 50 or over, and nothing at 40: the age decides."""


def test_the_age_comes_from_the_patients_birth_date(client: Any) -> None:
    old = call(client, prefetch={"patient": patient(62), "questionnaireResponse": form(NO_AGE)}).json()["cards"][0]
    young = call(client, prefetch={"patient": patient(40), "questionnaireResponse": form(NO_AGE)}).json()["cards"][0]
    assert old["summary"].startswith("Possible leaking abdominal aortic aneurysm") and old["indicator"] == "critical"
    assert not young["summary"].startswith("Possible leaking")


def test_the_latest_response_in_a_searchset_bundle_is_read(client: Any) -> None:
    older = {**form({**NO_AGE, "abdominal_pain": False}), "authored": "2025-01-01T00:00:00Z"}
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": older},
                                                                       {"resource": form(NO_AGE)}]}
    (card,) = call(client, prefetch={"patient": patient(70), "questionnaireResponse": bundle}).json()["cards"]
    assert card["summary"].startswith("Possible leaking")


def test_no_response_yet_means_no_card(client: Any) -> None:
    answered = call(client, prefetch={"patient": patient(50), "questionnaireResponse": None})
    assert answered.status_code == 200 and answered.json()["cards"] == []


def test_missing_prefetch_is_fetched_from_the_fhir_server_with_the_token_given(client: Any,
                                                                               fhir_server: FhirServer) -> None:
    fhir_server.patients["p1"] = patient(65)
    fhir_server.responses["p1"] = [form(NO_AGE)]
    before = len(fhir_server.requests)
    authorization = {"access_token": FhirServer.TOKEN, "token_type": "Bearer", "expires_in": 300,
                     "scope": "user/Patient.read user/QuestionnaireResponse.read", "subject": "cds-service"}
    answered = call(client, fhirServer=fhir_server.url, fhirAuthorization=authorization)
    assert answered.status_code == 200, answered.text
    assert answered.json()["cards"][0]["summary"].startswith("Possible leaking")
    made = fhir_server.requests[before:]
    assert {path.split("?")[0] for path, _ in made} == {"/fhir/Patient/p1", "/fhir/QuestionnaireResponse"}
    assert all(auth == f"Bearer {FhirServer.TOKEN}" for _, auth in made)
    prefetched = call(client, prefetch={"patient": patient(65), "questionnaireResponse": form(NO_AGE)}).json()
    assert prefetched["cards"][0]["summary"] == answered.json()["cards"][0]["summary"]


@pytest.mark.parametrize("case", ["nothing", "server not trusted", "server down", "token refused",
                                  "prefetch failed"])
def test_data_neither_prefetched_nor_fetchable_is_412_with_an_operation_outcome(client: Any, fhir_server: FhirServer,
                                                                                 case: str) -> None:
    authorization = {"access_token": FhirServer.TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "x",
                     "subject": "cds"}
    fields: dict[str, Any] = {
        "nothing": {},
        "server not trusted": {"fhirServer": "https://other-ehr.example.org/fhir", "fhirAuthorization": authorization},
        "server down": {"fhirServer": "http://127.0.0.1:9/fhir", "fhirAuthorization": authorization},
        "token refused": {"fhirServer": fhir_server.url, "fhirAuthorization": {**authorization,
                                                                               "access_token": "wrong"}},
        "prefetch failed": {"prefetch": {"patient": patient(50), "questionnaireResponse": {
            "resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}}},
    }[case]
    answered = call(client, **fields)
    assert answered.status_code == 412 and answered.headers["content-type"].startswith("application/fhir+json")
    outcome = answered.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(("body", "said"), [
    ({"hookInstance": "not-a-uuid"}, "UUID"),
    ({"hook": "order-select"}, "patient-view"),
    ({"context": {"patientId": "p1"}}, "userId"),
    ({"context": {"userId": "Practitioner/a"}}, "patientId"),
    ({"fhirAuthorization": {"access_token": "t", "token_type": "Bearer"}}, "fhirServer"),
    ({"context": {"userId": "Practitioner/a", "patientId": "p1", "answers": {"age": 40},
                  "questionnaireResponse": {"resourceType": "QuestionnaireResponse"}}}, "not both")])
def test_a_call_that_is_not_cds_hooks_is_422(client: Any, body: dict[str, Any], said: str) -> None:
    full = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/a", "patientId": "p1"}, **body}
    answered = client.post(SERVICE, json=full, headers=bearer(SERVICE))
    assert answered.status_code == 422 and said in answered.json()["detail"], answered.json()["detail"]


def test_an_unknown_service_is_404(client: Any) -> None:
    answered = client.post("/cds-services/no-such-ruleset", json={}, headers=bearer("/cds-services/no-such-ruleset"))
    assert answered.status_code == 404


# --- cards ---------------------------------------------------------------------------------------------------

def short(label: str) -> str:
    head = re.split(r"\s[—–-]\s", label, maxsplit=1)[0]
    return head[:1].lower() + head[1:]


@pytest.mark.parametrize("vignette", COMPLETE[::10], ids=lambda v: v["id"])
def test_a_card_names_the_finding_and_gives_advice_safety_net_red_flags_links_and_source(
        client: Any, root: Path, vignette: dict[str, Any]) -> None:
    from workbench.run.explain import explain

    result = evaluate(RULESET, vignette["inputs"])
    said = explain(RULESET, result)
    (card,) = call(client, prefetch={"patient": patient(50), "questionnaireResponse": form(vignette["inputs"])}) \
        .json()["cards"]
    assert uuid.UUID(card["uuid"])
    expected = f"{said.outcome_title} — {short(said.disposition_label)}"
    assert card["summary"] == expected or (card["summary"].endswith("…") and expected.startswith(card["summary"][:-1]))
    assert len(card["summary"]) < 140
    rank = [d.id for d in RULESET.model.dispositions].index(result.disposition)
    assert card["indicator"] == ("critical" if rank == 0 else "warning" if rank <= 2 else "info")
    assert said.advice in card["detail"] and (not said.safety_net or said.safety_net in card["detail"])
    assert all(label in card["detail"] for _, label in said.red_flags)
    references = {r.id: r for r in RULESET.model.references}
    assert [link["url"] for link in card.get("links", [])] == [references[c].url for c in said.cites
                                                               if references[c].url]
    release = released(root, RULESET)
    assert card["source"]["url"] == f"{BASE}/rulesets/{ID}/versions/{VERSION}"
    assert VERSION in card["source"]["label"] and release.sha256[:12] in card["source"]["label"]
    assert card["source"]["topic"]["code"] == result.disposition
    assert card["extension"]["org.clinical-rules-workbench.release"]["sha256"] == release.sha256


def test_each_disposition_has_its_own_topic_and_the_indicators_follow_urgency(client: Any) -> None:
    topics, indicators = {}, {}
    for vignette in COMPLETE:
        (card,) = call(client, context={"userId": "Practitioner/a", "patientId": "p1",
                                        "answers": vignette["inputs"]}).json()["cards"]
        topics[card["source"]["topic"]["code"]] = card["source"]["topic"]
        indicators[card["source"]["topic"]["code"]] = card["indicator"]
    order = [d.id for d in RULESET.model.dispositions]
    assert len(topics) >= 4 and len({t["code"] for t in topics.values()}) == len(topics)
    levels = {"critical": 2, "warning": 1, "info": 0}
    ranked = sorted(indicators, key=order.index)
    assert [levels[indicators[d]] for d in ranked] == sorted((levels[indicators[d]] for d in ranked), reverse=True)


def test_an_unsure_answer_shows_the_red_flag_it_may_hide(client: Any) -> None:
    vignette = next(v for v in vignettes(V2) if v.get("unsure") and evaluate(RULESET, v["inputs"], unsure=v["unsure"])
                    .possible_red_flags)
    (card,) = call(client, prefetch={"patient": patient(50), "questionnaireResponse": form(
        vignette["inputs"], vignette["unsure"])}).json()["cards"]
    assert "Possible red flags" in card["detail"] and "unsure about" in card["detail"]
    assert UNSURE["code"] == "asked-unknown"


def test_an_incomplete_case_is_raised_to_the_most_urgent_disposition_its_missing_answers_could_reach(
        client: Any) -> None:
    (card,) = call(client, context={"userId": "Practitioner/a", "patientId": "p1",
                                    "answers": {"age": 40}}).json()["cards"]
    needs = evaluate(RULESET, {"age": 40}).needs
    assert card["summary"].startswith("Not yet triaged — could be") and "(emergency)" in card["summary"]
    assert card["indicator"] == "critical"
    assert all(RULESET.inputs[n].question in card["detail"] for n in needs)
    nothing_urgent_left = {**{i: False for i in RULESET.inputs if RULESET.inputs[i].type == "boolean"},
                           "age": 30, "pain_site": "lumbar"}
    del nothing_urgent_left["not_improving"]
    (calm,) = call(client, context={"userId": "Practitioner/a", "patientId": "p1",
                                    "answers": nothing_urgent_left}).json()["cards"]
    assert calm["indicator"] == "info" and "(emergency)" not in calm["summary"]


def test_a_chart_with_nothing_answered_gets_no_card(client: Any) -> None:
    answered = call(client, context={"userId": "Practitioner/a", "patientId": "p1", "answers": {}})
    assert answered.json()["cards"] == []


# --- feedback ----------------------------------------------------------------------------------------------

def test_feedback_is_kept_in_the_audit_log(client: Any, audit: Path) -> None:
    (card,) = call(client, context={"userId": "Practitioner/a", "patientId": "p1",
                                    "answers": {"age": 40}}).json()["cards"]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-02T10:05:00Z",
                              "overrideReason": {"userComment": "seen in clinic already"}}]}
    path = f"{SERVICE}/feedback"
    assert client.post(path, json=feedback).status_code == 401
    assert client.post(path, json=feedback, headers=bearer(SERVICE)).status_code == 401  # aud: the feedback URL
    stored = client.post(path, json=feedback, headers=bearer(path))
    assert stored.status_code == 200 and stored.json()["stored"] == 1
    (record,) = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()
                 if card["uuid"] in line]
    assert record["feedback"]["card"] == card["uuid"] and record["client"]["iss"] == ISSUER
    assert record["release"]["version"] == VERSION and record["service"] == ID
    bad = client.post(path, json={"feedback": [{"card": "x", "outcome": "liked"}]}, headers=bearer(path))
    assert bad.status_code == 422


# --- a release edited on disk -------------------------------------------------------------------------------

def test_a_release_edited_on_disk_reaches_no_ehr(tmp_path: Path, auth_file: Path) -> None:
    """Someone with write access turns the cauda equina outcome into self-care and recomputes the sha256: no
    service, card, FHIR resource or next question is answered from the edited file."""
    from workbench.publish.canonical import sha256_hex
    from workbench.publish.releases import ruleset_part

    released(tmp_path, RULESET)
    path = tmp_path / ID / "releases" / f"{VERSION}.json"
    emergency = next(v for v in COMPLETE if v["expect"].get("outcome") == "suspected_cauda_equina")
    context = {"userId": "Practitioner/a", "patientId": "p1", "answers": emergency["inputs"]}
    with serving(tmp_path, cds_auth=CdsAuth.from_file(auth_file)) as live:
        assert call(live, context=context).json()["cards"][0]["indicator"] == "critical"
        edited = json.loads(path.read_text(encoding="utf-8"))
        for node in edited["nodes"]:
            if node["id"] == "suspected_cauda_equina":
                node["disposition"] = "self_care"
        edited["sha256"] = sha256_hex(ruleset_part(edited), 2)
        path.write_text(json.dumps(edited), encoding="utf-8")
        deadline = time.monotonic() + 30  # the server looks again within a second; a busy machine is slower
        while live.get("/cds-services", headers=bearer("/cds-services")).json()["services"] and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.get("/cds-services", headers=bearer("/cds-services")).json()["services"] == []
        assert call(live, context=context).status_code == 503  # served before, now withheld: never an older one
        assert live.get(f"/fhir/PlanDefinition/{ID}-{VERSION}").status_code == 404
        assert live.get(f"/fhir/Questionnaire?url={BASE}/fhir/Questionnaire/{ID}").json()["total"] == 0
