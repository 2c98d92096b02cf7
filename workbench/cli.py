"""The `workbench` command: argument parsing and printing only; the work is done by the core.

Exit codes (SPEC 6): 0 success, 1 the content has errors or a vignette failed, 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import load_ruleset
from .content.loader import read_text, read_yaml
from .content.sources import collect_files, validate_paths
from .folder import RULESET_FILE, RulesetFolder
from .problems import Problem, Problems, has_errors, sort_problems
from .run import engine
from .run.engine import CompiledRuleset, InputError
from .run.replay import ReplayReport, replay_ruleset

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2 with a one-line message."""


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_problems(problems: Sequence[Problem], stream: Any = None) -> None:
    for problem in sort_problems(problems):
        print(problem, file=stream or sys.stdout)


_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def inert(text: str) -> str:
    """Text as a terminal should show it: control characters (escape sequences, carriage returns), direction
    overrides and lone surrogates quoted from content are written as \\uXXXX, which JSON reads back as the same
    character, so no ruleset, answer or name can recolour, rewrite or reorder what a person reads."""
    return _TERMINAL_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class _Inert:
    """stdout or stderr with every write passed through `inert`; `.buffer` (SVG, PNG bytes) is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(inert(text))

    def isatty(self) -> bool:
        return False  # tools that colour their output for a terminal (uvicorn's log) must not send escapes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


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
    return Problems(problems).exit_status()  # unreadable input is usage (2), content errors 1: problems.py's table


# --- replay ---------------------------------------------------------------------------------

def _ruleset_file(path: Path) -> Path:
    if path.is_dir():
        path = RulesetFolder(path).ruleset_file
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
    except RecursionError:
        raise UsageError("--inputs is nested too deeply to be answers: give an object such as {\"age\": 62}") from None
    except ValueError:  # not JSON (or a number past Python's digit limit): try YAML, which reports it
        document, problems = read_yaml(source, "--inputs")
        if document is None:
            raise UsageError(f"--inputs is not valid JSON or YAML: {problems[0].message}") from None
        data = document.data
    if not isinstance(data, dict):
        raise UsageError("--inputs must be an object of answers, such as {\"age\": 62}")
    return data


def _unsure(text: str | None) -> list[str]:
    """`--unsure known_cancer,saddle_anaesthesia`: the ids, spaces and empty items ignored."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def cmd_evaluate(args: argparse.Namespace) -> int:
    answers = _answers(args.inputs)
    ruleset = _load(Path(args.ruleset_file))
    if ruleset is None:
        return FAILED
    try:
        result = engine.evaluate(ruleset, answers, unsure=_unsure(args.unsure))
    except InputError as exc:
        if args.format == "json":
            _json({"error": "invalid inputs", "problems": [p.to_dict() for p in exc.problems]})
        else:
            _print_problems(exc.problems, sys.stderr)
        return Problems(exc.problems).exit_status()
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
    if result.unsure:
        print("Unsure:      " + ", ".join(result.unsure) + " (each taken as whichever answer is more dangerous)")
    return OK


def _load(path: Path) -> CompiledRuleset | None:
    if not path.is_file():
        raise UsageError(f"no ruleset file at {path}")
    try:
        return load_ruleset(path)
    except engine.RulesetError as exc:
        _print_problems(exc.problems, sys.stderr)
        return None


# --- graph ----------------------------------------------------------------------------------

