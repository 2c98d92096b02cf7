"""The `workbench` command: argument parsing and printing only; the work is done by the core.

One module per group of commands, each declaring its options beside its code (`register`). Exit codes
(SPEC 6): 0 success, 1 the content has errors or a vignette failed, 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import content, diff, downstream, impact, people, review, team, verify
from .common import OK, USAGE, Commands, Inert, UsageError, inert

__all__ = ["main", "build_parser", "inert"]

GROUPS = (content, verify, diff, impact, review, downstream, team, people)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Author, validate, replay and publish clinical triage decision trees.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 success, 1 content errors or failing vignettes, 2 usage error or unreadable input")
    commands = Commands(parser)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Inert(out), Inert(err)
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

