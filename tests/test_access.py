"""Who may do what: each role allowed or refused each action through the guarded functions the UI calls, the
history naming the signed-in person, and local accounts with salted, slow password hashes.

All on copies of the shipped ruleset and accounts files under tmp_path.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRun, run_cli
from workbench.files import read_versioned
from workbench.people import access, accounts
from workbench.people.access import AccessDenied, Identity, local_identity
from workbench.problems import ProblemError
from workbench.publish import lifecycle
from workbench.publish.repository import Repository

# What the issue asks each role to be able to do; everything else is refused.
EXPECTED = {
    "author": {"view", "edit_ruleset", "write_vignettes", "replay", "submit"},
    "reviewer": {"view", "replay", "approve", "reject", "release"},
    "qa": {"view", "replay", "write_vignettes"},
    "viewer": {"view"},
}
ACTIONS = ["view", "edit_ruleset", "write_vignettes", "replay", "submit", "approve", "reject", "release"]
OTHER_AUTHOR = "Dr Olga Other"


def person(role: str) -> Identity:
    return Identity(f"Dr {role.title()} Person", frozenset({role}))


def codes(problems: list[Any]) -> set[str]:
    return {p.code for p in problems}


# --- each role, each action -----------------------------------------------------------------

def attempt(action: str, who: Identity, folder: Path, key_for: Callable[[str], Any]) -> Callable[[], Any]:
    """The guarded call for `action`, with the ruleset put in the state the action needs when it is allowed."""
    ruleset, vignettes = folder / "ruleset.yaml", folder / "vignettes" / "qa-extra.yaml"
    allowed = action in EXPECTED[next(iter(who.roles))]
    author = Identity(OTHER_AUTHOR, frozenset({"author"}))
    if action in ("approve", "reject", "release") and allowed:
        assert access.submit(author, folder, "for review").ok
        if action == "release":
            assert access.approve(who, folder, "checked", key_for(who.name)).ok
    text, version = read_versioned(ruleset)
    calls: dict[str, Callable[[], Any]] = {
        "view": lambda: access.require(who, "view"),
        "edit_ruleset": lambda: access.save_ruleset(who, ruleset, (text or "") + "# edited\n", version),
        "write_vignettes": lambda: access.save_vignettes(who, vignettes, "ruleset: upper-back-pain\nvignettes: []\n",
                                                         None),
        "replay": lambda: access.replay(who, ruleset),
        "submit": lambda: access.submit(who, folder, "ready"),
        "approve": lambda: access.approve(who, folder, "looks right", key_for(who.name)),
        "reject": lambda: access.reject(who, folder, "cite NG234"),
        "release": lambda: access.release(who, folder, "clinical sign-off", key_for(who.name)),
    }
    return calls[action]


def snapshot(folder: Path) -> dict[str, bytes]:
    """The folder's files and its history's branch: what a refused action must leave as it was."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
             if p.is_file() and not p.name.endswith(".lock")}
    git = folder.parent / ".git"
    return files | ({"HEAD": Repository(folder.parent).head().encode()} if git.is_dir() else {})


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_may_do_exactly_its_actions(role: str, action: str, v1_copy: Path, key_for: Any) -> None:
    who = person(role)
    call = attempt(action, who, v1_copy, key_for)
    before = snapshot(v1_copy)
    if action in EXPECTED[role]:
        assert who.can(action)
        result = call()
        if isinstance(result, lifecycle.Outcome):
            assert result.ok, result.problems
    else:
        assert not who.can(action)
        with pytest.raises(AccessDenied) as refused:
            call()
        assert codes(refused.value.problems) == {"WB1001"}
        assert snapshot(v1_copy) == before  # refused before anything was read for writing


