"""Hostile content renders inert everywhere, and no id, URL or link leads outside the rulesets folder.

A ruleset whose every free text is markup, script, DOT syntax, path, control or direction characters, or as long
as the model allows, is legal content: it must come out of the picture, the API, the exports and the command line
as the same text, never as markup, a new graph node, a terminal escape or a file somewhere else.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.asgi_support import call
from tests.conftest import run_cli
from tests.downstream_support import KEYRING, shipped_data, write_release
from workbench.api import create_app
from workbench.content.loader import parse_ruleset, parse_vignettes
from workbench.content.validate import validate_ruleset_text
from workbench.drawing.graph import render, to_dot
from workbench.files import read_versioned
from workbench.people import access
from workbench.problems import ProblemError
from workbench.publish.canonical import ruleset_data
from workbench.publish.diff import resolve
from workbench.publish.export import export
from workbench.publish.releases import place
from workbench.run.engine import CompiledRuleset, evaluate
from workbench.run.replay import replay_ruleset

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1)) and ![img](javascript:alert(2))",
    "**bold** _em_ `code` # heading | table | ~~strike~~ $x$",
    '"]; evil [label="pwned", URL="javascript:alert(3)"]; first -> evil; }',
    "a -> b } digraph injected { x } <b>not bold</b>",
    "../../etc/passwd ..\\..\\windows\\system32 /etc/shadow rulesets/../x",
    "bell\x07 escape\x1b[31mred\x1b[0m carriage\rreturn nul\x00 del\x7f c1\x9b2J",
    "right-to-left \u202eevil\u202c and isolate \u2066x\u2069 zero\u200bwidth",
    "&amp; &lt;script&gt; &#x3C;script&#x3E; %3Cscript%3E",
    "\\N \\G \\L \\l \\n \\\\ backslash escapes that DOT would expand",
    "{{7*7}} ${7*7} %(x)s {0} '; DROP TABLE rulesets; --",
    "x" * 5000,  # the model's Text limit
]
TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ID = "hostile"


def hostile_data(ruleset_id: str = ID, offset: int = 0) -> dict[str, Any]:
    """Every free text hostile; `offset` turns the list so that each text lands in each field for some offset."""
    text = itertools.islice(itertools.cycle(HOSTILE), offset, None)
    return {
        "id": ruleset_id, "version": "1.0.0", "title": next(text), "description": next(text),
        "references": [{"id": "REF.1", "title": next(text), "url": "javascript:alert(document.cookie)"}],
        "dispositions": [{"id": "emergency", "label": next(text), "description": next(text)},
                         {"id": "routine", "label": next(text)}],
        "inputs": [{"id": "flag", "type": "boolean", "question": next(text), "help": next(text)},
                   {"id": "site", "type": "enum", "values": ["neck", "back"], "question": next(text),
                    "labels": {"neck": next(text), "back": next(text)}},
                   {"id": "age", "type": "number", "unit": next(text), "question": next(text)}],
        "red_flags": [{"id": "rf", "label": next(text), "when": "flag", "cites": ["REF.1"]}],
        "start": "first",
        "nodes": [
            {"id": "first", "kind": "decision", "title": next(text), "description": next(text),
             "branches": [{"when": "flag", "next": "bad", "label": next(text)},
                          {"when": "site == 'neck' and age > 50", "next": "bad", "label": next(text)}],
             "else": "good", "cites": ["REF.1"]},
            {"id": "bad", "kind": "outcome", "title": next(text), "disposition": "emergency", "advice": next(text),
             "cites": ["REF.1"]},
            {"id": "good", "kind": "outcome", "title": next(text), "disposition": "routine", "advice": next(text)},
        ],
    }


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)


@pytest.fixture(scope="module")
def hostile() -> CompiledRuleset:
    report = validate_ruleset_text(as_yaml(hostile_data()), "hostile.yaml")
    assert report.ok, [str(p) for p in report.problems if p.is_error]
    return CompiledRuleset(report.model, "hostile.yaml")


def test_every_hostile_text_is_legal_content_kept_exactly_as_written(hostile: CompiledRuleset) -> None:
    data = ruleset_data(hostile.model)
    assert data["title"] == HOSTILE[0] and data["references"][0]["url"] == "javascript:alert(document.cookie)"
    everything = json.dumps(data, ensure_ascii=False)
    for text in HOSTILE:
        assert json.dumps(text, ensure_ascii=False)[1:-1] in everything


# --- ids can never name a path ----------------------------------------------------------------

BAD_IDS = ["../x", "..", ".", "a/b", "a\\b", "x/../y", "/etc", "a b", "-x", "A", "a", "x" * 65, "%2e%2e",
           "a\x00b", "a..b/", "ab\n", "\u202eab"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_the_model_refuses_ruleset_ids_that_could_name_another_folder(bad: str, mini_text: str) -> None:
    parsed = parse_ruleset(mini_text.replace("id: mini", f"id: {json.dumps(bad)}", 1))
    assert parsed.model is None and {p.code for p in parsed.problems} == {"WB013"}
    vignettes = parse_vignettes(f"ruleset: {json.dumps(bad)}\nvignettes: []\n")
    assert vignettes.model is None and {p.code for p in vignettes.problems} == {"WB013"}


@pytest.mark.parametrize("bad", BAD_IDS)
def test_release_paths_refuse_ids_and_versions_that_could_escape(bad: str) -> None:
    assert place(f"{bad}/releases/1.0.0.json") is None
    assert place(f"upper-back-pain/releases/{bad}.json") is None
    assert place("upper-back-pain/releases/1.0.0.json") == ("upper-back-pain", "1.0.0")


@pytest.mark.parametrize("ref", ["../../../etc/passwd", "../releases/1.0.0", "/etc/passwd", "..", "1.0.0/../x"])
def test_diff_refuses_versions_that_are_paths(ref: str, v1_copy: Path) -> None:
    with pytest.raises(ProblemError) as refused:
        resolve(v1_copy, ref)
    assert {p.code for p in refused.value.problems} == {"WB722"}


# --- the picture ------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
ACTIVE = {"script", "foreignObject", "iframe", "object", "embed", "handler", "use", "image"}


def svg_checks(svg: bytes, node_ids: set[str], edges: int) -> str:
    """Parses as XML; no active element, handler, link or style; exactly the graph's nodes and edges. The text."""
    root = ET.fromstring(svg)
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in ACTIVE, element.tag
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            assert not local.startswith("on"), (name, value)
            assert local != "href" and local != "style", (name, value)
            assert "javascript:" not in value.lower() or local == "title", (name, value)
    groups = [g for g in root.iter(f"{SVG}g")]
    titles = {g.findtext(f"{SVG}title") for g in groups if g.get("class") == "node"}
    assert titles == node_ids | {"_legend"}
    assert sum(g.get("class") == "edge" for g in groups) == edges
    text = "".join(root.itertext())
    assert not TERMINAL_UNSAFE.search(text)
    return text


