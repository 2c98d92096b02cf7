"""SPEC 7 HTTP API, through a real `workbench serve` (uvicorn) on a loopback port: signed releases only,
read-only, ETags that are the sha256 of the whole document, and an RFC 9457 problem document for everything
that goes wrong."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import run_cli
from tests.downstream_support import (
    KEYRING,
    REPO,
    V1,
    release_document,
    running_server,
    shipped_data,
    write_keyring,
    write_release,
)
from workbench import evaluate, load_ruleset
from workbench.api import create_app
from workbench.publish.canonical import sha256_hex
from workbench.publish.export import export
from workbench.publish.releases import document_bytes, ruleset_part
from workbench.publish.signing import SigningKey
from workbench.run.replay import load_vignettes, vignette_paths

ID = "upper-back-pain"
EVALUATE = f"/rulesets/{ID}/versions/1.0.0/evaluate"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Releases 1.0.0 and 1.1.0; a tampered 1.0.1, an unsigned 1.0.2, a 1.0.3 signed by a key nobody trusts and a
    rehashed 1.0.4; and drafts (a 9.9.9 draft and a never-released ruleset)."""
    root = tmp_path_factory.mktemp("rulesets")
    write_release(root, shipped_data())
    write_release(root, shipped_data(version="1.1.0", title="Upper back pain, revised"))
    tampered = write_release(root, shipped_data(version="1.0.1"))
    tampered.write_bytes(tampered.read_bytes().replace(b"Emergency", b"Routine"))
    write_release(root, shipped_data(version="1.0.2"), key=None)
    stranger = SigningKey("dr.approver", Ed25519PrivateKey.generate())
    write_release(root, shipped_data(version="1.0.3"), key=stranger)
    rehashed = release_document(shipped_data(version="1.0.4"))
    rehashed["title"] = "Planted"
    rehashed["sha256"] = sha256_hex(ruleset_part(rehashed))
    (root / ID / "releases" / "1.0.4.json").write_bytes(document_bytes(rehashed))
    draft = (V1 / "ruleset.yaml").read_text(encoding="utf-8").replace("version: 1.0.0", "version: 9.9.9")
    (root / ID / "ruleset.yaml").write_text(draft, encoding="utf-8")
    (root / "draft-only").mkdir()
    (root / "draft-only" / "ruleset.yaml").write_text(draft.replace(f"id: {ID}", "id: draft-only"), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def base(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keyring = write_keyring(tmp_path_factory.mktemp("deployment") / "keyring.json")
    with running_server(root, keyring) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- reading releases ------------------------------------------------------------------------------

def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_rulesets_is_the_index_of_releases_only(client: httpx.Client) -> None:
    assert client.get("/rulesets").json() == {"rulesets": [
        {"id": ID, "title": "Upper back pain, revised", "latest": "1.1.0", "versions": ["1.0.0", "1.1.0"]}]}


def test_api_and_export_publish_the_same_bytes(client: httpx.Client, root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    assert client.get("/rulesets").content == (tmp_path / "out" / "index.json").read_bytes()
    assert client.get(f"/rulesets/{ID}/versions/1.0.0").content == (tmp_path / "out" / ID / "1.0.0.json").read_bytes()
    assert client.get(f"/rulesets/{ID}").content == (tmp_path / "out" / ID / "latest.json").read_bytes()


def etag_of(response: httpx.Response) -> str:
    return '"' + hashlib.sha256(response.content).hexdigest() + '"'


def test_ruleset_is_its_latest_release(client: httpx.Client) -> None:
    response = client.get(f"/rulesets/{ID}")
    document = response.json()
    assert (document["id"], document["version"]) == (ID, "1.1.0")
    assert document["sha256"] == sha256_hex(ruleset_part(document))
    assert response.headers["etag"] == etag_of(response)


def test_version_has_a_strong_etag_that_is_the_hash_of_the_whole_document(client: httpx.Client) -> None:
    response = client.get(f"/rulesets/{ID}/versions/1.0.0")
    document = response.json()
    assert ruleset_part(document) == shipped_data() and {"nodes", "sha256", "release", "signature"} <= set(document)
    assert document["sha256"] == sha256_hex(shipped_data())
    assert response.headers["etag"] == etag_of(response) != f'"{document["sha256"]}"'
    assert "immutable" in response.headers["cache-control"]


@pytest.mark.parametrize("if_none_match", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_matching_if_none_match_gets_304_without_a_body(client: httpx.Client, if_none_match: str) -> None:
    etag = client.get(f"/rulesets/{ID}/versions/1.0.0").headers["etag"]
    response = client.get(f"/rulesets/{ID}/versions/1.0.0", headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_a_stale_if_none_match_gets_the_document(client: httpx.Client) -> None:
    response = client.get(f"/rulesets/{ID}/versions/1.0.0", headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert response.status_code == 200 and response.json()["version"] == "1.0.0"


def test_head_gives_the_headers_without_the_body(client: httpx.Client) -> None:
    response = client.head(f"/rulesets/{ID}/versions/1.0.0")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["etag"] == client.get(f"/rulesets/{ID}/versions/1.0.0").headers["etag"]


# --- never drafts, never tampered ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/rulesets/draft-only", f"/rulesets/{ID}/versions/9.9.9", "/rulesets/nope",
                                  f"/rulesets/{ID}/versions/1.0.0-draft", "/rulesets/nope/versions/1.0.0",
                                  f"/rulesets/{ID}/versions/..%2F..%2Fruleset", "/rulesets/UPPER-BACK-PAIN",
                                  f"/rulesets/{ID}/versions/latest"])
def test_drafts_and_unknown_ids_or_versions_are_404_problems(client: httpx.Client, path: str) -> None:
    assert_problem(client.get(path), 404)


@pytest.mark.parametrize("version, why", [("1.0.1", "changed after"), ("1.0.2", "not signed"),
                                          ("1.0.3", "does not hold"), ("1.0.4", "changed after")])
def test_a_tampered_unsigned_or_untrusted_release_is_withheld_and_says_why(client: httpx.Client, version: str,
                                                                           why: str) -> None:
    body = assert_problem(client.get(f"/rulesets/{ID}/versions/{version}"), 404)
    assert "failed verification" in body["detail"] and why in body["detail"]
    assert_problem(client.post(f"/rulesets/{ID}/versions/{version}/evaluate", json={"inputs": {}}), 404)
    assert version not in client.get("/rulesets").text


def test_a_404_for_an_unknown_version_names_the_released_ones(client: httpx.Client) -> None:
    assert "1.0.0, 1.1.0" in assert_problem(client.get(f"/rulesets/{ID}/versions/3.0.0"), 404)["detail"]


def noticed(ask: Any, seen: Any, within: float = 30.0) -> Any:
    """The server's answer once it shows a change: a running server looks at the releases again at most once a
    second (RECHECK_SECONDS), so a change is noticed within a second, not at once; `within` bounds the wait for
    a machine busy with other work."""
    deadline = time.monotonic() + within
    while not seen(answer := ask()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return answer


def test_a_new_release_is_served_without_a_restart(client: httpx.Client, root: Path) -> None:
    write_release(root, shipped_data(id="neck-pain", title="Neck pain"))
    try:
        listed = noticed(lambda: client.get("/rulesets").json()["rulesets"], lambda found: len(found) == 2)
        assert [r["id"] for r in listed] == ["neck-pain", ID]
        assert client.get("/rulesets/neck-pain").json()["version"] == "1.0.0"
    finally:
        (root / "neck-pain" / "releases" / "1.0.0.json").unlink()
    # served before, now gone: refused, and never gone back from
    assert_problem(noticed(lambda: client.get("/rulesets/neck-pain"), lambda r: r.status_code == 503), 503)


def test_a_changed_release_gets_a_new_etag_and_never_a_304(client: httpx.Client, root: Path) -> None:
    """The release record (reason, approver, time) is outside the content hash but inside the document, the
    signature and the ETag: a client holding the old body must get the new one, or a refusal."""
    write_release(root, shipped_data(id="neck-pain", title="Neck pain"), reason="first wording")
    try:
        first = noticed(lambda: client.get("/rulesets/neck-pain/versions/1.0.0"), lambda r: r.status_code == 200)
        write_release(root, shipped_data(id="neck-pain", title="Neck pain"), reason="second wording")
        noticed(lambda: client.get("/rulesets/neck-pain/versions/1.0.0"),
                lambda r: r.json()["release"]["reason"] == "second wording")
        again = client.get("/rulesets/neck-pain/versions/1.0.0", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 200 and again.json()["release"]["reason"] == "second wording"
        assert again.headers["etag"] != first.headers["etag"]
    finally:
        (root / "neck-pain" / "releases" / "1.0.0.json").unlink()
    # served before, now gone: refused, never an older one
    assert_problem(noticed(lambda: client.get("/rulesets/neck-pain"), lambda r: r.status_code == 503), 503)


# --- evaluation --------------------------------------------------------------------------------

def shipped_cases() -> list[tuple[str, dict[str, Any]]]:
    yaml_ruleset = load_ruleset(V1 / "ruleset.yaml")
    return [(v.id, dict(v.inputs)) for report in load_vignettes(vignette_paths(V1), yaml_ruleset)
            for v in report.model.vignettes]


def test_evaluate_gives_spec_5_results_like_the_yaml_for_every_shipped_vignette(client: httpx.Client) -> None:
    yaml_ruleset = load_ruleset(V1 / "ruleset.yaml")
    for vignette_id, inputs in shipped_cases():
        response = client.post(EVALUATE, json={"inputs": inputs})
        assert response.status_code == 200, (vignette_id, response.text)
        body = response.json()
        assert {k: body[k] for k in SPEC_FIELDS} == evaluate(yaml_ruleset, inputs).to_dict(), vignette_id
        assert list(body)[:len(SPEC_FIELDS)] == SPEC_FIELDS  # SPEC 5 and 3a first, in order; what a person reads after
        assert body["release"] == {"id": "upper-back-pain", "version": "1.0.0", "sha256": body["release"]["sha256"]}
        assert len(body["release"]["sha256"]) == 64


SPEC_FIELDS = ["status", "outcome", "disposition", "red_flags", "path", "needs", "unsure", "possible_red_flags"]


def test_evaluate_asks_for_the_next_inputs(client: httpx.Client) -> None:
    result = client.post(EVALUATE, json={"inputs": {"age": 62, "known_cancer": True}}).json()
    assert result["status"] == "needs_input" and result["outcome"] is None and result["disposition"] is None
    assert result["needs"] and result["red_flags"] == ["history_of_cancer"]


def test_answers_that_do_not_fit_are_422_naming_each_input(client: httpx.Client) -> None:
    body = assert_problem(client.post(EVALUATE, json={"inputs": {"age": 200, "pain_site": "thorasic", "agee": 3}}),
                          422)
    by_input = {p["input"]: p["message"] for p in body["problems"]}
    assert set(by_input) == {"age", "pain_site", "agee"}
    assert "thoracic" in by_input["pain_site"] and "age" in by_input["agee"]


def test_unsure_answers_are_taken_as_the_more_dangerous_and_listed(client: httpx.Client) -> None:
    answers = {"limb_weakness": False, "difficulty_walking": False, "sensory_loss": False,
               "bladder_bowel_dysfunction": False, "saddle_anaesthesia": False, "radicular_pain": True}
    response = client.post(EVALUATE, json={"inputs": answers, "unsure": ["known_cancer"]})
    assert response.status_code == 200
    result = response.json()
    assert (result["status"], result["disposition"], result["unsure"]) == ("complete", "emergency", ["known_cancer"])
    assert client.post(EVALUATE, json={"inputs": answers}).json()["disposition"] != "emergency"


@pytest.mark.parametrize("unsure, words", [(["known_cancr"], "did you mean 'known_cancer'"),
                                           (["radicular_pain"], "both answered and marked unsure")])
def test_bad_unsure_ids_are_422_naming_the_input(client: httpx.Client, unsure: list[str], words: str) -> None:
    body = assert_problem(client.post(EVALUATE, json={"inputs": {"radicular_pain": True}, "unsure": unsure}), 422)
    assert words in body["problems"][0]["message"] and body["problems"][0]["input"] == unsure[0]


@pytest.mark.parametrize("content", [
    b"not json", b"{", b"[]", b"{}", b'{"inputs": []}', b'{"inputs": {"age": [62]}}', b'{"inputs": {}, "x": 1}',
    b'{"inputs": {}, "unsure": "age"}', b'{"inputs": {}, "unsure": [1]}',
    b'{"inputs": {"age": 1e999}}', b'{"inputs": {"age": NaN}}', b'{"inputs": {"age": 1' + b"0" * 400 + b"}}",
    b"[" * 20_000 + b"]" * 20_000, "{\"inputs\": {\"\u00e2ge\": true}}".encode("latin-1"),
])
def test_malformed_bodies_are_422_problems_saying_what_was_wrong(client: httpx.Client, content: bytes) -> None:
    body = assert_problem(client.post(EVALUATE, content=content, headers={"Content-Type": "application/json"}), 422)
    assert "inputs" in body["detail"]


def test_a_body_without_json_content_type_is_422(client: httpx.Client) -> None:
    assert_problem(client.post(EVALUATE, content=b'{"inputs": {}}', headers={"Content-Type": "text/plain"}), 422)


def test_a_body_over_64_kib_is_413(client: httpx.Client) -> None:
    inputs = {f"x{i}": True for i in range(10_000)}
    assert_problem(client.post(EVALUATE, json={"inputs": inputs}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"inputs": {'
        for _ in range(2000):
            yield b'"a": true, ' * 10
        yield b'"b": true}}'
    assert_problem(client.post(EVALUATE, content=chunks(), headers={"Content-Type": "application/json"}), 413)


# --- read-only -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/rulesets", f"/rulesets/{ID}", f"/rulesets/{ID}/versions/1.0.0", EVALUATE])
def test_write_methods_are_405(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, json={"inputs": {}})
    assert_problem(response, 405)
    assert "allow" in response.headers


@pytest.mark.parametrize("path", ["/rulesets", f"/rulesets/{ID}", f"/rulesets/{ID}/versions/1.0.0"])
def test_post_to_a_document_is_405(client: httpx.Client, path: str) -> None:
    assert_problem(client.post(path, json={}), 405)


def test_serving_changes_nothing_on_disk(client: httpx.Client, root: Path) -> None:
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    client.get("/rulesets")
    client.post(EVALUATE, json={"inputs": {"age": 62}})
    client.put(f"/rulesets/{ID}/versions/1.0.0", json={})
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_the_openapi_document_describes_every_endpoint(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {"/rulesets", "/rulesets/{ruleset_id}", "/rulesets/{ruleset_id}/versions/{version}",
                          "/rulesets/{ruleset_id}/versions/{version}/evaluate", "/healthz"}
    assert "application/problem+json" in json.dumps(paths["/rulesets/{ruleset_id}/versions/{version}"])


# --- the downstream example app ------------------------------------------------------------------

APP = REPO / "examples" / "downstream_app.py"
VIGNETTE = "known-breast-cancer-thoracic-night-pain"


@pytest.fixture(scope="module")
def keyring_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_keyring(tmp_path_factory.mktemp("app") / "keyring.json")


def test_example_app_reaches_the_disposition_with_scripted_answers(base: str, keyring_file: Path) -> None:
    inputs = dict(shipped_cases())[VIGNETTE]
    done = subprocess.run([sys.executable, str(APP), "--server", base, "--ruleset", ID, "--version", "1.0.0",
                           "--keyring", str(keyring_file), "--answers", json.dumps(inputs)], capture_output=True,
                          text=True, timeout=60, cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "Disposition: urgent_mri_1_week" in done.stdout
    assert "Outcome: suspected_spinal_metastases" in done.stdout


def test_example_app_asks_each_needed_question_until_a_disposition(base: str, keyring_file: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Answers typed at the prompts, as a person would, taken from the vignette by question."""
    import runpy

    app = runpy.run_path(str(APP))
    inputs = dict(shipped_cases())[VIGNETTE]
    questions = {spec.question: spec.id for spec in load_ruleset(V1 / "ruleset.yaml").model.inputs}
    asked: list[str] = []

    def answer(prompt: str) -> str:
        input_id = next(i for q, i in questions.items() if prompt.startswith(q))
        asked.append(input_id)
        value = inputs[input_id]
        return ("yes" if value else "no") if isinstance(value, bool) else str(value)

    monkeypatch.setattr("builtins.input", answer)
    assert app["main"](["--server", base, "--ruleset", ID, "--keyring", str(keyring_file)]) == 0
    out = capsys.readouterr().out
    assert "upper-back-pain 1.1.0" in out and "Disposition: urgent_mri_1_week" in out
    assert asked and len(asked) == len(set(asked))


def test_example_app_refuses_a_release_changed_in_transit(base: str, keyring_file: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy
    import urllib.request

    app = runpy.run_path(str(APP))
    real = urllib.request.urlopen

    class Tampered:
        def __init__(self, response: Any) -> None:
            self.response = response

        def __enter__(self) -> Tampered:
            return self

        def __exit__(self, *exc: object) -> None:
            self.response.close()

        def read(self, *args: Any) -> bytes:
            return self.response.read().replace(b"Emergency", b"Routine")

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Tampered(real(*a, **k)))
    with pytest.raises(SystemExit, match="refusing .*changed after"):
        app["fetch_release"](base, app["Pin"](ID, "1.0.0"), app["trusted_keys"](str(keyring_file)),
                             keyring_file.parent / "state.json")


def test_serve_without_a_keyring_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    assert main(["serve", "--rulesets", str(tmp_path), "--keyring", str(tmp_path / "none.json")]) == 2
    assert "no keyring" in capsys.readouterr().err
    for command in (["serve", "--rulesets", str(tmp_path)], ["export", "--rulesets", str(tmp_path), "--out",
                                                              str(tmp_path / "out")]):
        assert main(command) == 2  # nothing given: $WORKBENCH_KEYRING names a file that does not exist
        assert "no keyring" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- the serve command ---------------------------------------------------------------------------

def test_serve_without_a_rulesets_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("serve", "--rulesets", str(tmp_path / "missing"))
    assert done.returncode == 2 and "no rulesets folder" in done.stderr


def test_serve_without_the_api_extra_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    assert main(["serve", "--rulesets", str(tmp_path), "--keyring", str(write_keyring(tmp_path / "k.json"))]) == 2
    assert "pip install 'clinical-rules-workbench[api]'" in capsys.readouterr().err


def test_a_key_taken_out_of_the_keyring_stops_its_releases_without_a_restart(tmp_path: Path) -> None:
    """Revoking a key is taking it out of the deployment's keyring: a running server stops serving what it signed
    at its next request, and serves nothing while the keyring cannot be read."""
    from tests.asgi_support import call
    from workbench.publish.signing import load_keyring

    root = tmp_path / "rulesets"
    write_release(root, shipped_data())
    path = write_keyring(tmp_path / "keyring.json")
    app = create_app(root, load_keyring(path), recheck=0)  # every request looks: the test needs no clock
    assert call(app, "GET", "/rulesets/upper-back-pain/versions/1.0.0")[0] == 200
    path.write_text('{"keys": []}', encoding="utf-8")
    status, _, body = call(app, "GET", "/rulesets/upper-back-pain/versions/1.0.0")
    assert status == 404 and b"failed verification" in body, body
    write_keyring(path)
    assert call(app, "GET", "/rulesets/upper-back-pain/versions/1.0.0")[0] == 200
    path.write_text("{damaged", encoding="utf-8")
    assert call(app, "GET", "/rulesets/upper-back-pain/versions/1.0.0")[0] == 404


def test_a_fault_reading_the_releases_is_a_503_problem_never_a_500(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.asgi_support import call
    from workbench.api import catalogue

    root = tmp_path / "rulesets"
    write_release(root, shipped_data())
    app = create_app(root, KEYRING)

    def broken(*_: object) -> None:
        raise MemoryError("a release too big to read")

    monkeypatch.setattr(catalogue, "published", broken)
    status, headers, body = call(app, "GET", "/rulesets")
    assert status == 503 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["detail"].startswith("The releases could not be read just now")


# --- serving from more than one process ------------------------------------------------------------

def test_the_releases_are_looked_at_again_at_most_once_a_second(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Not on every request: a thousand requests within a second cost one look (a few stat calls), and a new
    release is served from the first request a second after the last look."""
    from workbench.api.catalogue import Catalogue
    from workbench.publish import published

    root = tmp_path / "rulesets"
    write_release(root, shipped_data())
    now = [100.0]
    catalogue = Catalogue(root, KEYRING, clock=lambda: now[0])
    looks = []
    stamp = published.Watch.stamp
    monkeypatch.setattr(published.Watch, "stamp", lambda self: looks.append(1) or stamp(self))
    assert catalogue.get(ID, "1.0.0") is not None and len(looks) == 2  # the first look, and again after reading
    write_release(root, shipped_data(version="1.1.0"))
    for step in range(1000):
        now[0] = 100.0 + step * 0.000999
        assert catalogue.get(ID, "1.1.0") is None
    assert len(looks) == 2
    now[0] = 101.0
    assert catalogue.get(ID, "1.1.0") is not None and len(looks) == 4


def test_a_304_is_answered_before_the_app_does_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A matching If-None-Match on a release or the latest gets its 304 (with the ETag and caching a 200 has)
    before routing; anything else goes on to the routes, which answer it as before."""
    from fastapi.routing import APIRoute

    from tests.asgi_support import call

    root = tmp_path / "rulesets"
    write_release(root, shipped_data())
    app = create_app(root, KEYRING)
    status, headers, body = call(app, "GET", f"/rulesets/{ID}/versions/1.0.0")
    etag = headers["etag"]
    routed = []
    handle = APIRoute.handle
    monkeypatch.setattr(APIRoute, "handle", lambda self, *a: routed.append(self.path) or handle(self, *a))

    def ask(path: str, tag: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        return _call_with_header(app, method, path, tag)

    for path, caching in ((f"/rulesets/{ID}/versions/1.0.0", "immutable"), (f"/rulesets/{ID}", "no-cache")):
        status, headers, body = ask(path, etag)
        assert (status, body, headers["etag"]) == (304, b"", etag) and caching in headers["cache-control"]
        assert headers["x-content-type-options"] == "nosniff"
    assert ask(f"/rulesets/{ID}/versions/1.0.0", etag, "HEAD")[0] == 304
    assert not routed
    status, _, body = ask(f"/rulesets/{ID}/versions/1.0.0", '"' + "0" * 64 + '"')
    assert status == 200 and body and routed == ["/rulesets/{ruleset_id}/versions/{version}"]


def _call_with_header(app: Any, method: str, path: str, if_none_match: str) -> tuple[int, dict[str, str], bytes]:
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"if-none-match", if_none_match.encode())]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return (start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def test_serve_with_two_workers_answers_from_two_processes(tmp_path: Path) -> None:
    """`workbench serve --workers 2`: two worker processes under one server, each serving the verified releases
    (the keyring and folder reach them by the environment), each noticing a new release within a second."""
    from tests.downstream_support import free_port

    root = tmp_path / "rulesets"
    write_release(root, shipped_data())
    keyring = write_keyring(tmp_path / "keyring.json")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--rulesets",
                               str(root), "--keyring", str(keyring), "--workers", "2", "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            up = noticed(lambda: _get(http, "/healthz"), lambda r: r is not None and r.status_code == 200)
            assert up is not None and up.status_code == 200
            workers = noticed(lambda: _children(server.pid), lambda found: len(found) >= 2)
            assert len(workers) >= 2, workers
            _, inputs = shipped_cases()[0]
            expected = evaluate(load_ruleset(V1 / "ruleset.yaml"), inputs).disposition
            answers = {http.post(f"/rulesets/{ID}/versions/1.0.0/evaluate", json={"inputs": inputs}).json().get(
                "disposition") for _ in range(20)}
            assert answers == {expected}
            write_release(root, shipped_data(version="1.1.0"))
            latest = f"http://127.0.0.1:{port}/rulesets/{ID}"
            seen = [noticed(lambda: httpx.get(latest, timeout=10), lambda r: r.json()["version"] == "1.1.0")
                    for _ in range(10)]  # a new connection each: the workers take turns accepting them
            assert {r.json()["version"] for r in seen} == {"1.1.0"}
    finally:
        server.terminate()
        server.wait(20)


def _get(http: httpx.Client, path: str) -> httpx.Response | None:
    try:
        return http.get(path)
    except httpx.HTTPError:
        return None


def _children(pid: int) -> list[int]:
    """Worker processes of the server: python processes whose parent is it (uvicorn's supervisor)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and "python" in fields.get("Name", ""):
            found.append(int(status.parent.name))
    return found