@pytest.mark.parametrize(("role", "action", "message"), [
    ("viewer", "approve", "Dr Viewer Person is a viewer and cannot approve releases; ask a reviewer."),
    ("qa", "edit_ruleset", "Dr Qa Person is a QA clinician and cannot edit rulesets; ask an author."),
    ("reviewer", "write_vignettes", "Dr Reviewer Person is a reviewer and cannot write vignettes; ask an author or "
                                    "a QA clinician."),
    ("author", "release", "Dr Author Person is an author and cannot release versions; ask a reviewer."),
])
def test_a_refusal_says_who_the_person_is_and_whom_to_ask(role: str, action: str, message: str) -> None:
    with pytest.raises(AccessDenied) as refused:
        access.require(person(role), action)
    assert [p.message for p in refused.value.problems] == [message]


def test_nobody_signed_in_may_do_nothing() -> None:
    for action in ACTIONS:
        with pytest.raises(AccessDenied, match="Sign in"):
            access.require(None, action)


def test_several_roles_add_up_but_a_reviewer_never_approves_their_own_submission(v1_copy: Path, key_for: Any) -> None:
    both = Identity("Dr Ada Both", frozenset({"author", "reviewer"}))
    assert access.submit(both, v1_copy, "mine").ok
    refused = access.approve(both, v1_copy, "self-approval", key_for(both.name))
    assert not refused.ok and "WB704" in codes(refused.problems)
    assert access.approve(person("reviewer"), v1_copy, "", key_for(person("reviewer").name)).ok


def test_the_history_and_the_release_record_the_signed_in_names(v1_copy: Path, key_for: Any) -> None:
    author, reviewer = Identity("Dr Ada Author", frozenset({"author"}), email="ada@example.org"), Identity(
        "Dr Rex Reviewer", frozenset({"reviewer"}))
    assert access.submit(author, v1_copy, "new red flag").ok
    assert access.approve(reviewer, v1_copy, "checked", key_for(reviewer.name)).ok
    done = access.release(reviewer, v1_copy, "clinical sign-off", key_for(reviewer.name))
    assert done.ok and done.release is not None
    commits = Repository(v1_copy.parent).log(v1_copy.name)[:3]
    assert [(c.action, c.author, c.email) for c in commits] == [
        ("release", "Dr Rex Reviewer", "dr.rex.reviewer@workbench.invalid"),
        ("approve", "Dr Rex Reviewer", "dr.rex.reviewer@workbench.invalid"),
        ("submit", "Dr Ada Author", "ada@example.org")]
    assert (done.release.author, done.release.approver) == ("Dr Ada Author", "Dr Rex Reviewer")


def test_a_save_is_a_commit_by_the_signed_in_person_with_the_reason(v1_copy: Path) -> None:
    ruleset = v1_copy / "ruleset.yaml"
    text, version = read_versioned(ruleset)
    access.save_ruleset(person("author"), ruleset, (text or "") + "# NG234 wording\n", version, "cite NG234 1.3")
    last = Repository(v1_copy.parent).log(v1_copy.name)[0]
    assert (last.author, last.reason, last.paths) == ("Dr Author Person", "cite NG234 1.3",
                                                      ("upper-back-pain/ruleset.yaml",))


def test_the_local_identity_has_every_role_and_the_gate_still_needs_two_names(v1_copy: Path, key_for: Any) -> None:
    me = local_identity()
    assert not me.signed_in and all(me.can(action) for action in ACTIONS)
    assert access.submit(local_identity("Dr Solo"), v1_copy).ok
    assert "WB704" in codes(access.approve(local_identity("dr  solo"), v1_copy, "", key_for("Dr Solo")).problems)


# --- saves go only where the role allows ----------------------------------------------------

QA = Identity("Dr Quinn QA", frozenset({"qa"}))


@pytest.mark.parametrize("target", ["ruleset.yaml", "vignettes/../ruleset.yaml", "vignettes/x/../../ruleset.yaml",
                                    "vignettes/notes.txt", "review.json", "releases/9.9.9.json"])
