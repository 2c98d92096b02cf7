"""`workbench verify` proves properties over every case: checked here against the engine and brute force."""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHIPPED, V1, run_cli
from workbench import load_ruleset
from workbench.analysis.verify import reachable_classes, verify_file, verify_text
from workbench.content.model import NumberInput, Ruleset
from workbench.content.validate import validate_ruleset_text
from workbench.run.engine import CompiledRuleset, evaluate, trace
from workbench.run.space import number_values


def ruleset(nodes: list[dict[str, Any]], *, inputs: list[dict[str, Any]] | None = None,
            red_flags: list[dict[str, Any]] | None = None, safety: list[dict[str, Any]] | None = None,
            monotonic: bool = False, start: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "test", "version": "1.0.0", "title": "Test",
        "dispositions": [{"id": d, "label": d} for d in ("emergency", "urgent", "routine", "self_care")],
        "inputs": inputs if inputs is not None else [
            {"id": name, "type": "boolean", "question": f"{name}?"} for name in ("weak", "numb", "fever")],
        "red_flags": red_flags or [], "start": start or nodes[0]["id"], "nodes": nodes}
    if safety:
        data["safety"] = safety
    if monotonic:
        data["monotonic"] = True
    return data


def decision(node_id: str, branches: list[tuple[str, str]], else_: str) -> dict[str, Any]:
    return {"id": node_id, "kind": "decision", "title": node_id, "else": else_,
            "branches": [{"when": when, "next": nxt} for when, nxt in branches]}


def outcome(node_id: str, disposition: str) -> dict[str, Any]:
    return {"id": node_id, "kind": "outcome", "title": node_id, "disposition": disposition}


def simple() -> list[dict[str, Any]]:
    return [decision("dd", [("weak", "out_x")], "out_y"), outcome("out_x", "urgent"), outcome("out_y", "self_care")]


def steering_away() -> list[dict[str, Any]]:
    """'numb' is a red-flag question, yet answering yes to it steers away from the emergency."""
    return [decision("dd", [("weak and not numb", "out_x")], "out_y"), outcome("out_x", "emergency"),
            outcome("out_y", "routine")]


