"""Core speed: evaluate() against the same tree written by hand as nested Python ifs, and load + validate time.

Goals (issue 14), as ratios measured in this run: evaluate with answer checking (the default) within 1.5x of
the nested ifs, and within 1.0x without checking, on a generated 700-node tree with 15 red flags; load +
validate + compile within 0.25 s for 700 nodes, and linear to 5,000; replay of 10,000 vignettes within 1 s.
The three timings are taken in interleaved rounds (baseline, checked, unchecked, again and again), so a
machine busy with something else slows all three alike; each figure is the median of its rounds.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate_ruleset, generate_yaml, nested_if_source, random_cases  # noqa: E402

from workbench.content.model import VignetteFile  # noqa: E402
from workbench.run.engine import evaluate  # noqa: E402
from workbench.run.load import load_text  # noqa: E402
from workbench.run.replay import replay  # noqa: E402

ROUNDS = 9


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> int:
    data = generate_ruleset(nodes=700, red_flags=15)
    text = generate_yaml(nodes=700, red_flags=15)
    cases = random_cases(data, 20_000)
    ruleset = load_text(text, "generated.yaml").required()
    with tempfile.TemporaryDirectory() as folder:
        module_path = Path(folder) / "nested_ifs.py"
        module_path.write_text(nested_if_source(data), encoding="utf-8")
        spec = importlib.util.spec_from_file_location("nested_ifs", module_path)
        assert spec and spec.loader
        nested = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(nested)  # our generated benchmark baseline, not user content

    for case in cases[:2000]:  # the two must agree before their speed means anything
        ours, theirs = evaluate(ruleset, case), nested.evaluate(case)
        assert (ours.outcome, ours.red_flags, ours.path) == (theirs["outcome"], theirs["red_flags"], theirs["path"])

    rounds: dict[str, list[float]] = {"baseline": [], "checked": [], "unchecked": []}
    for _ in range(ROUNDS):
        rounds["baseline"].append(timed(lambda: [nested.evaluate(case) for case in cases]))
        rounds["checked"].append(timed(lambda: [evaluate(ruleset, case) for case in cases]))
        rounds["unchecked"].append(timed(lambda: [evaluate(ruleset, case, check=False) for case in cases]))
    base, checked, unchecked = (statistics.median(rounds[k]) for k in ("baseline", "checked", "unchecked"))
    print(f"generated ruleset: {len(data['nodes'])} nodes, {len(data['red_flags'])} red flags, "
          f"{len(data['inputs'])} inputs; {len(cases):,} complete cases; median of {ROUNDS} interleaved rounds")
    print(f"nested Python ifs (baseline):   {base * 1000:8.1f} ms  ({base / len(cases) * 1e6:.2f} µs/case)")
    print(f"evaluate, answers checked:      {checked * 1000:8.1f} ms  ratio {checked / base:.2f}x  (goal 1.5x) "
          f"{'met' if checked / base <= 1.5 else 'NOT MET'}")
    print(f"evaluate, check=False:          {unchecked * 1000:8.1f} ms  ratio {unchecked / base:.2f}x  (goal 1.0x) "
          f"{'met' if unchecked / base <= 1.0 else 'NOT MET'}")

    for nodes in (700, 5000):
        big = generate_yaml(nodes=nodes, red_flags=15)
        took = statistics.median(timed(lambda big=big: load_text(big, "generated.yaml").required()) for _ in range(3))
        goal = "goal 0.25 s, " + ("met" if took <= 0.25 else "NOT MET") if nodes == 700 else \
            f"{took / (nodes / 700):.3f} s per 700 nodes: linear if near the 700-node figure"
        print(f"load + validate + compile, {nodes:>5} nodes: {took * 1000:8.1f} ms  ({goal})")

    file = VignetteFile.model_validate({"ruleset": data["id"], "vignettes": [
        {"id": f"case-{i}", "inputs": case, "expect": {"disposition": nested.evaluate(case)["disposition"]}}
        for i, case in enumerate(random_cases(data, 10_000, seed=2))]})
    report = replay(ruleset, [(file, None)])
    assert report.failed == 0 and len(report.results) == 10_000
    took = statistics.median(timed(lambda: replay(ruleset, [(file, None)])) for _ in range(3))
    print(f"replay of 10,000 vignettes:     {took * 1000:8.1f} ms  (goal 1 s, {'met' if took <= 1 else 'NOT MET'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
