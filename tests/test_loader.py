"""Bad files get located problems with stable codes, never a traceback (SPEC 8)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import V1
from workbench.content.loader import MAX_FILE_BYTES, parse_ruleset, parse_vignettes, read_text, read_yaml

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9))


@pytest.mark.parametrize("text, code, line", [
    ("id: x\n  bad: [\n", "WB002", 2),
    ("id: a\ntitle: b\nid: c\n", "WB003", 3),
    ("a: &x 1\nb: *x\n", "WB004", 2),
    ("a: !!python/object/apply:os.system ['echo hi']\n", "WB005", 1),
    ("a: !!binary aGVsbG8=\n", "WB005", 1),
    ("a: 1\n---\nb: 2\n", "WB002", 2),
    ("<<: {a: 1}\n", "WB004", 1),
    ("a: " + "[" * 100 + "]" * 100 + "\n", "WB007", 1),
])
def test_hostile_yaml_is_a_located_problem(text: str, code: str, line: int) -> None:
    document, problems = read_yaml(text, "f.yaml")
    assert document is None
    assert [(p.code, p.line, p.file) for p in problems] == [(code, line, "f.yaml")]


def test_alias_bomb_is_refused_before_expansion() -> None:
    started = time.perf_counter()
    _, problems = read_yaml(BOMB)
    assert [p.code for p in problems] == ["WB004"]
    assert time.perf_counter() - started < 5  # a sanity bound, not a benchmark: expansion would never end


def test_file_over_the_size_limit_is_refused(tmp_path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    text, problems = read_text(path)
    assert text is None and problems[0].code == "WB001" and "limit" in problems[0].message


def test_non_utf8_file_is_refused(tmp_path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    assert read_text(path)[1][0].code == "WB001"


def test_every_value_keeps_its_line_and_column(mini_text: str) -> None:
    document, problems = read_yaml(mini_text, "mini.yaml")
    assert not problems and document is not None
    line = mini_text.splitlines().index("  - id: neuro") + 1
    assert document.locate(("nodes", 0, "id")) == (line, 9)
    assert document.locate(("nodes", 0, "branches", 0, "next")) == (line + 5, 15)


def shape_problems(text: str) -> list[tuple[str, int | None, str]]:
    return [(p.code, p.line, p.message) for p in parse_ruleset(text, "r.yaml").problems]


def test_unknown_field_suggests_the_near_miss(mini_text: str) -> None:
    text = mini_text.replace("    title: Neuro?", "    titel: Neuro?")
    codes = {(code, message) for code, _, message in shape_problems(text)}
    assert ("WB011", "Node 'neuro' has an unknown field 'titel' — did you mean 'title'?") in codes
    assert ("WB010", "Node 'neuro' needs 'title'.") in codes


@pytest.mark.parametrize("bad_id", ["Neuro", "a/b", "..", "../etc", "x" * 70, "-x"])
def test_ids_must_be_slugs(mini_text: str, bad_id: str) -> None:
    text = mini_text.replace("  - id: neuro\n", f"  - id: '{bad_id}'\n")
    assert "WB013" in [code for code, _, _ in shape_problems(text)]


def test_ruleset_id_cannot_escape_its_folder(mini_text: str) -> None:
    problems = shape_problems(mini_text.replace("id: mini", "id: ../../etc", 1))
    assert problems[0][:2] == ("WB013", 1)


def test_wrong_type_says_what_was_expected(mini_text: str) -> None:
    problems = shape_problems(mini_text.replace("    title: Neuro?", "    title: [a, b]"))
    assert problems[0][0] == "WB012" and "should be text, not a list" in problems[0][2]


def test_unknown_node_kind_names_the_allowed_kinds(mini_text: str) -> None:
    text = mini_text.replace("kind: decision\n    title: Neuro?", "kind: desicion\n    title: Neuro?")
    problems = shape_problems(text)
    assert problems[0][0] == "WB014" and "did you mean 'decision'" in problems[0][2]


def test_version_must_be_semantic(mini_text: str) -> None:
    problems = shape_problems(mini_text.replace("version: 1.0.0", "version: 1.0"))
    assert problems == [("WB014", 2, "Version '1.0' must be a semantic version such as 1.0.0.")]


def test_top_level_list_is_not_a_ruleset() -> None:
    assert [p.code for p in parse_ruleset("- a\n- b\n").problems] == ["WB006"]


def test_vignette_file_shape_is_checked() -> None:
    problems = parse_vignettes("ruleset: mini\nvignettes:\n  - id: v1\n    inputs: {a: [1]}\n").problems
    codes = {p.code for p in problems}
    assert codes == {"WB010", "WB012"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    parsed = parse_ruleset(text)
    assert parsed.model is not None or parsed.problems


YAML_PIECES = st.sampled_from(["id: x\n", "nodes:\n", "  - ", "&a ", "*a ", "!!python/name:os ", "{", "}", "[", "]",
                               ": ", "- ", "'", '"', "\n", "   ", "kind: decision\n", "else: y\n", "when: a and\n",
                               "%YAML 1.1\n", "---\n", "? ", "|\n", ">\n", "\t", "\x00", "é", "1e999", "<<: "])


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_PIECES, max_size=40).map("".join))
def test_random_yaml_like_text_never_raises(text: str) -> None:
    for parse in (parse_ruleset, parse_vignettes):
        parsed = parse(text)
        assert parsed.model is not None or all(p.code and p.line for p in parsed.problems)


# --- syntax errors in plain words, at the line to fix ---------------------------------------------

PLAIN_WORDS = [  # (what a clinician typed, the line to fix, words the message must use)
    ("id: x\ntitle: Back pain\n   version: 1.0.0\n", 3, "indented more than the one above"),
    ("id: x\ntitle: Back pain: red flags\n", 2, "put the value in quotes"),
    ("id: x\ntitle Back pain\nversion: 1\n", 2, "has no ':' after its key"),
    ("id: x\nnodes:\n\t- id: a\n", 3, "indented with a tab"),
    ("id: x\ntitle: 'Back pain\nversion: 1\n", 2, "quote opened on this line is never closed"),
    ("nodes:\n  - id: a\n    kind: outcome\n   - id: b\n", 4, "list item is not lined up"),
    ("inputs:\n  - id: age\n    type: number\n  question: How old?\n", 4, "indented less than the lines around it"),
    ("cites: [NG234, CKS\nid: x\n", 1, "list in [ ] that starts on this line is not closed"),
    ("title: @home\n", 1, "cannot start with '@'"),
    ("a: 1\n---\nb: 2\n", 2, "more than one YAML document"),
]


@pytest.mark.parametrize(("text", "line", "words"), PLAIN_WORDS)
def test_yaml_syntax_errors_are_said_in_plain_words_at_the_line_to_fix(text: str, line: int, words: str) -> None:
    """Was PyYAML's own words ("mapping values are not allowed here"), often a line late."""
    document, problems = read_yaml(text, "r.yaml")
    assert document is None and [(p.code, p.line) for p in problems] == [("WB002", line)]
    assert words in problems[0].message
    assert "mapping values" not in problems[0].message and "scanning" not in problems[0].message


