"""Generated rulesets for benchmarks: a large tree, random complete cases, and the same tree as nested ifs.

The tree is a heap of decisions (decision i leads to decisions 2i+1 and 2i+2) whose last level leads to
outcomes; upper decisions also have a branch to an already used outcome, so the graph is a DAG that
shares nodes, as real rulesets do.
"""

from __future__ import annotations

import random
from typing import Any

import yaml

DISPOSITIONS = ["emergency", "urgent", "soon", "routine", "self_care"]


def generate_ruleset(nodes: int = 700, red_flags: int = 15, booleans: int = 40, numbers: int = 10,
                     enums: int = 6, seed: int = 0) -> dict[str, Any]:
    """A valid ruleset as plain data, about `nodes` nodes (half decisions, half outcomes)."""
    rng = random.Random(seed)
    inputs: list[dict[str, Any]] = [{"id": f"b{i}", "type": "boolean", "question": f"Yes/no question {i}?"}
                                    for i in range(booleans)]
    inputs += [{"id": f"n{i}", "type": "number", "min": 0, "max": 100, "unit": "units",
                "question": f"Number question {i}?"} for i in range(numbers)]
    inputs += [{"id": f"e{i}", "type": "enum", "values": ["v0", "v1", "v2", "v3"], "question": f"Choice {i}?"}
               for i in range(enums)]

    def condition() -> str:
        def atom() -> str:
            kind = rng.random()
            if kind < 0.6:
                name = f"b{rng.randrange(booleans)}"
                return f"not {name}" if rng.random() < 0.3 else name
            if kind < 0.85:
                return f"n{rng.randrange(numbers)} {rng.choice(['<', '<=', '>', '>='])} {rng.randrange(10, 90)}"
            values = rng.sample(["v0", "v1", "v2", "v3"], rng.randint(1, 2))
            return f"e{rng.randrange(enums)} in [{', '.join(repr(v) for v in values)}]"
        parts = [atom() for _ in range(rng.randint(1, 3))]
        return f" {rng.choice(['and', 'or'])} ".join(parts)

    decisions = nodes // 2
    outcome_count = nodes - decisions
    outcomes = [{"id": f"out{i}", "kind": "outcome", "title": f"Outcome {i}",
                 "disposition": DISPOSITIONS[i % len(DISPOSITIONS)], "advice": "Advice.", "cites": ["REF"]}
                for i in range(outcome_count)]
    unused = list(range(outcome_count))
    decision_nodes = []
    for i in range(decisions):
        children = [f"d{c}" for c in (2 * i + 1, 2 * i + 2) if c < decisions]
        while len(children) < 2:
            children.append(f"out{unused.pop()}" if unused else f"out{rng.randrange(outcome_count)}")
        branches = [{"when": condition(), "next": children[0]}]
        if rng.random() < 0.5:
            branches.append({"when": condition(), "next": f"out{rng.randrange(outcome_count)}"})
        decision_nodes.append({"id": f"d{i}", "kind": "decision", "title": f"Decision {i}",
                               "branches": branches, "else": children[1]})
    # outcomes never reached by the heap's last level hang off extra branches of the first decisions
    for k, index in enumerate(unused):
        decision_nodes[k % decisions]["branches"].append({"when": condition(), "next": f"out{index}"})
    flags = [{"id": f"flag{i}", "label": f"Red flag {i}", "when": condition(), "cites": ["REF"]}
             for i in range(red_flags)]
    return {"id": "generated", "version": "1.0.0", "title": "Generated benchmark ruleset",
            "references": [{"id": "REF", "title": "Reference"}],
            "dispositions": [{"id": d, "label": d} for d in DISPOSITIONS],
            "inputs": inputs, "red_flags": flags, "start": "d0", "nodes": decision_nodes + outcomes}


def generate_yaml(**kwargs: Any) -> str:
    return yaml.safe_dump(generate_ruleset(**kwargs), sort_keys=False)


