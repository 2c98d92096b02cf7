"""People in the browser, through Streamlit's AppTest: the first run makes the first admin account; without
accounts the review steps are off and say how to turn them on; an administrator adds and replaces people; an
approver makes their own signing key (encrypted with their password) and approves and releases with it. Every
rule is the core's (people/access.py, people/accounts.py, publish/signing.py), so each refusal is also tried
against the core directly, as an attacker who skips the page would."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
import streamlit as st
from cryptography.hazmat.primitives import serialization
from streamlit.testing.v1 import AppTest

from workbench.people import access, accounts
from workbench.problems import ProblemError
from workbench.publish import lifecycle
from workbench.publish.published import published
from workbench.publish.repository import Repository
from workbench.publish.signing import create_key, fingerprint, key_file, load_key, load_keyring, trust

from ..conftest import V1
from .test_ui_apptest import no_errors, script, texts

RULESET = "upper-back-pain"
ADMIN, REVIEWER = "Dr Ada Lee", "Dr Raj Shah"
PASSWORD, THEIRS = "correct horse battery", "staple gun saddle"
FIRST = "FormSubmitter:login.first-Create and sign in"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> Path:
    """A rulesets folder with its history; no accounts yet (isolated_home's users.json does not exist)."""
    target = tmp_path / "rulesets"
    shutil.copytree(V1, target / RULESET)
    Repository.open(target)
    monkeypatch.setenv("WORKBENCH_RULESETS", str(target))
    return target


def opened(page: str) -> AppTest:
    return AppTest.from_string(script(page), default_timeout=60).run()


def first_admin(at: AppTest, name: str = ADMIN, password: str = PASSWORD, again: str | None = None,
                roles: list[str] | None = None) -> AppTest:
    at.text_input(key="login.first.name").input(name)
    if roles is not None:
        at.multiselect(key="login.first.roles").set_value(roles)
    at.text_input(key="login.first.password").input(password)
    at.text_input(key="login.first.again").input(password if again is None else again)
    return at.button(key=FIRST).click().run()


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login.name").input(name)
    at.text_input(key="login.password").input(password)
    return at.button(key="FormSubmitter:login.form-Sign in").click().run()


def signed_in_as(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption if c.value.startswith("Signed in as"))


def review_forms(at: AppTest) -> list[str]:
    return [b.key for b in at.button if str(b.key).startswith("FormSubmitter:releases.")]


def add_person(at: AppTest, name: str, roles: list[str], password: str = THEIRS, *, again: str | None = None,
               mine: str = PASSWORD, replace: bool = False) -> AppTest:
    at.text_input(key="people.add.name").input(name)
    at.multiselect(key="people.add.roles").set_value(roles)
    at.text_input(key="people.add.password").input(password)
    at.text_input(key="people.add.again").input(password if again is None else again)
    at.checkbox(key="people.add.replace").set_value(replace)
    at.text_input(key="people.add.mine").input(mine)
    return at.button(key="FormSubmitter:people.add-Save the account").click().run()


def make_key(at: AppTest, password: str = THEIRS, again: str | None = None) -> AppTest:
    at.text_input(key="people.key.password").input(password)
    at.text_input(key="people.key.again").input(password if again is None else again)
    return at.button(key="FormSubmitter:people.key-Make my signing key").click().run()


# --- the first run ------------------------------------------------------------------------------

def test_the_first_run_creates_the_first_admin_who_is_then_signed_in(root: Path, isolated_home: Path):
    at = opened("people")
    no_errors(at)
    assert "Create the first admin account" in [e.label for e in at.sidebar.expander]
    assert "Create the first admin account** in the sidebar" in texts(at)
    at = first_admin(at, "  Dr   Ada  Lee ", roles=["author", "qa"])  # spacing is normalised as `user add` does
    no_errors(at)
    assert signed_in_as(at) == f"Signed in as **{ADMIN}** · admin, author, qa"
    assert [a.name for a in accounts.load_accounts()] == [ADMIN]
    assert accounts.accounts_required()  # the marker: a lost file now locks everyone out
    assert "Create the first admin account" not in [e.label for e in at.sidebar.expander]
    assert [t.value for t in at.title] == ["People"]
    assert [row["Name"] for row in at.table[0].value.to_dict("records")] == [ADMIN]  # the admin's own view


LOOK_ALIKE = "Dr AI Lee"  # a capital I: drawn like the key holder "Dr Al Lee"


@pytest.mark.parametrize("name, password, again, said", [
    (LOOK_ALIKE, PASSWORD, PASSWORD, "could pass for 'Dr Al Lee'"),
    ("Dr Ada Lее", PASSWORD, PASSWORD, "mixes letters from different alphabets"),  # two Cyrillic e
    ("Dr Ada\x07Lee", PASSWORD, PASSWORD, "invisible or control characters (such as U+0007)"),
    ("Dr Ada\u200bLee", PASSWORD, PASSWORD, "U+200B"),
    (ADMIN, PASSWORD, PASSWORD + "!", "The two passwords differ"),
    (ADMIN, "short", "short", "8 to 1024 characters"),
    ("", PASSWORD, PASSWORD, "The name is empty"),
], ids=["look-alike", "mixed-script", "control", "zero-width", "mismatch", "short", "empty"])
def test_the_first_admin_form_refuses_what_user_add_refuses(root: Path, isolated_home: Path, name: str,
                                                           password: str, again: str, said: str):
    _, key = create_key("Dr Al Lee", None, isolated_home / "keys")
    trust("Dr Al Lee", key.key.public_key(), isolated_home / "keyring.json")
    at = first_admin(opened("people"), name, password, again)
    no_errors(at)
    assert any(said in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    assert not accounts.accounts_required() and not signed_in_as(at)
    assert at.text_input(key="login.first.name").value == name  # what was typed is kept, to put right


def test_only_the_very_first_account_needs_nobodys_permission(root: Path, isolated_home: Path):
    """Two people opening a new install at once: the second form is refused under the file's lock, and once the
    accounts existed (the marker), deleting the file does not let the next visitor in as administrator."""
    at = opened("people")  # this one drew the form before anyone had an account
    access.create_first_admin(ADMIN, PASSWORD, PASSWORD, ["author"])
    at = first_admin(at, "Dr Mallory")
    assert [t.value for t in at.title] == ["Sign in"] and not signed_in_as(at)
    with pytest.raises(ProblemError, match="Sign in instead"):  # the same race, in the core under the lock
        accounts.add_account("Dr Mallory", ["admin"], PASSWORD, first=True)
    admin = access.identity_of(accounts.authenticate(ADMIN, PASSWORD))
    assert access.submit(admin, root / RULESET, "signed in").ok  # the history now shows a signed-in person
    accounts.users_file().unlink()
    with pytest.raises(ProblemError):
        access.create_first_admin("Dr Mallory", PASSWORD, PASSWORD)
    assert [t.value for t in opened("people").title] == ["Sign in"]
    accounts.required_marker(accounts.users_file()).unlink()  # the marker too: the history still remembers
    with pytest.raises(ProblemError) as refused:
        access.create_first_admin("Dr Mallory", PASSWORD, PASSWORD, folder=root)
    assert refused.value.problems[0].code == "WB1002"
    at = first_admin(opened("people"), "Dr Mallory")  # a page that read the history before (it is cached 30 s)
    assert any("restore the accounts file" in e.value for e in at.sidebar.error) and not signed_in_as(at)
    st.cache_data.clear()  # read afresh: no form at all
    at = opened("people")
    assert [t.value for t in at.title] == ["Sign in"] and "login.first.name" not in [w.key for w in at.text_input]
    assert not accounts.users_file().exists()


# --- without accounts: no typed names, no review steps -----------------------------------------

def test_without_accounts_review_steps_are_off_and_say_how_to_turn_them_on(root: Path, signers: dict):
    from ..conftest import submitted

    at = opened("releases")
    no_errors(at)
    assert review_forms(at) == [] and not at.main.text_input  # no "Your name" to type
    assert "Submitting for review needs accounts" in texts(at)
    assert "Create the first admin account in the sidebar to turn them on." in texts(at)
    submitted(root / RULESET)  # in review (from the CLI): still no Approve, no Send back
    at = opened("releases")
    assert review_forms(at) == [] and "Approving needs accounts" in texts(at)
    for step in access.REVIEW_STEPS:  # the core refuses the page's caller the same way
        with pytest.raises(access.AccessDenied) as refused:
            access.require_signed_in(access.local_identity("Dr Typed Name"), step)
        assert refused.value.problems[0].code == "WB1008"


def test_once_accounts_exist_no_name_is_typed_and_the_signed_in_person_is_recorded(root: Path):
    at = first_admin(opened("releases"))
    no_errors(at)
    assert [w.label for w in at.text_input] == ["What changed and why"]
    at.text_input(key="releases.submit.reason").input("first version")
    at.button(key="FormSubmitter:releases.submit-Submit for review").click().run()
    no_errors(at)
    assert any("Submitted for review." in s.value for s in at.success)
    log = Repository(root).log()
    assert (log[0].action, log[0].author, log[0].record.get("signed_in")) == ("submit", ADMIN, True)


# --- an administrator adds people ----------------------------------------------------------------

def test_an_admin_adds_a_reviewer_in_the_page_with_their_password_checked_again(root: Path):
    at = first_admin(opened("people"))
    at = add_person(at, REVIEWER, ["reviewer"], mine="not my password")
    no_errors(at)
    assert any("The name or the password is not right." in e.value for e in at.error)
    at = add_person(at, REVIEWER, ["reviewer"], again="staple gun saddles")
    assert any("The two passwords differ" in e.value for e in at.error)
    at = add_person(at, "Dr Ada Lее", ["reviewer"])  # Cyrillic e
    assert any("mixes letters" in e.value for e in at.error)
    assert [a.name for a in accounts.load_accounts()] == [ADMIN]  # nothing changed by any of them
    at = add_person(at, REVIEWER, ["reviewer"])
    no_errors(at)
    assert any(f"{REVIEWER} (reviewer) can sign in now" in s.value for s in at.success)
    assert accounts.authenticate(REVIEWER, THEIRS).roles == ("reviewer",)
    assert [row["Name"] for row in at.table[0].value.to_dict("records")] == [ADMIN, REVIEWER]


def test_replacing_an_account_in_the_page_ends_its_old_password_and_tokens(root: Path):
    at = add_person(first_admin(opened("people")), REVIEWER, ["reviewer"])
    token = accounts.add_token(REVIEWER)
    at = add_person(at, REVIEWER, ["reviewer"], "a brand new password")
    assert any("already an account called" in e.value for e in at.error)  # replacing is asked for, never assumed
    at = add_person(at, REVIEWER, ["reviewer"], "a brand new password", replace=True)
    no_errors(at)
    assert any("is replaced: the old password and personal tokens no longer work" in s.value for s in at.success)
    for old in (lambda: accounts.authenticate(REVIEWER, THEIRS), lambda: accounts.authenticate_token(token)):
        with pytest.raises(ProblemError):
            old()
    assert accounts.authenticate(REVIEWER, "a brand new password").name == REVIEWER


def test_people_other_than_admins_see_no_accounts_and_cannot_add_any(root: Path):
    access.create_first_admin(ADMIN, PASSWORD, PASSWORD)
    admin = access.identity_of(accounts.authenticate(ADMIN, PASSWORD))
    access.add_person(admin, REVIEWER, ["reviewer"], THEIRS)
    at = sign_in(opened("people"), REVIEWER, THEIRS)
    no_errors(at)
    assert not at.table and "Dr Raj Shah is a reviewer and cannot add, replace or remove accounts" in texts(at)
    reviewer = access.identity_of(accounts.authenticate(REVIEWER, THEIRS))
    with pytest.raises(access.AccessDenied):
        access.add_person(reviewer, "Dr Mallory", ["admin"], THEIRS)
    with pytest.raises(access.AccessDenied, match="cannot approve releases"):  # a key is for those who sign
        access.make_own_key(admin, PASSWORD)
    assert load_keyring(required=False).held(ADMIN) is None


def test_the_last_administrator_cannot_be_removed_or_replaced_away(root: Path):
    admin = access.identity_of(access.create_first_admin(ADMIN, PASSWORD, PASSWORD))
    with pytest.raises(ProblemError, match="last administrator"):
        access.remove_person(admin, ADMIN)
    with pytest.raises(ProblemError, match="last administrator"):
        access.add_person(admin, ADMIN, ["author"], PASSWORD, replace=True)
    assert accounts.load_accounts()[0].roles == ("admin",)


# --- an approver makes their key, and signs with it -------------------------------------------------

@pytest.fixture
def reviewer_page(root: Path) -> AppTest:
    """The first admin (also an author) made in the page, a reviewer added by them; the reviewer signed in on
    the People page."""
    at = add_person(first_admin(opened("people")), REVIEWER, ["reviewer"])
    at.sidebar.button(key="login.sign_out").click().run()
    return sign_in(at, REVIEWER, THEIRS)


def test_a_key_made_in_the_page_is_encrypted_and_opens_only_with_the_password(reviewer_page: AppTest,
                                                                              isolated_home: Path):
    at = make_key(reviewer_page, THEIRS, "not the same")
    assert any("The two passwords differ" in e.value for e in at.error)
    at = make_key(at, "a wrong password")
    assert any("The name or the password is not right." in e.value for e in at.error)
    assert not list((isolated_home / "keys").glob("*.pem")) if (isolated_home / "keys").exists() else True
    at = make_key(at)
    no_errors(at)
    ring = load_keyring(required=True)
    held = ring.held(REVIEWER)
    assert held is not None and any("Your signing key is made" in s.value for s in at.success)
    assert f"Key id `{held.key_id}`" in texts(at) and f"Fingerprint `{fingerprint(held.public_key)}`" in texts(at)
    path = key_file(isolated_home / "keys", REVIEWER)
    stored = path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert stored.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    raw = load_key(REVIEWER, THEIRS).key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                      serialization.NoEncryption())
    assert raw not in stored and base64.b64encode(raw) not in stored  # the secret is nowhere in the clear
    with pytest.raises(ProblemError, match="does not open"):
        load_key(REVIEWER, PASSWORD)
    with pytest.raises(ProblemError, match="does not open"):
        load_key(REVIEWER, None)


def test_a_second_key_is_refused_until_an_admin_revokes_the_first(reviewer_page: AppTest, isolated_home: Path):
    at = make_key(reviewer_page)
    first = load_keyring().held(REVIEWER)
    at = opened("people")
    at = sign_in(at, REVIEWER, THEIRS)
    assert "people.key.password" not in [w.key for w in at.text_input]  # no form: the key is trusted already
    assert "The keyring trusts your signing key" in texts(at) and first.key_id in texts(at)
    reviewer = access.identity_of(accounts.authenticate(REVIEWER, THEIRS))
    with pytest.raises(ProblemError) as refused:  # forced through the core, as the page would never offer
        access.make_own_key(reviewer, THEIRS)
    assert refused.value.problems[0].code == "WB1004" and load_keyring().held(REVIEWER) == first
    at.sidebar.button(key="login.sign_out").click().run()
    at = sign_in(at, ADMIN, PASSWORD)
    at.selectbox(key="people.remove.name").set_value(REVIEWER)
    at.radio(key="people.remove.what").set_value("revoke")
    at.text_input(key="people.remove.mine").input(PASSWORD)
    at.button(key="FormSubmitter:people.remove-Do it").click().run()
    no_errors(at)
    assert any(f"Revoked {REVIEWER}'s key {first.key_id}" in s.value for s in at.success)
    _, again, _ = access.make_own_key(reviewer, THEIRS)  # their own new key; the revoked one kept aside
    assert again.id != first.key_id and load_keyring().held(REVIEWER).key_id == again.id
    assert len(list((isolated_home / "keys").glob("*.revoked-*.pem"))) == 1


def test_approve_and_release_in_the_page_with_the_key_made_there(reviewer_page: AppTest, root: Path):
    """End to end in the browser's pages: key made on People, the author (the first admin) submits, the reviewer
    approves and releases, each signature opened by the password the form asks for."""
    make_key(reviewer_page)
    at = sign_in(opened("releases"), ADMIN, PASSWORD)
    at.button(key="FormSubmitter:releases.submit-Submit for review").click().run()
    at.sidebar.button(key="login.sign_out").click().run()
    at = sign_in(at, REVIEWER, THEIRS)
    at.text_input(key="releases.approve.password").input(THEIRS)
    at.button(key="FormSubmitter:releases.approve-Approve").click().run()
    no_errors(at)
    assert any("Approved and signed." in s.value for s in at.success), texts(at)
    at.text_input(key="releases.release.reason").input("first release")
    at.text_input(key="releases.release.password").input(THEIRS)
    at.button(key="FormSubmitter:releases.release-Release version 1.0.0").click().run()
    no_errors(at)
    assert any(f"Released version 1.0.0, signed by {REVIEWER}" in s.value for s in at.success)
    found, problems = published(root, load_keyring(required=True))
    assert not problems and [(r.author, r.approver, r.signer.name) for r in found] == [(ADMIN, REVIEWER, REVIEWER)]
    assert lifecycle.review_state(Repository(root), RULESET, load_keyring()).state == "draft"