def text_of(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def verified(data: dict[str, Any], **kwargs: Any) -> Any:
    report = verify_text(text_of(data), "r.yaml", **kwargs)
    assert report.status != "invalid", [str(p) for p in report.problems]
    return report


def compiled(data: dict[str, Any]) -> CompiledRuleset:
    return CompiledRuleset(Ruleset.model_validate(data))


def found(report: Any, code: str) -> list[str]:
    return [p.message for p in report.problems if p.code == code]


# --- the shipped ruleset --------------------------------------------------------------------------

def test_shipped_ruleset_is_proved_safe_and_monotonic() -> None:
    report = verify_file(SHIPPED / "ruleset.yaml")
    assert report.status == "verified" and report.ok
    assert report.complete and report.checked == report.total
    assert len(report.properties) >= 3 and {p.status for p in report.properties} == {"holds"}
    assert report.monotonic is True
    assert report.problems == []
    assert {p.outcome for p in report.paths} == {n.id for n in load_ruleset(SHIPPED / "ruleset.yaml").model.nodes
                                                 if n.kind == "outcome"}


def test_shipped_path_examples_give_their_path() -> None:
    rs = load_ruleset(SHIPPED / "ruleset.yaml")
    for path_class in verify_file(SHIPPED / "ruleset.yaml").paths:
        assert evaluate(rs, path_class.example).path == path_class.path


def test_cli_verify_exit_codes_and_json(tmp_path: Any) -> None:
    done = run_cli("verify", str(V1))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified" in done.stdout
    done = run_cli("verify", str(V1 / "ruleset.yaml"), "--format", "json")
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["status"] == "verified" and data["monotonic"] is True
    assert {p["status"] for p in data["properties"]} == {"holds"}
    assert run_cli("verify", str(tmp_path / "missing.yaml")).returncode == 2
    assert run_cli("verify", str(V1), "--limit", "0").returncode == 2
    done = run_cli("verify", str(V1), "--limit", "10")
    assert done.returncode == 1 and "WB816" in done.stdout


def test_cli_verify_reports_a_broken_ruleset_as_content_error(tmp_path: Any) -> None:
    path = tmp_path / "ruleset.yaml"
    path.write_text((V1 / "ruleset.yaml").read_text(encoding="utf-8").replace("start: emergency_screen",
                                                                                   "start: nowhere"))
    done = run_cli("verify", str(path))
    assert done.returncode == 1 and "WB102" in done.stdout


# --- properties that hold and that fail -------------------------------------------------------------

SHIPPED_TEXT = (V1 / "ruleset.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("edits, violated", [
    # rule 8 forgets the cancer history: a person with cancer can be sent away with self-care
    ([("sensory_loss or known_cancer\n", "sensory_loss\n")], "cancer-never-self-care"),
    # rule 2 loses motor symptoms and rule 3 excludes cancer: cancer with weakness falls through to rule 6
    ([("known_cancer and (radicular_pain or limb_weakness or difficulty_walking or sensory_loss)",
       "known_cancer and (radicular_pain or sensory_loss)"),
      ("- when: limb_weakness or difficulty_walking\n",
       "- when: not known_cancer and (limb_weakness or difficulty_walking)\n")],
     "neuro-symptoms-with-cancer-is-emergency"),
    # the sphincter red flag loses saddle anaesthesia
    ([("when: bladder_bowel_dysfunction or saddle_anaesthesia\n    cites: [CKS-SCIATICA",
       "when: bladder_bowel_dysfunction\n    cites: [CKS-SCIATICA")], "sphincter-symptoms-raise-red-flag"),
])
def test_a_violated_property_has_a_counterexample_the_engine_confirms(edits: list[tuple[str, str]],
                                                                      violated: str) -> None:
    text = SHIPPED_TEXT
    for old, new in edits:
        assert text.count(old) == 1
        text = text.replace(old, new)
    report = verify_text(text, "r.yaml")
    assert report.status == "violated" and not report.ok
    verdicts = {p.id: p for p in report.properties}
    assert verdicts[violated].status == "violated"
    assert [p.id for p in report.properties if p.status == "violated"] == [violated]
    (message,) = found(report, "WB810")
    assert violated in message
    verdict = verdicts[violated]
    rs = CompiledRuleset(validate_ruleset_text(text).model)
    result = evaluate(rs, verdict.counterexample.inputs)
    assert result.to_dict() == verdict.counterexample.result
    prop = next(p for p in rs.model.safety if p.id == violated)
    assert evaluate_condition(rs, prop.when, verdict.counterexample.inputs) is True
    ranks = [d.id for d in rs.model.dispositions]
    if prop.at_least:
        assert ranks.index(result.disposition) > ranks.index(prop.at_least)
    elif prop.never:
        assert result.disposition == prop.never
    else:
        assert prop.requires_red_flag not in result.red_flags
    vignette = verdict.vignette
    assert vignette["inputs"] == verdict.counterexample.inputs and vignette["expect"]["disposition"]


def evaluate_condition(rs: CompiledRuleset, text: str, case: dict[str, Any]) -> Any:
    from workbench.expr import compile_condition

    condition, _ = compile_condition(text, rs.inputs)
    assert condition is not None
    return condition.predicate(case)


