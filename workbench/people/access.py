"""Who may do what: each role's actions, checked before every change, with the signed-in person as the actor.

The UI and the CLI call these guarded functions, never the history or the release functions directly, so that
a viewer's click cannot save, a QA clinician cannot change a rule, and every commit names the person who
signed in rather than a name typed into a box. The release gate still refuses an approver who is the author,
and approving or releasing needs the person's own signing key, unlocked for that one action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content.authoring import AuthoringError, new_ruleset, with_vignette
from ..content.model import RULESET_ID_PATTERN, Ruleset
from ..content.validate import validate_vignettes_text
from ..files import SaveConflict, read_versioned, version_of
from ..names import check as check_name
from ..names import clean_name, look_alike, same_person
from ..problems import Problem, ProblemError
from ..publish import lifecycle
from ..publish.repository import Person, Repository, message
from ..publish.signing import Keyring, SigningKey, load_key, load_keyring, make_key, revoke
from ..publish.sync import SyncOutcome, sync, team_folder
from ..run.replay import ReplayReport, replay_ruleset
from . import accounts
from .accounts import ROLES, Account

ACTIONS = ("view", "edit_ruleset", "write_vignettes", "replay", "submit", "approve", "reject", "release",
           "manage_people")
PERMISSIONS: dict[str, frozenset[str]] = {
    "author": frozenset({"view", "edit_ruleset", "write_vignettes", "replay", "submit"}),
    "reviewer": frozenset({"view", "replay", "approve", "reject", "release"}),
    "qa": frozenset({"view", "replay", "write_vignettes"}),
    "viewer": frozenset({"view"}),
    "admin": frozenset({"view", "manage_people"}),
}
_ROLE_WORDS = {"author": "an author", "reviewer": "a reviewer", "qa": "a QA clinician", "viewer": "a viewer",
               "admin": "an administrator"}
_ACTION_WORDS = {"view": "view rulesets", "edit_ruleset": "edit rulesets", "write_vignettes": "write vignettes",
                 "replay": "replay vignettes", "submit": "submit a draft for review", "approve": "approve releases",
                 "reject": "reject submissions", "release": "release versions",
                 "manage_people": "add, replace or remove accounts and revoke signing keys"}
_RULESET_ID = re.compile(RULESET_ID_PATTERN)


@dataclass(frozen=True)
class Identity:
    """The person using the workbench now. `signed_in` is False for the single-user install without accounts,
    where the name is whatever the person types (there is nobody to check it against)."""

    name: str
    roles: frozenset[str]
    signed_in: bool = True
    email: str | None = None

    @property
    def person(self) -> Person:
        """Who the history records: this name, and the account's email."""
        return Person(self.name, self.email or "", self.signed_in)

    def can(self, action: str) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
        return any(action in PERMISSIONS.get(role, frozenset()) for role in self.roles)

    def describe(self) -> str:
        """'Dr Ada Author (author, qa)': for a sidebar line."""
        return f"{self.name} ({', '.join(r for r in ROLES if r in self.roles) or 'no role'})"


def identity_of(account: Account) -> Identity:
    return Identity(account.name, frozenset(account.roles), email=account.email)


def local_identity(name: str = "local") -> Identity:
    """Everyone is everything on a machine with no accounts; the release gate still needs two names, so a typed
    name is checked as every name is (names.check: WB1003, WB1007)."""
    if problem := check_name(name):
        raise ProblemError([problem])
    return Identity(clean_name(name), frozenset(ROLES), signed_in=False)


class AccessDenied(ProblemError):
    """The identity's roles do not allow the action (WB1001); nothing was done."""


def require(identity: Identity | None, action: str) -> Identity:
    """The identity, if it may do `action`; AccessDenied, saying who could, if not."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
    if identity is None:
        raise AccessDenied([Problem("WB1001", f"Sign in to {_ACTION_WORDS[action]}.")])
    if identity.can(action):
        return identity
    held = [_ROLE_WORDS[r] for r in ROLES if r in identity.roles]
    who = " and ".join(held) if held else "signed in without a role"
    able = [_ROLE_WORDS[r] for r in ROLES if action in PERMISSIONS[r]]
    raise AccessDenied([Problem("WB1001", f"{identity.name} is {who} and cannot {_ACTION_WORDS[action]}; "
                                f"ask {' or '.join(able)}.")])


# --- people ----------------------------------------------------------------------------------

def add_person(identity: Identity | None, name: str, roles: list[str], password: str | None, *,
               email: str | None = None, replace: bool = False, users: Path | None = None,
               keyring_path: Path | None = None) -> accounts.Account:
    """Add (or replace) an account. Once any account exists only an administrator may (WB1001); the very first
    account is made an administrator too, so someone can add the others. A name that could pass for an account
    or a key holder's is refused (WB1007)."""
    path = users if users is not None else accounts.users_file()
    existing = accounts.load_accounts(path)  # a damaged or lost file refuses everyone (WB1002)
    roles = list(dict.fromkeys(roles))
    first = not (existing or accounts.accounts_required(path))
    if not first:
        require(identity, "manage_people")
    elif "admin" not in roles:
        roles.append("admin")
    holders = [k.name for k in load_keyring(keyring_path, required=False).keys]
    if (similar := look_alike(name, holders)) is not None:
        raise ProblemError([Problem("WB1007", f"'{clean_name(name)}' could pass for '{similar}', whose signing key "
                                    "the keyring trusts; choose a name nobody could mistake for it.")])
    return accounts.add_account(name, roles, password, email=email, replace=replace, first=first, path=path)


