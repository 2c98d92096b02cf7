"""user: the local accounts that sign in to the workbench, and their roles."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import OK, Commands, UsageError, print_json, text_or_json


def register(commands: Commands) -> None:
    from ..people.accounts import ROLES

    sub = commands.add("user", "manage the local accounts that sign in to the workbench, and their roles",
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
            user.add_argument("--replace", action="store_true", help="replace an existing account of that name (its "
                                                                     "personal tokens stop working)")
        if name in ("add", "remove"):
            user.add_argument("--as", dest="admin", metavar="ADMIN", help="the administrator doing this, once any "
                              "account exists: proved with --token (or $WORKBENCH_TOKEN) or their password as the "
                              "first line of standard input (the new account's password, with --password-stdin, "
                              "is then the second)")
            user.add_argument("--token", metavar="TOKEN", help="the administrator's personal token")
        if name == "token":
            user.add_argument("--password-stdin", action="store_true", required=True,
                              help="the person's own password, from the first line of standard input")
        user.add_argument("--users", metavar="FILE", help="accounts file (default: $WORKBENCH_USERS or "
                                                          ".workbench/users.json)")
        text_or_json(user)
        user.set_defaults(run=cmd_user)


def _new_password(args: argparse.Namespace) -> str | None:
    """From the first line of stdin, or asked twice at the terminal; never from the command line."""
    if args.no_password:
        return None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")  # after the administrator's, when one was read
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


def _administrator(args: argparse.Namespace, path: Path):  # type: ignore[no-untyped-def]
    """The administrator acting, proved by token or password (first line of stdin); None while there are no
    accounts yet (the first account needs nobody's permission, and becomes an administrator)."""
    import os

    from ..people import access, accounts

    if not accounts.accounts_required(path):
        return None
    token = args.token or os.environ.get("WORKBENCH_TOKEN") or None
    if not args.admin and not token:
        raise UsageError("accounts exist here: an administrator must do this, with --as NAME and their password "
                         "on standard input (or --token)")
    password = None if token else sys.stdin.readline().rstrip("\r\n")
    return access.identify(args.admin, "manage_people", password=password, token=token, users=path)


def cmd_user(args: argparse.Namespace) -> int:
    """add, list and remove accounts: 0 done; 2 refused (bad name, role or password, unknown account, or an
    accounts file that cannot be read)."""
    from ..people import access, accounts
    from ..problems import ProblemError

    path = Path(args.users).expanduser() if args.users else accounts.users_file()
    try:
        if args.user_command == "list":
            found = accounts.load_accounts(path)
            if args.format == "json":
                print_json({"file": str(path), "users": [a.public() for a in found]})
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
                print_json({"action": "token", "file": str(path), "account": account.public(), "token": token})
            else:
                print(f"A personal token for {account.name} (shown once; only its hash is kept): {token}")
                print("Use it with --token TOKEN or WORKBENCH_TOKEN=TOKEN; remove the account to revoke it.")
            return OK
        admin = _administrator(args, path)
        if args.user_command == "add":
            account = access.add_person(admin, args.name, args.role, _new_password(args), email=args.email,
                                        replace=args.replace, users=path)
            done = f"Account {account.name} ({', '.join(account.roles)}) saved in {path}."
            if admin is None:
                done += " As the first account it is also the administrator, who adds the others."
        else:
            account = access.remove_person(admin, args.name, path)
            done = f"Account {account.name} removed from {path}; it can no longer sign in."
    except ProblemError as exc:
        raise UsageError(" ".join(f"{p.code} {p.message}" for p in exc.problems)) from None
    except OSError as exc:
        raise UsageError(f"the accounts file {path} cannot be written: {exc.strerror or exc}") from None
    if args.format == "json":
        print_json({"action": args.user_command, "file": str(path), "account": account.public()})
    else:
        print(done)
    return OK


