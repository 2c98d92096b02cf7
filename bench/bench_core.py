"""Core speed against the fastest plain code, measured in the same run: evaluate() against the same tree written as
one straight-line function of nested Python ifs (generate.nested_if_source: each leaf returns its outcome,
disposition, red flags and its path as a constant), and load + validate and codegen against what Python and YAML
alone take for the same text.

    .venv/bin/python bench/bench_core.py

Honest by construction: both sides run the same loop (`for case in cases: f(case)`, nothing kept, so no result
piles up for the garbage collector), the collector runs before every timed block and is left on for both, and the
timings are taken in interleaved rounds (baseline, checked, unchecked, partial, again and again), so a machine busy
with something else slows all of them alike; each figure is the median of its rounds.

Goals (issue 23): checked evaluate <= 1.5x the plain ifs, unchecked <= 1.1x, partial cases <= 2x (against the plain
ifs on the same cases complete); load + validate linear, 5,000 nodes <= 0.6 s; codegen at 5,000 nodes <= 0.5 s.
"""

from __future__ import annotations

import gc
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate_ruleset, generate_yaml, nested_if_source, random_cases  # noqa: E402

from workbench.content.model import VignetteFile  # noqa: E402
from workbench.run import engine  # noqa: E402
from workbench.run.engine import evaluate  # noqa: E402
from workbench.run.load import load_text  # noqa: E402
from workbench.run.replay import replay  # noqa: E402

ROUNDS = 9


def timed(work) -> float:
    """CPU seconds of this process (a machine shared with other work slows the wall clock, not this)."""
    gc.collect()
    started = time.process_time()
    work()
    return time.process_time() - started


def verdict(ratio: float, goal: float) -> str:
    return f"(goal {goal:g}x) {'met' if ratio <= goal else 'NOT MET'}"


def plain_ifs(data: dict) -> object:
    with tempfile.TemporaryDirectory() as folder:
        module_path = Path(folder) / "nested_ifs.py"
        module_path.write_text(nested_if_source(data), encoding="utf-8")
        spec = importlib.util.spec_from_file_location("nested_ifs", module_path)
        assert spec and spec.loader
        nested = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(nested)  # our generated benchmark baseline, not user content
    return nested


def evaluation() -> None:
    data = generate_ruleset(nodes=700, red_flags=15)
    cases = random_cases(data, 20_000)
    rng = random.Random(3)
    partial = [{k: v for k, v in case.items() if rng.random() > 0.2} for case in cases]
    ruleset = load_text(generate_yaml(nodes=700, red_flags=15), "generated.yaml").required()
    nested = plain_ifs(data)
    f = nested.evaluate
    for case in cases[:2000]:  # the two must agree before their speed means anything
        ours, theirs = evaluate(ruleset, case), f(case)
        assert (ours.outcome, ours.disposition, ours.red_flags, ours.path) == theirs

    def baseline() -> None:
        for case in cases:
            f(case)

    def checked() -> None:
        for case in cases:
            evaluate(ruleset, case)

    def unchecked() -> None:
        for case in cases:
            evaluate(ruleset, case, check=False)

    def partial_cases() -> None:
        for case in partial:
            evaluate(ruleset, case)

    rounds: dict[str, list[float]] = {"baseline": [], "checked": [], "unchecked": [], "partial": []}
    for _ in range(ROUNDS):
        for name, work in (("baseline", baseline), ("checked", checked), ("unchecked", unchecked),
                           ("partial", partial_cases)):
            rounds[name].append(timed(work))
    base, ours, fast, some = (statistics.median(rounds[k]) for k in ("baseline", "checked", "unchecked", "partial"))
    per = 1e6 / len(cases)
    print(f"generated ruleset: {len(data['nodes'])} nodes, {len(data['red_flags'])} red flags, {len(data['inputs'])} "
          f"inputs; {len(cases):,} cases; median of {ROUNDS} interleaved rounds")
    print(f"plain nested ifs (baseline):    {base * per:6.2f} µs/case")
    print(f"evaluate, answers checked:      {ours * per:6.2f} µs/case  ratio {ours / base:5.2f}x "
          + verdict(ours / base, 1.5))
    print(f"evaluate, check=False:          {fast * per:6.2f} µs/case  ratio {fast / base:5.2f}x "
          + verdict(fast / base, 1.1))
    print(f"evaluate, 20% unanswered:       {some * per:6.2f} µs/case  ratio {some / base:5.2f}x "
          + verdict(some / base, 2.0) + " (against the plain ifs on the complete cases)")

    file = VignetteFile.model_validate({"ruleset": data["id"], "vignettes": [
        {"id": f"case-{i}", "inputs": case, "expect": {"disposition": f(case)[1]}}
        for i, case in enumerate(random_cases(data, 10_000, seed=2))]})
    report = replay(ruleset, [(file, None)])
    assert report.failed == 0 and len(report.results) == 10_000
    took = statistics.median(timed(lambda: replay(ruleset, [(file, None)])) for _ in range(3))
    print(f"replay of 10,000 vignettes:     {took * 1000:6.0f} ms  ratio {took / (base / len(cases) * 10_000):5.1f}x "
          "the plain ifs on as many cases (it also compares each with its expectation)")


def loading() -> None:
    """load + validate (no codegen) and codegen alone, against parsing the YAML and compiling the plain ifs."""
    print("load + validate (first load of a text; codegen is separate, on first evaluate):")
    per_node = {}
    for nodes in (700, 3000, 5000):
        data = generate_ruleset(nodes=nodes, red_flags=15)
        text = yaml.safe_dump(data, sort_keys=False)
        took = statistics.median(timed(lambda text=text: load_text(text, "generated.yaml").required())
                                 for _ in range(3))
        parse = statistics.median(timed(lambda text=text: yaml.load(text, Loader=yaml.CSafeLoader)) for _ in range(3))
        per_node[nodes] = took / nodes
        goal = f"goal 0.6 s {'met' if took <= 0.6 else 'NOT MET'}" if nodes == 5000 else ""
        print(f"  {nodes:>5} nodes: {took * 1000:7.1f} ms  ratio {took / parse:5.2f}x the YAML parse alone "
              f"({parse * 1000:.1f} ms)  {goal}")
        if nodes == 5000:
            ruleset = load_text(text, "generated.yaml").required()
            source = nested_if_source(data)
            rounds = []
            for _ in range(3):
                engine._COMPILED.clear()
                ruleset.__dict__.pop("_compiled", None)
                ruleset.__dict__.pop("_content_key", None)  # hashing the content is part of the cost
                rounds.append(timed(lambda ruleset=ruleset: ruleset.run_complete))
            codegen = statistics.median(rounds)
            plain = statistics.median(timed(lambda source=source: compile(source, "plain.py", "exec"))
                                      for _ in range(3))
            print(f"  codegen at 5,000 nodes: {codegen * 1000:7.1f} ms  ratio {codegen / plain:5.2f}x compiling the "
                  f"plain ifs ({plain * 1000:.1f} ms)  goal 0.5 s {'met' if codegen <= 0.5 else 'NOT MET'}")
    growth = per_node[5000] / per_node[700]
    print(f"  per node, 5,000 against 700 nodes: ratio {growth:5.2f}x (linear: near 1) "
          f"{'met' if growth <= 1.3 else 'NOT MET'}")


def main() -> int:
    evaluation()
    loading()
    return 0


if __name__ == "__main__":
    sys.exit(main())
