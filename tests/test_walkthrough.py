"""docs/downstream.md's EHR walkthrough, run as written: each `sh` block in order, in bash, against a real
`workbench serve --insecure-no-auth` holding upper back pain 2.0.0, its canonical URLs under
http://127.0.0.1:8000 as the document shows them; each `# →` line is text the block's output must contain."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import V2
from tests.downstream_support import REPO, running_server, write_keyring
from tests.fhir_support import released
from workbench import load_ruleset

DOC = REPO / "docs" / "downstream.md"


def steps() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    walkthrough = text[text.index("## An EHR's walkthrough"):]
    return re.findall(r"```sh\n(.*?)```", walkthrough, flags=re.DOTALL)


def test_the_walkthrough_has_its_steps() -> None:
    blocks = steps()
    assert blocks[0].startswith("workbench serve --port 8000 --insecure-no-auth &")
    assert any("$S/cds-services" in block for block in blocks) and any("$next-question" in b for b in blocks)


def test_every_step_of_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed: run ./scripts/setup.sh --with-browser")
    released(tmp_path / "rulesets", load_ruleset(V2 / "ruleset.yaml"))
    keyring = write_keyring(tmp_path / "keyring.json")
    start, *rest = steps()
    assert "S=http://127.0.0.1:8000" in start
    with running_server(tmp_path / "rulesets", keyring, "--insecure-no-auth",
                        "--base-url", "http://127.0.0.1:8000") as url:
        for block in rest:
            expected = [line.split("# →", 1)[1].strip() for line in block.splitlines() if "# →" in line]
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env={
                "S": url, "PATH": "/usr/bin:/bin:/usr/local/bin"}, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, (block, done.stderr)
            for text in expected:
                assert text in done.stdout, (block, done.stdout[:2000])
    assert (tmp_path / "plan-bundle.json").is_file()