def test_the_counterexample_vignette_fails_replay_until_the_rule_is_fixed(tmp_path: Any) -> None:
    text = SHIPPED_TEXT.replace("sensory_loss or known_cancer\n", "sensory_loss\n")
    report = verify_text(text, "r.yaml")
    (verdict,) = [p for p in report.properties if p.status == "violated"]
    folder = tmp_path / "upper-back-pain"
    (folder / "vignettes").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text(text, encoding="utf-8")
    (folder / "vignettes" / "found.yaml").write_text(
        yaml.safe_dump({"ruleset": "upper-back-pain", "vignettes": [verdict.vignette]}), encoding="utf-8")
    assert run_cli("validate", str(folder / "vignettes" / "found.yaml")).returncode == 0
    assert run_cli("replay", str(folder)).returncode == 1
    (folder / "ruleset.yaml").write_text(SHIPPED_TEXT, encoding="utf-8")
    assert run_cli("replay", str(folder)).returncode == 0


def test_a_property_that_applies_to_no_case_is_a_warning() -> None:
    data = ruleset(simple(),
                   safety=[{"id": "never", "title": "t", "when": "weak and not weak", "at_least": "emergency"}])
    report = verified(data)
    assert report.properties[0].status == "vacuous" and report.status == "verified"
    assert "applies to no case" in found(report, "WB817")[0]


# --- dead logic ----------------------------------------------------------------------------------

def test_shadowed_and_dead_branches_and_unreachable_outcomes_are_found() -> None:
    data = ruleset([
        decision("first", [("weak or numb", "out_x"), ("weak", "out_y"), ("fever and not fever", "out_y")], "second"),
        decision("second", [("weak", "out_y"), ("fever", "out_x"), ("not fever", "out_z")], "out_z"),
        outcome("out_x", "urgent"), outcome("out_y", "emergency"), outcome("out_z", "self_care")])
    report = verified(data)
    messages = found(report, "WB812")
    assert any(m.startswith("Branch 2 of 'first'") and "shadowed" in m and "branch 1 (`weak or numb`)" in m
               for m in messages)
    assert any(m.startswith("Branch 3 of 'first'") and "false whatever the answers" in m for m in messages)
    assert any(m.startswith("Branch 1 of 'second'") and "rule it out" in m for m in messages)
    assert any(m.startswith("The else of 'second'") for m in messages)
    assert len(messages) == 4
    assert found(report, "WB814") == ["Outcome 'out_y' is never reached by any case: every branch that leads to it can "
                                      "never be taken."]
    assert report.status == "verified"  # dead logic is a warning, not a failed proof


def test_a_red_flag_that_can_never_fire_is_found() -> None:
    data = ruleset(simple(),
                   red_flags=[{"id": "fine", "label": "f", "when": "weak"},
                              {"id": "never", "label": "n", "when": "numb and fever and not numb"}])
    (message,) = found(verified(data), "WB813")
    assert message.startswith("Red flag 'never' can never fire")


# --- monotonic escalation -----------------------------------------------------------------------

def test_monotonicity_violation_gives_both_cases() -> None:
    data = ruleset(steering_away(),
                   red_flags=[{"id": "flag_b", "label": "numb", "when": "numb"}], monotonic=True)
    report = verified(data)
    assert report.monotonic is False and report.status == "violated"
    (escalation,) = report.escalations
    assert escalation.input == "numb"
    rs = compiled(data)
    no, yes = evaluate(rs, escalation.no.inputs), evaluate(rs, escalation.yes.inputs)
    assert escalation.no.inputs == dict(escalation.yes.inputs, numb=False) and escalation.yes.inputs["numb"] is True
    assert (no.disposition, yes.disposition) == ("emergency", "routine")
    assert "Answering yes to 'numb'" in found(report, "WB815")[0]


def test_monotonicity_is_not_checked_unless_asked() -> None:
    data = ruleset(steering_away(),
                   red_flags=[{"id": "flag_b", "label": "numb", "when": "numb"}])
    report = verified(data)
    assert report.monotonic is None and report.status == "verified"


# --- the bound --------------------------------------------------------------------------------------

