"""How long `workbench verify` takes against its budgets: the shipped ruleset (1 s) and a generated one (30 s).

    .venv/bin/python bench/bench_verify.py

Prints seconds (best of a few runs), classes explored and the ratio to each budget; below 1.0 is within it.
The generated ruleset is checked as generated, then again with three safety properties and monotonic
escalation switched on (the most expensive check: it walks the yes- and no-case side by side), and once
more walking every escalation pair instead of stopping at the first few examples per question.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import generate_ruleset  # noqa: E402
from workbench.analysis import verify as verify_module  # noqa: E402
from workbench.analysis.verify import Verification, verify_text  # noqa: E402

SHIPPED = ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml"


def timed(text: str, runs: int) -> tuple[float, Verification]:
    best, report = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        report = verify_text(text, "bench.yaml")
        best = min(best, time.perf_counter() - start)
    assert report is not None
    return best, report


def line(name: str, seconds: float, budget: float, report: Verification) -> None:
    print(f"{name:<44} {seconds:8.3f} s  budget {budget:4.0f} s  ratio {seconds / budget:6.3f}  "
          f"status {report.status:<10} {report.explored:>9,} classes  {len(report.paths):>5,} paths")


def main() -> int:
    seconds, report = timed(SHIPPED.read_text(encoding="utf-8"), runs=5)
    line("shipped upper-back-pain (19 inputs)", seconds, 1.0, report)
    data = generate_ruleset(nodes=700, booleans=40, numbers=10, enums=6, seed=0)
    seconds, report = timed(yaml.safe_dump(data, sort_keys=False), runs=3)
    line("generated 700 nodes, 56 inputs", seconds, 30.0, report)
    data["safety"] = [
        {"id": "p-and", "title": "Two findings together are at least soon", "when": "b0 and b1", "at_least": "soon"},
        {"id": "p-number", "title": "A high n0 is never self-care", "when": "n0 > 50", "never": "self_care"},
        {"id": "p-flag", "title": "b2 raises flag0", "when": "b2", "requires_red_flag": "flag0"}]
    data["monotonic"] = True
    seconds, report = timed(yaml.safe_dump(data, sort_keys=False), runs=3)
    line("generated 700 nodes + properties + monotonic", seconds, 30.0, report)
    verify_module.ESCALATIONS_PER_QUESTION = 10**9  # worst case: walk every yes/no pair to the end
    seconds, report = timed(yaml.safe_dump(data, sort_keys=False), runs=1)
    line("  same, every escalation pair walked", seconds, 30.0, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
