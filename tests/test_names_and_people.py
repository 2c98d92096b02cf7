"""Names and people, tried as the independent review did: look-alike names (variation selectors, the combining
grapheme joiner, a name written wholly in another script, a capital I for an l) at every place a name enters;
`user add` without an administrator, `--replace` keeping the old token, a second key under an approver's name,
a signer's name edited in a release, names in other scripts sharing one key file, and the accounts file and its
marker deleted to get typed names back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, REVIEWER, V1, run_cli
from workbench.people import accounts
from workbench.problems import ProblemError
from workbench.publish.repository import Repository

PASSWORD = "correct horse battery"

LOOK_ALIKES = {"variation selector": "Dr Rex\ufe0f Reviewer", "combining grapheme joiner": "Dr Re\u034fx Reviewer"}


def users(home: Path) -> Path:
    return home / "users.json"


@pytest.fixture
def admin(isolated_home: Path) -> Path:
    """An accounts file whose first account, the administrator, was made with `workbench user add`."""
    done = run_cli("user", "add", "Dr Al Admin", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return users(isolated_home)


def add_as_admin(*args: str, password: str = PASSWORD) -> tuple[int, str]:
    done = run_cli("user", "add", *args, "--password-stdin", "--as", "Dr Al Admin",
                   stdin=f"{PASSWORD}\n{password}\n")
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("kind", list(LOOK_ALIKES))
def test_invisible_marks_in_a_name_are_refused_everywhere(kind: str, admin: Path, v1_copy: Path) -> None:
    name = LOOK_ALIKES[kind]
    code, said = add_as_admin(name, "--role", "reviewer")
    assert code == 2 and "WB1007" in said, said
    key = run_cli("key", "create", name, "--no-passphrase", "--users", str(v1_copy / "none.json"))
    assert key.returncode == 2 and "WB1007" in key.stderr, key.stdout + key.stderr
    typed = run_cli("submit", str(v1_copy), "--author", name, "--users", str(v1_copy / "none.json"))
    assert typed.returncode == 1 and "WB1007" in typed.stdout, typed.stdout


def test_a_name_that_looks_like_an_account_or_a_key_holder_is_refused(admin: Path, isolated_home: Path) -> None:
    assert add_as_admin("Dr Al Lee", "--role", "reviewer")[0] == 0
    code, said = add_as_admin("Dr AI Lee", "--role", "reviewer")  # a capital I
    assert code == 2 and "WB1007" in said and "Dr Al Lee" in said, said
    code, said = add_as_admin("Дг Аl Lее".replace("l", "Ӏ"), "--role", "reviewer")
    assert code == 2, said
    assert add_as_admin("Аса Сое", "--role", "viewer")[0] == 0  # wholly Cyrillic, like nobody here yet
    code, said = add_as_admin("Aca Coe", "--role", "reviewer")  # wholly Latin, drawn as the Cyrillic one
    assert code == 2 and "WB1007" in said, said
    done = run_cli("key", "create", "Dr Kay Holder", "--no-passphrase", "--users", str(isolated_home / "x.json"))
    assert done.returncode == 0, done.stderr
    code, said = add_as_admin("Dr Kay HoIder", "--role", "reviewer")
    assert code == 2 and "Dr Kay Holder" in said, said


def test_a_typed_name_drawn_like_the_authors_is_the_author(v1_copy: Path, key_for) -> None:  # type: ignore[no-untyped-def]
    """Without accounts a name is typed: one drawn like the author's is the author, and cannot approve."""
    key_for("Dr AI Author")
    assert run_cli("submit", str(v1_copy), "--author", "Dr Al Author").returncode == 0
    done = run_cli("approve", str(v1_copy), "--reviewer", "Dr AI Author")
    assert done.returncode == 1 and "WB704" in done.stdout, done.stdout


def test_key_create_without_accounts_checks_the_name(tmp_path: Path) -> None:
    done = run_cli("key", "create", "Dr \u202eweiveR xeR", "--no-passphrase", "--users", str(tmp_path / "none.json"))
    assert done.returncode == 2 and "WB1007" in done.stderr, done.stdout + done.stderr
    assert run_cli("key", "list", "--format", "json").stdout.count("key_id") == 0


def test_user_add_and_replace_need_an_administrator(admin: Path) -> None:
    done = run_cli("user", "add", "Dr Mallory", "--role", "reviewer", "--password-stdin",
                   stdin="a long password\n")
    assert done.returncode == 2 and accounts.find_account(accounts.load_accounts(admin), "Dr Mallory") is None
    assert add_as_admin("Dr Rex Reviewer", "--role", "reviewer")[0] == 0
    done = run_cli("user", "add", "Dr Mallory", "--role", "reviewer", "--password-stdin", "--as", "Dr Rex Reviewer",
                   stdin=f"{PASSWORD}\na long password\n")
    assert done.returncode == 2 and "WB1001" in done.stderr, done.stderr  # a reviewer is not an administrator
    done = run_cli("user", "add", "Dr Rex Reviewer", "--role", "reviewer", "--replace", "--password-stdin",
                   stdin="taken over now\n")
    assert done.returncode == 2
    with pytest.raises(ProblemError):
        accounts.authenticate("Dr Rex Reviewer", "taken over now", path=admin)