def test_a_ruleset_too_large_for_the_limit_is_incomplete_never_a_pass() -> None:
    report = verify_file(V1 / "ruleset.yaml", limit=50)
    assert report.status == "incomplete" and not report.ok
    (message,) = found(report, "WB816")
    assert "Too large to check exhaustively" in message and f"of {report.total:,}" in message
    assert report.checked < report.total
    assert all(v.status == "unproved" for v in report.properties)
    assert report.monotonic is None and "the flow" in report.unfinished


def tangled(seed: int, questions: int = 30, nodes: int = 40) -> dict[str, Any]:
    """A ruleset with an astronomically large input space and no structure to exploit: each decision and red
    flag is three random 'and's joined by 'or'."""
    rng = random.Random(seed)
    names = [f"q{i}" for i in range(questions)]

    def atom(name: str) -> str:
        return f"{name} > {rng.randint(1, 999)}" if int(name[1:]) % 3 == 0 else name

    def condition() -> str:
        return " or ".join("(" + " and ".join(atom(rng.choice(names)) for _ in range(3)) + ")" for _ in range(3))

    inputs = [{"id": n, "type": "number", "question": f"{n}?", "min": 0, "max": 1000} if i % 3 == 0
              else {"id": n, "type": "boolean", "question": f"{n}?"} for i, n in enumerate(names)]
    chain = [decision(f"d{i}", [(condition(), "out_e"), (condition(), f"d{i + 1}" if i + 1 < nodes else "out_r")],
                      f"d{i + 1}" if i + 1 < nodes else "out_r") for i in range(nodes)]
    flags = [{"id": f"rf{i}", "label": f"flag {i}", "when": condition()} for i in range(10)]
    return ruleset([*chain, outcome("out_e", "emergency"), outcome("out_r", "routine")], inputs=inputs,
                   red_flags=flags, monotonic=True)


def test_a_time_limit_stops_the_check_and_says_so_instead_of_running_on() -> None:
    """A ruleset too big to finish in the time given: verify stops close to the limit, reports incomplete, names
    the limit and how to raise it, and proves nothing (before decision diagrams this one took 40 s)."""
    text = yaml.safe_dump(tangled(1), sort_keys=False)
    started = time.monotonic()
    report = verify_text(text, time_limit=0.5)
    took = time.monotonic() - started
    assert report.status == "incomplete" and report.stopped_by == "time" and not report.ok
    (message,) = found(report, "WB816")
    assert "within the time limit of 0.5 s" in message and "raise --time-limit" in message
    assert report.explored < report.limit and report.checked < report.total
    assert "the time limit of 0.5 s was reached first" == report.why_unfinished
    assert took < 15, f"verify ran on for {took:.1f} s past a 0.5 s limit"  # generous: a loaded machine


def test_the_cli_takes_a_time_limit_and_exits_1_when_it_stops_the_check(tmp_path: Path) -> None:
    path = tmp_path / "ruleset.yaml"
    path.write_text(yaml.safe_dump(tangled(2), sort_keys=False), encoding="utf-8")
    done = run_cli("verify", str(path), "--time-limit", "0.5", "--format", "json")
    data = json.loads(done.stdout)
    assert done.returncode == 1 and data["status"] == "incomplete" and data["stopped_by"] == "time"
    assert data["time_limit"] == 0.5
    done = run_cli("verify", str(path), "--time-limit", "0.5")
    assert done.returncode == 1 and "red-flag floors: NOT FINISHED (the time limit of 0.5 s was reached first)" \
        in done.stdout
    for bad in ("0", "-1", "nan", "inf", "soon"):
        done = run_cli("verify", str(path), "--time-limit", bad)
        assert done.returncode == 2 and "--time-limit" in done.stderr and "Traceback" not in done.stderr


def test_a_violation_found_before_the_limit_is_still_reported() -> None:
    report = verify_text(SHIPPED_TEXT.replace("sensory_loss or known_cancer\n", "sensory_loss\n"), limit=500)
    assert report.status == "violated" and report.stopped_by == "size" and report.unfinished  # stopped, yet told
    assert {"WB810", "WB816"} <= {p.code for p in report.problems}


