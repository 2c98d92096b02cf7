"""init and sync: a rulesets folder with a history of its own, shared with the team through a git remote."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import (
    FAILED,
    OK,
    Commands,
    UsageError,
    identity_options,
    print_json,
    refused,
    secret,
    text_or_json,
    users_path,
)


def register(commands: Commands) -> None:
    sub = commands.add("init", "make a rulesets folder with a history of its own (seeded from shipped rulesets, or "
                       "a copy of the team's)", "workbench init ~/triage-rules --from rulesets")
    sub.add_argument("folder", metavar="DIR")
    seed = sub.add_mutually_exclusive_group()
    seed.add_argument("--from", dest="source", metavar="RULESETS", help="copy these ruleset folders in first")
    seed.add_argument("--remote", metavar="URL", help="copy the team's history from this git remote")
    text_or_json(sub)
    sub.set_defaults(run=cmd_init)

    sub = commands.add("sync", "bring in the team's changes and send yours (a git remote shared by the team)",
                       "workbench sync ~/triage-rules --name 'Dr Ada Lee' --remote git@example.org:team/rules.git")
    sub.add_argument("folder", metavar="DIR", help="the rulesets folder (or one of its rulesets)")
    sub.add_argument("--name", required=True, metavar="NAME", help="who is syncing, as the history records it")
    sub.add_argument("--remote", metavar="URL", help="the team remote (remembered once given)")
    sub.add_argument("--keep", nargs=2, action="append", metavar=("mine|theirs", "FILE"),
                     help="after a conflict: which version of FILE to keep (the other stays in the history)")
    identity_options(sub)
    text_or_json(sub)
    sub.set_defaults(run=cmd_sync)


def cmd_init(args: argparse.Namespace) -> int:
    """Make a rulesets folder with a history of its own (seeded from --from, or cloned from --remote)."""
    from ..problems import ProblemError
    from ..publish.sync import clone, seed

    folder = Path(args.folder).expanduser()
    try:
        if args.remote:
            repository = clone(args.remote, folder)
        else:
            repository = seed(folder, Path(args.source) if args.source else None)
    except ProblemError as exc:
        raise UsageError(" ".join(f"{p.code} {p.message}" for p in exc.problems)) from None
    commits = len(repository.log())
    if args.format == "json":
        print_json({"folder": str(repository.root), "commits": commits,
                    "notes": [p.to_dict() for p in repository.notes]})
    else:
        for note in repository.notes:
            print(f"note: {note}")
        print(f"{repository.root} keeps its own history ({commits} commit{'s' if commits != 1 else ''}). Open it with "
              f"WORKBENCH_RULESETS={repository.root} ./run, or give its ruleset folders to the commands.")
    return OK


def cmd_sync(args: argparse.Namespace) -> int:
    """Send and receive the team's history: 0 in step, 1 conflicts shown (nothing changed), 2 refused."""
    import difflib

    from ..people import access
    from ..problems import ProblemError
    from ..publish.repository import Repository
    from ..publish.sync import team_folder

    password, token = secret(args)
    try:
        identity = access.identify(args.name, "view", password=password, token=token, users=users_path(args),
                                   folder=Path(args.folder))
        if args.remote:
            Repository.open(team_folder(Path(args.folder)), create=False).add_remote(args.remote)
        outcome = access.sync_team(identity, Path(args.folder), {path: side for side, path in (args.keep or [])})
    except ProblemError as exc:
        return refused(args, "sync", exc.problems)
    if args.format == "json":
        print_json(outcome.to_dict())
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
    for note in outcome.notes:
        print(f"note: {note}")
    if outcome.ok:
        print(f"In step with the team: {outcome.received} commit{'s' if outcome.received != 1 else ''} received, "
              f"{outcome.sent} sent" + (", joined with a merge commit" if outcome.merged else "") + ".")
    return OK if outcome.ok else FAILED
