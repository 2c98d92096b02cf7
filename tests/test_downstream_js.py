"""examples/downstream-js, the way a JavaScript app uses a release: Node, its built-in fetch and crypto, and the
`canonicalize` package from npm (RFC 8785) against a real `workbench serve`, and on release files, tampered
or not. Its sha256 must be the one Python computes, floats and non-ASCII keys included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.bench_api import free_port, make_release, wait_until_up
from workbench.publish.canonical import canonical_bytes, sha256_hex
from workbench.publish.releases import ruleset_part
from workbench.publish.signing import Keyring, SigningKey, TrustedKey

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "downstream-js"
VIGNETTES = REPO / "rulesets" / "upper-back-pain" / "vignettes" / "emergency.yaml"
SETUP_HINT = "run ./scripts/setup.sh --with-browser (it installs Node and the example's npm packages)"


def node() -> str:
    """Node, and the example's packages installed: set-up provides both, so their absence is a failure."""
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"node is not installed: {SETUP_HINT}")
    if not (EXAMPLE / "node_modules" / "canonicalize" / "package.json").is_file():
        pytest.fail(f"{EXAMPLE / 'node_modules'} is missing: {SETUP_HINT}")
    return found


def check(*args: str) -> subprocess.CompletedProcess[str]:
    """`node check.mjs ARGS` as a downstream developer runs it, from the example's folder."""
    return subprocess.run([node(), "check.mjs", *args], cwd=EXAMPLE, capture_output=True, text=True, timeout=30)


def output(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A signed release of the shipped ruleset, made as bench/bench_api.py makes it: (root, id, version)."""
    root = tmp_path_factory.mktemp("rulesets")
    ruleset_id, version, _ = make_release(root)
    return root, ruleset_id, version


@pytest.fixture(scope="module")
def server(release: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `workbench serve` over that release, in its own process: its base URL."""
    root = release[0]
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--rulesets", str(root),
                                    "--keyring", str(root / ".keys" / "keyring.json"), "--port", str(port),
                                    "--log-level", "warning"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        try:
            try:
                wait_until_up(port, process)
            except SystemExit as exc:
                pytest.fail(f"workbench serve did not start ({exc}): {log.read_text(errors='replace')}")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def vignette(vignette_id: str) -> dict[str, Any]:
    found = [v for v in yaml.safe_load(VIGNETTES.read_text(encoding="utf-8"))["vignettes"] if v["id"] == vignette_id]
    assert len(found) == 1, vignette_id
    return found[0]


def release_file(root: Path, ruleset_id: str, version: str) -> Path:
    return root / ruleset_id / "releases" / f"{version}.json"


# --- against the server ------------------------------------------------------------------------------------------

def test_node_checks_a_served_release_and_gets_the_vignettes_disposition(
        server: str, release: tuple[Path, str, str]) -> None:
    root, ruleset_id, version = release
    case = vignette("cauda-equina-urinary-retention-sciatica")
    done = check("--url", server, "--keyring", str(root / ".keys" / "keyring.json"), ruleset_id, version,
                 json.dumps(case["inputs"]))
    printed = output(done)
    assert printed["sha256_ok"] is True and printed["signature_ok"] is True and printed["evaluated"] == "here"
    assert (printed["release"]["id"], printed["release"]["version"]) == (ruleset_id, version)
    result = printed["result"]
    assert result["status"] == "complete"
    assert (result["disposition"], result["outcome"]) == (case["expect"]["disposition"], case["expect"]["outcome"])
    assert set(case["expect"]["red_flags"]) <= set(result["red_flags"])


def test_without_a_keyring_nothing_is_trusted_unless_unsigned_use_is_asked_for(
        server: str, release: tuple[Path, str, str]) -> None:
    _, ruleset_id, version = release
    refused = check("--url", server, ruleset_id, version, '{"bladder_bowel_dysfunction": true}')
    assert refused.returncode == 1 and "no keyring" in refused.stderr and refused.stdout == ""
    printed = output(check("--url", server, "--allow-unsigned", ruleset_id, version,
                           '{"bladder_bowel_dysfunction": true}'))
    assert printed["sha256_ok"] is True and printed["signature_ok"] is None
    assert printed["result"]["status"] == "needs_input" and printed["result"]["needs"]
    assert "cauda_equina_symptoms" in printed["result"]["red_flags"]


@pytest.mark.parametrize(("version", "case", "message"), [
    ("9.9.9", "{}", "HTTP 404"),
    (None, '{"pain_site": "thorasic"}', "does not fit the ruleset: 'pain_site' takes one of"),
    (None, "{not json", "the case is not JSON"),
])
def test_http_errors_and_bad_cases_exit_1_with_a_message(server: str, release: tuple[Path, str, str],
                                                         version: str | None, case: str, message: str) -> None:
    _, ruleset_id, released = release
    root = release[0]
    done = check("--url", server, "--keyring", str(root / ".keys" / "keyring.json"), ruleset_id, version or released,
                 case)
    assert done.returncode == 1 and done.stdout == ""
    assert message in done.stderr


# --- release files -----------------------------------------------------------------------------------------------

def test_an_untampered_release_file_passes(release: tuple[Path, str, str]) -> None:
    root, ruleset_id, version = release
    printed = output(check("--file", str(release_file(root, ruleset_id, version)),
                           "--keyring", str(root / ".keys" / "keyring.json")))
    assert printed == {"sha256_ok": True, "signature_ok": True}
    assert output(check("--file", str(release_file(root, ruleset_id, version)), "--allow-unsigned")) == {
        "sha256_ok": True, "signature_ok": None}


def _age_limit(document: dict[str, Any]) -> None:
    age = next(spec for spec in document["inputs"] if spec["id"] == "age")
    age["max"] += 1


def _cauda_equina_rule(document: dict[str, Any]) -> None:
    branch = next(node for node in document["nodes"] if node["id"] == "rule2_cauda_equina")["branches"][0]
    branch["when"] = branch["when"].replace("bladder_bowel_dysfunction or ", "")


@pytest.mark.parametrize("tamper", [_age_limit, _cauda_equina_rule], ids=["a number", "a rule's text"])
def test_a_release_changed_inside_its_ruleset_is_refused(release: tuple[Path, str, str], tmp_path: Path,
                                                         tamper: Any) -> None:
    root, ruleset_id, version = release
    document = json.loads(release_file(root, ruleset_id, version).read_text(encoding="utf-8"))
    tamper(document)
    changed = tmp_path / "release.json"
    changed.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")

    done = check("--file", str(changed), "--allow-unsigned")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"sha256_ok": False, "signature_ok": None}
    assert "does not match its sha256" in done.stderr
    # Node's hash of the changed content is Python's
    assert f"computed {sha256_hex(ruleset_part(document))}, the release says {document['sha256']}" in done.stderr

    done = check("--file", str(changed), "--keyring", str(root / ".keys" / "keyring.json"))
    assert done.returncode == 1 and json.loads(done.stdout) == {"sha256_ok": False, "signature_ok": False}
    assert "does not match its signature" in done.stderr