def create_first_admin(name: str, password: str, again: str, other_roles: Iterable[str] = (), *,
                       users: Path | None = None, keyring_path: Path | None = None,
                       folder: Path | None = None) -> accounts.Account:
    """The first account of an install, made by whoever opens it first (the browser's "Create the first admin
    account"): an administrator, with `other_roles` too (the person usually also writes or reviews rules), the
    password typed twice. The same path and checks as `workbench user add` (add_person): names.check, look-alikes,
    a password of 8 or more characters. Refused (WB1004) once any account exists or ever existed here, and
    (WB1002) in a rulesets `folder` whose history shows signed-in people, so deleting the accounts file and its
    marker does not let the next visitor make themselves administrator."""
    if accounts_expected(folder):
        raise AccessDenied([Problem("WB1002", f"The history of {folder} shows actions by signed-in people, so "
                                    "accounts existed here: restore the accounts file from a backup rather than "
                                    "start again.")])
    path = users if users is not None else accounts.users_file()
    if accounts.load_accounts(path) or accounts.accounts_required(path):
        raise ProblemError([Problem("WB1004", "There are accounts here already: an administrator adds the others. "
                                    "Sign in instead.")])
    return add_person(None, name, ["admin", *other_roles], accounts.confirmed(password, again), users=path,
                      keyring_path=keyring_path)


def confirm(identity: Identity | None, password: str | None, action: str, users: Path | None = None) -> Identity:
    """`identity`, allowed to do `action` and, where accounts are required, proved again by their password (a
    step up, as for a signature: a workstation left signed in does not let a passer-by add people or sign).
    Its roles are read afresh from the accounts file."""
    identity = require(identity, action)
    if not accounts.accounts_required(users):
        return identity
    if not identity.signed_in:
        raise AccessDenied([Problem("WB1005", "Accounts are required here: sign in first.")])
    return require(identity_of(accounts.authenticate(identity.name, password or "", path=users)), action)


def remove_person(identity: Identity | None, name: str, users: Path | None = None) -> accounts.Account:
    """Remove an account (an administrator's action): it can no longer sign in, and its tokens go with it."""
    require(identity, "manage_people")
    return accounts.remove_account(name, path=users)


def revoke_key(identity: Identity | None, name: str, keyring_path: Path | None = None) -> list[Any]:
    """Take a person's keys out of the keyring (an administrator's action where accounts exist)."""
    require(identity, "manage_people")
    return revoke(name, keyring_path)


@dataclass(frozen=True)
class PersonRow:
    """One account as an administrator sees it: never a hash; the signing key the keyring trusts for them."""

    name: str
    roles: tuple[str, ...]
    password: bool
    email: str | None
    tokens: int
    key_id: str | None


def people(identity: Identity | None, users: Path | None = None,
           keyring_path: Path | None = None) -> list[PersonRow]:
    """Every account with its roles and signing key, for an administrator."""
    require(identity, "manage_people")
    ring = load_keyring(keyring_path, required=False)
    return [PersonRow(a.name, a.roles, a.password is not None, a.email, len(a.tokens),
                      held.key_id if (held := ring.held(a.name)) else None)
            for a in accounts.load_accounts(users)]


def make_own_key(identity: Identity | None, password: str | None, *, users: Path | None = None,
                 folder: Path | None = None, keyring_path: Path | None = None) -> tuple[Path, SigningKey, Keyring]:
    """`workbench key create` and the People page: the person's own signing key, for someone who may approve.
    Where accounts are required the password is checked again first and locks the key (encrypted; never in the
    clear), so approve and release open it with the password they ask for. Without accounts an empty password
    leaves the key unlocked (the CLI asks for --no-passphrase). One key per person (signing.make_key): refused
    (WB1004) while the keyring trusts another for this name, until an administrator revokes it."""
    identity = confirm(identity, password, "approve", users)
    return make_key(identity.name, password or None, folder, keyring_path)


