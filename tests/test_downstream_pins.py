"""A downstream client checks what it asked for, tried against a fake server as the independent review did: a
server that answers /evaluate with cauda equina turned to self-care, serves another ruleset's release (validly
signed) or an older version than the one pinned, or rolls "latest" back; and a release that says one thing twice.
The Python runtime and example app, and the JavaScript example (with its own evaluator, checked against the
engine case by case), refuse each; they evaluate on the release they verified, never on a server's answer."""

from __future__ import annotations

import hashlib
import json
import random
import runpy
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import V1
from tests.downstream_support import KEYRING, REPO, release_document, shipped_data, write_keyring
from tests.test_downstream_js import EXAMPLE, node
from workbench import evaluate, load_ruleset
from workbench.publish.canonical import ruleset_data
from workbench.publish.releases import document_bytes

APP = REPO / "examples" / "downstream_app.py"
ID = "upper-back-pain"
CAUDA = next(v for v in yaml.safe_load((V1 / "vignettes" / "emergency.yaml").read_text(encoding="utf-8"))["vignettes"]
             if v["id"] == "cauda-equina-urinary-retention-sciatica")


def signed(**changes: Any) -> bytes:
    return document_bytes(release_document(shipped_data(**changes)))


RELEASES = {"1.0.0": signed(), "2.0.0": signed(version="2.0.0"), "other": signed(id="other-ruleset")}


