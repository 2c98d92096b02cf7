"""How long `to_dot` takes on the 700-node generated ruleset, against the 100 ms budget (issue #3).

Run: .venv/bin/python bench/bench_graph.py
Prints the median of several runs, plain and with a path and coverage overlay; a ratio under 1 is in budget.
Rendering by Graphviz is timed once for information: it is not part of the budget.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generate import generate_ruleset, random_cases  # noqa: E402

from workbench.content.model import Ruleset
from workbench.drawing.graph import render, to_dot
from workbench.run.engine import CompiledRuleset, evaluate, trace
from workbench.run.replay import Coverage

BUDGET_MS = 100.0
RUNS = 15


def median_ms(work: Callable[[], object], runs: int = RUNS) -> float:
    work()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    data = generate_ruleset()
    ruleset = CompiledRuleset(Ruleset.model_validate(data))
    cases = random_cases(data, 50)
    coverage = Coverage.of(ruleset)
    for case in cases:
        result, edges = trace(ruleset, case)
        coverage.add(result.path, edges)
    result = evaluate(ruleset, cases[0])

    plain = median_ms(lambda: to_dot(ruleset))
    overlay = median_ms(lambda: to_dot(ruleset, result=result, coverage=coverage))
    size = len(to_dot(ruleset, result=result, coverage=coverage))
    print(f"ruleset: {len(ruleset.model.nodes)} nodes; DOT text {size / 1024:.0f} KiB")
    print(f"to_dot plain:               median {plain:6.1f} ms of {RUNS} runs = {plain / BUDGET_MS:.2f} x budget")
    print(f"to_dot path + coverage:     median {overlay:6.1f} ms of {RUNS} runs = {overlay / BUDGET_MS:.2f} x budget")
    if shutil.which("dot"):
        started = time.perf_counter()
        svg = render(to_dot(ruleset), "svg", timeout=600)
        print(f"dot -Tsvg (not budgeted):   {(time.perf_counter() - started):6.1f} s once, {len(svg) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
