"""The console script keeps SPEC 6: commands, text and JSON output, exit codes 0/1/2."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import MINI, SHIPPED, V1, run_cli, run_json

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning) (?P<code>WB\d{3}) .+$")


def test_the_installed_console_script_is_the_same_program() -> None:
    """Every other test runs the CLI in this process (conftest.run_cli); this one runs `workbench` as installed."""
    import subprocess

    from tests.conftest import ROOT, console_script

    for args in (["validate", str(SHIPPED)], ["evaluate", str(SHIPPED / "ruleset.yaml"), "--inputs", "{}"],
                 ["validate", "--no-such-option"]):
        installed = subprocess.run([console_script(), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
        here = run_cli(*args)
        assert (installed.returncode, installed.stdout, installed.stderr) == (here.returncode, here.stdout,
                                                                              here.stderr)


def test_validate_shipped_is_clean() -> None:
    done = run_cli("validate", str(SHIPPED))
    assert done.returncode == 0 and done.stdout == ""
    code, problems = run_json("validate", str(SHIPPED))
    assert code == 0 and problems == []


def test_validate_reports_errors_as_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "ruleset.yaml"
    bad.write_text(MINI.read_text().replace("next: mscc", "next: msc"), encoding="utf-8")
    done = run_cli("validate", str(bad))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert all(LINE.match(line) for line in lines)
    assert LINE.match(lines[0]).group("code") == "WB104"
    code, problems = run_json("validate", str(bad))
    assert code == 1
    assert set(problems[0]) == {"code", "severity", "message", "file", "line", "column", "path"}
    assert problems[0]["path"] == "nodes[0].branches[0].next"


def test_validate_checks_vignettes_against_the_ruleset_beside_them(v1_copy: Path) -> None:
    extra = v1_copy / "vignettes" / "typo.yaml"
    extra.write_text("ruleset: upper-back-pain\nvignettes:\n  - id: typo\n    inputs: {fevre: true}\n"
                     "    expect: {disposition: urgent}\n", encoding="utf-8")
    code, problems = run_json("validate", str(extra))
    assert code == 1
    assert {p["code"] for p in problems} == {"WB502", "WB504"}
    assert "did you mean 'fever'" in next(p["message"] for p in problems if p["code"] == "WB502")


def test_unknown_file_kind_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "x.yaml"
    other.write_text("hello: world\n", encoding="utf-8")
    assert run_json("validate", str(other))[1][0]["code"] == "WB006"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("validate", str(tmp_path / "missing.yaml")).returncode == 2
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("evaluate", str(V1 / "ruleset.yaml"), "--inputs", "{not json").returncode == 2
    assert run_cli("evaluate", str(V1 / "ruleset.yaml"), "--inputs", '{"age": "old"}').returncode == 2
    assert run_cli("replay", str(tmp_path)).returncode == 2


def test_absurd_numbers_are_usage_errors_not_tracebacks() -> None:
    for digits in (400, 5000):
        done = run_cli("evaluate", str(V1 / "ruleset.yaml"), "--inputs", '{"age": 1' + "0" * digits + "}")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "outside its range" in done.stderr or "not valid JSON or YAML" in done.stderr


def test_replay_json_fields_and_exit_code(v1_copy: Path) -> None:
    code, report = run_json("replay", str(V1))
    assert code == 0 and report["failed"] == 0 and report["total"] == report["passed"] >= 30
    assert set(report["results"][0]) >= {"id", "passed", "expected", "actual"}
    assert report["coverage"]["nodes"]["percent"] == 100.0
    (v1_copy / "vignettes" / "fail.yaml").write_text(
        "ruleset: upper-back-pain\nvignettes:\n  - id: ff\n    inputs: {fever: true}\n"
        "    expect: {disposition: routine}\n", encoding="utf-8")
    code, report = run_json("replay", str(v1_copy))
    assert code == 1 and report["failed"] == 1
    text = run_cli("replay", str(v1_copy)).stdout
    assert "FAIL ff (" in text and "expected disposition 'routine'" in text


def test_replay_selected_vignette_files(v1_copy: Path) -> None:
    one = sorted((v1_copy / "vignettes").glob("*.yaml"))[0]
    code, report = run_json("replay", str(v1_copy), "--vignettes", str(one))
    assert code == 0 and 0 < report["total"] < 56


def test_evaluate_prints_section_5(tmp_path: Path) -> None:
    answers = {"bladder_bowel_dysfunction": False, "saddle_anaesthesia": False, "known_cancer": True,
               "limb_weakness": True}
    code, result = run_json("evaluate", str(V1 / "ruleset.yaml"), "--inputs", json.dumps(answers))
    assert code == 0
    assert result == {"status": "complete", "outcome": "suspected_mscc", "disposition": "emergency",
                      "red_flags": ["history_of_cancer", "neurological_deficit"],
                      "path": ["emergency_screen", "suspected_mscc"], "needs": [], "unsure": [],
                      "possible_red_flags": []}
    file = tmp_path / "case.json"
    file.write_text("{}", encoding="utf-8")
    code, result = run_json("evaluate", str(V1 / "ruleset.yaml"), "--inputs", str(file))
    assert code == 0 and result["status"] == "needs_input"
    text = run_cli("evaluate", str(V1 / "ruleset.yaml"), "--inputs", str(file)).stdout
    assert "Needs input" in text and "bladder_bowel_dysfunction" in text


def test_evaluate_on_a_broken_ruleset_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(MINI.read_text().replace("next: mscc", "next: msc"), encoding="utf-8")
    done = run_cli("evaluate", str(bad), "--inputs", "{}")
    assert done.returncode == 1 and "WB104" in done.stderr


def test_every_command_has_help_with_an_example() -> None:
    for command in ("validate", "replay", "evaluate"):
        done = run_cli(command, "--help")
        assert done.returncode == 0 and "example:" in done.stdout


def test_vignettes_beside_a_broken_ruleset_are_a_warning_not_a_missing_ruleset(v1_copy: Path) -> None:
    ruleset = v1_copy / "ruleset.yaml"
    text = ruleset.read_text(encoding="utf-8").replace("start: emergency_screen", "begin: emergency_screen")
    ruleset.write_text(text, encoding="utf-8")
    code, problems = run_json("validate", str(v1_copy))
    assert code == 1
    codes = {(p["code"], p["severity"]) for p in problems}
    assert ("WB011", "error") in codes and ("WB507", "warning") in codes and ("WB501", "error") not in codes


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`workbench graph ... | head -1`: the pipe closes under the writer; the shell's 141, never a traceback.
    Made certain here by a pipe whose reading end is closed before the command writes."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([str(Path(sys.executable).with_name("workbench")), "graph",
                               str(SHIPPED / "ruleset.yaml"), "--format", "dot"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
    assert done.returncode == 141