class FakeServer:
    """A server that says whatever the test wants: `routes` maps a path to the bytes it serves (with the ETag a
    real server gives), and /evaluate always answers that the case is self-care. `asked` is every path asked."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.asked: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                fake.asked.append(f"GET {self.path}")
                body = fake.routes.get(self.path)
                self._send(body if body is not None else b'{"detail": "no"}', 200 if body is not None else 404)

            def do_POST(self) -> None:  # noqa: N802
                fake.asked.append(f"POST {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send(json.dumps({"status": "complete", "outcome": "simple_back_pain", "disposition": "self_care",
                                       "red_flags": [], "path": ["simple_back_pain"], "needs": [], "unsure": [],
                                       "possible_red_flags": []}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, path: str, body: bytes) -> None:
        self.routes[path] = body


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def keyring_file(tmp_path: Path) -> Path:
    return write_keyring(tmp_path / "keyring.json")


def js(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node(), "check.mjs", *args], cwd=EXAMPLE, capture_output=True, text=True, timeout=60)


def python_app(*args: str) -> int:
    """The Python example app, run as its users run it; SystemExit with the refusal when it refuses."""
    return runpy.run_path(str(APP))["main"](list(args))


# --- the JavaScript example never reports a server's answer ---------------------------------------------------------

def test_a_fake_servers_answer_never_reaches_the_javascript_app(fake: FakeServer, keyring_file: Path) -> None:
    fake.serve(f"/rulesets/{ID}/versions/1.0.0", RELEASES["1.0.0"])
    done = js("--url", fake.base, "--keyring", str(keyring_file), ID, "1.0.0", json.dumps(CAUDA["inputs"]))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["result"]["disposition"] == "emergency" and printed["signature_ok"] is True
    assert printed["release"]["sha256"] == json.loads(RELEASES["1.0.0"])["sha256"]
    assert not [a for a in fake.asked if a.startswith("POST")]  # /evaluate is never asked


def test_the_python_app_evaluates_on_the_verified_release(fake: FakeServer, keyring_file: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fake.serve(f"/rulesets/{ID}/versions/1.0.0", RELEASES["1.0.0"])
    assert python_app("--server", fake.base, "--ruleset", ID, "--version", "1.0.0", "--keyring", str(keyring_file),
                      "--answers", json.dumps(CAUDA["inputs"])) == 0
    assert "Disposition: emergency" in capsys.readouterr().out
    assert not [a for a in fake.asked if a.startswith("POST")]


# --- what was asked for --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("served", "asked", "why"), [
    ("other", "latest", "not of"),          # another ruleset's release, validly signed, under this id
    ("other", "1.0.0", "not of"),
    ("1.0.0", "2.0.0", "but 2.0.0 was asked for"),  # an older version than the one pinned
])
def test_a_release_that_is_not_what_was_asked_for_is_refused(fake: FakeServer, keyring_file: Path, served: str,
                                                             asked: str, why: str) -> None:
    path = f"/rulesets/{ID}" + ("" if asked == "latest" else f"/versions/{asked}")
    fake.serve(path, RELEASES[served])
    done = js("--url", fake.base, "--keyring", str(keyring_file), ID, asked, json.dumps(CAUDA["inputs"]))
    assert done.returncode == 1 and why in done.stderr and done.stdout == "", done.stdout + done.stderr
    version = [] if asked == "latest" else ["--version", asked]
    with pytest.raises(SystemExit, match="refusing .*" + ("not of" if served == "other" else "was asked for")):
        python_app("--server", fake.base, "--ruleset", ID, *version, "--keyring", str(keyring_file),
                   "--answers", json.dumps(CAUDA["inputs"]))


def test_latest_going_back_is_refused_by_both_apps_sharing_one_record(fake: FakeServer, keyring_file: Path,
                                                                      tmp_path: Path) -> None:
    state = tmp_path / "trusted-releases.json"
    fake.serve(f"/rulesets/{ID}", RELEASES["2.0.0"])
    assert python_app("--server", fake.base, "--ruleset", ID, "--keyring", str(keyring_file), "--state", str(state),
                      "--answers", json.dumps(CAUDA["inputs"])) == 0
    fake.serve(f"/rulesets/{ID}", RELEASES["1.0.0"])  # a push deleted 2.0.0: the server falls back
    with pytest.raises(SystemExit, match="older than 2.0.0"):
        python_app("--server", fake.base, "--ruleset", ID, "--keyring", str(keyring_file), "--state", str(state),
                   "--answers", json.dumps(CAUDA["inputs"]))
    done = js("--url", fake.base, "--keyring", str(keyring_file), "--state", str(state), ID, "latest", "{}")
    assert done.returncode == 1 and "older than 2.0.0" in done.stderr, done.stdout + done.stderr
    done = js("--url", fake.base, "--keyring", str(keyring_file), "--at-least", "2.0.0", ID, "latest", "{}")
    assert done.returncode == 1 and "below 2.0.0" in done.stderr
    fake.serve(f"/rulesets/{ID}/versions/1.0.0", RELEASES["1.0.0"])  # pinned exactly: the app's own choice
    done = js("--url", fake.base, "--keyring", str(keyring_file), "--state", str(state), ID, "1.0.0", "{}")
    assert done.returncode == 0, done.stderr


def test_a_release_that_says_one_thing_twice_is_refused_by_the_javascript_app(keyring_file: Path,
                                                                              tmp_path: Path) -> None:
    text = RELEASES["1.0.0"].decode()
    path = tmp_path / "twice.json"
    # the first "disposition" (self_care) is what a first-value parser reads; Node and Python take the last
    path.write_text(text.replace('"disposition": "emergency"', '"disposition": "self_care", '
                                 '"disposition": "emergency"', 1), encoding="utf-8")
    done = js("--file", str(path), "--keyring", str(keyring_file))
    assert done.returncode == 1 and "appears twice" in done.stderr, done.stdout + done.stderr


# --- the Python runtime ---------------------------------------------------------------------------------------

def test_the_runtime_refuses_another_ruleset_another_version_and_a_rollback(tmp_path: Path) -> None:
    from workbench.publish.runtime import IntegrityError, Pin, accept_release

    state = tmp_path / "state.json"
    with pytest.raises(IntegrityError, match="not of 'upper-back-pain'"):
        accept_release(RELEASES["other"], KEYRING, pin=Pin(ID))
    with pytest.raises(IntegrityError, match="but 2.0.0 was asked for"):
        accept_release(RELEASES["1.0.0"], KEYRING, pin=Pin(ID, version="2.0.0"))
    with pytest.raises(IntegrityError, match="below 2.0.0"):
        accept_release(RELEASES["1.0.0"], KEYRING, pin=Pin(ID, at_least="2.0.0"))
    assert accept_release(RELEASES["2.0.0"], KEYRING, pin=Pin(ID), state=state).version == "2.0.0"
    with pytest.raises(IntegrityError) as back:
        accept_release(RELEASES["1.0.0"], KEYRING, pin=Pin(ID), state=state)
    assert back.value.problems[0].code == "WB910"
    assert accept_release(RELEASES["1.0.0"], KEYRING, pin=Pin(ID, version="1.0.0"), state=state).version == "1.0.0"
    changed = signed(version="2.0.0", title="Other words")
    with pytest.raises(IntegrityError, match="never changes"):  # the same version with other content
        accept_release(changed, KEYRING, pin=Pin(ID), state=state)


# --- JavaScript evaluates as the engine does ----------------------------------------------------------------------

def cases(model: Any, count: int, seed: int) -> list[dict[str, Any]]:
    """Random partial and complete cases: each input answered (a value at or around the ruleset's own cut
    points) or left unknown."""
    chooser = random.Random(seed)
    numbers = {spec.id: sorted({spec.min or 0, spec.max or 100, *(chooser.uniform(spec.min or 0, spec.max or 100)
                                                                   for _ in range(3))})
               for spec in model.inputs if spec.type == "number"}
    out = []
    for _ in range(count):
        case: dict[str, Any] = {}
        for spec in model.inputs:
            if chooser.random() < 0.25:
                continue
            if spec.type == "boolean":
                case[spec.id] = chooser.random() < 0.5
            elif spec.type == "enum":
                case[spec.id] = chooser.choice(spec.values)
            else:
                case[spec.id] = chooser.choice(numbers[spec.id] + [50, 60, 16, 18])
        out.append(case)
    return out


@pytest.mark.parametrize("fixture", ["upper-back-pain-1.0.0", "upper-back-pain-2.0.0"])
def test_the_javascript_evaluator_gives_what_the_engine_gives(fixture: str, tmp_path: Path) -> None:
    folder = REPO / "tests" / "fixtures" / fixture
    compiled = load_ruleset(folder / "ruleset.yaml")
    document = release_document(ruleset_data(compiled.model))
    vignettes = [v["inputs"] for path in sorted((folder / "vignettes").glob("*.yaml"))
                 for v in yaml.safe_load(path.read_text(encoding="utf-8"))["vignettes"] if not v.get("unsure")]
    all_cases = vignettes + cases(compiled.model, 400, seed=20)
    (tmp_path / "release.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "cases.json").write_text(json.dumps(all_cases), encoding="utf-8")
    script = ("import { evaluate } from './evaluate.mjs'; import { readFileSync } from 'node:fs';"
              f"const release = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'release.json'))}, 'utf8'));"
              f"const cases = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'cases.json'))}, 'utf8'));"
              "console.log(JSON.stringify(cases.map((c) => evaluate(release, c))));")
    done = subprocess.run([node(), "--input-type=module", "-e", script], cwd=EXAMPLE, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    fields = ("status", "outcome", "disposition", "red_flags", "path", "needs")
    for case, theirs in zip(all_cases, json.loads(done.stdout), strict=True):
        ours = evaluate(compiled, case).to_dict()
        assert {k: theirs[k] for k in fields} == {k: ours[k] for k in fields}, case


def test_every_answer_and_card_names_the_release_that_gave_it(tmp_path: Path) -> None:
    import warnings

    from workbench.api import create_app

    root = tmp_path / "rulesets"
    (root / ID / "releases").mkdir(parents=True)
    (root / ID / "releases" / "1.0.0.json").write_bytes(RELEASES["1.0.0"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note on httpx
        from starlette.testclient import TestClient

        client = TestClient(create_app(root, KEYRING, insecure_no_auth=True))
    sha = json.loads(RELEASES["1.0.0"])["sha256"]
    answer = client.post(f"/rulesets/{ID}/versions/1.0.0/evaluate", json={"inputs": CAUDA["inputs"]}).json()
    assert answer["release"] == {"id": ID, "version": "1.0.0", "sha256": sha}
    from workbench.publish.cds_hooks import EXTENSION

    cards = client.post(f"/cds-services/{ID}", json={
        "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "answers": CAUDA["inputs"]}}).json()
    assert cards["extension"][EXTENSION]["sha256"] == sha
    assert cards["cards"] and all(card["extension"][EXTENSION]["sha256"] == sha for card in cards["cards"])
