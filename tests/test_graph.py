"""The flow as a picture (issue #3): DOT structure, path and coverage overlays, safe labels, rendering, CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import MINI, ROOT, V1, console_script, run_cli
from workbench import evaluate, load_ruleset
from workbench.content.model import DecisionNode, Ruleset
from workbench.drawing.colours import disposition_colours
from workbench.drawing.graph import (
GraphvizNotFound,
quote,
render,
to_dot,
wrap_condition,
)
from workbench.run.engine import CompiledRuleset
from workbench.run.replay import Coverage, replay_ruleset

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate_ruleset  # noqa: E402

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHIPPED_FILE = V1 / "ruleset.yaml"

# --- a small reader for the DOT we write: one statement per line ------------------------------

_STATEMENT = re.compile(r'^\s*"([^"]+)"(?: -> "([^"]+)")? \[(.*)\];$')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*>|[^,\]]+)')


def _unquote(value: str) -> str:
    if value.startswith('"'):
        value = value[1:-1]
        value = re.sub(r"\\(.)", lambda m: {"l": "\n", "n": "\n"}.get(m.group(1), m.group(1)), value)
    return value


def statements(dot: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """(nodes by id, edges in order) of the ruleset's own nodes (legend and notes start with `_`)."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in dot.splitlines():
        match = _STATEMENT.match(line)
        if not match or match.group(1).startswith("_"):
            continue
        attrs = {k: _unquote(v) for k, v in _ATTR.findall(match.group(3))}
        if match.group(2) is None:
            assert match.group(1) not in nodes, f"node {match.group(1)} drawn twice"
            nodes[match.group(1)] = attrs
        elif not match.group(2).startswith("_"):
            edges.append((match.group(1), match.group(2), attrs))
    return nodes, edges


def edge_labels(dot: str, node_id: str) -> list[str]:
    return [attrs["label"] for source, _, attrs in statements(dot)[1] if source == node_id]


@pytest.fixture(scope="module")
def shipped() -> CompiledRuleset:
    return load_ruleset(SHIPPED_FILE)


@pytest.fixture(scope="module")
def mini() -> CompiledRuleset:
    return load_ruleset(MINI)


def mini_data() -> dict[str, Any]:
    return yaml.safe_load(MINI.read_text(encoding="utf-8"))


# --- structure --------------------------------------------------------------------------------

def test_every_node_once_and_every_branch_and_else_as_an_edge(shipped: CompiledRuleset) -> None:
    nodes, edges = statements(to_dot(shipped))
    model = shipped.model
    assert set(nodes) == {n.id for n in model.nodes}
    expected = [(n.id, target) for n in model.nodes if isinstance(n, DecisionNode)
                for target in [*(b.next for b in n.branches), n.else_]]
    assert [(source, target) for source, target, _ in edges] == expected


def test_edges_are_numbered_in_order_with_else_last(shipped: CompiledRuleset) -> None:
    labels = edge_labels(to_dot(shipped), "emergency_screen")
    assert [label.split(" ", 1)[0].strip() for label in labels] == ["1.", "2.", "3.", "else"]
    assert labels[0].startswith("1. bladder_bowel_dysfunction or")
    assert "(Rule 1 — sphincter or saddle symptoms)" in labels[0].replace("\n", " ")


def test_long_conditions_are_wrapped_never_cut(shipped: CompiledRuleset) -> None:
    condition = next(n for n in shipped.model.nodes if n.id == "metastases_screen").branches[0].when
    label = edge_labels(to_dot(shipped), "metastases_screen")[0]
    lines = label.rstrip("\n").split("\n")
    assert len(lines) > 3
    assert all(len(line) <= 40 for line in lines)
    assert " ".join(lines).startswith("1. " + " ".join(condition.split()) + " (Rule 6")


@given(st.lists(st.sampled_from(["a", "known_cancer", "or", "and", "'two words'", "x" * 70, "(b", "c)"]),
                min_size=1, max_size=40))
