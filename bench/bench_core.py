"""Core speed: evaluate() against the same tree written as nested Python ifs, and load+validate time.

Budgets (issue 2): evaluate within 3x of nested ifs over 20,000 random complete cases of a ~700-node
ruleset with 15 red flags; loading and validating that ruleset under 0.5 s. Both measured in this run.
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

from workbench.content.validate import validate_ruleset_text
from workbench.run.engine import CompiledRuleset, evaluate


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    data = generate_ruleset(nodes=700, red_flags=15)
    text = generate_yaml(nodes=700, red_flags=15)
    cases = random_cases(data, 20_000)

    def load() -> CompiledRuleset:
        report = validate_ruleset_text(text, "generated.yaml")
        assert report.ok, report.problems[:3]
        return CompiledRuleset(report.model)

    load_times = [best_of(1, load) for _ in range(5)]
    ruleset = load()
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

    baseline = best_of(5, lambda: [nested.evaluate(case) for case in cases])
    checked = best_of(5, lambda: [evaluate(ruleset, case) for case in cases])
    unchecked = best_of(5, lambda: [evaluate(ruleset, case, check=False) for case in cases])
    nodes = len(data["nodes"])
    print(f"generated ruleset: {nodes} nodes, {len(data['red_flags'])} red flags, {len(data['inputs'])} inputs; "
          f"{len(cases):,} complete cases")
    print(f"nested Python ifs (baseline):   {baseline * 1000:8.1f} ms  ({baseline / len(cases) * 1e6:.2f} µs/case)")
    print(f"evaluate, answers checked:      {checked * 1000:8.1f} ms  ratio {checked / baseline:.2f}x  (budget 3x)")
    print(f"evaluate, check=False:          {unchecked * 1000:8.1f} ms  ratio {unchecked / baseline:.2f}x")
    load_median = statistics.median(load_times)
    print(f"load + validate + compile:      {load_median * 1000:8.1f} ms  (median of 5; budget 500 ms, "
          f"ratio {load_median / 0.5:.2f})")
    verdict = "within" if unchecked / baseline <= 3 else "OVER"
    print(f"engine vs nested ifs like for like (no answer checking): {verdict} the 3x budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