def test_replacing_an_account_revokes_its_tokens(admin: Path, v1_copy: Path) -> None:
    assert add_as_admin("Dr Ada Author", "--role", "author")[0] == 0
    token = accounts.add_token("Dr Ada Author", path=admin)
    assert accounts.authenticate_token(token, path=admin).name == "Dr Ada Author"
    assert add_as_admin("Dr Ada Author", "--role", "author", "--replace", password="a new password")[0] == 0
    with pytest.raises(ProblemError):
        accounts.authenticate_token(token, path=admin)
    done = run_cli("submit", str(v1_copy), "--author", "Dr Ada Author", "--token", token)
    assert done.returncode == 1 and "WB1005" in done.stdout


def test_one_key_per_approver_unless_the_old_one_is_revoked(isolated_home: Path, tmp_path: Path) -> None:
    first = run_cli("key", "create", REVIEWER, "--no-passphrase")
    assert first.returncode == 0, first.stderr
    second = run_cli("key", "create", "dr rex reviewer", "--no-passphrase", "--keys", str(tmp_path / "other-keys"))
    assert second.returncode == 2 and "WB1004" in second.stderr, second.stdout + second.stderr
    assert not list((tmp_path / "other-keys").glob("*.pem"))  # no private key left behind
    ring = json.loads(run_cli("key", "list", "--format", "json").stdout)["keys"]
    assert len(ring) == 1
    assert run_cli("key", "revoke", REVIEWER).returncode == 0
    again = run_cli("key", "create", REVIEWER, "--no-passphrase", "--keys", str(tmp_path / "other-keys"))
    assert again.returncode == 0, again.stderr
    assert len(json.loads(run_cli("key", "list", "--format", "json").stdout)["keys"]) == 1


def test_the_signers_name_is_covered_by_the_signature(v1_copy: Path, signers: dict) -> None:
    from tests.conftest import keyring, released
    from workbench.publish.signing import verify

    document = json.loads(released(v1_copy, signers).read_text(encoding="utf-8"))
    assert verify(document, keyring()).name == REVIEWER
    forged = {**document, "signature": {**document["signature"], "signer": "Dr Someone Senior"}}
    with pytest.raises(ProblemError):
        verify(forged, keyring())


def test_names_in_other_scripts_have_key_files_of_their_own(isolated_home: Path, tmp_path: Path) -> None:
    names = ["Д-р Иванова", "د. أحمد", "李医生", "Dr Ada Lee"]
    for name in names:
        done = run_cli("key", "create", name, "--no-passphrase", "--users", str(tmp_path / "none.json"))
        assert done.returncode == 0, (name, done.stderr)
    assert len(list((isolated_home / "keys").glob("*.pem"))) == len(names)
    assert len(json.loads(run_cli("key", "list", "--format", "json").stdout)["keys"]) == len(names)


def test_deleting_the_accounts_file_and_its_marker_does_not_bring_typed_names_back(
        v1_copy: Path, isolated_home: Path, signers: dict) -> None:
    path = users(isolated_home)
    accounts.add_account(AUTHOR, ["author", "admin"], PASSWORD, path=path)
    done = run_cli("submit", str(v1_copy), "--author", AUTHOR, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stdout
    path.unlink()
    accounts.required_marker(path).unlink()
    typed = run_cli("reject", str(v1_copy), "--reviewer", REVIEWER, "--reason", "typed name, no password")
    assert typed.returncode == 1 and "WB1002" in typed.stdout, typed.stdout
    assert Repository(v1_copy.parent).log(v1_copy.name)[0].author == AUTHOR  # nothing recorded


def test_the_pages_stay_closed_when_the_accounts_file_and_its_marker_are_deleted(
        tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.ui.test_ui_apptest import script, texts
    from workbench.people import access

    root = tmp_path / "rulesets"
    shutil.copytree(V1, root / "upper-back-pain")
    path = users(isolated_home)
    accounts.add_account(AUTHOR, ["author"], PASSWORD, path=path)
    ada = access.identity_of(accounts.authenticate(AUTHOR, PASSWORD, path=path))
    assert access.submit(ada, root / "upper-back-pain", "signed in").ok
    path.unlink()
    accounts.required_marker(path).unlink()
    monkeypatch.setenv("WORKBENCH_RULESETS", str(root))
    at = AppTest.from_string(script("rulesets"), default_timeout=60).run()
    assert not at.exception and "Nobody can sign in" in texts(at)
    assert "Signed in as" not in texts(at) and "every role" not in texts(at)
