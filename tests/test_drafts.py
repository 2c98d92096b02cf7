"""Drafts: one person's unsaved text of one file, kept on disk atomically and given back, never another's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from workbench import drafts


def test_a_draft_is_kept_and_given_back_to_the_same_person_only(tmp_path: Path):
    file = tmp_path / "rulesets" / "neck" / "ruleset.yaml"
    drafts.keep("Dr Ada Lee", file, "id: neck\n# half-typed", "v1")
    found = drafts.found("Dr Ada Lee", file)
    assert found is not None and found.text == "id: neck\n# half-typed" and found.base == "v1"
    assert drafts.found("Dr Raj Shah", file) is None  # per person
    assert drafts.found("Dr Ada Lee", tmp_path / "rulesets" / "back" / "ruleset.yaml") is None  # per ruleset
    assert drafts.found("Dr Ada Lee", tmp_path / "other" / "neck" / "ruleset.yaml") is None  # per folder
    drafts.drop("Dr Ada Lee", file)
    assert drafts.found("Dr Ada Lee", file) is None
    drafts.drop("Dr Ada Lee", file)  # dropping twice is fine


def test_drafts_live_in_the_workspace_never_beside_the_rules(tmp_path: Path):
    file = tmp_path / "rulesets" / "neck" / "vignettes" / "cases.yaml"
    drafts.keep("Dr Ada Lee", file, "vignettes: []", None)
    path = drafts.draft_path("Dr Ada Lee", file)
    assert path.is_relative_to(drafts.drafts_folder()) and not path.is_relative_to(tmp_path / "rulesets")
    assert "neck" in path.parent.name  # the vignettes file is filed under its ruleset
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_damaged_or_planted_draft_is_ignored_not_a_crash(tmp_path: Path):
    file = tmp_path / "neck" / "ruleset.yaml"
    path = drafts.draft_path("Dr Ada Lee", file)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert drafts.found("Dr Ada Lee", file) is None
    path.write_text(json.dumps({"person": "Dr Raj Shah", "file": str(file.resolve()), "text": "x", "base": None,
                                "at": "2026-01-01T00:00:00Z"}), encoding="utf-8")
    assert drafts.found("Dr Ada Lee", file) is None  # another person's name inside: not hers
    path.unlink()
    os.symlink(tmp_path / "elsewhere.json", path)
    assert drafts.found("Dr Ada Lee", file) is None  # a link is never followed


def test_a_process_killed_while_keeping_drafts_leaves_a_whole_draft(tmp_path: Path):
    """kill -9 in the middle of a stream of keeps: the draft read back is one of the texts written, whole."""
    file = tmp_path / "neck" / "ruleset.yaml"
    code = ("import sys; from pathlib import Path; from workbench import drafts\n"
            f"f = Path({str(file)!r})\n"
            "for i in range(100000):\n"
            "    drafts.keep('Dr Ada Lee', f, 'id: neck\\n# edit %d\\n' % i + 'x' * 20000, None)\n"
            "    if i == 3: print('going', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=os.environ.copy())
    assert child.stdout is not None and child.stdout.readline().strip() == b"going"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    found = drafts.found("Dr Ada Lee", file)
    assert found is not None
    head, number, tail = found.text.split("\n")
    assert head == "id: neck" and number.startswith("# edit ") and tail == "x" * 20_000
