"""impact: what a new version changes for every past case on file, less urgent cases first."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import (
    OK,
    Commands,
    UsageError,
    keyring_option,
    positive,
    print_json,
    print_problems,
    rulesets_option,
    text_or_json,
)


def register(commands: Commands) -> None:
    sub = commands.add("impact", "what NEW changes against OLD for every past case: transitions between dispositions, "
                       "the rules and red flags each change goes through, and every case that became less urgent",
                       "workbench impact upper-back-pain@1.0.0 rulesets/upper-back-pain --cases triage-2025.parquet")
    versions = "a ruleset file or folder, a release file, or a published release as ID@VERSION"
    sub.add_argument("old", metavar="OLD", help=versions)
    sub.add_argument("new", metavar="NEW", help=versions)
    sub.add_argument("--cases", metavar="FILE", help="past cases: CSV, Parquet or JSON lines (or a folder of them), "
                     "one case a row, an input a column, empty for unanswered, 'unsure' for unsure (default: the "
                     "case store, $WORKBENCH_CASES or .workbench/cases/)")
    sub.add_argument("--map", dest="column_map", metavar="FILE_OR_JSON",
                     help="input id → column name where they differ, e.g. '{\"known_cancer\": \"ca_history\"}'")
    sub.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786) to run the "
                     "partitions on its workers; without it they run here")
    sub.add_argument("--partitions", type=positive, metavar="N",
                     help="cut Parquet files into about N partitions (default: one a file)")
    sub.add_argument("--out", metavar="FILE", help="write the transition table, with the rules of each change, as "
                     "CSV (.csv) or Parquet (.parquet)")
    sub.add_argument("--chart", metavar="FILE.svg", help="draw the transitions as a matrix (SVG)")
    rulesets_option(sub)
    keyring_option(sub, "a release must be signed with")
    text_or_json(sub)
    sub.set_defaults(run=cmd_impact)


def cmd_impact(args: argparse.Namespace) -> int:
    """0 analysed; 2 a version, the cases or the column map cannot be read, or a cell fits no answer."""
    from ..analysis.case_store import case_store
    from ..analysis.cases import case_files, column_map
    from ..analysis.impact import impact, write_transitions
    from ..problems import ProblemError
    from ..publish.refs import version_at
    from ..publish.signing import load_keyring

    try:
        keyring = load_keyring(Path(args.keyring).expanduser() if args.keyring else None, required=False)
        old = version_at(args.old, Path(args.rulesets), keyring)
        new = version_at(args.new, Path(args.rulesets), keyring)
        if args.cases:
            files, mapping = case_files(args.cases), {}
        else:
            store = case_store()
            if store is None:
                raise UsageError("give the past cases with --cases FILE (no case store is configured: "
                                 "$WORKBENCH_CASES or .workbench/cases/)")
            files, mapping = store.files, dict(store.mapping)
        mapping.update(column_map(args.column_map))
        unknown = sorted(set(mapping) - set(old.inputs) - set(new.inputs))
        if unknown:
            raise UsageError(f"--map names {', '.join(unknown)}, which neither version asks")
        result = impact(old, new, files, mapping, scheduler=args.scheduler, partitions_wanted=args.partitions)
    except ProblemError as exc:
        if args.format == "json":
            print_json({"problems": [p.to_dict() for p in exc.problems]})
        else:
            print_problems(exc.problems, sys.stderr)
        return 2
    except OSError as exc:  # a scheduler that cannot be reached
        raise UsageError(f"cannot reach the Dask scheduler {args.scheduler}: {exc}") from None
    if args.out:
        _write(args.out, lambda: write_transitions(result, args.out))
    if args.chart:
        from ..analysis.impact_chart import transition_svg

        _write(args.chart, lambda: Path(args.chart).write_text(transition_svg(result), encoding="utf-8"))
    if args.format == "json":
        print_json(result.to_dict())
    else:
        _print(result)
    return OK


def _write(where: str, write: Any) -> None:
    try:
        write()
    except OSError as exc:
        raise UsageError(f"cannot write {where}: {exc.strerror or exc}") from None


def _print(result: Any) -> None:
    share = f" ({100 * result.changed / result.total:.2g}%)" if result.total else ""
    print(f"{result.new} against {result.old}: {result.total:,} cases, {result.changed:,} change disposition{share}; "
          f"{result.less_urgent_count:,} become less urgent")
    if result.missing:
        print(f"  not in the cases (unanswered in every case): {', '.join(result.missing)}")
    if result.unsure:
        print(f"  {result.unsure:,} cases have unsure answers, each weighed at its most urgent (SPEC 3a)")
    if result.less_urgent:
        print("LESS URGENT — check each of these first:")
        for hazard in result.less_urgent:
            where = f"{Path(hazard.file).name} " if len(result.files) > 1 else ""
            flags = f"; red flags: {', '.join(hazard.red_flags)}" if hazard.red_flags else ""
            print(f"  {where}row {hazard.row}: {hazard.before} → {hazard.after} ({hazard.outcome_before} → "
                  f"{hazard.outcome_after}){flags}")
        if result.less_urgent_count > len(result.less_urgent):
            print(f"  … and {result.less_urgent_count - len(result.less_urgent):,} more (--format json or --out)")
    print("Transitions (old → new: cases):")
    for t in result.transitions:
        print(f"  {t.before or 'needs input'} → {t.after or 'needs input'}: {t.count:,}  [{t.direction}]")
    if result.routes:
        print("Changes by rule (old outcome → new outcome; red flags under the new version):")
        for route in result.routes:
            flags = ", ".join(route.red_flags_after) or "none"
            print(f"  {route.outcome_before or 'needs input'} → {route.outcome_after or 'needs input'}: "
                  f"{route.count:,} [{route.direction}]; red flags: {flags}; e.g. row {route.example['row']}")

