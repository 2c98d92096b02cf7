"""Web hardening, tried as the independent review did: 24 password guesses sent at once, a session left idle,
200 KB of headers, /docs fetching scripts from a CDN, and request bodies that say one thing twice (a repeated JSON
key, a FHIR answer with two values, an answer given to a question's help text)."""

from __future__ import annotations

import re
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.downstream_support import KEYRING, running_server, shipped_data, write_keyring, write_release
from workbench.people import accounts
from workbench.problems import ProblemError

PASSWORD = "correct horse battery"


def test_guesses_sent_all_at_once_get_no_more_checks_than_the_limit(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    accounts.add_account("Dr Ada Author", ["author"], PASSWORD, path=users)

    def guess(number: int) -> str:
        try:
            accounts.authenticate("Dr Ada Author", f"guess number {number}", path=users)
        except ProblemError as exc:
            return exc.problems[0].code
        return "SIGNED IN"

    with ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(guess, range(24)))
    assert codes.count("WB1005") == accounts.MAX_FAILURES, codes  # checked; every other guess waits unchecked
    assert codes.count("WB1006") == 24 - accounts.MAX_FAILURES
    with pytest.raises(ProblemError) as waiting:
        accounts.authenticate("Dr Ada Author", PASSWORD, path=users)
    assert waiting.value.problems[0].code == "WB1006"


def test_a_session_left_idle_is_signed_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.conftest import V1
    from tests.ui.test_ui_apptest import script, texts

    users = tmp_path / "users.json"
    accounts.add_account("Dr Ada Author", ["author"], PASSWORD, path=users)
    root = tmp_path / "rulesets"
    import shutil

    shutil.copytree(V1, root / "upper-back-pain")
    monkeypatch.setenv("WORKBENCH_RULESETS", str(root))
    monkeypatch.setenv(accounts.USERS_ENV, str(users))
    at = AppTest.from_string(script("rulesets"), default_timeout=60).run()
    at.text_input(key="login.name").input("Dr Ada Author")
    at.text_input(key="login.password").input(PASSWORD)
    at = at.button(key="FormSubmitter:login.form-Sign in").click().run()
    assert "Signed in as" in texts(at)
    at.session_state["login.active"] = time.time() - accounts.IDLE_TIMEOUT + 60  # active a minute within the limit
    at.run()
    assert "Signed in as" in texts(at)
    at.session_state["login.active"] = time.time() - accounts.IDLE_TIMEOUT - 1  # idle past it
    at.run()
    assert "Signed in as" not in texts(at) and "Sign in" in [t.value for t in at.title]
    assert "without activity" in texts(at)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("rulesets")
    write_release(root, shipped_data())
    with running_server(root, write_keyring(root / "keyring.json")) as base:
        yield base


def raw_request(base: str, request: bytes) -> bytes:
    """Bytes sent on a socket, as an attacker's client sends them; the whole answer."""
    address = urllib.parse.urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_headers_of_200_kb_are_refused(server: str) -> None:
    big = b"X-Padding: " + b"a" * 200_000 + b"\r\n"
    answer = raw_request(server, b"GET /rulesets HTTP/1.1\r\nHost: x\r\n" + big + b"Connection: close\r\n\r\n")
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 431), answer[:200]
    normal = raw_request(server, b"GET /rulesets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert normal.startswith(b"HTTP/1.1 200")


def test_docs_are_served_from_this_server_only(server: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{server}/docs") as response:
        page = response.read().decode()
    sources = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page) + re.findall(r"url: ?['\"]([^'\"]+)['\"]", page)
    assert sources and all(not urllib.parse.urlsplit(s).netloc for s in sources), sources
    for source in sources:
        with urllib.request.urlopen(urllib.parse.urljoin(f"{server}/docs", source)) as asset:
            assert asset.status == 200, source


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import warnings

    from workbench.api import create_app

    root = tmp_path_factory.mktemp("rulesets")
    write_release(root, shipped_data())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient

        return TestClient(create_app(root, KEYRING, insecure_no_auth=True))  # the bodies are the attack here


BASE = "/rulesets/upper-back-pain/versions/1.0.0"


@pytest.mark.parametrize(("path", "body"), [
    (f"{BASE}/evaluate", b'{"inputs": {"sphincter_dysfunction": true, "sphincter_dysfunction": false}}'),
    (f"{BASE}/evaluate", b'{"inputs": {"age": 62}, "inputs": {"age": 30}}'),
    ("/cds-services/upper-back-pain", b'{"hook": "patient-view", "hookInstance": "x", "context": '
                                      b'{"answers": {"known_cancer": true, "known_cancer": false}}}'),
    (f"{BASE}/next-question", b'{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": '
                              b'[{"linkId": "known_cancer", "answer": '
                              b'[{"valueBoolean": true, "valueBoolean": false}]}]}'),
])
def test_a_json_body_with_a_repeated_key_is_refused(client: Any, path: str, body: bytes) -> None:
    answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json" and "twice" in answer.json()["detail"]


def questionnaire_response(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": list(items)}


def test_a_fhir_answer_given_twice_in_one_answer_is_refused(client: Any) -> None:
    unsure = {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "asked-unknown"}
    body = questionnaire_response({"linkId": "known_cancer", "answer": [{"valueBoolean": False,
                                                                        "valueCoding": unsure}]})
    answer = client.post(f"{BASE}/next-question", json=body)
    assert answer.status_code == 422 and "answered twice" in answer.json()["detail"], answer.text


def test_an_answer_given_to_a_questions_help_text_is_refused_not_dropped(client: Any) -> None:
    body = questionnaire_response({"linkId": "known_cancer", "item": [
        {"linkId": "known_cancer.help", "answer": [{"valueBoolean": True}]}]})
    answer = client.post(f"{BASE}/next-question", json=body)
    assert answer.status_code == 422 and "known_cancer.help" in answer.json()["detail"], answer.text
    cds = client.post("/cds-services/upper-back-pain", json={
        "hook": "patient-view", "hookInstance": "5b1f4b52-8f3e-4d0e-9d36-2f8f6a3c9e11",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "questionnaireResponse": body}})
    assert cds.status_code == 422 and "known_cancer.help" in cds.json()["detail"], cds.text
