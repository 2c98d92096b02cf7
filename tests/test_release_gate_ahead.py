"""The gate's verification run ahead of it (publish/lifecycle.py `gate_verification`, as the Releases page runs it in
the background) is the gate's own: the same verdict the gate reaches, found again without a second run, and adopted
by a snapshot only when it is of that snapshot's text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from workbench.analysis import verify as verify_module
from workbench.publish import lifecycle
from workbench.publish.repository import Repository

from .conftest import keyring


def cauda_equina_routine(text: str) -> str:
    start = text.index("  - id: suspected_cauda_equina_or_cord_compression")
    at = text.index("disposition: emergency", start)
    return text[:at] + "disposition: routine" + text[at + len("disposition: emergency"):]


def test_verification_run_ahead_is_what_the_gate_finds_and_is_not_run_twice(v1_copy: Path, monkeypatch) -> None:
    ruleset = v1_copy / "ruleset.yaml"
    ruleset.write_text(cauda_equina_routine(ruleset.read_text(encoding="utf-8")), encoding="utf-8")
    repository = Repository.open(v1_copy.parent)
    text = (repository.read("upper-back-pain/ruleset.yaml") or b"").decode()
    ahead = lifecycle.gate_verification(text, str(ruleset))
    assert ahead is not None and ahead.status == "violated"
    runs = []
    monkeypatch.setattr(lifecycle, "verify", lambda *a, **k: runs.append(1) or verify_module.verify(*a, **k))
    gate = lifecycle.check_release(repository, "upper-back-pain", None, keyring())
    assert runs == []  # found, not run again
    assert gate.snapshot.verification is ahead
    broken = gate.snapshot.broken()
    assert "sphincter-or-saddle-is-emergency" in broken
    assert {p.message for p in gate.problems if p.code == "WB714"} == {
        p.message for p in lifecycle.safety_problems(gate.snapshot)}
    assert lifecycle.gate_verification("id: [broken", "x.yaml") is None  # errors: nothing to verify


def test_a_snapshot_adopts_a_verification_only_of_its_own_text(v1_copy: Path) -> None:
    repository = Repository.open(v1_copy.parent)
    snap = lifecycle.snapshot(repository, "upper-back-pain")
    found = lifecycle.gate_verification(snap.ruleset_text, "x.yaml")
    assert found is not None and found.status == "verified"
    stopped = replace(found, status="incomplete", stopped_by="time", unfinished=["the flow"])
    other = lifecycle.snapshot(repository, "upper-back-pain")
    other.adopt(snap.ruleset_text + "\n# another text", stopped)
    assert other.verification is not stopped  # not its text: verified afresh
    snap.adopt(snap.ruleset_text, stopped)  # a run stopped by its time limit, not cached, reaches the gate as it is
    assert snap.verification is stopped and set(snap.unproved()) >= {"every-case-reaches-an-outcome"}
    gate = lifecycle.check_release(repository, "upper-back-pain", None, keyring(), snap=snap)
    assert gate.snapshot.verification is stopped