def test_comparing_two_numbers_is_reported_as_not_exhaustive() -> None:
    inputs = [{"id": "out_x", "type": "number", "question": "x?", "min": 0, "max": 10},
              {"id": "out_y", "type": "number", "question": "y?", "min": 0, "max": 10}]
    nodes = [decision("dd", [("out_x < out_y", "out_p")], "out_q"), outcome("out_p", "urgent"),
             outcome("out_q", "routine")]
    data = ruleset(nodes, inputs=inputs)
    report = verified(data)
    assert report.status == "incomplete" and "'out_x' is compared with 'out_y'" in found(report, "WB816")[0]


# --- numbers as regions --------------------------------------------------------------------------

@pytest.mark.parametrize("low, high, cuts, values", [
    (16, 120, [60], (38, 60, 90)),
    (16, 120, [16, 60], (16, 38, 60, 90)),
    (0, 10, [3, 4], (2, 3, 3.5, 4, 7)),
    (0, 10, [], (5,)),
    (None, None, [5], (4, 5, 6)),
    (0, 100, [150], (50,)),  # a constant outside the range cuts nothing
    (37.5, 42, [38.5], (38, 38.5, 40)),
])
def test_number_regions_have_one_value_each(low: Any, high: Any, cuts: list[float], values: tuple[Any, ...]) -> None:
    spec = NumberInput(id="nn", type="number", question="n?", min=low, max=high)
    assert number_values(spec, cuts) == values


# --- validation of the safety section ----------------------------------------------------------------

@pytest.mark.parametrize("prop, code", [
    ({"when": "weak", "at_least": "emergency", "never": "self_care"}, "WB801"),
    ({"when": "weak"}, "WB801"),
    ({"when": "weak", "at_least": "emergncy"}, "WB802"),
    ({"when": "weak", "requires_red_flag": "nope"}, "WB802"),
    ({"when": "weak and dd", "at_least": "emergency"}, "WB302"),
    ({"when": "weak", "at_least": "emergency", "cites": ["NG999"]}, "WB106"),
])
def test_safety_section_is_validated_at_its_line(prop: dict[str, Any], code: str) -> None:
    data = ruleset(simple(),
                   safety=[{"id": "prop", "title": "t", **prop}])
    text = text_of(data)
    problems = [p for p in validate_ruleset_text(text, "r.yaml").problems if p.code == code]
    assert problems and problems[0].line is not None
    assert problems[0].line >= next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("safety:"))
    assert verify_text(text).status == "invalid"


# --- agreement with brute force on small random rulesets -----------------------------------------------

NUMBER_VALUES = [k / 2 for k in range(21)]  # every half step of 0..10: covers every region of whole thresholds