def accounts_expected(folder: Path | None) -> bool:
    """Whether a rulesets folder's history shows actions by signed-in people: then accounts are required there
    even if the accounts file and its marker were both deleted (typed names stay refused)."""
    if folder is None:
        return False
    try:
        repository = Repository.open(team_folder(Path(folder)), create=False)
        return any(commit.record.get("signed_in") is True for commit in repository.log())
    except ProblemError:
        return False


# --- saving ---------------------------------------------------------------------------------

def save_ruleset(identity: Identity | None, path: Path, text: str, expected_version: str | None,
                 reason: str = "") -> str:
    """Save a ruleset's `ruleset.yaml` for someone who may edit rulesets; the new version token.

    Raises AccessDenied, ProblemError (WB1020 the disk refused, WB1021 the folder or file is gone, WB1022 not a
    ruleset file) or store.SaveConflict (someone else saved first; their text is on it). The file on disk is
    unchanged whenever it raises."""
    require(identity, "edit_ruleset")
    path = Path(path)
    if path.name != lifecycle.RULESET_FILE:
        raise _misplaced(path, f"a ruleset is saved as {lifecycle.RULESET_FILE} in its folder")
    folder = path.parent
    if expected_version is None and not folder.exists():  # a new ruleset: its folder is made in the root
        if not folder.parent.is_dir() or not _RULESET_ID.fullmatch(folder.name):
            raise _misplaced(path, "a new ruleset's folder is named by its id, inside the rulesets folder")
    else:
        _in_place(path, folder, expected_version)
    return _save(identity, {path: (text, expected_version)}, reason or f"Edit {folder.name}")


def create_ruleset(identity: Identity | None, root: Path, ruleset_id: str, title: str) -> Path:
    """Make a new ruleset folder in `root` from the template, for someone who may edit rulesets; the folder.

    The id must be a slug (no `/`, `..`, upper case), which is what keeps the folder directly inside the root.
    Raises AccessDenied, ProblemError (WB013 not a slug, WB010 no title, WB101 the id is taken, WB1021 the root
    is gone, WB1020 the disk refused) or store.SaveConflict (someone created the same id at the same moment)."""
    require(identity, "edit_ruleset")
    if not _RULESET_ID.fullmatch(ruleset_id):
        raise ProblemError([Problem("WB013", f"'{ruleset_id}' cannot be a ruleset id: use 2 to 64 lower-case letters, "
                                    "digits or '-', starting with a letter or digit (it names a folder and a web "
                                    "address).")])
    try:
        files = new_ruleset(ruleset_id, title)
    except AuthoringError as exc:
        raise ProblemError([Problem("WB010", str(exc))]) from None
    root = Path(root)
    if not root.is_dir():
        raise ProblemError([Problem("WB1021", f"The rulesets folder {root} is gone: it was deleted or moved. "
                                    "Nothing was created.")])
    folder = root / ruleset_id
    if folder.exists() or folder.is_symlink():
        raise ProblemError([Problem("WB101", f"There is already a ruleset folder called '{ruleset_id}'; choose "
                                    "another id.")])
    _save(identity, {folder / name: (text, None) for name, text in files.items()}, f"Create ruleset {ruleset_id}: "
          f"{title}")
    return folder


def save_vignettes(identity: Identity | None, path: Path, text: str, expected_version: str | None,
                   reason: str = "") -> str:
    """Save a file under a ruleset's `vignettes/` for someone who may write vignettes (authors and QA); as
    save_ruleset, and never anywhere else, so a QA clinician's save cannot touch the rules."""
    require(identity, "write_vignettes")
    path = Path(path)
    if path.parent.name != "vignettes" or path.suffix not in (".yaml", ".yml"):
        raise _misplaced(path, "vignettes are saved as .yaml files in the ruleset's vignettes/ folder")
    folder = path.parent.parent
    _in_place(path, folder, expected_version)
    return _save(identity, {path: (text, expected_version)}, reason or f"Edit the vignettes of {folder.name}")