def test_libyaml_and_the_python_parser_read_every_file_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files libyaml can read are built from its events (about ten times faster); they must give the very document,
    lines and columns the pure-Python path gives, non-ASCII text included."""
    import yaml

    from tests.conftest import ROOT
    from workbench.content import loader

    files = sorted([*ROOT.glob("rulesets/**/*.yaml"), *ROOT.glob("tests/fixtures/**/*.yaml")])
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = loader._read_with_libyaml(text, str(path))
        with monkeypatch.context() as patch:
            patch.setattr(yaml, "__with_libyaml__", False)
            slow, problems = read_yaml(text, str(path))
        assert fast is not None and slow is not None and not problems, path
        assert (fast.data, fast.values, fast.keys) == (slow.data, slow.values, slow.keys), path
    for refused in ("a: &x 1\nb: *x\n", "[" * 41 + "]" * 41, "a: [\n"):  # aliases, depth, mistakes: never libyaml
        assert loader._read_with_libyaml(refused, "t.yaml") is None


TRICKY_YAML = [
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: 'yes'\ng: \"no\"\n",
    "a: 0x1F\nb: 0o17\nc: 017\nd: 1_000\ne: 1:30\nf: -42\ng: +7\nh: 0b101\n",
    "a: .inf\nb: -.Inf\nc: .NaN\nd: 1e3\ne: 6.8523015e+5\nf: 1.5\ng: .5\nh: 1_000.5\n",
    "a: ~\nb: null\nc:\nd: Null\ne: ''\n",
    "a: 2024-01-01\nb: 2001-12-14t21:59:43.10-05:00\nc: '2024-01-01'\n",
    "1: one\ntrue: t\n~: n\n2024-01-01: d\n", "1: one\ntrue: t\n~: n\n0x1F: h\n", "'<<': m\n", ": empty key\n",
    "a: {b: [1, {c: d}], e: []}\nf: [x, 'y', \"z\", ~, -1.5]\n",
    "text: |\n  line one\n  line two\nfolded: >-\n  one\n  two\nkeep: |+\n  x\n\nafter: 1\n",
    "naïve: café — ✓\nkey with spaces: v\n'quoted key': 1\n\"dq\": 2\n",
    "a: !!str 1\nb: !!int '3'\nc: !!float '1'\nd: !!bool 'yes'\ne: !!null ''\n",
    "a: !!binary aGVsbG8=\n", "a: !!int x\n", "a: !custom 1\n", "!!set {a, b}\n", "!!omap [a: 1]\n",
    "a: 1\na: 2\n", "<<: {a: 1}\nb: 2\n", "a: 1\n---\nb: 2\n", "? [a, b]\n: c\n", "? {a: 1}\n: c\n",
    "", "# only a comment\n", "---\n", "--- 3\n...\n", "- a\n- - b\n  - c\n- {d: e}\n", "plain\n",
    "a: &x 1\n", "a: [\n", "a: b: c\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_libyaml_events_give_what_the_python_parser_gives_on_every_kind_of_scalar_and_shape(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The data built from libyaml's events is what PyYAML's safe loader composes and constructs, value for value
    (NaN and dates included) and place for place; whatever the pure-Python way refuses, libyaml's way leaves to it."""
    import yaml

    from workbench.content import loader

    fast = loader._read_with_libyaml(text, "t.yaml")
    with monkeypatch.context() as patch:
        patch.setattr(yaml, "__with_libyaml__", False)
        slow, problems = read_yaml(text, "t.yaml")
    if problems:
        assert fast is None, (text, problems)
    else:  # read by libyaml unless it holds an anchor (left to the way that refuses aliases)
        assert slow is not None and (fast is not None or "&" in text), text
        if fast is not None:
            assert (repr(fast.data), fast.values, fast.keys) == (repr(slow.data), slow.values, slow.keys), text