@st.composite
def small_rulesets(draw: Any) -> dict[str, Any]:
    booleans = [f"b{i}" for i in range(draw(st.integers(3, 5)))]
    thresholds = draw(st.lists(st.integers(1, 9), min_size=1, max_size=2, unique=True))
    inputs = [{"id": b, "type": "boolean", "question": f"{b}?"} for b in booleans]
    inputs += [{"id": "site", "type": "enum", "values": ["xx", "yy", "zz"], "question": "site?"},
               {"id": "level", "type": "number", "min": 0, "max": 10, "question": "level?"}]

    def atom() -> str:
        kind = draw(st.integers(0, 5))
        if kind == 5:  # count(...) over other atoms, compared with a small number
            parts = [atom_without_count() for _ in range(draw(st.integers(1, 3)))]
            op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
            return f"count({', '.join(parts)}) {op} {draw(st.integers(0, 3))}"
        return atom_without_count(kind)

    def atom_without_count(kind: int | None = None) -> str:
        kind = draw(st.integers(0, 4)) if kind is None else kind
        if kind <= 1:
            name = draw(st.sampled_from(booleans))
            return f"not {name}" if kind else name
        if kind == 2:
            return draw(st.sampled_from(["site == 'xx'", "site != 'yy'", "site in ['xx', 'zz']",
                                         "site not in ['zz']"]))
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        return f"level {op} {draw(st.sampled_from(thresholds))}"

    def condition() -> str:
        parts = [atom() for _ in range(draw(st.integers(1, 3)))]
        text = f" {draw(st.sampled_from(['and', 'or']))} ".join(parts)
        return f"not ({text})" if draw(st.integers(0, 5)) == 0 else text

    dispositions = ["emergency", "urgent", "routine", "self_care"]
    n_decisions, n_outcomes = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    outcomes = [f"out{i}" for i in range(n_outcomes)]
    nodes = []
    for i in range(n_decisions):
        later = [f"dd{j}" for j in range(i + 1, n_decisions)] + outcomes
        branches = [(condition(), draw(st.sampled_from(later))) for _ in range(draw(st.integers(1, 3)))]
        nodes.append(decision(f"dd{i}", branches, draw(st.sampled_from(later))))
    nodes += [outcome(o, draw(st.sampled_from(dispositions))) for o in outcomes]
    reachable, frontier = {"dd0"}, ["dd0"]
    by_id = {n["id"]: n for n in nodes}
    while frontier:
        node = by_id[frontier.pop()]
        for nxt in [b["next"] for b in node.get("branches", [])] + ([node["else"]] if "else" in node else []):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    flags = [{"id": f"flag{i}", "label": "f", "when": condition()} for i in range(draw(st.integers(1, 2)))]
    kinds = st.sampled_from(["at_least", "never", "requires_red_flag"])
    safety = []
    for i in range(draw(st.integers(1, 2))):
        kind = draw(kinds)
        target = draw(st.sampled_from([f["id"] for f in flags] if kind == "requires_red_flag" else dispositions))
        safety.append({"id": f"p{i}", "title": "t", "when": condition(), kind: target})
    return ruleset([n for n in nodes if n["id"] in reachable], inputs=inputs, red_flags=flags, safety=safety,
                   monotonic=True)


def brute_force(data: dict[str, Any]) -> dict[str, Any]:
    rs = compiled(data)
    ranks = {d["id"]: i for i, d in enumerate(data["dispositions"])}
    booleans = [i["id"] for i in data["inputs"] if i["type"] == "boolean"]
    flag_questions = {b for f in data["red_flags"] for b in re.findall(r"[a-z_][a-z0-9_]*", f["when"]) if b in booleans}
    from workbench.expr import compile_condition

    whens = [compile_condition(p["when"], rs.inputs)[0].predicate for p in data["safety"]]  # type: ignore[union-attr]
    classes, fired, taken, reached = set(), set(), set(), set()
    flag_floor: dict[str, int] = {}
    count_floor: dict[int, int] = {}
    violated, applies, results = set(), set(), {}
    for values in itertools.product(*[[False, True]] * len(booleans), ["xx", "yy", "zz"], NUMBER_VALUES):
        case = dict(zip([*booleans, "site", "level"], values, strict=True))
        result, edges = trace(rs, case)
        assert result.status == "complete"
        results[values] = ranks[result.disposition]
        classes.add((tuple(result.path), tuple(result.red_flags)))
        fired.update(result.red_flags)
        rank = ranks[result.disposition]
        for flag in result.red_flags:
            flag_floor[flag] = max(flag_floor.get(flag, -1), rank)
        for count in range(1, len(result.red_flags) + 1):
            count_floor[count] = max(count_floor.get(count, -1), rank)
        taken.update(edges)
        reached.update(result.path)
        for prop, when in zip(data["safety"], whens, strict=True):
            if when(case) is not True:
                continue
            applies.add(prop["id"])
            if ("at_least" in prop and ranks[result.disposition] > ranks[prop["at_least"]]
                    or "never" in prop and result.disposition == prop["never"]
                    or "requires_red_flag" in prop and prop["requires_red_flag"] not in result.red_flags):
                violated.add(prop["id"])
    monotonic = True
    for values, rank in results.items():
        for k, b in enumerate(booleans):
            if b in flag_questions and values[k] is False:
                if results[values[:k] + (True,) + values[k + 1:]] > rank:
                    monotonic = False
    dead = set()
    for node in data["nodes"]:
        if node["kind"] == "decision" and node["id"] in reached:
            dead.update((node["id"], j) for j in range(len(node["branches"]) + 1) if (node["id"], j) not in taken)
    order = [d["id"] for d in data["dispositions"]]
    return {"classes": classes, "fired": fired, "reached": reached, "violated": violated, "applies": applies,
            "monotonic": monotonic, "dead": dead,
            "flag_floor": {f["id"]: order[flag_floor[f["id"]]] if f["id"] in flag_floor else None
                           for f in data["red_flags"]},
            "count_floor": {count: order[rank] for count, rank in sorted(count_floor.items())}}