def test_wrapping_keeps_every_token(words: list[str]) -> None:
    text = " ".join(words)
    lines = wrap_condition(text, 20)
    assert " ".join(lines) == text
    assert all(len(line) <= 20 or " " not in line.replace("'two words'", "") for line in lines)


def test_a_shared_subtree_is_drawn_once() -> None:
    data = mini_data()
    data["nodes"][0]["branches"][0]["next"] = "mets"  # neuro -> mets, and cancer -> mets
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "mscc"]
    nodes, edges = statements(to_dot(CompiledRuleset(Ruleset.model_validate(data))))
    assert len(nodes) == 4
    assert sum(target == "mets" for _, target, _ in edges) == 2


def test_a_700_node_dag_draws_each_node_once() -> None:
    ruleset = CompiledRuleset(Ruleset.model_validate(generate_ruleset()))
    nodes, edges = statements(to_dot(ruleset))
    assert len(nodes) == len(ruleset.model.nodes) == 700
    assert len(edges) == sum(len(n.branches) + 1 for n in ruleset.model.nodes if isinstance(n, DecisionNode))


def test_rankdir(mini: CompiledRuleset) -> None:
    assert "rankdir=LR" in to_dot(mini, rankdir="LR")
    assert "rankdir=TB" in to_dot(mini)
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(mini, rankdir="BT")


# --- colours, legend, red flags ---------------------------------------------------------------

def test_outcomes_are_coloured_by_urgency_with_a_legend(shipped: CompiledRuleset) -> None:
    colours = disposition_colours(shipped.model)
    assert list(colours) == [d.id for d in shipped.model.dispositions]
    assert len(set(colours.values())) == len(colours)
    red, green, blue = (int(colours["emergency"][i:i + 2], 16) for i in (1, 3, 5))
    assert red > green and red > blue  # most urgent: warm
    red, green, blue = (int(colours["self_care"][i:i + 2], 16) for i in (1, 3, 5))
    assert blue > red and green > red  # least urgent: cool
    dot = to_dot(shipped)
    nodes, _ = statements(dot)
    for node in shipped.model.nodes:
        if node.kind == "outcome":
            assert nodes[node.id]["fillcolor"] == colours[node.disposition]
            assert f"Disposition: {node.disposition}" in nodes[node.id]["label"]
    legend = next(line for line in dot.splitlines() if line.lstrip().startswith('"_legend"'))
    for disposition in shipped.model.dispositions:
        assert f'bgcolor="{colours[disposition.id]}"' in legend and f"<b>{disposition.id}</b>" in legend
    assert legend.index("<b>emergency</b>") < legend.index("<b>self_care</b>")


def test_single_disposition_gets_the_urgent_colour(mini: CompiledRuleset) -> None:
    data = mini_data()
    data["dispositions"] = data["dispositions"][:1]
    for node in data["nodes"]:
        if node["kind"] == "outcome":
            node["disposition"] = "emergency"
    model = Ruleset.model_validate(data)
    assert disposition_colours(model) == {"emergency": disposition_colours(mini.model)["emergency"]}


def test_red_flags_are_marked_where_conditions_read_their_inputs(mini: CompiledRuleset) -> None:
    nodes, _ = statements(to_dot(mini))
    assert "⚑ History of cancer" in nodes["cancer"]["label"] and "⚑ Thoracic pain" in nodes["cancer"]["label"]
    assert "⚑ History of cancer" in nodes["mets"]["label"]  # reached by a branch reading known_cancer
    for plain in ("neuro", "mscc", "home"):  # limb weakness is no red flag; `home` is only reached by else
        assert "⚑" not in nodes[plain]["label"]


def test_decisions_show_their_question(shipped: CompiledRuleset) -> None:
    nodes, _ = statements(to_dot(shipped))
    assert nodes["same_day_screen"]["label"].startswith("Features of spinal infection\nor vertebral fracture?")
    assert nodes["emergency_screen"].get("peripheries") == "2"  # the start