@pytest.mark.parametrize("text, line", [
    ("references:\n - id: NG234\n    title: NICE NG234\n  - id: CKS\n    title: CKS\n", 2),  # the item, not the title
    ("references:\n   - id: NG234\n    title: NICE NG234\n  - id: CKS\n    title: CKS\n", 2),
    ("description: >-\n   Triage in primary care\n  of adults with back pain\n  and neck pain.\nid: x\n", 2),
    ("nodes:\n  - id: a\n    kind: d\n - id: b\n    kind: x\n", 4),  # the misaligned item itself
    ("nodes:\n  - id: a\n    kind: decision\n   title: bad\n  - id: b\n", 4),
])
def test_an_indentation_mistake_is_reported_at_its_own_line(text: str, line: int):
    _, problems = read_yaml(text)
    assert [p.line for p in problems] == [line], problems


def test_almost_every_line_indented_wrongly_is_reported_at_that_line():
    """Every fourth content line of the 1.0.0 ruleset moved one column either way (all of them take 11 s): the
    problem names that line (a few are truly ambiguous, such as the last line of a two-line block of text)."""
    lines = (V1 / "ruleset.yaml").read_text(encoding="utf-8").splitlines()
    right = wrong = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#") or number % 4:
            continue
        for shift in (-1, 1):
            indent = len(text) - len(text.lstrip()) + shift
            if indent < 0:
                continue
            moved = [*lines[:number - 1], " " * indent + text.lstrip(), *lines[number:]]
            _, problems = read_yaml("\n".join(moved))
            if problems:
                right, wrong = (right + 1, wrong) if problems[0].line == number else (right, wrong + 1)
    assert right > 150 and wrong <= right // 50, (right, wrong)


@pytest.mark.parametrize("before", ["- &a 1\n", "- {a: 1, a: 2}\n", "- !!binary aGk=\n", "- 1\n---\n"])
def test_too_many_values_is_said_at_once_after_an_earlier_mistake(before: str) -> None:
    """An anchor, a repeated key, a tag or a second document early in a file too big in values: libyaml's way
    still counts to the end and says WB007 at once, rather than leaving a megabyte to the pure-Python way."""
    from workbench.content import loader

    text = before + "- 1\n" * (loader.MAX_VALUES + 5)
    with pytest.raises(loader._TooManyValues):
        loader._read_with_libyaml(text, "t.yaml")
    _, problems = read_yaml(text, "t.yaml")
    assert [p.code for p in problems] == ["WB007"]


def test_vignette_files_remembered_by_text_follow_every_edit_on_disk(tmp_path: Path) -> None:
    """The parse of a vignettes file is remembered by its text, so a file edited behind the workbench's back (same
    path, new text) is read anew, and a caller adding to the problems it gets never changes what the next one gets."""
    path = tmp_path / "cases.yaml"
    first = ("ruleset: upper-back-pain\nvignettes:\n  - id: first-case\n    inputs: {}\n"
             "    expect: {disposition: routine}\n")
    path.write_text(first, encoding="utf-8")
    before = parse_vignettes(path.read_text(encoding="utf-8"), str(path))
    path.write_text(first.replace("routine", "emergency"), encoding="utf-8")
    after = parse_vignettes(path.read_text(encoding="utf-8"), str(path))
    assert before.model is not None and after.model is not None
    assert [v.expect.disposition for v in after.model.vignettes] == ["emergency"]
    after.problems.append("added by a caller")  # type: ignore[arg-type]
    assert parse_vignettes(path.read_text(encoding="utf-8"), str(path)).problems == []