def random_cases(data: dict[str, Any], count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Complete random cases: every input answered."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        case: dict[str, Any] = {}
        for spec in data["inputs"]:
            if spec["type"] == "boolean":
                case[spec["id"]] = rng.random() < 0.5
            elif spec["type"] == "number":
                case[spec["id"]] = rng.randint(spec["min"], spec["max"])
            else:
                case[spec["id"]] = rng.choice(spec["values"])
        cases.append(case)
    return cases


def nested_if_source(data: dict[str, Any]) -> str:
    """The same tree and red flags as the fastest plain Python a programmer would write: one straight-line function
    of nested if/elif/else, each red flag one `if`, and each leaf returning its outcome, disposition and its path
    as a constant (a tree's path to a leaf is known when the code is written). It gives what the engine gives
    (outcome, disposition, red flags, path), nothing more."""
    nodes = {node["id"]: node for node in data["nodes"]}
    lines = ["def evaluate(case):", "    c = case", "    red_flags = []"]
    lines += [f"    if {_py(flag['when'])}:\n        red_flags.append({flag['id']!r})" for flag in data["red_flags"]]

    def emit(node_id: str, indent: int, path: tuple[str, ...]) -> None:
        pad = " " * indent
        node = nodes[node_id]
        path = (*path, node_id)
        if node["kind"] == "outcome":
            lines.append(f"{pad}return ({node_id!r}, {node['disposition']!r}, red_flags, {list(path)!r})")
            return
        for i, branch in enumerate(node["branches"]):
            lines.append(f"{pad}{'if' if i == 0 else 'elif'} {_py(branch['when'])}:")
            emit(branch["next"], indent + 4, path)
        lines.append(f"{pad}else:")
        emit(node["else"], indent + 4, path)

    emit(data["start"], 4, ())
    return "\n".join(lines) + "\n"


def _py(condition: str) -> str:
    """A generated condition as Python over the case dict (the generator only writes simple forms)."""
    out = []
    for token in condition.replace("[", " [ ").replace("]", " ] ").replace(",", " , ").split():
        if token[0] in "bne" and token[1:].isdigit():
            out.append(f"c[{token!r}]")
        else:
            out.append(token)
    return " ".join(out).replace(" [ ", " (").replace(" ]", ",)").replace(" , ", ", ")


def rejoining_ruleset(levels: int = 20) -> dict[str, Any]:
    """A flow whose screens rejoin at every level, the shape of a real triage tree: at each level a question
    sends the case to one of two screens, and both lead on to the next level, so there are 2^levels paths
    through 3 * levels + 3 nodes (63 nodes and 1,048,576 paths for 20 levels)."""
    inputs: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for i in range(levels):
        after = f"s{i + 1}" if i + 1 < levels else "out_routine"
        inputs += [{"id": f"q{i}", "type": "boolean", "question": f"Screening question {i}?"},
                   {"id": f"x{i}", "type": "number", "min": 0, "max": 100, "unit": "units",
                    "question": f"Measurement {i}?"},
                   {"id": f"y{i}", "type": "boolean", "question": f"Follow-up question {i}?"}]
        nodes += [{"id": f"s{i}", "kind": "decision", "title": f"Screen {i}",
                   "branches": [{"when": f"q{i}", "next": f"a{i}"}], "else": f"b{i}"},
                  {"id": f"a{i}", "kind": "decision", "title": f"Screen {i}a",
                   "branches": [{"when": f"x{i} >= {50 + i}", "next": "out_emergency"}], "else": after},
                  {"id": f"b{i}", "kind": "decision", "title": f"Screen {i}b",
                   "branches": [{"when": f"y{i} and x{i} > {20 + i}", "next": "out_soon"}], "else": after}]
    nodes += [{"id": f"out_{d}", "kind": "outcome", "title": d, "disposition": d, "advice": "Advice.",
               "cites": ["REF"]} for d in ("emergency", "soon", "routine")]
    flags = [{"id": f"flag{i}", "label": f"Red flag {i}", "when": f"x{i} >= {50 + i}", "cites": ["REF"]}
             for i in range(0, levels, 4)]
    safety = [{"id": "first-screen-emergency", "title": "A high first measurement after a yes is an emergency",
               "when": "q0 and x0 >= 50", "at_least": "emergency"},
              {"id": "never-self-care", "title": "No case is sent to self-care", "when": "true",
               "never": "self_care"}]
    return {"id": "rejoining", "version": "1.0.0", "title": "Rejoining benchmark flow",
            "references": [{"id": "REF", "title": "Reference"}],
            "dispositions": [{"id": d, "label": d} for d in DISPOSITIONS],
            "inputs": inputs, "red_flags": flags, "safety": safety, "monotonic": True, "start": "s0",
            "nodes": nodes}
