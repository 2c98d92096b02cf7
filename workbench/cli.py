"""The `workbench` command: argument parsing and printing only; the work is done by the core.

Exit codes (SPEC 6): 0 success, 1 the content has errors or a vignette failed, 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import engine
from .engine import CompiledRuleset, InputError
from .loader import read_text, read_yaml
from .problems import Problem, has_errors, sort_problems
from .replay import ReplayReport, replay_ruleset
from .sources import collect_files, validate_paths

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2 with a one-line message."""


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_problems(problems: Sequence[Problem], stream: Any = sys.stdout) -> None:
    for problem in sort_problems(problems):
        print(problem, file=stream)


# --- validate -------------------------------------------------------------------------------

def cmd_validate(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    files = collect_files([Path(p) for p in args.paths])
    problems = validate_paths(files)
    if args.format == "json":
        _json([p.to_dict() for p in sort_problems(problems)])
    else:
        _print_problems(problems)
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        print(f"{len(files)} file{'s' if len(files) != 1 else ''} checked: {errors} error{'s' if errors != 1 else ''}, "
              f"{warnings} warning{'s' if warnings != 1 else ''}", file=sys.stderr)
    if any(p.code == "WB001" for p in problems):
        return USAGE
    return FAILED if has_errors(problems) else OK


# --- replay ---------------------------------------------------------------------------------

def _ruleset_file(path: Path) -> Path:
    if path.is_dir():
        path = path / "ruleset.yaml"
    if not path.is_file():
        raise UsageError(f"no ruleset at {path}: give a ruleset folder or its ruleset.yaml")
    return path


def cmd_replay(args: argparse.Namespace) -> int:
    ruleset_file = _ruleset_file(Path(args.ruleset_dir))
    vignettes = [Path(v) for v in args.vignettes] if args.vignettes else None
    for path in vignettes or []:
        if not path.is_file():
            raise UsageError(f"no vignettes file at {path}")
    report = replay_ruleset(ruleset_file, vignettes)
    if args.format == "json":
        _json(report.to_dict())
    else:
        _print_replay(report)
    return OK if report.ok else FAILED


def _print_replay(report: ReplayReport) -> None:
    _print_problems([p for p in report.problems if p.is_error])
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
    if report.coverage is not None:
        coverage = report.coverage.to_dict(report.ruleset)
        for kind in ("nodes", "branches"):
            part = coverage[kind]
            line = f"coverage: {kind} {part['covered']}/{part['total']} ({part['percent']}%)"
            if part["uncovered"]:
                line += " — not reached: " + ", ".join(part["uncovered"])
            print(line)


# --- evaluate -------------------------------------------------------------------------------

def _answers(text: str) -> dict[str, Any]:
    """Answers from a JSON (or YAML) object given inline or as a file path."""
    source = text
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"--inputs is neither a JSON object nor a readable file: {text}")
        content, problems = read_text(path)
        if content is None:
            raise UsageError(problems[0].message)
        source = content
    try:
        data = json.loads(source)
    except json.JSONDecodeError:
        document, problems = read_yaml(source, "--inputs")
        if document is None:
            raise UsageError(f"--inputs is not valid JSON or YAML: {problems[0].message}") from None
        data = document.data
    if not isinstance(data, dict):
        raise UsageError("--inputs must be an object of answers, such as {\"age\": 62}")
    return data


def cmd_evaluate(args: argparse.Namespace) -> int:
    answers = _answers(args.inputs)
    ruleset = _load(Path(args.ruleset_file))
    if ruleset is None:
        return FAILED
    try:
        result = engine.evaluate(ruleset, answers)
    except InputError as exc:
        if args.format == "json":
            _json({"error": "invalid inputs", "problems": [p.to_dict() for p in exc.problems]})
        else:
            _print_problems(exc.problems, sys.stderr)
        return USAGE
    if args.format == "json":
        _json(result.to_dict())
        return OK
    model = ruleset.model
    if result.status == "complete":
        labels = {d.id: d.label for d in model.dispositions}
        titles = {n.id: n.title for n in model.nodes}
        print(f"Disposition: {result.disposition} — {labels[result.disposition or '']}")
        print(f"Outcome:     {result.outcome} — {titles[result.outcome or '']}")
    else:
        questions = {i.id: i.question for i in model.inputs}
        print("Needs input:")
        for need in result.needs:
            print(f"  {need}: {questions[need]}")
    flags = {f.id: f.label for f in model.red_flags}
    print("Red flags:   " + (", ".join(f"{flags[f]} ({f})" for f in result.red_flags) or "none"))
    print("Path:        " + " → ".join(result.path))
    return OK


def _load(path: Path) -> CompiledRuleset | None:
    if not path.is_file():
        raise UsageError(f"no ruleset file at {path}")
    try:
        return engine.load_ruleset(path)
    except engine.RulesetError as exc:
        _print_problems(exc.problems, sys.stderr)
        return None


# --- parser ---------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Author, validate, replay and publish clinical triage decision trees.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 success, 1 content errors or failing vignettes, 2 usage error or unreadable input")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        return sub

    def text_or_json(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--format", choices=["text", "json"], default="text", help="output for people or machines")

    sub = command("validate", "check ruleset and vignette files or folders",
                  "workbench validate rulesets/upper-back-pain")
    sub.add_argument("paths", nargs="+", metavar="PATH")
    text_or_json(sub)
    sub.set_defaults(run=cmd_validate)

    sub = command("replay", "replay every vignette of a ruleset", "workbench replay rulesets/upper-back-pain")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    sub.add_argument("--vignettes", nargs="+", metavar="FILE", help="replay these files instead of those beside it")
    text_or_json(sub)
    sub.set_defaults(run=cmd_replay)

    sub = command("evaluate", "evaluate one case: the disposition, or the next questions to ask",
                  "workbench evaluate rulesets/upper-back-pain/ruleset.yaml --inputs '{\"age\": 62}'")
    sub.add_argument("ruleset_file", metavar="RULESET_FILE")
    sub.add_argument("--inputs", required=True, metavar="JSON_OR_FILE", help="answers as a JSON object or a file")
    text_or_json(sub)
    sub.set_defaults(run=cmd_evaluate)

    # further commands are registered here
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage message
        return USAGE if exc.code else OK
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return USAGE


if __name__ == "__main__":
    sys.exit(main())
