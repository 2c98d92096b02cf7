"""The one error model: a path as a tuple, a hint, a collection with `best()`, and one table from code to exit
code and HTTP status that the CLI and the API both read."""

from __future__ import annotations

import pytest

from workbench.problems import Problem, Problems, format_path, parse_path, status_of


@pytest.mark.parametrize("path", [(), ("nodes",), ("nodes", 3, "when"), ("nodes", 0, "branches", 12, "when"),
                                  ("inputs", 2, "values", 0)])
def test_a_path_is_a_tuple_written_as_text_and_read_back(path: tuple) -> None:
    assert parse_path(format_path(path)) == path
    problem = Problem("WB301", "cannot be parsed", path=format_path(path))
    assert problem.path == path and problem.to_dict()["path"] == format_path(path)


def test_json_keeps_the_spec_fields_and_adds_the_hint_only_when_there_is_one() -> None:
    plain = Problem("WB302", "unknown input", file="r.yaml", line=3, column=9, path=("nodes", 1, "when"))
    assert plain.to_dict() == {"code": "WB302", "severity": "error", "message": "unknown input", "file": "r.yaml",
                               "line": 3, "column": 9, "path": "nodes[1].when"}
    hinted = Problem("WB302", "unknown input", hint="Declare it under inputs.")
    assert hinted.to_dict()["hint"] == "Declare it under inputs."


def test_best_is_an_error_before_a_warning_then_the_one_that_stops_most_then_the_earliest() -> None:
    warning = Problem("WB401", "never read", "warning", "a.yaml", 1)
    late = Problem("WB302", "unknown input", "error", "a.yaml", 40)
    early = Problem("WB302", "unknown input", "error", "a.yaml", 7)
    unreadable = Problem("WB001", "missing", "error", "b.yaml", None)
    assert Problems([warning, late, early]).best() is early
    assert Problems([warning, late, early, unreadable]).best() is unreadable
    assert Problems([warning]).best() is warning and Problems().best() is None


@pytest.mark.parametrize(("codes", "exit_status", "http"), [
    ([], 0, 200), (["WB401w"], 0, 200), (["WB302"], 1, 422), (["WB302", "WB001"], 2, 400), (["WB601"], 2, 422),
    (["WB902"], 1, 404), (["WB1001"], 1, 403), (["WB1020"], 2, 503), (["WB810"], 1, 422)])
def test_one_table_gives_the_exit_code_and_the_http_status(codes: list[str], exit_status: int, http: int) -> None:
    problems = Problems(Problem(c.rstrip("w"), "x", "warning" if c.endswith("w") else "error") for c in codes)
    assert problems.exit_status() == exit_status and problems.http_status() == http


def test_every_code_has_a_status_within_the_spec_exit_codes() -> None:
    from workbench.problems import CODES
    assert {status_of(code).exit for code in CODES} <= {1, 2}
    assert all(400 <= status_of(code).http < 600 for code in CODES)


def test_a_save_conflict_and_a_form_edit_that_cannot_be_made_are_problems_too(tmp_path) -> None:
    """A caller that only knows ProblemError (the CLI, a page's last except) still says them in words."""
    from workbench.content.authoring import AuthoringError, insert_item
    from workbench.files import SaveConflict, save_text, version_of
    from workbench.problems import ProblemError

    path = tmp_path / "ruleset.yaml"
    path.write_text("id: a\n", encoding="utf-8")
    with pytest.raises(ProblemError) as conflict:
        save_text(path, "id: b\n", version_of(b"id: something else\n"))
    assert isinstance(conflict.value, SaveConflict) and conflict.value.problems[0].code == "WB1024"
    assert conflict.value.current == "id: a\n" and "changed by someone else" in str(conflict.value)
    with pytest.raises(ProblemError) as edit:
        insert_item("nodes: [unclosed\n", ("nodes",), {"id": "x"})
    assert isinstance(edit.value, AuthoringError) and edit.value.problems[0].code == "WB1040"
