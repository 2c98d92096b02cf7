"""Shared by the downstream tests: release files in the format release.py writes, and a real server."""

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

from workbench.canonical import canonical_bytes, ruleset_data, sha256_hex
from workbench.engine import load_ruleset

REPO = Path(__file__).resolve().parent.parent
V1 = REPO / "tests" / "fixtures" / "upper-back-pain-1.0.0"


def shipped_data(**changes: Any) -> dict[str, Any]:
    """The frozen 1.0.0 ruleset as canonical data, with top-level fields changed (e.g. version)."""
    return {**ruleset_data(load_ruleset(V1 / "ruleset.yaml").model), **changes}


def write_release(root: Path, data: dict[str, Any], **release: Any) -> Path:
    """`root/<id>/releases/<version>.json` exactly as release.py writes it."""
    document = {"id": data["id"], "version": data["version"], "sha256": sha256_hex(data), "ruleset": data,
                "release": {"author": "dr.author", "approver": "dr.approver", "released_at": "2025-01-02T03:04:05Z",
                            "reason": "first release", "replay": {"total": 30, "passed": 30, "failed": 0},
                            **release}}
    path = root / data["id"] / "releases" / f"{data['version']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_bytes(document))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(rulesets_root: Path) -> Iterator[str]:
    """`workbench serve` in a subprocess on a free loopback port; yields its base URL, stops it after.
    Another process may take the port between choosing and binding it, so a failed start tries a new one."""
    for attempt in range(3):
        port = free_port()
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "workbench.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--rulesets", str(rulesets_root), "--log-level", "warning"],
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