def test_a_qa_clinician_cannot_write_anything_but_a_vignettes_file(target: str, v1_copy: Path) -> None:
    before = snapshot(v1_copy)
    with pytest.raises(ProblemError) as refused:
        access.save_vignettes(QA, v1_copy / target, "id: hijack\n", None)
    assert codes(refused.value.problems) == {"WB1022"}
    assert snapshot(v1_copy) == before


def test_a_linked_vignettes_folder_cannot_lead_a_save_outside_the_ruleset(v1_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (v1_copy / "vignettes").rename(v1_copy / "vignettes-real")
    (v1_copy / "vignettes").symlink_to(outside)
    with pytest.raises(ProblemError) as refused:
        access.save_vignettes(QA, v1_copy / "vignettes" / "new.yaml", "ruleset: upper-back-pain\n", None)
    assert codes(refused.value.problems) == {"WB1022"}
    assert not any(outside.iterdir())


def test_an_author_may_create_a_new_ruleset_folder_but_only_named_by_a_valid_id(tmp_path: Path) -> None:
    author = person("author")
    assert access.save_ruleset(author, tmp_path / "new-one" / "ruleset.yaml", "id: new-one\n", None)
    with pytest.raises(ProblemError, match="named by its id"):
        access.save_ruleset(author, tmp_path / "Bad_Name" / "ruleset.yaml", "x\n", None)


# --- passwords and the accounts file --------------------------------------------------------

@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An accounts file with three people (hashing is deliberately slow, so it is made once)."""
    path = tmp_path_factory.mktemp("accounts") / ".workbench" / "users.json"
    accounts.add_account("Dr Ada Author", ["author", "qa"], "correct horse", path=path)
    accounts.add_account("Dr Rex Reviewer", ["reviewer"], "battery staple", path=path)
    accounts.add_account("Dr Vera Viewer", ["viewer"], None, email="vera@example.org", path=path)
    return path


def test_the_right_password_signs_in_with_the_account_roles(users: Path) -> None:
    account = accounts.authenticate("dr ada  AUTHOR", "correct horse", path=users)
    identity = access.identity_of(account)
    assert identity == Identity("Dr Ada Author", frozenset({"author", "qa"}))


@pytest.mark.parametrize(("name", "password"), [
    ("Dr Ada Author", "correct horsE"), ("Dr Ada Author", ""), ("Dr Nobody", "correct horse"),
    ("Dr Vera Viewer", ""), ("Dr Vera Viewer", "anything at all")])
def test_a_wrong_password_or_unknown_name_is_refused_with_the_same_words(users: Path, name: str,
                                                                        password: str) -> None:
    with pytest.raises(ProblemError) as refused:
        accounts.authenticate(name, password, path=users)
    assert [(p.code, p.message) for p in refused.value.problems] == [
        ("WB1005", "The name or the password is not right.")]


def test_passwords_are_stored_as_salted_slow_hashes_never_in_clear(users: Path) -> None:
    text = users.read_text(encoding="utf-8")
    assert "correct horse" not in text and "battery staple" not in text
    records = [a.password for a in accounts.load_accounts(users) if a.password]
    for record in records:
        assert record.startswith("$argon2id$") and "m=65536" in record  # Argon2id, 64 MiB a check
    one, two = accounts.hash_password("same password"), accounts.hash_password("same password")
    assert one != two and one.split("$")[4] != two.split("$")[4]  # a random salt each time
    assert accounts.check_password("same password", one) and accounts.check_password("same password", two)
    legacy = "pbkdf2_sha256$1000$" + "AAAAAAAAAAAAAAAAAAAAAA==$" + __import__("base64").b64encode(
        __import__("hashlib").pbkdf2_hmac("sha256", b"old password", b"\0" * 16, 1000)).decode()
    assert accounts.check_password("old password", legacy) and not accounts.check_password("other", legacy)


@pytest.mark.parametrize("record", [None, "", "garbage", "pbkdf2_sha256$x$y$z", "md5$1$AAAA$AAAA",
                                    "pbkdf2_sha256$999999999999$AAAA$AAAA"])
def test_a_missing_or_malformed_hash_never_matches(record: str | None) -> None:
    assert not accounts.check_password("anything", record)


def test_the_accounts_file_and_its_folder_are_readable_by_the_owner_only(users: Path) -> None:
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert stat.S_IMODE(users.parent.stat().st_mode) == 0o700


def test_a_failed_write_of_the_accounts_file_leaves_the_old_one_whole(users: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(users.read_bytes())
    before = path.read_bytes()

    def full(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        accounts.remove_account("Dr Rex Reviewer", path=path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(("name", "roles", "password", "email", "code"), [
    ("", ["author"], "long enough", None, "WB1003"),
    ("Dr \u202eevil", ["author"], "long enough", None, "WB1007"),
    ("Dr \x1b[2J", ["author"], "long enough", None, "WB1007"),
    ("Dr Ada\u200bAuthor", ["author"], "long enough", None, "WB1007"),
    ("Dr Ada Authоr", ["author"], "long enough", None, "WB1007"),  # a Cyrillic о
    ("x" * 101, ["author"], "long enough", None, "WB1003"),
    ("Dr New", [], "long enough", None, "WB1003"),
    ("Dr New", ["root"], "long enough", None, "WB1003"),
    ("Dr New", ["author"], "short", None, "WB1003"),
    ("Dr New", ["author"], None, None, "WB1003"),
    ("Dr New", ["author"], None, "not-an-email", "WB1003"),
    ("DR ADA author", ["viewer"], "long enough", None, "WB1004"),
    ("Dr New", ["viewer"], None, "VERA@example.org", "WB1004"),
])
def test_bad_accounts_are_refused_and_the_file_is_unchanged(users: Path, name: str, roles: list[str],
                                                            password: str | None, email: str | None,
                                                            code: str) -> None:
    before = users.read_bytes()
    with pytest.raises(ProblemError) as refused:
        accounts.add_account(name, roles, password, email=email, path=users)
    assert codes(refused.value.problems) == {code}
    assert users.read_bytes() == before


def test_replace_changes_the_roles_and_remove_stops_sign_in(users: Path, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(users.read_bytes())
    accounts.add_account("dr rex reviewer", ["reviewer", "qa"], "new password", replace=True, path=path)
    account = accounts.authenticate("Dr Rex Reviewer", "new password", path=path)
    assert account.roles == ("reviewer", "qa")
    accounts.remove_account("Dr Rex Reviewer", path=path)
    with pytest.raises(ProblemError, match="not right"):
        accounts.authenticate("Dr Rex Reviewer", "new password", path=path)


def test_the_identity_provider_email_maps_to_an_account(users: Path) -> None:
    found = accounts.load_accounts(users)
    assert accounts.find_by_email(found, "Vera@Example.org").name == "Dr Vera Viewer"  # type: ignore[union-attr]
    assert accounts.find_by_email(found, "mallory@example.org") is None
    assert accounts.find_by_email(found, None) is None


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"users": {}}', b'{"users": [{"name": "x"}]}',
                                     b'{"users": [{"name": "Dr A", "roles": ["root"]}]}', b"\xff\xfe",
                                     b'{"users": [{"name": "Dr A", "roles": ["author"], "password": 5}]}'])
def test_a_damaged_accounts_file_signs_nobody_in(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(content)
    with pytest.raises(ProblemError) as refused:
        accounts.load_accounts(path)
    assert codes(refused.value.problems) == {"WB1002"}
    with pytest.raises(ProblemError):
        accounts.authenticate("Dr A", "whatever long", path=path)


def test_no_accounts_file_means_no_accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accounts.USERS_ENV, str(tmp_path / "absent.json"))
    assert accounts.users_file() == tmp_path / "absent.json"
    assert accounts.load_accounts() == []


# --- workbench user -------------------------------------------------------------------------

def user_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> CliRun:
    return run_cli("user", *args, stdin=stdin, env=env)


def test_cli_adds_lists_and_removes_accounts(tmp_path: Path) -> None:
    users = str(tmp_path / "users.json")
    done = user_cli("add", "Dr Ada Author", "--role", "author", "--role", "qa", "--password-stdin", "--users", users,
                    stdin="correct horse\n")
    assert done.returncode == 0, done.stderr
    assert "also the administrator" in done.stdout  # the first account adds the others
    assert accounts.authenticate("Dr Ada Author", "correct horse", path=Path(users)).roles == ("author", "qa",
                                                                                               "admin")
    done = user_cli("add", "Dr Vic Viewer", "--role", "viewer", "--password-stdin", "--as", "Dr Ada Author",
                    "--users", users, stdin="correct horse\nlong enough\n")
    assert done.returncode == 0, done.stderr
    listed = user_cli("list", "--users", users, "--format", "json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)["users"] == [
        {"name": "Dr Ada Author", "roles": ["author", "qa", "admin"], "email": None, "password": True, "tokens": 0},
        {"name": "Dr Vic Viewer", "roles": ["viewer"], "email": None, "password": True, "tokens": 0}]
    assert "argon2" not in listed.stdout and "argon2" not in user_cli("list", "--users", users).stdout
    assert user_cli("remove", "dr vic viewer", "--as", "Dr Ada Author", "--users", users,
                    stdin="correct horse\n").returncode == 0
    assert [a.name for a in accounts.load_accounts(Path(users))] == ["Dr Ada Author"]


def test_cli_reads_the_accounts_file_named_by_the_environment(tmp_path: Path) -> None:
    env = {accounts.USERS_ENV: str(tmp_path / "env-users.json")}
    assert user_cli("add", "Dr Env", "--role", "viewer", "--password-stdin", stdin="long enough\n",
                    env=env).returncode == 0
    assert "Dr Env" in user_cli("list", env=env).stdout


@pytest.mark.parametrize(("args", "stdin"), [
    (["add", "Dr A", "--role", "author", "--password", "secret-on-the-command-line"], ""),  # no such option
    (["add", "Dr A", "--role", "author"], ""),  # no terminal to ask, and no --password-stdin
    (["add", "Dr A", "--role", "author", "--password-stdin"], ""),  # nothing on stdin
    (["add", "Dr A", "--role", "author", "--password-stdin"], "short\n"),
    (["add", "Dr A", "--role", "boss", "--password-stdin"], "long enough\n"),
    (["add", "Dr A", "--password-stdin"], "long enough\n"),  # no role
    (["add", "Dr A", "--role", "viewer", "--no-password"], ""),  # neither password nor email
    (["remove", "Dr Nobody"], ""),
])
def test_cli_usage_errors_exit_2_and_change_nothing(tmp_path: Path, args: list[str], stdin: str) -> None:
    users = tmp_path / "users.json"
    done = user_cli(*args, "--users", str(users), stdin=stdin)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not users.exists() and "Traceback" not in done.stderr


def test_cli_refuses_a_duplicate_and_a_damaged_file_with_exit_2(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    assert user_cli("add", "Dr A", "--role", "author", "--password-stdin", "--users", str(users),
                    stdin="long enough\n").returncode == 0
    again = user_cli("add", "DR A", "--role", "viewer", "--password-stdin", "--users", str(users), "--as", "Dr A",
                     stdin="long enough\nlong enough\n")
    assert again.returncode == 2 and "already" in again.stderr
    users.write_text("{broken", encoding="utf-8")
    listed = user_cli("list", "--users", str(users))
    assert listed.returncode == 2 and "cannot be read" in listed.stderr and "Traceback" not in listed.stderr
