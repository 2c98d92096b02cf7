"""Identity everywhere: where accounts exist, the command line needs the person's password or token and fails
closed; names are compared as people read them, and ones that could pass for someone else are refused; failed
sign-ins are limited per account; each approver signs with their own key, locked with their password."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, REVIEWER
from workbench.cli import main
from workbench.people import accounts
from workbench.problems import ProblemError
from workbench.publish.repository import Repository

PASSWORD = "correct horse battery"


def cli(*args: str, stdin: str = "", capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def people(isolated_home: Path) -> Path:
    """An author, a reviewer (with a signing key locked with their password, trusted) and a viewer."""
    users = isolated_home / "users.json"
    accounts.add_account(AUTHOR, ["author"], PASSWORD, path=users)
    accounts.add_account(REVIEWER, ["reviewer"], PASSWORD, path=users)
    accounts.add_account("Dr Vera Viewer", ["viewer"], PASSWORD, path=users)
    return users


def last_actor(folder: Path) -> tuple[str, str]:
    commit = Repository(folder.parent).log(folder.name)[0]
    return commit.action or "", commit.author


def test_with_accounts_a_typed_name_is_not_enough(v1_copy: Path, people: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("submit", str(v1_copy), "--author", AUTHOR, capsys=capsys)
    assert code == 1 and "WB1005" in out and "--password-stdin" in out
    code, out = cli("submit", str(v1_copy), "--author", AUTHOR, "--password-stdin", stdin="wrong password\n",
                    capsys=capsys)
    assert code == 1 and "The name or the password is not right" in out
    code, out = cli("submit", str(v1_copy), "--author", "Dr Vera Viewer", "--password-stdin", stdin=PASSWORD + "\n",
                    capsys=capsys)
    assert code == 1 and "WB1001" in out and "cannot submit" in out
    code, out = cli("submit", str(v1_copy), "--author", "dr ada author", "--password-stdin", stdin=PASSWORD + "\n",
                    capsys=capsys)
    assert code == 0, out
    assert last_actor(v1_copy) == ("submit", AUTHOR)  # the account's name, however it was typed


def test_a_personal_token_proves_who_it_is_and_only_that(v1_copy: Path, people: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    token = accounts.add_token(AUTHOR, path=people)
    assert token not in people.read_text(encoding="utf-8")  # only its hash is kept
    code, out = cli("submit", str(v1_copy), "--author", REVIEWER, "--token", token, capsys=capsys)
    assert code == 1 and "That token is Dr Ada Author's, not Dr Rex Reviewer's" in out
    assert cli("submit", str(v1_copy), "--author", AUTHOR, "--token", "wbt_forged", capsys=capsys)[0] == 1
    assert cli("submit", str(v1_copy), "--author", AUTHOR, "--token", token, capsys=capsys)[0] == 0
    assert last_actor(v1_copy) == ("submit", AUTHOR)


def test_a_person_makes_their_own_token_with_their_password(v1_copy: Path, people: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("user", "token", AUTHOR, "--password-stdin", "--format", "json", stdin="wrong\n", capsys=capsys)
    assert code == 2 and "The name or the password is not right" in out and "wbt_" not in out
    code, out = cli("user", "token", AUTHOR, "--password-stdin", "--format", "json", stdin=PASSWORD + "\n",
                    capsys=capsys)
    token = json.loads(out)["token"]
    assert code == 0 and token not in people.read_text(encoding="utf-8")
    assert cli("submit", str(v1_copy), "--author", AUTHOR, "--token", token, capsys=capsys)[0] == 0


@pytest.mark.parametrize("damage", ["missing", "damaged", "empty list"])
def test_a_lost_or_damaged_accounts_file_fails_closed(v1_copy: Path, people: Path, damage: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    if damage == "missing":
        people.unlink()
    elif damage == "damaged":
        people.write_text("{not json", encoding="utf-8")
    else:
        people.write_text(json.dumps({"users": []}), encoding="utf-8")
    code, out = cli("submit", str(v1_copy), "--author", AUTHOR, "--password-stdin", stdin=PASSWORD + "\n",
                    capsys=capsys)
    assert code == 1 and ("WB1002" in out or "WB1005" in out)
    assert Repository.open(v1_copy.parent).log(v1_copy.name)[0].action is None
    with pytest.raises(ProblemError):
        accounts.authenticate(AUTHOR, PASSWORD, path=people)


def test_failed_sign_ins_are_limited_per_account(people: Path) -> None:
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(ProblemError, match="not right"):
            accounts.authenticate(AUTHOR, "guess", path=people)
    with pytest.raises(ProblemError) as locked_out:
        accounts.authenticate(AUTHOR, PASSWORD, path=people)  # even the right password waits now
    assert locked_out.value.problems[0].code == "WB1006"
    assert accounts.authenticate(REVIEWER, PASSWORD, path=people).name == REVIEWER  # others are not affected


def test_a_right_password_clears_the_count_of_failures(people: Path) -> None:
    for _ in range(accounts.MAX_FAILURES - 1):
        with pytest.raises(ProblemError):
            accounts.authenticate(AUTHOR, "guess", path=people)
    accounts.authenticate(AUTHOR, PASSWORD, path=people)
    with pytest.raises(ProblemError, match="not right"):
        accounts.authenticate(AUTHOR, "guess", path=people)


@pytest.mark.parametrize("name", ["Dr Ada\u200bAuthor", "Dr Ada Authоr", "Dr Ada\u202eAuthor", "Dr\x00Ada"])
def test_a_name_that_could_pass_for_someone_else_is_refused_everywhere(name: str, v1_copy: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ProblemError) as refused:
        accounts.add_account(name, ["author"], PASSWORD)
    assert refused.value.problems[0].code == "WB1007"
    code, out = cli("submit", str(v1_copy), "--author", name, capsys=capsys)  # no accounts: typed names checked
    assert code == 1 and "WB1007" in out


def test_names_are_one_person_however_they_are_typed(v1_copy: Path, signers: dict,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("submit", str(v1_copy), "--author", AUTHOR, capsys=capsys)[0] == 0
    for same in ("DR ADA AUTHOR", "Dr  Ada  Author", "Ｄｒ Ａｄａ Ａｕｔｈｏｒ"):
        code, out = cli("approve", str(v1_copy), "--reviewer", same, capsys=capsys)
        assert code == 1 and "WB704" in out, same


def test_each_approver_signs_with_their_own_key_unlocked_by_their_password(v1_copy: Path, people: Path,
                                                                           isolated_home: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("key", "create", REVIEWER, capsys=capsys)
    assert code == 2 and "--password-stdin" in out
    code, out = cli("key", "create", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n", capsys=capsys)
    assert code == 0, out
    key_file = next((isolated_home / "keys").iterdir())
    assert oct(key_file.stat().st_mode & 0o777) == "0o600" and b"ENCRYPTED" in key_file.read_bytes()
    code, out = cli("key", "list", "--format", "json", capsys=capsys)
    assert [k["name"] for k in json.loads(out)["keys"]] == [REVIEWER]
    assert cli("submit", str(v1_copy), "--author", AUTHOR, "--password-stdin", stdin=PASSWORD + "\n",
               capsys=capsys)[0] == 0
    code, out = cli("approve", str(v1_copy), "--reviewer", REVIEWER, "--password-stdin", stdin=PASSWORD + "\n",
                    capsys=capsys)
    assert code == 0, out
    assert last_actor(v1_copy) == ("approve", REVIEWER)
    code, out = cli("release", str(v1_copy), "--approver", REVIEWER, "--reason", "first", "--password-stdin",
                    "--format", "json", stdin=PASSWORD + "\n", capsys=capsys)
    assert code == 0, out
    assert json.loads(out)["release"]["signed_by"] == REVIEWER