def cmd_graph(args: argparse.Namespace) -> int:
    """The picture is written even when some vignettes have errors: they go to stderr and the exit code is 1."""
    from .drawing.graph import GraphvizError, render, to_dot
    from .files import atomic_write

    ruleset_file = _ruleset_file(Path(args.ruleset_file))
    answers = _answers(args.inputs) if args.inputs else None
    ruleset = _load(ruleset_file)
    if ruleset is None:
        return FAILED
    if args.vignette:
        answers = dict(_find_vignette(ruleset, ruleset_file, args.vignette).inputs)
    result = None
    if answers is not None:
        try:
            result = engine.evaluate(ruleset, answers)
        except InputError as exc:
            _print_problems(exc.problems, sys.stderr)
            return FAILED if args.vignette else USAGE  # a bad vignette is content; bad --inputs are usage
    status, coverage = OK, None
    if args.coverage:
        report = replay_ruleset(ruleset_file)
        errors = [p for p in report.problems if p.is_error]
        _print_problems(errors, sys.stderr)
        status, coverage = (FAILED if errors else OK), report.coverage
    dot_text = to_dot(ruleset, result=result, coverage=coverage, rankdir=args.rankdir)
    if args.format == "json":  # for machines: the DOT with the path and coverage it shows
        _json({"dot": dot_text, "result": result.to_dict() if result else None,
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

    from .run.replay import load_vignettes, vignette_paths

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


# --- export and serve (downstream) ---------------------------------------------------------

def _rulesets_root(text: str) -> Path:
    root = Path(text)
    if not root.is_dir():
        raise UsageError(f"no rulesets folder at {root}: give it with --rulesets DIR")
    return root


def _trusted(args: argparse.Namespace) -> Any:
    """The deployment's keyring, required: without one nothing is verified, so nothing is published."""
    from .problems import ProblemError
    from .publish.signing import load_keyring

    try:
        return load_keyring(_keyring_path(args), required=True)
    except ProblemError as exc:
        raise UsageError(exc.problems[0].message) from None


def cmd_export(args: argparse.Namespace) -> int:
    from .publish.export import ExportRefused, export

    root = _rulesets_root(args.rulesets)
    try:
        report = export(root, Path(args.out), _trusted(args), args.withdraw or (), fhir=args.fhir)
    except ExportRefused as exc:
        raise UsageError(f"cannot write the export to {args.out}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write the export to {args.out}: {exc.strerror or exc}") from None
    if args.format == "json":
        _json(report.to_dict())
    else:
        _print_problems(report.problems, sys.stderr)
        if any(p.code == "WB909" for p in report.problems):
            print("Nothing was exported.", file=sys.stderr)
            return FAILED
        if report.problems:
            print("Releases with problems were left out of the export.", file=sys.stderr)
        print(f"exported {report.releases} release{'s' if report.releases != 1 else ''} to {report.out}: "
              f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")
    return FAILED if has_errors(report.problems) else OK


def cmd_serve(args: argparse.Namespace) -> int:
    root = _rulesets_root(args.rulesets)
    try:
        import uvicorn

        from .api import create_app
    except ImportError as exc:
        raise UsageError(f"serving needs FastAPI and uvicorn ({exc.name} is missing): "
                         "pip install 'clinical-rules-workbench[api]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    app = create_app(root, _trusted(args))
    url = f"http://{args.host}:{args.port}"
    if args.format == "json":
        print(json.dumps({"url": url, "rulesets": str(root)}), flush=True)
    else:
        print(f"serving the releases in {root} (read-only) at {url} — API description at {url}/docs", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    except SystemExit as exc:  # uvicorn has logged why it could not start
        if exc.code:
            raise UsageError(f"cannot serve at {url}: is the port in use, or the address not this machine's?") from None
    return OK


# --- verify ---------------------------------------------------------------------------------

def _positive(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 (a day)")
    return value


def cmd_verify(args: argparse.Namespace) -> int:
    """0 when every property holds and every check finished; 1 on a violation or an incomplete check."""
    from .analysis.verify import DEFAULT_LIMIT, DEFAULT_TIME_LIMIT, verify_file

    ruleset_file = _ruleset_file(Path(args.ruleset_file))
    report = verify_file(ruleset_file, limit=args.limit or DEFAULT_LIMIT,
                         time_limit=args.time_limit or DEFAULT_TIME_LIMIT)
    if any(p.code == "WB001" for p in report.problems):
        raise UsageError(report.problems[0].message)
    if args.format == "json":
        _json(report.to_dict())
    elif report.status == "invalid":
        _print_problems(report.problems)
        print("The ruleset has errors, so it was not verified.", file=sys.stderr)
    else:
        _print_verification(report)
    return OK if report.ok else FAILED


def _print_verification(report: Any) -> None:
    from .analysis.verify import count_text

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
    _print_problems(report.problems)


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


# --- review and release ---------------------------------------------------------------------

def _ruleset_dir(text: str) -> Path:
    folder = RulesetFolder.of(text)
    if not RulesetFolder.holds_ruleset(folder.path):
        raise UsageError(f"no ruleset folder at {text}: give the folder that holds {RULESET_FILE}")
    return folder.path


def _secret(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(password, token) as given: the password from the first line of stdin, never from the command line."""
    password = None
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    token = getattr(args, "token", None) or os.environ.get("WORKBENCH_TOKEN") or None
    return password, token


def _users(args: argparse.Namespace) -> Path | None:
    return Path(args.users).expanduser() if getattr(args, "users", None) else None


def _keyring_path(args: argparse.Namespace) -> Path | None:
    return Path(args.keyring).expanduser() if getattr(args, "keyring", None) else None


def cmd_review(args: argparse.Namespace) -> int:
    """submit, approve, reject and release: 0 done, 1 refused (every reason printed), 2 bad arguments."""
    from .people import access
    from .problems import ProblemError
    from .publish.signing import load_key

    folder = _ruleset_dir(args.ruleset_dir)
    role = {"submit": "author", "approve": "reviewer", "reject": "reviewer", "release": "approver"}[args.command]
    password, token = _secret(args)
    action = "release" if args.command == "release" else args.command
    try:
        trusted = access.keyring(_keyring_path(args))
        identity = access.identify(getattr(args, role), action, password=password, token=token, users=_users(args))
        if args.command in ("approve", "release"):
            key = load_key(identity.name, password or os.environ.get("WORKBENCH_KEY_PASSPHRASE") or None,
                           Path(args.keys).expanduser() if args.keys else None)
        if args.command == "submit":
            outcome = access.submit(identity, folder, args.reason or "", trusted)
        elif args.command == "approve":
            outcome = access.approve(identity, folder, args.reason or "", key, trusted)
        elif args.command == "reject":
            outcome = access.reject(identity, folder, args.reason, trusted)
        else:
            outcome = access.release(identity, folder, args.reason, key, trusted)
    except ProblemError as exc:
        return _refused(args, args.command, exc.problems)
    if not outcome.ok:
        return _refused(args, args.command, outcome.problems, outcome.to_dict())
    if args.format == "json":
        _json(outcome.to_dict())
        return OK
    review = outcome.review
    if outcome.release is not None:
        done = outcome.release
        print(f"Released {done.id} {done.version}, signed by {done.signer.name} ({done.signer.key_id}), in "
              f"commit {(outcome.commit or '')[:12]}: {done.path}")
        print(f"  author {done.author}, approver {done.approver}, replay {outcome.replay}")
    elif args.command == "submit":
        print(f"Submitted {folder.name} {review.version} for review by a second clinician (commit "
              f"{(outcome.commit or '')[:12]}).")
        print(f"  next: workbench approve {folder} --reviewer NAME   (anyone but {review.author})")
    elif args.command == "approve":
        print(f"Approved {folder.name} {review.version} by {review.author}; signed by {review.reviewer}.")
        print(f"  next: workbench release {folder} --approver '{review.reviewer}' --reason '...'")
    else:
        print(f"Rejected {folder.name} {review.version}: back to draft for {review.author} — {review.reject_reason}")
    return OK


def _refused(args: argparse.Namespace, action: str, problems: Sequence[Problem],
             data: dict[str, Any] | None = None) -> int:
    if args.format == "json":
        _json(data or {"action": action, "ok": False, "problems": [p.to_dict() for p in problems]})
    else:
        print(f"REFUSED: {action} — {len(problems)} reason{'s' if len(problems) != 1 else ''}:")
        for problem in problems:
            print(f"  {problem}")
    return FAILED


def cmd_history(args: argparse.Namespace) -> int:
    """The ruleset's history: releases verified, review state, every commit; 0 intact, 1 tampering found."""
    from .people import access
    from .problems import ProblemError
    from .publish.lifecycle import history, open_ruleset

    folder = _ruleset_dir(args.ruleset_dir)
    try:
        repository, ruleset_id = open_ruleset(folder, create=False)
        found = history(repository, ruleset_id, access.keyring(_keyring_path(args)))
    except ProblemError as exc:
        return _refused(args, "history", exc.problems)
    if args.format == "json":
        _json(found.to_dict())
        return OK if found.ok else FAILED
    print(f"{found.id} — review: {found.review.describe()}")
    print(f"Releases ({len(found.releases)}):" if found.releases else "Releases: none yet")
    for item in found.releases:
        replay = item.record.get("replay") or {}
        print(f"  {item.version:<10} {item.released_at}  author {item.author}, approved and signed by "
              f"{item.signer.name}, replay {replay.get('passed')}/{replay.get('total')}, sha256 "
              f"{item.sha256[:12]}…  verified")
    print(f"History ({len(found.commits)} commit{'s' if len(found.commits) != 1 else ''}, newest first):")
    for commit in found.commits:
        why = f" — {commit.reason.splitlines()[0]}" if commit.reason else ""
        print(f"  {commit.id[:10]} {commit.at}  {commit.author}: {commit.subject}{why}")
    if found.problems:
        print(f"TAMPERING or damage found ({len(found.problems)}):")
        for problem in found.problems:
            print(f"  {problem}")
    return OK if found.ok else FAILED


def cmd_key(args: argparse.Namespace) -> int:
    """create and list signing keys: 0 done, 2 refused."""
    from .people import accounts
    from .problems import ProblemError
    from .publish.signing import create_key, load_keyring, trust

    keyring = _keyring_path(args)
    try:
        if args.key_command == "list":
            ring = load_keyring(keyring, required=False)
            if args.format == "json":
                _json({"file": ring.file, **ring.to_dict()})
            else:
                print(f"{len(ring.keys)} trusted key{'s' if len(ring.keys) != 1 else ''} in {ring.file}:")
                for key in ring.keys:
                    print(f"  {key.key_id}  {key.name}")
            return OK
        password, _ = _secret(args)
        if accounts.accounts_required(_users(args)):
            if password is None:
                raise UsageError("accounts are required here: give your password with --password-stdin; it also "
                                 "locks the key")
            accounts.authenticate(args.name, password, path=_users(args))
        elif password is None and not args.no_passphrase:
            raise UsageError("give a passphrase for the key with --password-stdin, or --no-passphrase")
        path, key = create_key(args.name, password or None, Path(args.keys).expanduser() if args.keys else None)
        ring = trust(key.name, key.key.public_key(), keyring)
    except ProblemError as exc:
        raise UsageError(" ".join(p.message for p in exc.problems)) from None
    if args.format == "json":
        _json({"name": key.name, "key_id": key.id, "private_key": str(path), "keyring": ring.file})
    else:
        print(f"Signing key {key.id} for {key.name} saved in {path} (readable by you only"
              f"{', locked with your password' if password else ''}).")
        print(f"Its public key is in the keyring {ring.file}: copy that file to every server and app that checks "
              "releases.")
    return OK


def cmd_init(args: argparse.Namespace) -> int:
    """Make a rulesets folder with a history of its own (seeded from --from, or cloned from --remote)."""
    from .problems import ProblemError
    from .publish.sync import clone, seed

    folder = Path(args.folder).expanduser()
    try:
        if args.remote:
            repository = clone(args.remote, folder)
        else:
            repository = seed(folder, Path(args.source) if args.source else None)
    except ProblemError as exc:
        raise UsageError(" ".join(p.message for p in exc.problems)) from None
    commits = len(repository.log())
    if args.format == "json":
        _json({"folder": str(repository.root), "commits": commits})
    else:
        print(f"{repository.root} keeps its own history ({commits} commit{'s' if commits != 1 else ''}). Open it with "
              f"WORKBENCH_RULESETS={repository.root} ./run, or give its ruleset folders to the commands.")
    return OK


def cmd_sync(args: argparse.Namespace) -> int:
    """Send and receive the team's history: 0 in step, 1 conflicts shown (nothing changed), 2 refused."""
    import difflib

    from .people import access
    from .problems import ProblemError
    from .publish.repository import Repository
    from .publish.sync import team_folder

    password, token = _secret(args)
    try:
        identity = access.identify(args.name, "view", password=password, token=token, users=_users(args))
        if args.remote:
            Repository.open(team_folder(Path(args.folder)), create=False).add_remote(args.remote)
        outcome = access.sync_team(identity, Path(args.folder), {path: side for side, path in (args.keep or [])})
    except ProblemError as exc:
        return _refused(args, "sync", exc.problems)
    if args.format == "json":
        _json(outcome.to_dict())
        return OK if outcome.ok else FAILED
    for conflict in outcome.conflicts:
        print(f"CONFLICT in {conflict.path}: you and {conflict.their_author or 'the team'} changed the same lines"
              + (f" ({conflict.their_reason})" if conflict.their_reason else "") + ". Both versions:")
        for line in difflib.unified_diff(conflict.mine.splitlines(), conflict.theirs.splitlines(), "yours", "theirs",
                                         lineterm="", n=2):
            print(f"  {line}")
        print(f"  keep one: workbench sync {args.folder} --name '{args.name}' --keep mine {conflict.path}   "
              f"(or --keep theirs); the other stays in the history")
    for problem in outcome.problems:
        if problem.code != "WB1034":
            print(f"  {problem}")
    if outcome.ok:
        print(f"In step with the team: {outcome.received} commit{'s' if outcome.received != 1 else ''} received, "
              f"{outcome.sent} sent" + (", joined with a merge commit" if outcome.merged else "") + ".")
    return OK if outcome.ok else FAILED


def cmd_diff(args: argparse.Namespace) -> int:
    """0 compared; 1 a version was altered or the draft has errors; 2 a version that does not exist."""
    from .problems import ProblemError
    from .publish.diff import diff_versions

    folder = _ruleset_dir(args.ruleset_dir)
    try:
        result = diff_versions(folder, args.from_ref, args.to_ref, args.assume or ())
    except ProblemError as exc:
        if any(p.code == "WB722" for p in exc.problems):
            raise UsageError(exc.problems[0].message) from None
        return _refused(args, "diff", exc.problems)
    if args.format == "json":
        _json(result.to_dict())
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


# --- user accounts --------------------------------------------------------------------------

def _new_password(args: argparse.Namespace) -> str | None:
    """From the first line of stdin, or asked twice at the terminal; never from the command line."""
    if args.no_password:
        return None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("no password on standard input (--password-stdin reads its first line)")
        return password
    if not sys.stdin.isatty():
        raise UsageError("there is no terminal to ask for the password: give it with --password-stdin")
    import getpass

    password = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("The same password again: ") != password:
        raise UsageError("the two passwords differ; nothing was changed")
    return password


def cmd_user(args: argparse.Namespace) -> int:
    """add, list and remove accounts: 0 done; 2 refused (bad name, role or password, unknown account, or an
    accounts file that cannot be read)."""
    from .people import accounts
    from .problems import ProblemError

    path = Path(args.users).expanduser() if args.users else accounts.users_file()
    try:
        if args.user_command == "list":
            found = accounts.load_accounts(path)
            if args.format == "json":
                _json({"file": str(path), "users": [a.public() for a in found]})
            elif not found:
                print(f"No accounts in {path}: the workbench opens without sign-in. Add one with "
                      "`workbench user add NAME --role author`.")
            for account in found if args.format == "text" else []:
                how = "password" if account.password else "identity provider only"
                print(f"{account.name}  roles: {', '.join(account.roles)}  sign-in: {how}"
                      + (f"  email: {account.email}" if account.email else ""))
            return OK
        if args.user_command == "token":
            account = accounts.authenticate(args.name, sys.stdin.readline().rstrip("\r\n"), path=path)
            token = accounts.add_token(account.name, path=path)
            if args.format == "json":
                _json({"action": "token", "file": str(path), "account": account.public(), "token": token})
            else:
                print(f"A personal token for {account.name} (shown once; only its hash is kept): {token}")
                print("Use it with --token TOKEN or WORKBENCH_TOKEN=TOKEN; remove the account to revoke it.")
            return OK
        if args.user_command == "add":
            account = accounts.add_account(args.name, args.role, _new_password(args), email=args.email,
                                           replace=args.replace, path=path)
            done = f"Account {account.name} ({', '.join(account.roles)}) saved in {path}."
        else:
            account = accounts.remove_account(args.name, path=path)
            done = f"Account {account.name} removed from {path}; it can no longer sign in."
    except ProblemError as exc:
        raise UsageError(" ".join(p.message for p in exc.problems)) from None
    except OSError as exc:
        raise UsageError(f"the accounts file {path} cannot be written: {exc.strerror or exc}") from None
    if args.format == "json":
        _json({"action": args.user_command, "file": str(path), "account": account.public()})
    else:
        print(done)
    return OK


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
    sub.add_argument("--unsure", metavar="ID,ID", help="inputs answered 'unsure': each is taken as whichever "
                                                        "answer is more dangerous (SPEC 3a)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_evaluate)

    sub = command("graph", "the flow as a picture (Graphviz DOT, SVG or PNG), optionally with a path or coverage",
                  "workbench graph rulesets/upper-back-pain/ruleset.yaml --format svg "
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

    sub = command("export", "write the published releases as JSON files for downstream apps",
                  "workbench export --out public/")
    sub.add_argument("--out", required=True, metavar="DIR", help="folder to write index.json and <id>/<version>.json")
    sub.add_argument("--fhir", action="store_true",
                     help="also write each release as FHIR R4 resources: <id>/fhir/<version>.Questionnaire.json and "
                          ".PlanDefinition.json")
    sub.add_argument("--withdraw", action="append", metavar="ID@VERSION",
                     help="remove a release a previous export wrote that is no longer published (repeat for more); "
                          "without it such a release stops the export")
    sub.add_argument("--rulesets", default=os.environ.get("WORKBENCH_RULESETS", "rulesets"), metavar="DIR",
                     help="rulesets folder (default: $WORKBENCH_RULESETS, else rulesets)")
    sub.add_argument("--keyring", metavar="FILE", help="the keyring of signing keys releases must be signed with "
                                                       "(default: $WORKBENCH_KEYRING or .workbench/keyring.json)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_export)

    sub = command("serve", "serve the published releases over a read-only HTTP API",
                  "workbench serve --host 127.0.0.1 --port 8000")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sub.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    sub.add_argument("--rulesets", default=os.environ.get("WORKBENCH_RULESETS", "rulesets"), metavar="DIR",
                     help="rulesets folder (default: $WORKBENCH_RULESETS, else rulesets)")
    sub.add_argument("--keyring", metavar="FILE", help="the keyring of signing keys releases must be signed with "
                                                       "(default: $WORKBENCH_KEYRING or .workbench/keyring.json)")
    sub.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                     help="server log detail (default: info, one line per request)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_serve)

    sub = command("verify", "prove the safety properties over every possible case, and find dead logic",
                  "workbench verify rulesets/upper-back-pain/ruleset.yaml")
    sub.add_argument("ruleset_file", metavar="RULESET_FILE", help="a ruleset.yaml (or its folder)")
    sub.add_argument("--limit", type=_positive, default=None, metavar="N",
                     help="stop once the decision diagrams hold N nodes (a bound on memory) and report the check "
                          "incomplete (default: 500,000, about 400 MB)")
    sub.add_argument("--time-limit", type=_positive_seconds, default=None, metavar="SECONDS",
                     help="stop after SECONDS of checking and report the check incomplete (default: 60)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_verify)

    def identity_options(sub: argparse.ArgumentParser) -> None:
        proof = sub.add_mutually_exclusive_group()
        proof.add_argument("--password-stdin", action="store_true",
                           help="read your password from the first line of standard input (needed where accounts "
                                "are required; it also unlocks your signing key)")
        proof.add_argument("--token", metavar="TOKEN", help="a personal token instead of a password "
                                                            "(or $WORKBENCH_TOKEN)")
        sub.add_argument("--users", metavar="FILE", help="accounts file (default: $WORKBENCH_USERS or "
                                                         ".workbench/users.json)")

    def keyring_option(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--keyring", metavar="FILE", help=f"the keyring of trusted signing keys {what} (default: "
                                                           "$WORKBENCH_KEYRING or .workbench/keyring.json)")

    for name, role, help_text in (
            ("submit", "author", "submit the ruleset as saved for review by a second clinician"),
            ("approve", "reviewer", "approve the submission, signed with your key (a clinician other than its author)"),
            ("reject", "reviewer", "send the submission back to its author, with a reason"),
            ("release", "approver", "release the approved ruleset as an immutable version signed with your key")):
        needs_reason = name in ("reject", "release")
        sub = command(name, help_text, f"printf '%s\\n' \"$PASSWORD\" | workbench {name} DATA/upper-back-pain "
                      f"--{role} 'Dr Jane Smith' --password-stdin" + (" --reason 'NG234 update'" if needs_reason
                                                                        else ""))
        sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
        sub.add_argument(f"--{role}", required=True, metavar="NAME", help=f"the {role}'s name, as recorded")
        sub.add_argument("--reason", required=needs_reason, metavar="TEXT",
                         help="why (required)" if needs_reason else "why (optional)")
        identity_options(sub)
        keyring_option(sub, "that approvals are checked against")
        if name in ("approve", "release"):
            sub.add_argument("--keys", metavar="DIR", help="where your signing key is (default: $WORKBENCH_KEYS or "
                                                           ".workbench/keys)")
        text_or_json(sub)
        sub.set_defaults(run=cmd_review)

    sub = command("history", "the ruleset's history: every commit, the review state, releases with their "
                  "signatures checked; exit 1 on tampering", "workbench history DATA/upper-back-pain")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    keyring_option(sub, "releases are checked against")
    text_or_json(sub)
    sub.set_defaults(run=cmd_history)

    sub = command("key", "signing keys: each approver signs with their own; the keyring says whose count",
                  "printf '%s\\n' \"$PASSWORD\" | workbench key create 'Dr Raj Shah' --password-stdin")
    keys = sub.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    make = keys.add_parser("create", help="make your signing key and add its public key to the keyring",
                           description="make your signing key and add its public key to the keyring")
    make.add_argument("name", metavar="NAME", help="your name, as the history records it")
    identity_options(make)
    make.add_argument("--no-passphrase", action="store_true", help="leave the key unlocked (only where there are "
                                                                   "no accounts)")
    make.add_argument("--keys", metavar="DIR", help="where to keep the private key (default: $WORKBENCH_KEYS or "
                                                    ".workbench/keys)")
    keyring_option(make, "to add it to")
    text_or_json(make)
    make.set_defaults(run=cmd_key)
    listing = keys.add_parser("list", help="the keys the keyring trusts", description="the keys the keyring trusts")
    keyring_option(listing, "to list")
    text_or_json(listing)
    listing.set_defaults(run=cmd_key)

    sub = command("init", "make a rulesets folder with a history of its own (seeded from shipped rulesets, or a "
                  "copy of the team's)", "workbench init ~/triage-rules --from rulesets")
    sub.add_argument("folder", metavar="DIR")
    seed = sub.add_mutually_exclusive_group()
    seed.add_argument("--from", dest="source", metavar="RULESETS", help="copy these ruleset folders in first")
    seed.add_argument("--remote", metavar="URL", help="copy the team's history from this git remote")
    text_or_json(sub)
    sub.set_defaults(run=cmd_init)

    sub = command("sync", "bring in the team's changes and send yours (a git remote shared by the team)",
                  "workbench sync ~/triage-rules --name 'Dr Ada Lee' --remote git@example.org:team/rules.git")
    sub.add_argument("folder", metavar="DIR", help="the rulesets folder (or one of its rulesets)")
    sub.add_argument("--name", required=True, metavar="NAME", help="who is syncing, as the history records it")
    sub.add_argument("--remote", metavar="URL", help="the team remote (remembered once given)")
    sub.add_argument("--keep", nargs=2, action="append", metavar=("mine|theirs", "FILE"),
                     help="after a conflict: which version of FILE to keep (the other stays in the history)")
    identity_options(sub)
    text_or_json(sub)
    sub.set_defaults(run=cmd_sync)

    sub = command("diff", "what changed between two versions: structure, behaviour, and the version bump it needs",
                  "workbench diff rulesets/upper-back-pain --from git:HEAD~1 --to draft")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    versions = "a released version, 'draft', a ruleset or release FILE, or git:REV (ruleset.yaml as committed)"
    sub.add_argument("--from", dest="from_ref", metavar="VERSION", help=f"{versions} (default: the last release)")
    sub.add_argument("--to", dest="to_ref", default="draft", metavar="VERSION", help=f"{versions} (default: draft)")
    sub.add_argument("--assume", action="append", metavar="CONDITION",
                     help="compare only cases where this holds, e.g. how a replaced question maps onto the new ones: "
                          "\"significant_trauma == (major_trauma or minor_trauma)\" (repeatable)")
    sub.add_argument("--limit", type=_positive, default=20, metavar="N",
                     help="show at most N example groups of changed combinations (default: 20)")
    text_or_json(sub)
    sub.set_defaults(run=cmd_diff)

    from .people.accounts import ROLES

    sub = command("user", "manage the local accounts that sign in to the workbench, and their roles",
                  "printf '%s\\n' \"$PASSWORD\" | workbench user add 'Dr Ada Author' --role author "
                  "--role qa --password-stdin")
    actions = sub.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    for name, help_text in (("add", "add an account (the password is asked for, or read with --password-stdin)"),
                            ("list", "list the accounts and their roles (never their passwords)"),
                            ("remove", "remove an account: it can no longer sign in"),
                            ("token", "make a personal token for scripts and CI, shown once (proved with the "
                                      "person's password on standard input)")):
        user = actions.add_parser(name, help=help_text, description=help_text)
        if name != "list":
            user.add_argument("name", metavar="NAME", help="the person's name, as every audit entry records it")
        if name == "add":
            user.add_argument("--role", action="append", required=True, choices=ROLES,
                              help="a role; repeat for several (author, reviewer, qa, viewer)")
            user.add_argument("--email", metavar="EMAIL", help="the email the identity provider (OIDC) signs in")
            secret = user.add_mutually_exclusive_group()
            secret.add_argument("--password-stdin", action="store_true",
                                help="read the password from the first line of standard input")
            secret.add_argument("--no-password", action="store_true",
                                help="no local password: signs in only through the identity provider (--email)")
            user.add_argument("--replace", action="store_true", help="replace an existing account of that name")
        if name == "token":
            user.add_argument("--password-stdin", action="store_true", required=True,
                              help="the person's own password, from the first line of standard input")
        user.add_argument("--users", metavar="FILE", help="accounts file (default: $WORKBENCH_USERS or "
                                                          ".workbench/users.json)")
        text_or_json(user)
        user.set_defaults(run=cmd_user)

    # further commands are registered here
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Inert(out), _Inert(err)
    try:
        return _main(argv)
    except BrokenPipeError:  # `workbench ... | head`: the reader has gone, which is no error of ours to show
        _silence(out)
        return BROKEN_PIPE
    finally:
        sys.stdout, sys.stderr = out, err


BROKEN_PIPE = 141
"""The shell's code for a program whose reader stopped reading (128 + SIGPIPE), as `cat` and `grep` give."""


def _silence(stream: Any) -> None:
    """Point the stream's file at /dev/null, so flushing it at exit cannot fail again (Python's documented
    way of handling SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind it (a test's buffer): nothing to flush
        pass


def _main(argv: Sequence[str] | None) -> int:
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
