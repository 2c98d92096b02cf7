"""Local accounts for a single-machine install: who may sign in, and with which roles.

The accounts live in one JSON file (`users.json` in the workspace, see workspace.py, or $WORKBENCH_USERS),
written atomically with mode 0600. Passwords and personal tokens are never stored: only their Argon2id hashes
(argon2-cffi; older PBKDF2 records still verify). The file is the whole truth: remove an account and the next
page load no longer knows it. Once the first account is added, a marker beside the file says accounts are
required, so a lost or damaged accounts file fails closed (nobody signs in) instead of opening to everyone.
Failed sign-ins are counted per account: after MAX_FAILURES in WINDOW seconds, that account waits.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .. import workspace
from ..files import NotAFile, atomic_write, locked, read_regular, unique_keys
from ..names import check as check_name
from ..names import clean_name, look_alike, name_key, name_problem, same_person
from ..problems import Problem, ProblemError

USERS_ENV = "WORKBENCH_USERS"
ROLES = ("author", "reviewer", "qa", "viewer", "admin")
LEGACY = "pbkdf2_sha256"
MAX_ITERATIONS = 10_000_000  # a doctored legacy record must not make one sign-in take minutes
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_USERS_BYTES = 1_000_000
MAX_FAILURES = 5
WINDOW = 15 * 60
IDLE_TIMEOUT = 30 * 60
"""Seconds without any action after which a signed-in session in the browser ends: a workstation left signed in
on a ward is not left signed in for the next person."""
TOKEN_PREFIX = "wbt_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended cost


@dataclass(frozen=True)
class Account:
    """One person: the name every audit entry records, their roles, and how they prove who they are."""

    name: str
    roles: tuple[str, ...]
    password: str | None = None  # the hash record; None: signs in only through the identity provider
    email: str | None = None
    tokens: tuple[str, ...] = ()  # hashes of personal tokens, for scripts and CI

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "email": self.email, "password": self.password,
                "tokens": list(self.tokens)}

    def public(self) -> dict[str, Any]:
        """What `workbench user list` shows: never a hash."""
        return {"name": self.name, "roles": list(self.roles), "email": self.email,
                "password": self.password is not None, "tokens": len(self.tokens)}


def users_file() -> Path:
    """$WORKBENCH_USERS, or `users.json` in the workspace (workspace.py), never in the package's folder."""
    configured = os.environ.get(USERS_ENV)
    return Path(configured).expanduser() if configured else workspace.home() / "users.json"


def required_marker(path: Path) -> Path:
    """The marker that says accounts are in use here: written with the first account, never removed by us."""
    return Path(path).with_name(Path(path).name + ".required")


def accounts_required(path: Path | None = None) -> bool:
    """Whether sign-in is required: an accounts file exists, or one existed (its marker is there)."""
    path = Path(path) if path is not None else users_file()
    return os.path.lexists(path) or os.path.lexists(required_marker(path))


# --- passwords and tokens -----------------------------------------------------------------------

def hash_password(password: str) -> str:
    """An Argon2id hash record; the cost travels with it, so it can be raised later."""
    return _HASHER.hash(password.encode("utf-8", "surrogatepass"))


@functools.cache
def _dummy() -> str:
    return hash_password("no such account")