def add_vignette(identity: Identity | None, path: Path, ruleset: Ruleset, vignette: Mapping[str, Any],
                 replace: str | None = None, reason: str = "") -> str:
    """Add a vignette to its file (or replace one, by id) and save it, for authors and QA; the new version.

    Refused (ProblemError) when the edit cannot be made or would bring errors the file did not have, so a
    saved vignette always replays; store.SaveConflict when the file changed since it was read."""
    require(identity, "write_vignettes")
    path = Path(path)
    text, version = read_versioned(path)
    try:
        new_text = with_vignette(text, ruleset.id, vignette, replace)
    except AuthoringError as exc:
        raise ProblemError([Problem("WB503", str(exc), file=str(path))]) from None

    def errors(content: str) -> list[Problem]:
        return [p for p in validate_vignettes_text(content, str(path), ruleset).problems if p.is_error]

    before = set() if text is None else {(p.code, p.message) for p in errors(text)}
    new = [p for p in errors(new_text) if (p.code, p.message) not in before]
    if new:
        raise ProblemError(new)
    return save_vignettes(identity, path, new_text, version,
                          reason or f"{'Change' if replace else 'Add'} vignette {vignette.get('id')}")


def _in_place(path: Path, folder: Path, expected_version: str | None) -> None:
    """The ruleset folder still exists, the file (when it should) too, and neither leads out of the folder."""
    if not folder.is_dir():
        raise ProblemError([Problem("WB1021", f"The ruleset folder {folder} is gone: it was deleted or moved while "
                                    "you were working. Nothing was saved; keep a copy of your text.",
                                    file=str(path))])
    if expected_version is not None and not path.exists():
        raise ProblemError([Problem("WB1021", f"{path.name} was deleted or moved since you opened it. Nothing was "
                                    "saved; keep a copy of your text.", file=str(path))])
    if path.is_symlink() or not (path.parent.resolve() / path.name).is_relative_to(folder.resolve()):
        raise _misplaced(path, "a linked file or folder would lead outside the ruleset's folder")


def _misplaced(path: Path, why: str) -> ProblemError:
    return ProblemError([Problem("WB1022", f"{path} cannot be saved here: {why}.", file=str(path))])


def _save(identity: Identity | None, files: Mapping[Path, tuple[str, str | None]], reason: str) -> str:
    """One commit by the signed-in person writing `files` (path -> (text, the version it was read at)); the
    version token of the last. SaveConflict when any file changed since it was read: nothing is written."""
    assert identity is not None
    paths = list(files)
    folder = paths[0].parent if paths[0].name == lifecycle.RULESET_FILE else paths[0].parent.parent
    root = folder.parent
    repository = Repository.open(root)
    changes: dict[str, bytes] = {}
    with repository.locked():
        for path, (text, expected) in files.items():
            current, version = read_versioned(path)
            if version != expected:
                raise SaveConflict(path, current)
            changes[path.resolve().relative_to(repository.root).as_posix()] = text.encode("utf-8")
        names = ", ".join(sorted(changes))
        repository.save(changes, message(f"Save {names}", reason, {"action": "save", "ruleset": folder.name}),
                        identity.person)
    return version_of(text.encode("utf-8")) or ""


# --- replay, review and release -------------------------------------------------------------

def replay(identity: Identity | None, ruleset_file: Path, vignette_files: list[Path] | None = None) -> ReplayReport:
    require(identity, "replay")
    return replay_ruleset(Path(ruleset_file), vignette_files)


def identify(name: str | None, action: str, *, password: str | None = None, token: str | None = None,
             users: Path | None = None, folder: Path | None = None) -> Identity:
    """Who is acting from the command line, allowed to do `action`.

    Where accounts are required, the person proves it with their password or a personal token, and a missing
    or damaged accounts file refuses everyone (fails closed). Only on an install that never had accounts is
    a typed name taken as it is, and then only a name that cannot pass for someone else's, and not in a rulesets
    `folder` whose history shows signed-in people (their accounts file and its marker were deleted)."""
    if not accounts.accounts_required(users) and accounts_expected(folder):
        path = users if users is not None else accounts.users_file()
        raise AccessDenied([Problem("WB1002", f"The history of {folder} shows actions by signed-in people, but "
                                    f"there is no accounts file at {path} (nor its marker): typed names are not "
                                    "taken here. Restore the accounts file from a backup.")])
    if accounts.accounts_required(users):
        if token:
            account = accounts.authenticate_token(token, path=users)
            if name and not same_person(account.name, name):
                raise AccessDenied([Problem("WB1005", f"That token is {account.name}'s, not {name}'s.")])
        elif password is not None:
            account = accounts.authenticate(name or "", password, path=users)
        else:
            raise AccessDenied([Problem("WB1005", "Accounts are required here: prove who you are with "
                                        "--password-stdin (your password on standard input) or --token.")])
        return require(identity_of(account), action)
    return require(local_identity(str(name or "")), action)


