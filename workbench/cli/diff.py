"""diff: what changed between two versions, in structure and in behaviour over every combination of answers."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, Commands, UsageError, positive, print_json, refused, ruleset_dir_arg, text_or_json


def register(commands: Commands) -> None:
    sub = commands.add("diff", "what changed between two versions: structure, behaviour, and the version bump it "
                       "needs", "workbench diff rulesets/upper-back-pain --from git:HEAD~1 --to draft")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    versions = "a released version, 'draft', a ruleset or release FILE, or git:REV (ruleset.yaml as committed)"
    sub.add_argument("--from", dest="from_ref", metavar="VERSION", help=f"{versions} (default: the last release)")
    sub.add_argument("--to", dest="to_ref", default="draft", metavar="VERSION", help=f"{versions} (default: draft)")
    sub.add_argument("--assume", action="append", metavar="CONDITION",
                     help="compare only cases where this holds, e.g. how a replaced question maps onto the new ones: "
                          "\"significant_trauma == (major_trauma or minor_trauma)\" (repeatable)")
    sub.add_argument("--limit", type=positive, default=20, metavar="N",
                     help="show at most N example groups of changed combinations (default: 20)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    """0 compared; 1 a version was altered or the draft has errors; 2 a version that does not exist."""
    from ..problems import ProblemError
    from ..publish.diff import diff_versions

    folder = ruleset_dir_arg(args.ruleset_dir)
    try:
        result = diff_versions(folder, args.from_ref, args.to_ref, args.assume or ())
    except ProblemError as exc:
        if any(p.code == "WB722" for p in exc.problems):
            raise UsageError(exc.problems[0].message) from None
        return refused(args, "diff", exc.problems)
    if args.format == "json":
        print_json(result.to_dict())
    else:
        _print_diff(result, args.limit)
    return OK


def _print_diff(result: Any, limit: int) -> None:
    print(f"{result.id}: {result.from_label} ({result.from_version}) → {result.to_label} ({result.to_version})")
    print(f"Structural changes ({len(result.changes)}):" if result.changes else "Structural changes: none")
    for change in result.changes:
        print(f"  [{change.kind}] {change.text}")
    changed = result.vignettes
    skipped = (f" ({result.vignettes_skipped} others answer a question only one version asks)"
               if result.vignettes_skipped else "")
    print(f"Vignettes: {result.vignettes_run} run on both versions{skipped}, {len(changed)} give a different result")
    for item in changed:
        before, after = item.before or {}, item.after or {}
        print(f"  {item.direction:<12} {item.id}: {before.get('disposition') or before.get('status', 'refused')} → "
              f"{after.get('disposition') or after.get('status', 'refused')}")
    _print_combinations(result.exhaustive, limit)
    print(f"Suggested bump: {result.bump}" + (f" → {result.suggested_version}" if result.suggested_version else ""))
    for reason in result.reasons:
        print(f"  - {reason}")
    for warning in result.warnings:
        print(f"warning: {warning}")


_WAYS = (("de-escalated", "less urgent in the new version"), ("escalated", "more urgent in the new version"),
         ("changed", "same urgency, another outcome"))


def _print_combinations(exhaustive: Any, limit: int) -> None:
    """Every combination compared: exact counts per disposition pair, less urgent first, then example groups."""
    if not exhaustive.checked:
        print(f"Every combination: not checked — {exhaustive.reason}")
        return
    total = exhaustive.total
    print(f"Every combination: {total:,} combinations of answers to {len(exhaustive.inputs)} questions (numbers by "
          "range; a count of answer combinations, not of patients)")
    for assumption in exhaustive.assumptions:
        print(f"  assuming {assumption}")
    for note in exhaustive.notes:
        print(f"  note: {note}")
    moved = exhaustive.changed_disposition
    print(f"  disposition changes in {moved:,} ({_share(moved, total)}); the outcome alone changes in "
          f"{exhaustive.changed - moved:,}")
    summary = exhaustive.summary()
    for way, words in _WAYS:
        rows = sorted((g for g in summary if g["direction"] == way), key=lambda g: -g["combinations"])
        if rows:
            print(f"  {way} ({words}): {exhaustive.count(way):,} ({_share(exhaustive.count(way), total)})")
        for group in rows:
            print(f"    {group['before']} → {group['after']}: {group['combinations']:,}")
    shown = _examples(exhaustive, limit)
    if shown:
        print("  for example (the largest groups of each change, less urgent first):")
    for change in shown:
        print(f"    {change.before} → {change.after} ({change.outcome_before} → {change.outcome_after}), "
              f"{change.combinations:,}: {_answers_text(change.answers)}")
    for flag in exhaustive.flags:
        print(f"  red flag {flag.id}: fires in {flag.gained} more and {flag.lost} fewer of {flag.combinations} "
              "combinations of its answers")


def _examples(exhaustive: Any, limit: int) -> list[Any]:
    """Up to `limit` groups: the largest of each disposition pair in turn, de-escalations first."""
    order = {way: i for i, (way, _) in enumerate(_WAYS)}
    by_pair: dict[tuple[str, str], list[Any]] = {}
    for change in sorted(exhaustive.changes, key=lambda c: (order[c.direction], -c.combinations)):
        by_pair.setdefault((change.before, change.after), []).append(change)
    shown: list[Any] = []
    while len(shown) < limit and any(by_pair.values()):
        for pair in list(by_pair):
            if by_pair[pair] and len(shown) < limit:
                shown.append(by_pair[pair].pop(0))
    return shown


def _answers_text(answers: dict[str, str]) -> str:
    """'yes to fever, minor_trauma; age 60 or over years; no to the rest of what the group fixes'."""
    yes = [k for k, v in answers.items() if v == "yes"]
    no = [k for k, v in answers.items() if v == "no"]
    other = [f"{k} {v}" for k, v in answers.items() if v not in ("yes", "no")]
    parts = ([f"yes to {', '.join(yes)}"] if yes else []) + other + ([f"no to {', '.join(no)}"] if no else [])
    return "; ".join(parts) or "any answers"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.3g}%" if whole else "0%"
