"""`workbench verify` against its goals, with a baseline measured in the same run.

    .venv/bin/python bench/bench_verify.py

The baseline is what verification replaces: evaluating complete cases one by one with the compiled engine.
Each line prints the verify time, its peak memory (each ruleset in its own process, so one run's memory does
not hide in another's), how many cases and paths it covered, and the ratio to evaluating 10,000 cases of the
same ruleset; enumerating all cases would cost (cases / 10,000) times that baseline, printed too. Goals from
issue 23: a generated 5,000-node tree verified completely in < 60 s and < 1 GB (a tree is checked path by path);
the 63-node rejoining flow (2^20 paths, checked with decision diagrams) in < 10 s and < 500 MB; the shipped
ruleset well under a second. Runs are interleaved: each ruleset is verified, then its baseline measured, in
rounds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = 3
SAMPLE = 10_000


def rulesets() -> dict[str, tuple[str, float | None, float | None]]:
    """name → (YAML text, seconds goal, MB goal)."""
    from bench.generate import generate_ruleset, rejoining_ruleset

    big = generate_ruleset(nodes=5000, booleans=40, numbers=10, enums=6, seed=0)
    checked = generate_ruleset(nodes=700, booleans=40, numbers=10, enums=6, seed=0)
    checked["safety"] = [
        {"id": "p-and", "title": "Two findings together are at least soon", "when": "b0 and b1", "at_least": "soon"},
        {"id": "p-number", "title": "A high n0 is never self-care", "when": "n0 > 50", "never": "self_care"}]
    checked["monotonic"] = True
    dump = lambda data: yaml.safe_dump(data, sort_keys=False)  # noqa: E731
    return {"shipped upper-back-pain": ((ROOT / "rulesets/upper-back-pain/ruleset.yaml").read_text("utf-8"), 1.0,
                                        None),
            "rejoining 63 nodes, 2^20 paths": (dump(rejoining_ruleset(20)), 10.0, 500.0),
            "generated 700 nodes + properties + monotonic": (dump(checked), None, None),
            "generated 700 nodes": (dump(generate_ruleset(nodes=700, seed=0)), None, None),
            "generated 5,000 nodes": (dump(big), 60.0, 1024.0)}


def child(name: str) -> None:
    """In its own process: verify one ruleset, then time the baseline; print JSON."""
    from bench.generate import random_cases
    from bench.peak_memory import peak_memory_mb, reset_peak_memory
    from workbench.analysis.verify import verify_text
    from workbench.run.engine import evaluate
    from workbench.run.load import load_text

    text = rulesets()[name][0]
    reset_peak_memory()
    start = time.perf_counter()
    report = verify_text(text, "bench.yaml")
    took = time.perf_counter() - start
    peak_mb = peak_memory_mb()
    compiled = load_text(text, "bench.yaml").required()
    cases = random_cases(yaml.safe_load(text), SAMPLE, seed=3)
    start = time.perf_counter()
    for case in cases:
        evaluate(compiled, case)
    baseline = time.perf_counter() - start
    print(json.dumps({"seconds": took, "peak_mb": peak_mb, "baseline": baseline, "status": report.status,
                      "complete": report.complete, "total": report.total, "paths": report.paths_text,
                      "nodes": report.explored}))


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    from workbench.analysis.verify import count_text

    goals = {name: (seconds, mb) for name, (_, seconds, mb) in rulesets().items()}
    runs: dict[str, list[dict]] = {name: [] for name in goals}
    for _ in range(ROUNDS):
        for name in goals:
            done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                                  check=True)
            runs[name].append(json.loads(done.stdout))
    print(f"verify, median of {ROUNDS} interleaved rounds; baseline: the compiled engine evaluating "
          f"{SAMPLE:,} random complete cases of the same ruleset")
    failed = False
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        baseline = statistics.median(r["baseline"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        last = results[-1]
        enumerate_all = baseline * last["total"] / SAMPLE
        verdicts = []
        goal_s, goal_mb = goals[name]
        finished = last["status"] in ("verified", "violated")
        if goal_s is not None:  # a run stopped by a limit proves nothing, however fast it stopped
            met = seconds < goal_s and finished
            verdicts.append(f"goal: finished in < {goal_s:g} s " + ("met" if met else "NOT MET"))
            failed |= not met
        if goal_mb is not None:
            verdicts.append(f"goal < {goal_mb:g} MB " + ("met" if peak < goal_mb else "NOT MET"))
            failed |= peak >= goal_mb
        print(f"{name}\n    {seconds:8.3f} s  peak {peak:6.0f} MB  {last['status']}, complete={last['complete']}, "
              f"{last['paths']} paths, {count_text(last['total'])} answer combinations, "
              f"{last['nodes']:,} diagram nodes\n"
              f"    ratio {seconds / baseline:8.2f}x the baseline ({baseline:.3f} s for {SAMPLE:,} cases); "
              f"enumerating every case would take about {count_text(round(enumerate_all))} s"
              + ("" if not verdicts else "\n    " + "; ".join(verdicts)))
    print("some goals NOT MET" if failed else "every goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