# --- path overlay -----------------------------------------------------------------------------

def test_the_path_is_bold_and_the_rest_faded(shipped: CompiledRuleset) -> None:
    result = evaluate(shipped, {"bladder_bowel_dysfunction": False, "saddle_anaesthesia": False,
                                "known_cancer": False, "limb_weakness": False, "difficulty_walking": False,
                                "fever": True})
    assert result.path == ["emergency_screen", "same_day_screen", "suspected_spinal_infection"]
    dot = to_dot(shipped, result=result)
    nodes, edges = statements(dot)
    bold = [(s, t) for s, t, a in edges if "bold" in a.get("style", "")]
    assert bold == [("emergency_screen", "same_day_screen"), ("same_day_screen", "suspected_spinal_infection")]
    assert all(a["color"] == "#c8c8c8" for s, t, a in edges if (s, t) not in bold)
    for node_id, attrs in nodes.items():
        assert (attrs.get("penwidth") == "3") == (node_id in result.path)
        assert (attrs.get("fontcolor") == "#9a9a9a") == (node_id not in result.path)
    assert "Path in bold: ends at suspected_spinal_infection (urgent_same_day)" in dot


def test_a_needs_input_stop_lists_the_questions_still_to_ask(shipped: CompiledRuleset) -> None:
    result = evaluate(shipped, {"bladder_bowel_dysfunction": False, "saddle_anaesthesia": False})
    assert result.status == "needs_input"
    dot = to_dot(shipped, result=result)
    note = next(line for line in dot.splitlines() if line.lstrip().startswith('"_needs" ['))
    assert "Still to ask:" in note
    for input_id in result.needs:
        assert f"({input_id})" in note
    assert "Has the patient ever been diagnosed with cancer (current or past)?" in note.replace("\\l", " ")
    assert f'"{result.path[-1]}" -> "_needs"' in dot
    nodes, _ = statements(dot)
    assert nodes[result.path[-1]]["color"] == "#e8590c"


# --- coverage overlay -------------------------------------------------------------------------

def test_unreached_nodes_and_branches_are_dashed_and_counted(mini: CompiledRuleset) -> None:
    coverage = Coverage.of(mini)
    coverage.add(["neuro", "cancer", "home"], [("neuro", 1), ("cancer", 1)])
    dot = to_dot(mini, coverage=coverage)
    nodes, edges = statements(dot)
    assert {n for n, a in nodes.items() if "dashed" in a["style"]} == {"mscc", "mets"}
    assert [(s, t) for s, t, a in edges if "dashed" in a.get("style", "")] == [("neuro", "mscc"), ("cancer", "mets")]
    assert "not reached by any vignette: 2 nodes, 2 branches" in dot


def test_full_coverage_says_so(mini: CompiledRuleset) -> None:
    coverage = Coverage.of(mini)
    coverage.add(coverage.nodes, coverage.edges)
    dot = to_dot(mini, coverage=coverage)
    assert "dashed" not in dot and "Every node and branch is reached by a vignette" in dot


def test_shipped_coverage_counts_match_replay(shipped: CompiledRuleset) -> None:
    report = replay_ruleset(SHIPPED_FILE, [V1 / "vignettes" / "same-day.yaml"])
    assert report.coverage is not None
    summary = report.coverage.to_dict(shipped)
    nodes_missing, branches_missing = len(summary["nodes"]["uncovered"]), len(summary["branches"]["uncovered"])
    assert nodes_missing and branches_missing
    dot = to_dot(shipped, coverage=report.coverage)
    assert f"not reached by any vignette: {nodes_missing} nodes, {branches_missing} branches" in dot


# --- hostile text -----------------------------------------------------------------------------