def dead_in(report: Any, data: dict[str, Any]) -> set[tuple[str, int]]:
    dead = set()
    for problem in report.problems:
        if problem.code == "WB812":
            match = re.fullmatch(r"nodes\[(\d+)\](?:\.branches\[(\d+)\]\.when|\.else)", problem.path_text)
            assert match, problem.path_text
            node = data["nodes"][int(match[1])]
            dead.add((node["id"], int(match[2]) if match[2] else len(node["branches"])))
    return dead


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_rulesets())
def test_verify_agrees_with_brute_force(data: dict[str, Any]) -> None:
    truth = brute_force(data)
    report = verified(data)
    assert report.complete and report.checked == report.total
    classes, complete = reachable_classes(compiled(data))
    assert complete
    assert {(tuple(c.path), tuple(c.red_flags)) for c in classes} == truth["classes"]
    assert {p.outcome for p in report.paths} == {n["id"] for n in data["nodes"]
                                                 if n["kind"] == "outcome" and n["id"] in truth["reached"]}
    assert {p.id for p in report.properties if p.status == "violated"} == truth["violated"]
    assert {p.id for p in report.properties if p.status == "vacuous"} == {p["id"] for p in data["safety"]} - (
        truth["applies"])
    assert report.monotonic is truth["monotonic"]
    never_fired = {f["id"] for f in data["red_flags"]} - truth["fired"]
    assert {m.split("'")[1] for m in found(report, "WB813")} == never_fired
    unreached = {n["id"] for n in data["nodes"]} - truth["reached"]
    assert {m.split("'")[1] for m in found(report, "WB814")} == unreached
    assert dead_in(report, data) == truth["dead"]
    assert {f.red_flag: f.least_urgent for f in report.red_flag_floor} == truth["flag_floor"]
    assert {f.count: f.least_urgent for f in report.flag_count_floor} == truth["count_floor"]
    rs = compiled(data)
    for floor in [*report.red_flag_floor, *report.flag_count_floor]:
        if floor.example is not None:  # every example is a complete case that shows the floor
            result = evaluate(rs, floor.example)
            assert result.disposition == floor.least_urgent
            assert floor.red_flag in result.red_flags if floor.red_flag else len(result.red_flags) >= floor.count
    assert report.status == ("violated" if truth["violated"] or not truth["monotonic"] else "verified")


# --- the Safety page ----------------------------------------------------------------------------------

def _safety_page(path: str) -> None:
    from pathlib import Path

    from workbench.ui.safety import page

    page(Path(path))


