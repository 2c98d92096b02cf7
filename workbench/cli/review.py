"""submit, approve, reject, release, history and key: the review gate and the signatures behind it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import (
    FAILED,
    OK,
    Commands,
    UsageError,
    identity_options,
    keyring_option,
    keyring_path,
    print_json,
    refused,
    ruleset_dir_arg,
    secret,
    text_or_json,
    users_path,
)

_ROLES = {"submit": "author", "approve": "reviewer", "reject": "reviewer", "release": "approver"}


def register(commands: Commands) -> None:
    for name, help_text in (
            ("submit", "submit the ruleset as saved for review by a second clinician"),
            ("approve", "approve the submission, signed with your key (a clinician other than its author)"),
            ("reject", "send the submission back to its author, with a reason"),
            ("release", "release the approved ruleset as an immutable version signed with your key")):
        role = _ROLES[name]
        needs_reason = name in ("reject", "release")
        sub = commands.add(name, help_text, f"printf '%s\\n' \"$PASSWORD\" | workbench {name} DATA/upper-back-pain "
                           f"--{role} 'Dr Jane Smith' --password-stdin" + (" --reason 'NG234 update'" if needs_reason
                                                                             else ""))
        sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
        sub.add_argument(f"--{role}", required=True, metavar="NAME", help=f"the {role}'s name, as recorded")
        sub.add_argument("--reason", required=needs_reason, metavar="TEXT",
                         help="why (required)" if needs_reason else "why (optional)")
        identity_options(sub)
        keyring_option(sub, "that approvals are checked against")
        if name == "approve":
            sub.add_argument("--unproved-reason", action="append", default=[], metavar="PROPERTY=WHY",
                             help="why a safety property that verification left unproved may be released anyway "
                                  "(repeat for each; signed with the approval and shown on the release)")
        if name in ("approve", "release"):
            sub.add_argument("--keys", metavar="DIR", help="where your signing key is (default: $WORKBENCH_KEYS or "
                                                           ".workbench/keys)")
        text_or_json(sub)
        sub.set_defaults(run=cmd_review)

    sub = commands.add("history", "the ruleset's history: every commit, the review state, releases with their "
                       "signatures checked; exit 1 on tampering", "workbench history DATA/upper-back-pain")
    sub.add_argument("ruleset_dir", metavar="RULESET_DIR")
    keyring_option(sub, "releases are checked against")
    text_or_json(sub)
    sub.set_defaults(run=cmd_history)

    sub = commands.add("key", "signing keys: each approver signs with their own; the keyring says whose count",
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
    gone = keys.add_parser("revoke", help="take a person's key out of the keyring: what it signed is no longer "
                           "accepted (an administrator's action where accounts exist)",
                           description="take a person's key out of the keyring: what it signed is no longer accepted")
    gone.add_argument("name", metavar="NAME", help="whose key")
    gone.add_argument("--as", dest="admin", metavar="ADMIN", help="the administrator (where accounts exist), "
                      "proved with --password-stdin or --token")
    identity_options(gone)
    keyring_option(gone, "to take it out of")
    text_or_json(gone)
    gone.set_defaults(run=cmd_key)
    listing = keys.add_parser("list", help="the keys the keyring trusts", description="the keys the keyring trusts")
    keyring_option(listing, "to list")
    text_or_json(listing)
    listing.set_defaults(run=cmd_key)


def cmd_review(args: argparse.Namespace) -> int:
    """submit, approve, reject and release: 0 done, 1 refused (every reason printed), 2 bad arguments."""
    from ..people import access
    from ..problems import ProblemError
    from ..publish.signing import load_key

    folder = ruleset_dir_arg(args.ruleset_dir)
    role = _ROLES[args.command]
    password, token = secret(args)
    action = "release" if args.command == "release" else args.command
    try:
        trusted = access.keyring(keyring_path(args))
        identity = access.identify(getattr(args, role), action, password=password, token=token, users=users_path(args),
                                   folder=folder)
        if args.command in ("approve", "release"):
            key = load_key(identity.name, password or os.environ.get("WORKBENCH_KEY_PASSPHRASE") or None,
                           Path(args.keys).expanduser() if args.keys else None)
        if args.command == "submit":
            outcome = access.submit(identity, folder, args.reason or "", trusted)
        elif args.command == "approve":
            outcome = access.approve(identity, folder, args.reason or "", key, trusted, _reasons(args.unproved_reason))
        elif args.command == "reject":
            outcome = access.reject(identity, folder, args.reason, trusted)
        else:
            outcome = access.release(identity, folder, args.reason, key, trusted)
    except ProblemError as exc:
        return refused(args, args.command, exc.problems)
    if not outcome.ok:
        return refused(args, args.command, outcome.problems, outcome.to_dict())
    if args.format == "json":
        print_json(outcome.to_dict())
        return OK
    for note in outcome.notes:
        print(f"note: {note}")
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


def _reasons(given: list[str]) -> dict[str, str]:
    """`--unproved-reason PROPERTY=WHY`, repeated: {property: why}."""
    out = {}
    for item in given:
        key, sep, why = item.partition("=")
        if not sep or not key.strip() or not why.strip():
            raise UsageError(f"--unproved-reason takes PROPERTY=WHY, not {item!r}")
        out[key.strip()] = why
    return out


def cmd_history(args: argparse.Namespace) -> int:
    """The ruleset's history: releases verified, review state, every commit; 0 intact, 1 tampering found."""
    from ..people import access
    from ..problems import ProblemError
    from ..publish.lifecycle import history, open_ruleset

    folder = ruleset_dir_arg(args.ruleset_dir)
    try:
        repository, ruleset_id = open_ruleset(folder, create=False)
        found = history(repository, ruleset_id, access.keyring(keyring_path(args)))
    except ProblemError as exc:
        return refused(args, "history", exc.problems)
    if args.format == "json":
        print_json(found.to_dict())
        return OK if found.ok else FAILED
    print(f"{found.id} — review: {found.review.describe()}")
    print(f"Releases ({len(found.releases)}):" if found.releases else "Releases: none yet")
    for item in found.releases:
        replay = item.record.get("replay") or {}
        print(f"  {item.version:<10} {item.released_at}  author {item.author}, approved and signed by "
              f"{item.signer.name}, replay {replay.get('passed')}/{replay.get('total')}, sha256 "
              f"{item.sha256[:12]}…  verified")
        for left in (item.record.get("safety") or {}).get("unproved") or []:
            print(f"    unproved: {left.get('id')} — {left.get('by')}: {left.get('reason')}")
    print(f"History ({len(found.commits)} commit{'s' if len(found.commits) != 1 else ''}, newest first):")
    for commit in found.commits:
        why = f" — {commit.reason.splitlines()[0]}" if commit.reason else ""
        print(f"  {commit.id[:10]} {commit.at}  {commit.author}: {commit.subject}{why}")
        unproved = commit.record.get("unproved")
        for key, text in (unproved.items() if isinstance(unproved, dict) else ()):
            print(f"    unproved {key}, released because: {text}")
    if found.problems:
        print(f"TAMPERING or damage found ({len(found.problems)}):")
        for problem in found.problems:
            print(f"  {problem}")
    return OK if found.ok else FAILED


