"""What every command shares: exit codes, printing for people and machines, reading arguments, identity."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import load_ruleset
from ..content.loader import read_text, read_yaml
from ..folder import RULESET_FILE, RulesetFolder
from ..problems import Problem, sort_problems
from ..run import engine
from ..run.engine import CompiledRuleset

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2 with a one-line message."""




def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_problems(problems: Sequence[Problem], stream: Any = None) -> None:
    for problem in sort_problems(problems):
        print(problem, file=stream or sys.stdout)


_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def inert(text: str) -> str:
    """Text as a terminal should show it: control characters (escape sequences, carriage returns), direction
    overrides and lone surrogates quoted from content are written as \\uXXXX, which JSON reads back as the same
    character, so no ruleset, answer or name can recolour, rewrite or reorder what a person reads."""
    return _TERMINAL_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class Inert:
    """stdout or stderr with every write passed through `inert`; `.buffer` (SVG, PNG bytes) is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(inert(text))

    def isatty(self) -> bool:
        return False  # tools that colour their output for a terminal (uvicorn's log) must not send escapes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)



class Commands:
    """The `workbench` subcommands being declared: each command module adds its own beside its code."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(self, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return self._sub.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)


def text_or_json(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--format", choices=["text", "json"], default="text", help="output for people or machines")


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


def rulesets_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--rulesets", default=os.environ.get("WORKBENCH_RULESETS", "rulesets"), metavar="DIR",
                     help="rulesets folder (default: $WORKBENCH_RULESETS, else rulesets)")


# --- reading arguments ---------------------------------------------------------------------------

def ruleset_file_arg(path: Path) -> Path:
    if path.is_dir():
        path = RulesetFolder(path).ruleset_file
    if not path.is_file():
        raise UsageError(f"no ruleset at {path}: give a ruleset folder or its ruleset.yaml")
    return path


def answers_arg(text: str) -> dict[str, Any]:
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


def unsure_arg(text: str | None) -> list[str]:
    """`--unsure known_cancer,saddle_anaesthesia`: the ids, spaces and empty items ignored."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]



def load_or_report(path: Path) -> CompiledRuleset | None:
    if not path.is_file():
        raise UsageError(f"no ruleset file at {path}")
    try:
        return load_ruleset(path)
    except engine.RulesetError as exc:
        print_problems(exc.problems, sys.stderr)
        return None


def rulesets_root(text: str) -> Path:
    root = Path(text)
    if not root.is_dir():
        raise UsageError(f"no rulesets folder at {root}: give it with --rulesets DIR")
    return root


def trusted_keyring(args: argparse.Namespace) -> Any:
    """The deployment's keyring, required: without one nothing is verified, so nothing is published."""
    from ..problems import ProblemError
    from ..publish.signing import load_keyring

    try:
        return load_keyring(keyring_path(args), required=True)
    except ProblemError as exc:
        raise UsageError(exc.problems[0].message) from None


def positive(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 (a day)")
    return value


def ruleset_dir_arg(text: str) -> Path:
    folder = RulesetFolder.of(text)
    if not RulesetFolder.holds_ruleset(folder.path):
        raise UsageError(f"no ruleset folder at {text}: give the folder that holds {RULESET_FILE}")
    return folder.path


def secret(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(password, token) as given: the password from the first line of stdin, never from the command line."""
    password = None
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    token = getattr(args, "token", None) or os.environ.get("WORKBENCH_TOKEN") or None
    return password, token


def users_path(args: argparse.Namespace) -> Path | None:
    return Path(args.users).expanduser() if getattr(args, "users", None) else None


def keyring_path(args: argparse.Namespace) -> Path | None:
    return Path(args.keyring).expanduser() if getattr(args, "keyring", None) else None


def refused(args: argparse.Namespace, action: str, problems: Sequence[Problem],
             data: dict[str, Any] | None = None) -> int:
    if args.format == "json":
        print_json(data or {"action": action, "ok": False, "problems": [p.to_dict() for p in problems]})
    else:
        print(f"REFUSED: {action} — {len(problems)} reason{'s' if len(problems) != 1 else ''}:")
        for problem in problems:
            print(f"  {problem}")
    return FAILED