def test_the_picture_shows_hostile_text_as_text_never_as_markup_nodes_or_links() -> None:
    """Every hostile text in every field (one picture per turn of the list), plain and with a path drawn."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed")
    shown = ""
    for offset in range(len(HOSTILE)):
        report = validate_ruleset_text(as_yaml(hostile_data(offset=offset)), "hostile.yaml")
        assert report.ok
        ruleset = CompiledRuleset(report.model)
        for answers in (None, {"flag": True}, {"flag": False}):
            result = evaluate(ruleset, answers) if answers is not None else None
            dot = to_dot(ruleset, result=result)
            assert not TERMINAL_UNSAFE.search(dot) and "\u202e" not in dot
            needs = result is not None and result.status == "needs_input"
            shown += svg_checks(render(dot, "svg"), {"first", "bad", "good"} | ({"_needs"} if needs else set()),
                                3 + needs)
    for text in HOSTILE:  # shown, as plain text: nothing was dropped, expanded or turned into markup
        first_words = " ".join(TERMINAL_UNSAFE.sub(" ", text).split())[:12]
        assert first_words in shown, first_words
    assert "<script>alert(1)</script>" in shown and 'onerror="alert(1)"' in shown and "\\N \\G \\L" in shown


def test_graphviz_is_never_asked_for_a_link_or_an_image(hostile: CompiledRuleset) -> None:
    """Outside quoted strings (where all content is), the DOT names no attribute that links or loads a file."""
    syntax = re.sub(r'"(?:[^"\\]|\\.)*"', '""', to_dot(hostile))
    assert 'URL=\\"javascript' in to_dot(hostile)  # the hostile text is there, inside a string
    for attribute in ("URL", "href", "image", "shapefile", "fontpath", "imagepath", "stylesheet", "xlink"):
        assert not re.search(rf"\b{attribute}\s*=", syntax), attribute


# --- the API ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, hostile: CompiledRuleset) -> Path:
    """A rulesets root with the hostile release (hostile names too), the shipped one, and a valid release *outside*
    the root that links and `..` must never reach."""
    base = tmp_path_factory.mktemp("hostile-root")
    root = base / "rulesets"
    write_release(root, ruleset_data(hostile.model), author=HOSTILE[7], reason=HOSTILE[4])
    write_release(root, shipped_data())
    outside = base / "outside"
    write_release(outside, shipped_data(id="evil", title="served from outside the root"))
    write_release(outside, shipped_data(id="linked", title="served from outside the root"))
    (root / "evil").symlink_to(outside / "evil")  # a whole ruleset folder linked in
    (root / "linked" / "releases").mkdir(parents=True)
    (root / "linked" / "releases" / "1.0.0.json").symlink_to(outside / "linked" / "releases" / "1.0.0.json")
    (base / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    return root


def test_the_api_serves_hostile_text_as_json_data_only(root: Path) -> None:
    app = create_app(root, KEYRING)
    status, headers, body = call(app, "GET", f"/rulesets/{ID}/versions/1.0.0")
    assert status == 200 and headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    served = json.loads(body)
    assert served["title"] == HOSTILE[0] and served["release"]["author"] == HOSTILE[7]
    assert served["references"][0]["url"] == "javascript:alert(document.cookie)"  # data, for the app to judge
    status, headers, body = call(app, "POST", f"/rulesets/{ID}/versions/1.0.0/evaluate", b'{"inputs": {"flag": true}}')
    assert status == 200 and json.loads(body)["outcome"] == "bad"


@pytest.mark.parametrize("path", [
    "/rulesets/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/rulesets/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/versions/1.0.0",
    "/rulesets/x/versions/%3Cscript%3E",
    "/%3Cscript%3Ealert(1)%3C/script%3E",
])
def test_api_errors_quoting_hostile_paths_are_problem_json_never_html(root: Path, path: str) -> None:
    status, headers, body = call(create_app(root, KEYRING), "GET", path)
    assert status == 404 and headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    assert json.loads(body)["status"] == 404


@pytest.mark.parametrize("path", [
    "/rulesets/..%2F..%2Fetc/versions/1.0.0",
    "/rulesets/..%2Foutside%2Fevil/versions/1.0.0",
    "/rulesets/../outside/evil/versions/1.0.0",
    "/rulesets/%2e%2e/versions/1.0.0",
    "/rulesets/..",
    "/rulesets/upper-back-pain/versions/..%2F..%2F..%2Fsecret.txt",
    "/rulesets/upper-back-pain/versions/1.0.0%2F..%2F..%2F..%2F..%2Fsecret.txt",
    "/rulesets/upper-back-pain/versions/1.0.0.json",
    "/rulesets/upper-back-pain/versions/1.0.0%00",
    "/rulesets/evil/versions/1.0.0",  # a folder linked in from outside
    "/rulesets/evil",
    "/rulesets/linked/versions/1.0.0",  # a release file linked in from outside
    "/rulesets/linked",
])
def test_no_url_reaches_a_file_outside_the_rulesets_folder(root: Path, path: str) -> None:
    status, headers, body = call(create_app(root, KEYRING), "GET", path)
    assert status == 404, body
    assert b"TOP SECRET" not in body and b"served from outside" not in body
    assert headers["content-type"] == "application/problem+json"


def test_the_index_lists_only_what_is_inside_the_root(root: Path) -> None:
    status, _, body = call(create_app(root, KEYRING), "GET", "/rulesets")
    assert status == 200 and [r["id"] for r in json.loads(body)["rulesets"]] == [ID, "upper-back-pain"]


def test_the_export_writes_hostile_text_as_json_and_nothing_from_outside(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    report = export(root, out, KEYRING)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["hostile/1.0.0.json", "hostile/latest.json", "index.json", "upper-back-pain/1.0.0.json",
                       "upper-back-pain/latest.json"]
    assert json.loads((out / "hostile" / "1.0.0.json").read_text(encoding="utf-8"))["title"] == HOSTILE[0]
    assert {p.code for p in report.problems} == {"WB1023"}  # the two links are reported, not followed
    assert sorted(Path(p.file or "").parent.parent.name for p in report.problems) == ["evil", "linked"]


def test_the_release_gate_never_writes_through_a_linked_releases_folder(v1_copy: Path, tmp_path: Path,
                                                                        key_for: Any) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (v1_copy / "releases").symlink_to(outside)
    reviewer = access.Identity("Dr Rex Reviewer", frozenset({"reviewer", "author"}))
    for act in (lambda: access.submit(reviewer, v1_copy, "x"),
                lambda: access.release(reviewer, v1_copy, "x", key_for(reviewer.name))):
        with pytest.raises(ProblemError) as refused:
            act()
        assert {p.code for p in refused.value.problems} == {"WB1022"}
    assert not any(outside.iterdir())


# --- the command line -------------------------------------------------------------------------

@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / ID
    (folder / "vignettes").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(as_yaml(hostile_data(offset=4)), encoding="utf-8")  # label: controls
    vignettes = {"ruleset": ID, "vignettes": [
        {"id": "flagged", "narrative": HOSTILE[7], "inputs": {"flag": True}, "expect": {"disposition": "emergency"}},
        {"id": "fails", "narrative": HOSTILE[0], "inputs": {"flag": False, "site": "back"},
         "expect": {"disposition": "emergency"}}]}
    (folder / "vignettes" / "cases.yaml").write_text(as_yaml(vignettes), encoding="utf-8")
    return folder


def assert_inert(text: str) -> None:
    assert not TERMINAL_UNSAFE.search(text), repr(TERMINAL_UNSAFE.search(text))


def test_cli_text_output_cannot_send_terminal_escapes(hostile_folder: Path) -> None:
    ruleset = str(hostile_folder / "ruleset.yaml")
    done = run_cli("evaluate", ruleset, "--inputs", '{"flag": true}')
    assert done.returncode == 0
    assert_inert(done.stdout + done.stderr)
    assert "escape\\u001b[31mred" in done.stdout and "carriage\\u000dreturn" in done.stdout  # shown, visibly
    for args in (["replay", str(hostile_folder)], ["validate", str(hostile_folder)],
                 ["evaluate", ruleset, "--inputs", '{"flag\\u001b[2J\\u202e": 1}'],
                 ["graph", ruleset, "--format", "dot"]):
        done = run_cli(*args)
        assert "Traceback" not in done.stderr
        assert_inert(done.stdout + done.stderr)


def test_cli_json_output_gives_back_the_exact_text(hostile_folder: Path) -> None:
    bad = hostile_folder / "ruleset.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("id: hostile", 'id: "a\\e[2J\\u202eb"', 1),
                   encoding="utf-8")
    done = run_cli("validate", str(bad), "--format", "json")
    assert done.returncode == 1
    assert_inert(done.stdout)
    assert "'a\x1b[2J\u202eb' is not a valid id" in json.loads(done.stdout)[0]["message"]


def test_replay_and_evaluate_work_on_hostile_content(hostile_folder: Path) -> None:
    report = replay_ruleset(hostile_folder / "ruleset.yaml")
    assert [(r.id, r.passed) for r in report.results] == [("flagged", True), ("fails", False)]


# --- files planted on disk --------------------------------------------------------------------

def plant(kind: str, path: Path) -> None:
    """What someone with write access to the folder (or a careless copy) can leave where a file is expected."""
    if kind == "link to a system file":
        path.symlink_to("/etc/passwd")
    elif kind == "link to an endless device":
        path.symlink_to("/dev/zero")
    elif kind == "pipe":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()


PLANTED = ["link to a system file", "link to an endless device", "pipe", "folder"]


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_vignettes_file_is_named_never_read_and_the_rest_still_replay(v1_copy: Path, kind: str) -> None:
    """A pipe would block a read forever and /dev/zero never ends: run_cli's timeout fails the test if either is
    opened. The real vignettes still replay; the exit is 1 because a file could not be used."""
    plant(kind, v1_copy / "vignettes" / "planted.yaml")
    done = run_cli("replay", str(v1_copy))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.search(r"planted\.yaml:1:1: error WB1023 planted\.yaml is (a link|not a regular file)", done.stdout)
    assert "56 vignettes, 56 passed, 0 failed" in done.stdout
    done = run_cli("validate", str(v1_copy))  # validating the folder names it too, never passes over it
    assert done.returncode == 1 and "planted.yaml:1:1: error WB1023" in done.stdout


def test_a_linked_ruleset_file_or_folder_is_refused(v1_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.yaml"
    (v1_copy / "ruleset.yaml").rename(elsewhere)
    (v1_copy / "ruleset.yaml").symlink_to(elsewhere)
    done = run_cli("validate", str(v1_copy / "ruleset.yaml"))
    assert done.returncode == 1 and "WB1023 ruleset.yaml is a link, which the workbench does not follow" in done.stdout
    linked = tmp_path / "linked"
    linked.symlink_to(v1_copy / "vignettes")
    done = run_cli("validate", str(linked / "cancer.yaml"))
    assert done.returncode == 1 and "is a link, which the workbench does not follow" in done.stdout


def test_answers_nested_beyond_reason_are_a_usage_error(v1_copy: Path) -> None:
    deep = v1_copy.parent / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = run_cli("evaluate", str(v1_copy), "--inputs", str(deep))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--inputs is nested too deeply to be answers" in done.stderr


def test_the_pages_name_planted_files_and_open_only_real_ones(v1_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.ui.test_ui_apptest import script

    for kind in PLANTED:
        plant(kind, v1_copy / "vignettes" / f"{kind.replace(' ', '-')}.yaml")
    (v1_copy.parent / "linked-ruleset").symlink_to(v1_copy)  # a linked folder is not offered as a ruleset
    monkeypatch.setenv("WORKBENCH_RULESETS", str(v1_copy.parent))
    monkeypatch.setenv("WORKBENCH_USERS", str(v1_copy.parent / "no-accounts.json"))
    for page in ("rulesets", "editor", "vignettes", "try", "safety"):
        at = AppTest.from_string(script(page), default_timeout=60).run()
        assert not at.exception and not at.error, (page, [e.value for e in [*at.exception, *at.error]])
        if page == "rulesets":
            assert [c.value for c in at.caption if "linked-ruleset" in c.value] == []
            assert [c.value for c in at.caption if c.value.startswith("upper-back-pain ·")]
        if page == "vignettes":
            warning = " ".join(w.value for w in at.warning)
            assert "'folder.yaml', 'link-to-a-system-file.yaml', 'link-to-an-endless-device.yaml', 'pipe.yaml'" \
                   in warning and "never opens (WB1023)" in warning
        if page == "editor":
            files = [str(Path(o).name) for o in at.selectbox(key=next(
                s.key for s in at.selectbox if s.label == "File")).options]
            assert files == ["ruleset.yaml", *sorted(p.name for p in (v1_copy / "vignettes").iterdir()
                                                      if p.is_file() and not p.is_symlink())]


# --- the history's git settings ---------------------------------------------------------------

PLANTED_SETTINGS = {
    "clean filter": ('[filter "pwn"]\n\tclean = "sh -c \'touch {marker}; cat\'"\n', "* filter=pwn\n"),
    "merge driver": ('[merge "pwn"]\n\tdriver = "sh -c \'touch {marker}\'"\n', "* merge=pwn\n"),
    "include": ("[include]\n\tpath = {marker}.cfg\n", ""),
    "transport": ('[remote "team"]\n\turl = "ext::sh -c touch% {marker}"\n', ""),
    "pager": ("[core]\n\tpager = sh -c 'touch {marker}'\n", ""),
}


@pytest.mark.parametrize("kind", list(PLANTED_SETTINGS))
def test_git_settings_planted_in_the_history_never_run_a_program(v1_copy: Path, tmp_path: Path, kind: str) -> None:
    """Found by an independent reviewer: a clean filter written into .git/config ran in the approver's process
    on every save and release and copied their private key. Now any setting git init/clone/remote did not write
    stops the workbench before git runs (WB1036), and the planted program never runs."""
    from workbench.publish.repository import Repository

    repository = Repository.open(v1_copy.parent)
    marker = tmp_path / "it-ran"
    setting, attributes = PLANTED_SETTINGS[kind]
    with (repository.git_dir / "config").open("a", encoding="utf-8") as config:
        config.write(setting.format(marker=marker))
    (repository.git_dir / "info").mkdir(exist_ok=True)
    (repository.git_dir / "info" / "attributes").write_text(attributes, encoding="utf-8")
    path = v1_copy / "ruleset.yaml"
    text, version = read_versioned(path)
    with pytest.raises(ProblemError) as refused:
        access.save_ruleset(access.local_identity("Dr Ada Author"), path, (text or "") + "# edit\n", version, "x")
    assert refused.value.problems[0].code == "WB1036" and "could use to run a program as you" in \
        refused.value.problems[0].message
    done = run_cli("history", str(v1_copy))
    assert done.returncode != 0 and "WB1036" in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()


def test_a_history_folder_that_points_elsewhere_is_refused(v1_copy: Path, tmp_path: Path) -> None:
    from workbench.publish.repository import Repository

    repository = Repository.open(v1_copy.parent)
    elsewhere = tmp_path / "elsewhere.git"
    repository.git_dir.rename(elsewhere)
    repository.git_dir.write_text(f"gitdir: {elsewhere}\n", encoding="utf-8")
    with pytest.raises(ProblemError) as refused:
        Repository(v1_copy.parent).head()
    assert refused.value.problems[0].code == "WB1036"


def test_a_team_remote_that_runs_a_command_is_refused(v1_copy: Path) -> None:
    from workbench.publish.repository import Repository

    repository = Repository.open(v1_copy.parent)
    with pytest.raises(ProblemError) as refused:
        repository.add_remote("ext::sh -c touch% /tmp/x")
    assert "is not a team remote the workbench uses" in refused.value.problems[0].message
    assert repository.remotes() == []
