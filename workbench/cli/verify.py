"""verify: the safety properties proved over every possible case, dead logic, and the red-flag floors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import (
    FAILED,
    OK,
    Commands,
    UsageError,
    positive,
    positive_seconds,
    print_json,
    print_problems,
    ruleset_file_arg,
    text_or_json,
)


def register(commands: Commands) -> None:
    sub = commands.add("verify", "prove the safety properties over every possible case, and find dead logic",
                       "workbench verify rulesets/upper-back-pain/ruleset.yaml")
    sub.add_argument("ruleset_file", metavar="RULESET_FILE", help="a ruleset.yaml (or its folder)")
    sub.add_argument("--limit", type=positive, default=None, metavar="N",
                     help="stop once the decision diagrams hold N nodes (a bound on memory) and report the check "
                          "incomplete (default: 500,000, about 400 MB)")
    sub.add_argument("--time-limit", type=positive_seconds, default=None, metavar="SECONDS",
                     help="stop after SECONDS of checking and report the check incomplete (default: 60)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    """0 when every property holds and every check finished; 1 on a violation or an incomplete check."""
    from ..analysis.verify import DEFAULT_LIMIT, DEFAULT_TIME_LIMIT, verify_file

    ruleset_file = ruleset_file_arg(Path(args.ruleset_file))
    report = verify_file(ruleset_file, limit=args.limit or DEFAULT_LIMIT,
                         time_limit=args.time_limit or DEFAULT_TIME_LIMIT)
    if any(p.code == "WB001" for p in report.problems):
        raise UsageError(report.problems[0].message)
    if args.format == "json":
        print_json(report.to_dict())
    elif report.status == "invalid":
        print_problems(report.problems)
        print("The ruleset has errors, so it was not verified.", file=sys.stderr)
    else:
        _print_verification(report)
    return OK if report.ok else FAILED


def _print_verification(report: Any) -> None:
    from ..analysis.verify import count_text

    words = {"verified": "verified over every possible case", "violated": "VIOLATED",
             "incomplete": "INCOMPLETE — not every case was checked"}
    print(f"{report.ruleset} {report.version}: {words[report.status]}")
    print(f"  {report.paths_text} reachable paths; {count_text(report.checked)} of {count_text(report.total)} "
          f"answer combinations checked (numbers counted by range); {report.explored:,} decision-diagram nodes built")
    if report.complete:
        print("  every complete case reaches an outcome")
    if report.properties:
        print("safety properties:")
    for verdict in report.properties:
        print(f"  {verdict.status.upper() if verdict.status == 'violated' else verdict.status:<9}  "
              f"{verdict.id} — {verdict.title}")
        if verdict.counterexample is not None:
            result = verdict.counterexample.result
            print(f"             counterexample: {json.dumps(verdict.counterexample.inputs)}")
            print(f"             gives {result['disposition']} ({result['outcome']}), red flags "
                  f"{', '.join(result['red_flags']) or 'none'}, via {' → '.join(result['path'])}")
    if "monotonic escalation" in report.unfinished and report.monotonic is None:
        print(f"monotonic escalation: NOT PROVED ({report.why_unfinished})")
    elif report.monotonic is not None:
        print("monotonic escalation: " + ("holds for every yes/no question a red flag reads" if report.monotonic
                                          else f"VIOLATED ({len(report.escalations)} cases below)"))
    _print_floors(report)
    print_problems(report.problems)


def _print_floors(report: Any) -> None:
    """SPEC 7a: how low a case can go while red flags fire, the rows at the least urgent disposition first."""
    if "red-flag floors" in report.unfinished:
        print(f"red-flag floors: NOT FINISHED ({report.why_unfinished})")
        return
    if not report.red_flag_floor:
        return
    bottom = report.floors_at_bottom()
    print("red-flag floors (the least urgent disposition any complete case reaches while red flags fire):")
    if bottom:
        print(f"  reaching {report.least_urgent}, the least urgent disposition:")
        for floor in bottom:
            if floor.red_flag is not None:
                print(f"    {floor.red_flag:<34} e.g. {_example_text(floor.example)}")
        for group in _runs([f for f in bottom if f.red_flag is None]):
            print(f"    {_floor_name(group[0], group[-1]):<34} e.g. {_example_text(group[-1].example)}")
    else:
        print(f"  no red flag fires in any case that reaches {report.least_urgent}")
    flags = [f for f in report.red_flag_floor if f not in bottom]
    counts = [f for f in report.flag_count_floor if f not in bottom]
    if flags or counts:
        print("  the others:")
    for floor in flags:
        print(f"    {floor.red_flag:<34} {floor.least_urgent or 'never fires'}")
    for group in _runs(counts):
        print(f"    {_floor_name(group[0], group[-1]):<34} {group[0].least_urgent}")


def _runs(floors: list[Any]) -> list[list[Any]]:
    """Consecutive counts with the same floor, so '5 to 9 red flags together: routine' reads as one row."""
    runs: list[list[Any]] = []
    for floor in floors:
        if runs and runs[-1][-1].least_urgent == floor.least_urgent and runs[-1][-1].count + 1 == floor.count:
            runs[-1].append(floor)
        else:
            runs.append([floor])
    return runs


def _floor_name(floor: Any, last: Any = None) -> str:
    if floor.red_flag is not None:
        return floor.red_flag
    if last is not None and last.count != floor.count:
        return f"{floor.count} to {last.count} red flags together"
    return f"{floor.count} or more red flags together" if floor.count > 1 else "any red flag"


def _example_text(case: dict[str, Any] | None) -> str:
    """A complete case in a line: numbers and choices, and the questions answered yes (the rest are no)."""
    if not case:
        return "-"
    said = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in case.items() if not isinstance(v, bool)]
    yes = [k for k, v in case.items() if v is True]
    return ", ".join(said + ([f"yes to {', '.join(yes)}"] if yes else []) + ["no to the rest"])