def test_safety_page_shows_the_proof_and_a_counterexample(tmp_path: Any) -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_safety_page, args=(str(V1 / "ruleset.yaml"),), default_timeout=60)
    app.run()
    assert not app.exception
    assert any("Verified over every possible case" in s.value for s in app.success)
    broken = tmp_path / "ruleset.yaml"
    broken.write_text(SHIPPED_TEXT.replace("sensory_loss or known_cancer\n", "sensory_loss\n"), encoding="utf-8")
    app = AppTest.from_function(_safety_page, args=(str(broken),), default_timeout=60)
    app.run()
    assert not app.exception
    assert any("broken" in e.value for e in app.error)
    code = [c.value for c in app.code][0]
    saved = yaml.safe_load(code)
    assert saved["ruleset"] == "upper-back-pain" and saved["vignettes"][0]["id"] == "verify-cancer-never-self-care"


def test_verify_on_an_absurd_bound_is_a_problem_at_its_line_not_a_traceback(tmp_path: Path) -> None:
    """Found by an outside tester: verify crashed on a 4,000-digit max; now validation refuses it first."""
    path = tmp_path / "ruleset.yaml"
    path.write_text((V1 / "ruleset.yaml").read_text(encoding="utf-8").replace("max: 120", "max: " + "9" * 4000, 1),
                    encoding="utf-8")
    done = run_cli("verify", str(path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.search(r"ruleset\.yaml:\d+:\d+: error WB1035 Input 'age' has max a number too large to show", done.stdout)


def test_an_astronomical_number_of_cases_is_counted_exactly_never_a_crash() -> None:
    """Found by an independent reviewer: 1,000 questions make 10^338 answer combinations, past what a float
    holds, and the report crashed. Counts and shares are now integer arithmetic."""
    report = verify_text(yaml.safe_dump(tangled(7, questions=1000, nodes=60), sort_keys=False), time_limit=0.5)
    assert report.status == "incomplete" and report.total > 10**308
    (message,) = found(report, "WB816")
    assert re.search(r"checked [\d.,]+(e\+\d+)? of \d\.\d\de\+\d{3} answer combinations \(0\.00%\)", message)
    json.dumps(report.to_dict())  # the JSON output holds the exact counts


# --- the two diagram libraries ---------------------------------------------------------------------

def _outcome(report: Any) -> dict[str, Any]:
    """What a verification concludes, without the diagram sizes or which example was picked."""
    return {"status": report.status, "complete": report.complete, "checked": report.checked, "total": report.total,
            "unfinished": report.unfinished, "monotonic": report.monotonic,
            "properties": [(p.id, p.status) for p in report.properties],
            "problems": sorted((p.code, p.line) for p in report.problems),
            "floors": [(f.red_flag, f.least_urgent) for f in report.red_flag_floor],
            "count floors": [(f.count, f.least_urgent) for f in report.flag_count_floor],
            "paths": sorted((tuple(p.path), p.cases, tuple(p.decided)) for p in report.paths)}


def test_cuddless_platforms_verify_the_same_with_dds_python_diagrams(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDD (compiled, in dd's Linux x86-64 wheels) is what runs here; where the wheel is missing, dd's pure-Python
    diagrams take its place (symbolic.py). Both reach the same conclusions, violations and limits included."""
    from dd import autoref

    from bench.generate import rejoining_ruleset
    from workbench.analysis import symbolic

    assert symbolic.BDD.__module__ == "dd.cudd"
    broken = SHIPPED_TEXT.replace("sensory_loss or known_cancer\n", "sensory_loss\n")
    steering = ruleset(steering_away(), red_flags=[{"id": "flag_b", "label": "numb", "when": "numb"}], monotonic=True)
    texts = [SHIPPED_TEXT, broken, yaml.safe_dump(steering, sort_keys=False),
             yaml.safe_dump(rejoining_ruleset(8), sort_keys=False)]
    compiled_ = [_outcome(verify_text(text)) for text in texts]
    monkeypatch.setattr(symbolic, "BDD", autoref.BDD)
    python = [_outcome(verify_text(text)) for text in texts]
    assert compiled_ == python
    assert [o["status"] for o in compiled_] == ["verified", "violated", "violated", "verified"]
    assert compiled_[2]["monotonic"] is False and compiled_[1]["problems"]
