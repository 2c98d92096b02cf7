"""Local accounts for a single-machine install: who may sign in, and with which roles.

The accounts live in one JSON file (`.workbench/users.json` at the repository root, or $WORKBENCH_USERS),
written atomically with mode 0600. Passwords are never stored: only a PBKDF2-HMAC-SHA256 hash with a
random salt per account, compared in constant time. The file is the whole truth: remove an account and the
next page load no longer knows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .problems import Problem, ProblemError
from .store import atomic_write, locked

USERS_ENV = "WORKBENCH_USERS"
ROLES = ("author", "reviewer", "qa", "viewer")
ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.2 s a check
MAX_ITERATIONS = 10_000_000  # a doctored file must not make one sign-in take minutes
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_NAME = 100
MAX_USERS_BYTES = 1_000_000
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Account:
    """One person: the name every audit entry records, their roles, and how they prove who they are."""

    name: str
    roles: tuple[str, ...]
    password: str | None = None  # the hash record; None: signs in only through the identity provider
    email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "email": self.email, "password": self.password}

    def public(self) -> dict[str, Any]:
        """What `workbench user list` shows: never the hash."""
        return {"name": self.name, "roles": list(self.roles), "email": self.email,
                "password": self.password is not None}


def default_users_file() -> Path:
    return Path(__file__).resolve().parents[1] / ".workbench" / "users.json"


def users_file() -> Path:
    """$WORKBENCH_USERS, or `.workbench/users.json` at the repository root."""
    configured = os.environ.get(USERS_ENV)
    return Path(configured).expanduser() if configured else default_users_file()


# --- passwords ------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hash>`: the iterations travel with the hash so they can be raised."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


_DUMMY = hash_password("no such account", salt=b"\0" * 16)


def check_password(password: str, record: str | None) -> bool:
    """True when `password` matches the hash record; a missing or malformed record costs the same time and is
    False, so a sign-in form does not tell which names exist."""
    try:
        algorithm, rounds, salt_text, digest_text = (record or _DUMMY).split("$")
        iterations = int(rounds)
        salt, expected = base64.b64decode(salt_text, validate=True), base64.b64decode(digest_text, validate=True)
        if algorithm != ALGORITHM or not 1 <= iterations <= MAX_ITERATIONS:
            raise ValueError(algorithm)
    except ValueError:
        algorithm, rounds, salt_text, digest_text = _DUMMY.split("$")
        iterations, salt, expected, record = int(rounds), base64.b64decode(salt_text), b"", None
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, iterations)
    return hmac.compare_digest(actual, expected) and record is not None


# --- the file -------------------------------------------------------------------------------

def _file_problem(message: str, path: Path) -> ProblemError:
    return ProblemError([Problem("WB1002", message, file=str(path), line=1, column=1)])


def load_accounts(path: Path | None = None) -> list[Account]:
    """Every account in the file; [] when there is no file. ProblemError (WB1002) when it cannot be trusted."""
    path = Path(path) if path is not None else users_file()
    try:
        if path.stat().st_size > MAX_USERS_BYTES:
            raise _file_problem(f"The accounts file is over {MAX_USERS_BYTES:,} bytes; it is not an accounts file.",
                                path)
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
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
    if not isinstance(name, str) or name_problem(name):
        raise ValueError(f"name {name!r}")
    if not isinstance(roles, list) or not roles or any(role not in ROLES for role in roles):
        raise ValueError(f"roles must be a non-empty list of {', '.join(ROLES)}")
    if password is not None and not isinstance(password, str):
        raise TypeError("password must be a hash record")
    if email is not None and not (isinstance(email, str) and _EMAIL.match(email)):
        raise ValueError(f"email {email!r}")
    return Account(clean_name(name), tuple(dict.fromkeys(roles)), password, email)


def save_accounts(accounts: Iterable[Account], path: Path | None = None) -> None:
    """Write the whole file atomically with mode 0600 (only the owner may read the hashes)."""
    path = _folder(path)
    text = json.dumps({"users": [a.to_dict() for a in accounts]}, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, text.encode("utf-8"), mode=0o600)


def _folder(path: Path | None) -> Path:
    """The accounts file's path, its folder made first readable by the owner only."""
    path = Path(path) if path is not None else users_file()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    return path


# --- changes ----------------------------------------------------------------------------------

def clean_name(name: str) -> str:
    return " ".join(name.split())


def same_name(a: str, b: str) -> bool:
    """As the release gate compares people: case and spacing do not make a second person."""
    return clean_name(a).casefold() == clean_name(b).casefold()


def name_problem(name: str) -> str:
    """Why `name` cannot be an account's name; '' when it can."""
    cleaned = clean_name(name)
    if not cleaned:
        return "The name is empty."
    if len(cleaned) > MAX_NAME:
        return f"The name is longer than {MAX_NAME} characters."
    if _UNPRINTABLE.search(cleaned):
        return "The name holds control or invisible direction characters."
    return ""


def _invalid(message: str) -> ProblemError:
    return ProblemError([Problem("WB1003", message)])


def add_account(name: str, roles: Iterable[str], password: str | None, *, email: str | None = None,
                replace: bool = False, path: Path | None = None) -> Account:
    """Add (or with `replace`, replace) an account; ProblemError (WB1003, WB1004) says what is wrong."""
    roles = tuple(dict.fromkeys(roles))
    if problem := name_problem(name):
        raise _invalid(problem)
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
        kept = [a for a in accounts if not same_name(a.name, name)]
        if len(kept) < len(accounts) and not replace:
            raise ProblemError([Problem("WB1004", f"There is already an account called '{account.name}'; "
                                        "remove it first, or replace it.")])
        if email is not None and any(a.email and a.email.casefold() == email.casefold() for a in kept):
            raise ProblemError([Problem("WB1004", f"Another account already has the email {email}.")])
        save_accounts([*kept, account], path)
    return account


def remove_account(name: str, *, path: Path | None = None) -> Account:
    path = _folder(path)
    with locked(path):
        accounts = load_accounts(path)
        found = find_account(accounts, name)
        if found is None:
            raise ProblemError([Problem("WB1004", f"There is no account called '{clean_name(name)}'.")])
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
    name as for a wrong password, and after the same work."""
    account = find_account(load_accounts(path), name)
    if check_password(password, account.password if account else None) and account is not None:
        return account
    raise ProblemError([Problem("WB1005", "The name or the password is not right.")])