def check_password(password: str, record: str | None) -> bool:
    """True when `password` matches the hash record; a missing or malformed record costs the same time and is
    False, so a sign-in form does not tell which names exist."""
    secret = password.encode("utf-8", "surrogatepass")
    if record and record.startswith(LEGACY + "$"):
        return _check_legacy(secret, record)
    try:
        return _HASHER.verify(record or _dummy(), secret) and record is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_legacy(secret: bytes, record: str) -> bool:
    """A PBKDF2-SHA256 record made before Argon2 (`pbkdf2_sha256$<iterations>$<salt>$<hash>`)."""
    try:
        _, rounds, salt_text, digest_text = record.split("$")
        iterations = int(rounds)
        if not 1 <= iterations <= MAX_ITERATIONS:
            return False
        salt, expected = base64.b64decode(salt_text, validate=True), base64.b64decode(digest_text, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", secret, salt, iterations), expected)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _token_record(token: str) -> str:
    """Tokens are long and random, so one fast hash is enough, and lets a token name its account at once."""
    return "sha256$" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# --- the file -------------------------------------------------------------------------------

def _file_problem(message: str, path: Path) -> ProblemError:
    return ProblemError([Problem("WB1002", message, file=str(path), line=1, column=1)])


def load_accounts(path: Path | None = None) -> list[Account]:
    """Every account in the file; [] when there is no file. ProblemError (WB1002) when it cannot be trusted."""
    path = Path(path) if path is not None else users_file()
    try:
        raw = read_regular(path, MAX_USERS_BYTES)
        if len(raw) > MAX_USERS_BYTES:
            raise _file_problem(f"The accounts file is over {MAX_USERS_BYTES:,} bytes; it is not an accounts file.",
                                path)
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=unique_keys)
    except NotAFile as exc:
        raise _file_problem(f"The accounts file cannot be trusted: {exc}. Nobody can sign in until it is a plain "
                            "file again.", path) from None
    except FileNotFoundError:
        if required_marker(path).exists():
            raise _file_problem(f"The accounts file {path} is gone, but accounts are required here: nobody can "
                                "sign in until it is restored from a backup or recreated with `workbench user "
                                "add`.", path) from None
        return []
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _file_problem(f"The accounts file cannot be read: {getattr(exc, 'strerror', None) or exc}. Nobody can "
                            "sign in until it is restored or recreated with `workbench user add`.", path) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        raise _file_problem("The accounts file should be a JSON object with a list of 'users'.", path)
    accounts = []
    for number, item in enumerate(users, start=1):
        try:
            accounts.append(_account(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise _file_problem(f"Account {number} in the accounts file is not valid ({exc}).", path) from None
    return accounts



def _account(item: Any) -> Account:
    if not isinstance(item, dict):
        raise TypeError("not an object")
    name, roles, password, email = item["name"], item["roles"], item.get("password"), item.get("email")
    tokens = item.get("tokens") or []
    if not isinstance(name, str) or name_problem(name):
        raise ValueError(f"name {name!r}")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise ValueError("tokens must be a list of hash records")
    if not isinstance(roles, list) or not roles or any(role not in ROLES for role in roles):
        raise ValueError(f"roles must be a non-empty list of {', '.join(ROLES)}")
    if password is not None and not isinstance(password, str):
        raise TypeError("password must be a hash record")
    if email is not None and not (isinstance(email, str) and _EMAIL.match(email)):
        raise ValueError(f"email {email!r}")
    return Account(clean_name(name), tuple(dict.fromkeys(roles)), password, email, tuple(tokens))


def save_accounts(accounts: Iterable[Account], path: Path | None = None) -> None:
    """Write the whole file atomically with mode 0600 (only the owner may read the hashes)."""
    path = _folder(path)
    text = json.dumps({"users": [a.to_dict() for a in accounts]}, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, text.encode("utf-8"), mode=0o600)
    marker = required_marker(path)
    if not marker.exists():
        atomic_write(marker, b"Accounts are required here: a missing accounts file refuses every sign-in.\n",
                     mode=0o600)


def _folder(path: Path | None) -> Path:
    """The accounts file's path, its folder made first readable by the owner only."""
    path = Path(path) if path is not None else users_file()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    return path


# --- changes ----------------------------------------------------------------------------------

def same_name(a: str, b: str) -> bool:
    """As the release gate compares people: case, spacing and Unicode forms do not make a second person."""
    return same_person(a, b)


def _invalid(message: str) -> ProblemError:
    return ProblemError([Problem("WB1003", message)])


def confirmed(password: str, again: str) -> str:
    """The password typed twice, when both are the same; WB1003 when they differ (a typo would lock someone out,
    or lock a signing key with a password nobody knows)."""
    if password != again:
        raise _invalid("The two passwords differ; type the same password twice. Nothing was changed.")
    return password


def add_account(name: str, roles: Iterable[str], password: str | None, *, email: str | None = None,
                replace: bool = False, first: bool = False, path: Path | None = None) -> Account:
    """Add (or with `replace`, replace) an account; ProblemError (WB1003, WB1004) says what is wrong. A replaced
    account starts with no personal tokens: a token made before (perhaps by whoever lost the password) no longer
    signs in. With `first`, refused (WB1004) unless this is the first account ever made here, checked under the
    file's lock, so two people opening a new install at once cannot both become its first administrator. Who may
    add and replace accounts is access.add_person's business."""
    roles = tuple(dict.fromkeys(roles))
    if problem := check_name(name):
        raise ProblemError([problem])
    unknown = [role for role in roles if role not in ROLES]
    if not roles or unknown:
        raise _invalid(f"Unknown role {', '.join(unknown)}; roles are {', '.join(ROLES)}." if unknown
                       else f"Give at least one role: {', '.join(ROLES)}.")
    if email is not None and not _EMAIL.match(email):
        raise _invalid(f"'{email}' is not an email address.")
    if password is None and email is None:
        raise _invalid("Give a password, or an email for sign-in through the identity provider.")
    if password is not None and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _invalid(f"The password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long.")
    account = Account(clean_name(name), roles, hash_password(password) if password is not None else None, email)
    path = _folder(path)
    with locked(path):
        accounts = load_accounts(path)
        if first and (accounts or accounts_required(path)):
            raise ProblemError([Problem("WB1004", "Accounts were made here meanwhile: an administrator adds the "
                                        "others. Sign in instead.")])
        kept = [a for a in accounts if not same_name(a.name, name)]
        similar = look_alike(name, [a.name for a in accounts])
        if similar is not None:
            raise ProblemError([Problem("WB1007", f"'{account.name}' could pass for the account '{similar}' (letters "
                                        "drawn alike); choose a name nobody could mistake for it.")])
        if len(kept) < len(accounts) and not replace:
            raise ProblemError([Problem("WB1004", f"There is already an account called '{account.name}'; "
                                        "remove it first, or replace it.")])
        if email is not None and any(a.email and a.email.casefold() == email.casefold() for a in kept):
            raise ProblemError([Problem("WB1004", f"Another account already has the email {email}.")])
        _keeps_an_administrator(accounts, [*kept, account], account.name)
        save_accounts([*kept, account], path)
    return account


def _keeps_an_administrator(before: list[Account], after: list[Account], name: str) -> None:
    """Refuse (WB1004) a change that would leave no administrator where there was one: nobody could then add,
    replace or remove an account again, nor revoke a key."""
    if any("admin" in a.roles for a in before) and not any("admin" in a.roles for a in after):
        raise ProblemError([Problem("WB1004", f"{clean_name(name)} is the last administrator: make someone else "
                                    "an administrator first, or nobody could manage accounts again.")])


def remove_account(name: str, *, path: Path | None = None) -> Account:
    path = _folder(path)
    with locked(path):
        accounts = load_accounts(path)
        found = find_account(accounts, name)
        if found is None:
            raise ProblemError([Problem("WB1004", f"There is no account called '{clean_name(name)}'.")])
        _keeps_an_administrator(accounts, [a for a in accounts if a is not found], found.name)
        save_accounts([a for a in accounts if a is not found], path)
    return found


def find_account(accounts: Iterable[Account], name: str) -> Account | None:
    return next((a for a in accounts if same_name(a.name, name)), None)


def find_by_email(accounts: Iterable[Account], email: str | None) -> Account | None:
    if not email:
        return None
    return next((a for a in accounts if a.email and a.email.casefold() == email.casefold()), None)


def authenticate(name: str, password: str, *, path: Path | None = None) -> Account:
    """The account whose name and password these are; ProblemError (WB1005) otherwise, the same for an unknown
    name as for a wrong password, and after the same work. After MAX_FAILURES failures in WINDOW seconds the
    account waits (WB1006), whatever is typed, so a password cannot be guessed by trying. Each try is counted as a
    failure before its password is checked, in one step under a lock, so guesses sent all at once get no more
    checks between them than one after another; a right password then clears the count."""
    path = Path(path) if path is not None else users_file()
    account = find_account(load_accounts(path), name)
    _reserve_attempt(path, name_key(name))
    if check_password(password, account.password if account else None) and account is not None:
        _forget_failures(path, name_key(name))
        return account
    raise ProblemError([Problem("WB1005", "The name or the password is not right.")])


def authenticate_token(token: str, *, path: Path | None = None) -> Account:
    """The account a personal token belongs to; WB1005 otherwise."""
    path = Path(path) if path is not None else users_file()
    record = _token_record(token)
    found = next((a for a in load_accounts(path) if any(hmac.compare_digest(record, t) for t in a.tokens)), None)
    if found is None:
        raise ProblemError([Problem("WB1005", "That token is not valid (it may have been revoked).")])
    return found


def add_token(name: str, *, path: Path | None = None) -> str:
    """A new personal token for `name`, shown once; only its hash is kept."""
    path = _folder(path)
    token = new_token()
    with locked(path):
        accounts = load_accounts(path)
        found = find_account(accounts, name)
        if found is None:
            raise ProblemError([Problem("WB1004", f"There is no account called '{clean_name(name)}'.")])
        updated = Account(found.name, found.roles, found.password, found.email, (*found.tokens, _token_record(token)))
        save_accounts([updated if a is found else a for a in accounts], path)
    return token


def session_expired(last_active: float | None, now: float | None = None) -> bool:
    """Whether a session last active at `last_active` (time.time()) has been idle past IDLE_TIMEOUT."""
    return last_active is not None and (now if now is not None else time.time()) - last_active > IDLE_TIMEOUT


# --- counting failed sign-ins ---------------------------------------------------------------------

def _attempts_file(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".attempts")


def _failures(path: Path) -> dict[str, list[float]]:
    try:
        data = json.loads(read_regular(_attempts_file(path), MAX_USERS_BYTES).decode("utf-8"))
        return {str(k): [float(t) for t in v] for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _recent(times: list[float]) -> list[float]:
    now = time.time()
    return [t for t in times if now - t < WINDOW]


def _reserve_attempt(path: Path, key: str) -> None:
    """Refuse (WB1006) when `key` has MAX_FAILURES recent failures; otherwise count this attempt as one, read and
    written under the attempts file's lock."""
    try:
        with locked(_attempts_file(path)):
            failures = {k: kept for k, v in _failures(path).items() if (kept := _recent(v))}  # old names go
            recent = failures.get(key, [])
            if len(recent) < MAX_FAILURES:
                failures[key] = [*recent, time.time()]
                atomic_write(_attempts_file(path), json.dumps(failures).encode("utf-8"), mode=0o600)
    except OSError:
        recent = _recent(_failures(path).get(key, []))  # the count is a brake: a read-only disk still signs in
    if len(recent) >= MAX_FAILURES:
        wait = int(WINDOW - (time.time() - recent[-MAX_FAILURES])) // 60 + 1
        raise ProblemError([Problem("WB1006", f"Too many failed sign-ins for this name: try again in {wait} "
                                    "minutes, or ask whoever runs the workbench to reset the password.")])


def _forget_failures(path: Path, key: str) -> None:
    if key in _failures(path):
        try:
            with locked(_attempts_file(path)):
                failures = _failures(path)
                failures.pop(key, None)
                atomic_write(_attempts_file(path), json.dumps(failures).encode("utf-8"), mode=0o600)
        except OSError:
            pass