HOSTILE = [
    'He said "stop" \\ and left\\',
    "<script>alert(1)</script>",
    "line one\nline two\r\nthree\u2028four",
    "tab\there, bell\x07, nul\x00, escape\x1b[31m, del\x7f",
    "&amp; &lt;b&gt; &foo; &#x41; & alone",
    "\\n \\l \\N \\G \\\\ trailing\\",
    '"]; evil [shape=circle]; x -> y [label="',
    "--> <!-- comment --> ]]> <![CDATA[ x ]]>",
    "<b>bold</b> <table><tr><td>cell</td></tr></table> <img src=x onerror=alert(1)>",
    "emoji 🩺 accents éàü CJK 脊椎 RTL \u202eevil\u202c arabic ألم",
]


def hostile_ruleset() -> CompiledRuleset:
    data = mini_data()
    data["title"] = HOSTILE[0] + " " + HOSTILE[9]
    data["description"] = HOSTILE[1]
    for i, disposition in enumerate(data["dispositions"]):
        disposition["label"] = HOSTILE[(i + 2) % len(HOSTILE)]
    for i, flag in enumerate(data["red_flags"]):
        flag["label"] = HOSTILE[(i + 5) % len(HOSTILE)]
    for i, node in enumerate(data["nodes"]):
        node["title"] = HOSTILE[i % len(HOSTILE)] + " " + HOSTILE[(i + 4) % len(HOSTILE)]
        if node["kind"] == "decision":
            node["description"] = HOSTILE[(i + 6) % len(HOSTILE)]
            for branch in node["branches"]:
                branch["label"] = HOSTILE[(i + 7) % len(HOSTILE)]
        else:
            node["advice"] = HOSTILE[(i + 8) % len(HOSTILE)]
    data["inputs"][2]["question"] = HOSTILE[9] + HOSTILE[1]
    return CompiledRuleset(Ruleset.model_validate(data))


def test_hostile_text_cannot_break_the_dot() -> None:
    ruleset = hostile_ruleset()
    dot = to_dot(ruleset, result=evaluate(ruleset, {}))
    lines = dot.splitlines()
    assert lines[0] == "digraph ruleset {" and lines[-1] == "}"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028]", dot)
    nodes, edges = statements(dot)  # every statement still reads as one statement on one line
    assert set(nodes) == {"neuro", "cancer", "mscc", "mets", "home"}
    assert len(edges) == 4
    assert "🩺" in dot and "脊椎" in dot and "ألم" in dot
    assert "<script" not in dot and "&lt;script&gt;" in dot


@given(st.text())
def test_any_text_quotes_to_one_safe_dot_string(text: str) -> None:
    quoted = quote(text)
    assert re.fullmatch(r'"(?:[^"\\\n\r<>]|\\[\\"])*"', quoted, flags=re.S)
    assert not re.search(r"&(?!amp;|lt;|gt;)", quoted)


@needs_dot
def test_hostile_text_renders_to_well_formed_svg_without_markup() -> None:
    ruleset = hostile_ruleset()
    for result in (None, evaluate(ruleset, {})):
        svg = render(to_dot(ruleset, result=result, coverage=Coverage.of(ruleset)), "svg").decode("utf-8")
        root = ET.fromstring(svg)  # well-formed XML: nothing broke out of a text node or attribute
        assert "<script" not in svg.lower() and "<img" not in svg.lower() and "<table" not in svg.lower()
        texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
        assert "<script>alert(1)</script>" in texts  # shown as text, exactly as written
        assert "&foo;" in texts and "&amp;" in texts and "🩺" in texts
        assert 'He said "stop" \\ and left\\' in texts


# --- rendering --------------------------------------------------------------------------------

@needs_dot
def test_svg_render(shipped: CompiledRuleset) -> None:
    svg = render(to_dot(shipped), "svg")
    root = ET.fromstring(svg)
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {n.id for n in shipped.model.nodes} <= titles