def keyring(path: Path | None = None) -> Keyring:
    """The keyring this install trusts (a missing one trusts nobody; a damaged one refuses everything)."""
    return load_keyring(path, required=False)


def submit(identity: Identity | None, ruleset_dir: Path, reason: str = "",
           trusted: Keyring | None = None) -> lifecycle.Outcome:
    """Submit the ruleset as committed for review, recorded as submitted by the signed-in author."""
    person = require(identity, "submit").person
    repository, ruleset_id = lifecycle.open_ruleset(ruleset_dir)
    return lifecycle.submit(repository, ruleset_id, person, reason, trusted or keyring())


def approve(identity: Identity | None, ruleset_dir: Path, reason: str, key: SigningKey,
            trusted: Keyring | None = None, unproved: Mapping[str, str] | None = None) -> lifecycle.Outcome:
    """Approve as the signed-in reviewer, signed with their key; the gate refuses the author (WB704). `unproved`
    says why each safety promise verification left unproved may be released (WB715 without it)."""
    person = require(identity, "approve").person
    repository, ruleset_id = lifecycle.open_ruleset(ruleset_dir)
    return lifecycle.approve(repository, ruleset_id, person, reason, key, trusted or keyring(), dict(unproved or {}))


def reject(identity: Identity | None, ruleset_dir: Path, reason: str,
           trusted: Keyring | None = None) -> lifecycle.Outcome:
    person = require(identity, "reject").person
    repository, ruleset_id = lifecycle.open_ruleset(ruleset_dir)
    return lifecycle.reject(repository, ruleset_id, person, reason, trusted or keyring())


def release(identity: Identity | None, ruleset_dir: Path, reason: str, key: SigningKey,
            trusted: Keyring | None = None) -> lifecycle.Outcome:
    """Release as the signed-in reviewer, who must be the one who approved (WB709), signed with their key."""
    person = require(identity, "release").person
    repository, ruleset_id = lifecycle.open_ruleset(ruleset_dir)
    return lifecycle.release(repository, ruleset_id, person, reason, key, trusted or keyring())


def unlock_key(identity: Identity | None, password: str | None, action: str, folder: Path | None = None,
               users: Path | None = None) -> SigningKey:
    """The signed-in person's signing key, for one approval or release (`action`, which their role must allow).
    Where accounts are required the password is checked again first (a step up, as for any signature), and it
    also opens the key."""
    identity = confirm(identity, password, action, users)
    return load_key(identity.name, password or None, folder)


REVIEW_STEPS = ("submit", "approve", "reject", "release")
_STEP_WORDS = {"submit": "Submitting for review", "approve": "Approving", "reject": "Sending back",
               "release": "Releasing"}


def review_needs_account(identity: Identity | None, action: str) -> Problem | None:
    """Why the pages do not take review step `action` from `identity` (WB1008), or None when they do.

    Each review step records a person the two-person rule compares: the author who submitted, the reviewer who
    approved and signed, who released. Without accounts a name is only typed, so one clinician could submit under
    a colleague's name and approve their own change, or sign as someone they are not. The pages therefore take
    these steps only from a signed-in person. (The CLI still takes a typed name on an install that never had
    accounts, where one clinician tries the gate alone from a terminal.)"""
    if action not in REVIEW_STEPS or (identity is not None and identity.signed_in):
        return None
    return Problem("WB1008", f"{_STEP_WORDS[action]} needs accounts: every review step records who took it, and "
                   "the two-person rule compares signed-in people, never typed names. There are no accounts here "
                   "yet.")


def require_signed_in(identity: Identity | None, action: str) -> Identity:
    """`identity` if it may take review step `action` in the pages (review_needs_account); AccessDenied if not."""
    if (problem := review_needs_account(identity, action)) is not None:
        raise AccessDenied([problem])
    return require(identity, action)


def sync_team(identity: Identity | None, folder: Path, resolve: Mapping[str, str] | None = None) -> SyncOutcome:
    """Join the rulesets folder's history with the team remote's, as `identity` (see publish/sync.py).

    Anyone who may view may bring in and send what is already in the history; keeping one side of a conflict
    changes a file, so it needs the right to save that file (an author for rules, QA or an author for
    vignettes)."""
    identity = require(identity, "view")
    for path in resolve or {}:
        require(identity, "edit_ruleset" if Path(path).name == lifecycle.RULESET_FILE else "write_vignettes")
    repository = Repository.open(team_folder(Path(folder)), create=False)
    return sync(repository, identity.person, resolve=dict(resolve or {}))  # type: ignore[arg-type]
