"""Shared by the downstream tests: signed release files as the workbench writes them, a keyring that trusts
their approver, and a real server."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workbench import load_ruleset
from workbench.publish.canonical import HASH_VERSION, ruleset_data, sha256_hex
from workbench.publish.releases import document_bytes
from workbench.publish.signing import Keyring, SigningKey, TrustedKey

REPO = Path(__file__).resolve().parent.parent
V1 = REPO / "tests" / "fixtures" / "upper-back-pain-1.0.0"


def shipped_data(**changes: Any) -> dict[str, Any]:
    """The frozen 1.0.0 ruleset as canonical data, with top-level fields changed (e.g. version)."""
    return {**ruleset_data(load_ruleset(V1 / "ruleset.yaml").model), **changes}


APPROVER = SigningKey("dr.approver", Ed25519PrivateKey.generate())
"""The approver of the releases these tests plant: its public key is in KEYRING (and in keyring files written
with write_keyring), so its signatures verify; any other key's do not."""
KEYRING = Keyring((TrustedKey(APPROVER.name, APPROVER.id, APPROVER.key.public_key()),))


def write_keyring(path: Path) -> Path:
    """KEYRING as a file, for a server or command started in another process."""
    path.write_text(json.dumps(KEYRING.to_dict()), encoding="utf-8")
    return path


def release_document(data: dict[str, Any], *, key: SigningKey | None = APPROVER, **release: Any) -> dict[str, Any]:
    """A release document as the workbench writes it, signed by `key` (None: unsigned)."""
    record = {"author": "dr.author", "approver": APPROVER.name, "released_at": "2025-01-02T03:04:05Z",
              "reason": "first release", "replay": {"total": 30, "passed": 30, "failed": 0},
              "vignettes": {"files": 1, "count": 30, "sha256": "0" * 64}, **release}
    document = {**data, "sha256": sha256_hex(data), "hash_version": HASH_VERSION, "release": record}
    return key.sign(document) if key is not None else document


def write_release(root: Path, data: dict[str, Any], **release: Any) -> Path:
    """`root/<id>/releases/<version>.json`, signed, exactly as a release writes it (a folder without history
    publishes every file that verifies)."""
    path = root / data["id"] / "releases" / f"{data['version']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document_bytes(release_document(data, **release)))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(rulesets_root: Path, keyring: Path, *options: str) -> Iterator[str]:
    """`workbench serve` (with `options`) in a subprocess on a free loopback port; yields its base URL, stops it after.
    Another process may take the port between choosing and binding it, so a failed start tries a new one."""
    for attempt in range(3):
        port = free_port()
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "workbench.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--rulesets", str(rulesets_root), "--keyring", str(keyring), "--log-level", "warning", *options],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            try:
                if _started(base, process, log, last_try=attempt == 2):
                    yield base
                    return
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _started(base: str, process: subprocess.Popen[bytes], log: Any, last_try: bool) -> bool:
    for _ in range(300):
        if process.poll() is not None:
            if not last_try:
                return False
            log.seek(0)
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read().decode()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if json.load(response) == {"status": "ok"}:
                    return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")