@needs_dot
def test_png_of_the_shipped_ruleset(shipped: CompiledRuleset) -> None:
    png = render(to_dot(shipped), "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "upper-back-pain.png").write_bytes(png)


def test_missing_dot_is_a_clear_error(mini: CompiledRuleset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workbench.drawing.graph.shutil.which", lambda name: None)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        render(to_dot(mini), "svg")


def test_unknown_format_is_refused(mini: CompiledRuleset) -> None:
    with pytest.raises(ValueError, match="svg, png"):
        render(to_dot(mini), "pdf")


# --- command line -----------------------------------------------------------------------------

def test_cli_dot_to_stdout() -> None:
    done = run_cli("graph", str(SHIPPED_FILE))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph ruleset {")
    assert len(statements(done.stdout)[0]) == 14


@needs_dot
def test_cli_svg_of_a_vignette_path() -> None:
    done = subprocess.run([console_script(), "graph", str(SHIPPED_FILE), "--format", "svg",
                           "--vignette", "simple-lumbar-strain"], capture_output=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    svg = done.stdout.decode("utf-8")
    ET.fromstring(svg)
    assert "Path in bold: ends at simple_back_pain (self_care)" in svg


@needs_dot
def test_cli_png_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "flow.png"
    done = run_cli("graph", str(V1), "--format", "png", "--rankdir", "LR", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and out.read_bytes().startswith(b"\x89PNG")


def test_cli_inputs_draw_the_stop(tmp_path: Path) -> None:
    done = run_cli("graph", str(SHIPPED_FILE), "--inputs", '{"bladder_bowel_dysfunction": true}')
    assert done.returncode == 0, done.stderr
    assert "Path in bold: ends at suspected_cauda_equina_or_cord_compression (emergency)" in done.stdout
    done = run_cli("graph", str(SHIPPED_FILE), "--inputs", '{"age": 70}')
    assert '"_needs"' in done.stdout


def test_cli_unknown_vignette_names_near_misses() -> None:
    done = run_cli("graph", str(SHIPPED_FILE), "--vignette", "simple-lumbar-strian")
    assert done.returncode == 2
    assert "no vignette 'simple-lumbar-strian'" in done.stderr and "simple-lumbar-strain" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_bad_inputs_are_a_usage_error() -> None:
    done = run_cli("graph", str(SHIPPED_FILE), "--inputs", '{"age": "old"}')
    assert done.returncode == 2 and "age" in done.stderr and "Traceback" not in done.stderr


def test_cli_ruleset_with_errors_prints_problems(tmp_path: Path) -> None:
    broken = tmp_path / "ruleset.yaml"
    broken.write_text(MINI.read_text(encoding="utf-8").replace("next: mets", "next: nowhere"), encoding="utf-8")
    done = run_cli("graph", str(broken))
    assert done.returncode == 1
    assert "nowhere" in done.stderr and done.stdout == "" and "Traceback" not in done.stderr


def test_cli_coverage_overlay(v1_copy: Path) -> None:
    for name in ("emergency.yaml", "routine-and-self-care.yaml"):
        (v1_copy / "vignettes" / name).unlink(missing_ok=True)
    done = run_cli("graph", str(v1_copy / "ruleset.yaml"), "--coverage")
    assert done.returncode == 0, done.stderr
    assert "not reached by any vignette:" in done.stdout and "dashed" in done.stdout


def test_cli_without_dot_says_how_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no `dot` on this PATH; the script's interpreter is absolute
    done = subprocess.run([console_script(), "graph", str(SHIPPED_FILE), "--format", "svg"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2
    assert "apt-get install graphviz" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([console_script(), "graph", str(SHIPPED_FILE)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("digraph")



def test_graph_json_carries_the_dot_path_and_coverage() -> None:
    import json

    from tests.conftest import V1, run_cli

    done = run_cli("graph", str(V1 / "ruleset.yaml"), "--format", "json", "--coverage",
                   "--inputs", '{"bladder_bowel_dysfunction": true}')
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["dot"].startswith("digraph") and data["result"]["disposition"] == "emergency"
    assert data["coverage"]["nodes"]["percent"] == 100.0
