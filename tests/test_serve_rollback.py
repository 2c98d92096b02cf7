"""Serve never rolls back, tried as the independent review did: two releases through the gate, a teammate's plain
push that deletes the latest release file, pulled by `workbench sync`; the running `serve` and one started again
afterwards refuse to fall back to the older release for the latest and for CDS Hooks, and say so in their log and
in /health. Releases asked for by version are still served."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import AUTHOR, REVIEWER, V1, keyring, run_cli
from tests.downstream_support import running_server
from workbench.files import read_versioned
from workbench.people import access
from workbench.publish import lifecycle
from workbench.publish.repository import Person, Repository

ID = "upper-back-pain"


def get(url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def release(folder: Path, signers: dict, version: str) -> None:
    """A release through the gate: saved with this version, submitted, approved and released."""
    path = folder / "ruleset.yaml"
    text, token = read_versioned(path)
    if f"version: {version}" not in (text or ""):
        access.save_ruleset(access.local_identity(AUTHOR), path, (text or "").replace("version: 1.0.0",
                                                                                      f"version: {version}"), token,
                            f"version {version}")
    repository = Repository.open(folder.parent)
    assert lifecycle.submit(repository, ID, Person(AUTHOR), "ready", keyring()).ok
    assert lifecycle.approve(repository, ID, Person(REVIEWER), "checked", signers[REVIEWER], keyring()).ok
    done = lifecycle.release(repository, ID, Person(REVIEWER), "clinical sign-off", signers[REVIEWER], keyring())
    assert done.ok, done.problems


def git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_a_deleted_latest_release_pulled_by_sync_is_never_rolled_back(tmp_path: Path, signers: dict,
                                                                     isolated_home: Path, caplog: Any) -> None:
    remote, ada = tmp_path / "team.git", tmp_path / "ada"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    shutil.copytree(V1, seed / ID)
    assert run_cli("init", str(ada), "--from", str(seed)).returncode == 0
    release(ada / ID, signers, "1.0.0")
    release(ada / ID, signers, "1.1.0")
    assert run_cli("sync", str(ada), "--name", "Dr Ada", "--remote", str(remote)).returncode == 0
    ring = isolated_home / "keyring.json"
    with running_server(ada, ring) as base:
        assert get(f"{base}/rulesets/{ID}")[1]["version"] == "1.1.0"
        healthy = get(f"{base}/health")
        mallory = tmp_path / "mallory"  # a teammate with plain git deletes the latest release and pushes
        git("clone", "-q", str(remote), str(mallory))
        git("rm", "-q", f"{ID}/releases/1.1.0.json", cwd=mallory)
        git("-c", "user.name=Mallory", "-c", "user.email=m@x", "commit", "-q", "-m", "tidy up", cwd=mallory)
        git("push", "-q", "origin", "main", cwd=mallory)
        done = run_cli("sync", str(ada), "--name", "Dr Ada")
        assert done.returncode == 0, done.stdout
        assert not (ada / ID / "releases" / "1.1.0.json").exists()
        deadline = time.monotonic() + 30  # the server looks at the releases at most once a second
        while (found := get(f"{base}/rulesets/{ID}"))[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        status, said = found
        assert status == 503 and "1.1.0 was served here before" in said["detail"], said
        status, cards = get(f"{base}/cds-services/{ID}", {"hook": "patient-view", "hookInstance": "x",
                                                         "context": {"answers": {"age": 40}}})
        assert status == 503, cards
        status, health = get(f"{base}/health")
        assert status == 503 and health["status"] == "degraded" and "1.1.0" in health["rulesets"][ID]["refused"]
        assert get(f"{base}/rulesets/{ID}/versions/1.0.0")[0] == 200  # asked for by version: served
        assert healthy == (200, {"status": "ok", "rulesets": {ID: {"serving": "1.1.0", "highest_served": "1.1.0",
                                                                  "refused": None}}, "problems": []})
    with running_server(ada, ring) as base:  # started again: it remembers
        status, said = get(f"{base}/rulesets/{ID}")
        assert status == 503 and "going back to an older release is refused" in said["detail"]
        assert get(f"{base}/health")[1]["rulesets"][ID]["highest_served"] == "1.1.0"
    assert str(ada.resolve()) in json.loads((isolated_home / "served.json").read_text())["rulesets"]
    from workbench.api.catalogue import Catalogue

    with caplog.at_level("ERROR", logger="workbench.api"):
        assert Catalogue(ada, keyring()).latest(ID) is None
    assert any("1.1.0 was served here before" in r.getMessage() for r in caplog.records)  # and in the log