def test_a_changed_release_record_keeps_its_sha256_but_not_its_signature(release: tuple[Path, str, str],
                                                                         tmp_path: Path) -> None:
    root, ruleset_id, version = release
    document = json.loads(release_file(root, ruleset_id, version).read_text(encoding="utf-8"))
    document["release"]["approver"] = "someone else"
    changed = tmp_path / "release.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    done = check("--file", str(changed), "--keyring", str(root / ".keys" / "keyring.json"))
    assert done.returncode == 1 and json.loads(done.stdout) == {"sha256_ok": True, "signature_ok": False}
    assert "does not match its signature" in done.stderr


# --- Python and JavaScript agree ---------------------------------------------------------------------------------

AWKWARD: dict[str, Any] = {
    "id": "awkward", "version": "1.0.0",
    "numbers": [120.0, 1e16, 1e21, 1e-7, 0.1, 2.5, -0.0, 16, -3, 9007199254740991, 1.7976931348623157e308],
    "inputs": [{"id": "age", "type": "number", "min": 16.0, "max": 120.0, "unit": "années"}],
    # keys sort by UTF-16 code units: "😀" (U+1F600, a surrogate pair from 0xD83D) before "\ue000"; "10" before "9"
    "keys": {"\ue000": 1, "😀": 2, "é": 3, "e": 4, "日本": 5, "10": 6, "9": 7, "Z": 8, "a": 9, "": 10},
    "text": "Douleur dorsale — «urgence» 背痛 😀 \u2028 \u0001 \t \" \\ </script>",
}


def awkward_release(**changes: Any) -> dict[str, Any]:
    return {**AWKWARD, "sha256": sha256_hex(AWKWARD), "hash_version": 2, "release": {"approver": "dr.ünal"},
            **changes}


def test_python_and_node_hash_floats_and_non_ascii_alike(tmp_path: Path) -> None:
    document = awkward_release()
    assert canonical_bytes(ruleset_part(document)) != canonical_bytes(ruleset_part(document), version=1)
    path = tmp_path / "awkward.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert output(check("--file", str(path), "--allow-unsigned")) == {"sha256_ok": True, "signature_ok": None}
    # written differently (ASCII escapes, other key order, indented), the same content hashes the same
    path.write_text(json.dumps(dict(reversed(document.items())), indent=3), encoding="utf-8")
    assert output(check("--file", str(path), "--allow-unsigned")) == {"sha256_ok": True, "signature_ok": None}


def test_node_refuses_the_old_hash_and_reports_pythons_hash(tmp_path: Path) -> None:
    """Python's json.dumps (hash version 1) writes 120.0 and 1e+16: not RFC 8785, so not Node's hash."""
    path = tmp_path / "awkward.json"
    path.write_text(json.dumps(awkward_release(sha256=sha256_hex(AWKWARD, version=1))), encoding="utf-8")
    done = check("--file", str(path), "--allow-unsigned")
    assert done.returncode == 1 and f"computed {sha256_hex(AWKWARD)}," in done.stderr
    path.write_text(json.dumps(awkward_release(hash_version=1)), encoding="utf-8")
    done = check("--file", str(path), "--allow-unsigned")
    assert done.returncode == 1 and "hash_version is 1, not 2" in done.stderr


def test_node_verifies_pythons_signature_on_floats_and_non_ascii(tmp_path: Path) -> None:
    key = SigningKey("dr.ünal", Ed25519PrivateKey.generate())
    keyring = tmp_path / "keyring.json"
    keyring.write_text(json.dumps(Keyring((TrustedKey(key.name, key.id, key.key.public_key()),)).to_dict(),
                                  ensure_ascii=False), encoding="utf-8")
    signed = key.sign(awkward_release())
    path = tmp_path / "awkward.json"
    path.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    assert output(check("--file", str(path), "--keyring", str(keyring))) == {"sha256_ok": True, "signature_ok": True}

    other = SigningKey("dr.ünal", Ed25519PrivateKey.generate())
    path.write_text(json.dumps(other.sign(awkward_release())), encoding="utf-8")
    done = check("--file", str(path), "--keyring", str(keyring))
    assert done.returncode == 1 and "which the keyring does not hold" in done.stderr