def cmd_key(args: argparse.Namespace) -> int:
    """create and list signing keys: 0 done, 2 refused."""
    from ..people import access, accounts
    from ..problems import ProblemError
    from ..publish.signing import load_keyring

    keyring = keyring_path(args)
    try:
        if args.key_command == "list":
            ring = load_keyring(keyring, required=False)
            if args.format == "json":
                print_json({"file": ring.file, **ring.to_dict()})
            else:
                print(f"{len(ring.keys)} trusted key{'s' if len(ring.keys) != 1 else ''} in {ring.file}:")
                for key in ring.keys:
                    print(f"  {key.key_id}  {key.name}")
            return OK
        if args.key_command == "revoke":
            password, token = secret(args)
            admin = (access.identify(args.admin, "manage_people", password=password, token=token,
                                     users=users_path(args)) if accounts.accounts_required(users_path(args))
                     else access.local_identity("local"))
            revoked = access.revoke_key(admin, args.name, keyring)
            if args.format == "json":
                print_json({"revoked": [{"name": k.name, "key_id": k.key_id} for k in revoked]})
            else:
                for key in revoked:
                    print(f"Revoked {key.key_id} ({key.name}): nothing it signed is accepted by this keyring now.")
            return OK
        password, _ = secret(args)
        users = users_path(args)
        if accounts.accounts_required(users) and password is None:
            raise UsageError("accounts are required here: give your password with --password-stdin; it also "
                             "locks the key")
        if password is None and not args.no_passphrase:
            raise UsageError("give a passphrase for the key with --password-stdin, or --no-passphrase")
        maker = access.identify(args.name, "approve", password=password, users=users)
        path, key, ring = access.make_own_key(maker, password, users=users, keyring_path=keyring,
                                              folder=Path(args.keys).expanduser() if args.keys else None)
    except ProblemError as exc:
        raise UsageError(" ".join(f"{p.code} {p.message}" for p in exc.problems)) from None
    if args.format == "json":
        print_json({"name": key.name, "key_id": key.id, "private_key": str(path), "keyring": ring.file})
    else:
        print(f"Signing key {key.id} for {key.name} saved in {path} (readable by you only"
              f"{', locked with your password' if password else ''}).")
        print(f"Its public key is in the keyring {ring.file}: copy that file to every server and app that checks "
              "releases.")
    return OK
