"""validate, replay, evaluate and graph: the commands that read one ruleset and its vignettes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..content.sources import collect_files, validate_paths
from ..problems import Problems, sort_problems
from ..run import engine
from ..run.engine import CompiledRuleset, InputError
from ..run.explain import explain, possible_texts
from ..run.replay import ReplayReport, replay_ruleset
from .common import (
    FAILED,
    OK,
    USAGE,
    Commands,
    UsageError,
    answers_arg,
    load_or_report,
    print_json,
    print_problems,
    ruleset_file_arg,
    text_or_json,
    unsure_arg,
)


def register(commands: Commands) -> None:
    sub = commands.add("validate", "check ruleset and vignette files or folders",
                       "workbench validate rulesets/upper-back-pain")
    sub.add_argument("paths", nargs="+", metavar="PATH")
    text_or_json(sub)
    sub.set_defaults(run=cmd_validate)

    sub = commands.add("replay", "replay every vignette of a ruleset", "workbench replay rulesets/upper-back-pain")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    sub.add_argument("--vignettes", nargs="+", metavar="FILE", help="replay these files instead of those beside it")
    text_or_json(sub)
    sub.set_defaults(run=cmd_replay)

    sub = commands.add("evaluate", "evaluate one case: the disposition, or the next questions to ask",
                       "workbench evaluate rulesets/upper-back-pain/ruleset.yaml --inputs '{\"age\": 62}'")
    sub.add_argument("ruleset_file", metavar="RULESET_FILE")
    sub.add_argument("--inputs", required=True, metavar="JSON_OR_FILE", help="answers as a JSON object or a file")
    sub.add_argument("--unsure", metavar="ID,ID", help="inputs answered 'unsure': each is taken as whichever "
                                                        "answer is more dangerous (SPEC 3a)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_evaluate)

    sub = commands.add("graph", "the flow as a picture (Graphviz DOT, SVG or PNG), optionally with a path or "
                       "coverage", "workbench graph rulesets/upper-back-pain/ruleset.yaml --format svg "
                       "--vignette simple-lumbar-strain --out flow.svg")
    sub.add_argument("ruleset_file", metavar="RULESET_FILE", help="a ruleset.yaml (or its folder)")
    sub.add_argument("--format", choices=["dot", "svg", "png", "json"], default="dot",
                     help="DOT text, a picture drawn by Graphviz's `dot`, or JSON with the DOT (default: dot)")
    case = sub.add_mutually_exclusive_group()
    case.add_argument("--vignette", metavar="ID", help="draw the path of this vignette (from the vignettes folder)")
    case.add_argument("--inputs", metavar="JSON_OR_FILE", help="draw the path of these answers")
    sub.add_argument("--coverage", action="store_true", help="replay the vignettes and dash what none reaches")
    sub.add_argument("--rankdir", choices=["TB", "LR"], default="TB", help="top to bottom or left to right")
    sub.add_argument("--out", metavar="FILE", help="write to this file instead of standard output")
    sub.set_defaults(run=cmd_graph)


def cmd_validate(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    files = collect_files([Path(p) for p in args.paths])
    problems = validate_paths(files)
    if args.format == "json":
        print_json([p.to_dict() for p in sort_problems(problems)])
    else:
        print_problems(problems)
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        print(f"{len(files)} file{'s' if len(files) != 1 else ''} checked: {errors} error{'s' if errors != 1 else ''}, "
              f"{warnings} warning{'s' if warnings != 1 else ''}", file=sys.stderr)
    return Problems(problems).exit_status()  # unreadable input is usage (2), content errors 1: problems.py's table


def cmd_replay(args: argparse.Namespace) -> int:
    ruleset_file = ruleset_file_arg(Path(args.ruleset_dir))
    vignettes = [Path(v) for v in args.vignettes] if args.vignettes else None
    for path in vignettes or []:
        if not path.is_file():
            raise UsageError(f"no vignettes file at {path}")
    report = replay_ruleset(ruleset_file, vignettes)
    if args.format == "json":
        print_json(report.to_dict())
    else:
        _print_replay(report)
    return OK if report.ok else FAILED


def _print_replay(report: ReplayReport) -> None:
    print_problems([p for p in report.problems if p.is_error])
    if report.ruleset is None:
        print("The ruleset has errors, so no vignette was replayed.")
        return
    model = report.ruleset.model
    print(f"{model.id} {model.version}: {len(report.results)} vignettes, {report.passed} passed, "
          f"{report.failed} failed")
    for result in report.results:
        if not result.passed:
            print(f"FAIL {result.id} ({result.file}:{result.line})")
            for difference in result.differences:
                print(f"     {difference}")
    hidden = [(r, told) for r in report.results if r.actual and (told := possible_texts(report.ruleset, r.actual))]
    if hidden:
        print("Unsure answers that may hide a red flag:")
    for result, told in hidden:
        print(f"  {result.id}: {'; '.join(told)}")
    if report.coverage is not None:
        coverage = report.coverage.to_dict(report.ruleset)
        for kind in ("nodes", "branches"):
            part = coverage[kind]
            line = f"coverage: {kind} {part['covered']}/{part['total']} ({part['percent']}%)"
            if part["uncovered"]:
                line += " — not reached: " + ", ".join(part["uncovered"])
            print(line)




def cmd_evaluate(args: argparse.Namespace) -> int:
    answers = answers_arg(args.inputs)
    ruleset = load_or_report(Path(args.ruleset_file))
    if ruleset is None:
        return FAILED
    try:
        result = engine.evaluate(ruleset, answers, unsure=unsure_arg(args.unsure))
    except InputError as exc:
        if args.format == "json":
            print_json({"error": "invalid inputs", "problems": [p.to_dict() for p in exc.problems]})
        else:
            print_problems(exc.problems, sys.stderr)
        return Problems(exc.problems).exit_status()
    told = explain(ruleset, result)
    if args.format == "json":  # exactly SPEC 5 with 3a's fields; the advice and safety-netting are for people
        print_json(result.to_dict())
        return OK
    if result.status == "complete":
        print(f"Disposition: {result.disposition} — {told.disposition_label}")
        print(f"Outcome:     {result.outcome} — {told.outcome_title}")
        if told.advice:
            print(f"Advice:      {told.advice}")
        if told.safety_net:
            print(f"Safety-net:  {told.safety_net}")
    else:
        print("Needs input:")
        for need, question in told.needs:
            print(f"  {need}: {question}")
    print("Red flags:   " + (", ".join(f"{label} ({flag})" for flag, label in told.red_flags) or "none"))
    for possible in told.possible:
        print(f"Possible:    {possible.text} ({possible.id})")
    print("Path:        " + " → ".join(result.path))
    if result.unsure:
        print("Unsure:      " + ", ".join(result.unsure) + " (each taken as whichever answer is more dangerous)")
    return OK


def cmd_graph(args: argparse.Namespace) -> int:
    """The picture is written even when some vignettes have errors: they go to stderr and the exit code is 1."""
    from ..drawing.graph import GraphvizError, render, to_dot
    from ..files import atomic_write

    ruleset_file = ruleset_file_arg(Path(args.ruleset_file))
    answers = answers_arg(args.inputs) if args.inputs else None
    ruleset = load_or_report(ruleset_file)
    if ruleset is None:
        return FAILED
    if args.vignette:
        answers = dict(_find_vignette(ruleset, ruleset_file, args.vignette).inputs)
    result = None
    if answers is not None:
        try:
            result = engine.evaluate(ruleset, answers)
        except InputError as exc:
            print_problems(exc.problems, sys.stderr)
            return FAILED if args.vignette else USAGE  # a bad vignette is content; bad --inputs are usage
    status, coverage = OK, None
    if args.coverage:
        report = replay_ruleset(ruleset_file)
        errors = [p for p in report.problems if p.is_error]
        print_problems(errors, sys.stderr)
        status, coverage = (FAILED if errors else OK), report.coverage
    dot_text = to_dot(ruleset, result=result, coverage=coverage, rankdir=args.rankdir)
    if args.format == "json":  # for machines: the DOT with the path and coverage it shows
        print_json({"dot": dot_text, "result": result.to_dict() if result else None,
               "coverage": coverage.to_dict(ruleset) if coverage else None})
        return status
    try:
        data = dot_text.encode("utf-8") if args.format == "dot" else render(dot_text, args.format)
    except GraphvizError as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        atomic_write(Path(args.out), data)
    elif args.format == "dot":
        sys.stdout.write(dot_text)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return status


def _find_vignette(ruleset: CompiledRuleset, ruleset_file: Path, vignette_id: str) -> Any:
    """The vignette with this id beside the ruleset; a usage error naming near misses otherwise."""
    import difflib

    from ..run.replay import load_vignettes, vignette_paths

    known: list[str] = []
    for report in load_vignettes(vignette_paths(ruleset_file.parent), ruleset):
        for vignette in report.model.vignettes if report.model is not None else []:
            if vignette.id == vignette_id:
                return vignette
            known.append(vignette.id)
    folder = ruleset_file.parent / "vignettes"
    if not known:
        raise UsageError(f"no vignette '{vignette_id}': there are no vignettes in {folder}")
    near = [v for v in known if vignette_id.lower() in v]
    near = list(dict.fromkeys(near + difflib.get_close_matches(vignette_id, known, n=5, cutoff=0.5)))[:8]
    hint = f"did you mean {', '.join(near)}?" if near else f"known vignettes: {', '.join(known[:10])}" + (
        ", …" if len(known) > 10 else "")
    raise UsageError(f"no vignette '{vignette_id}' in {folder}; {hint}")


