"""People sign in to the UI, each role sees only the controls it may use, and every write is checked again in the
core (access.py) whatever the page showed: a hidden or disabled button is a courtesy, not the guard. The history
records the signed-in name. Driven through Streamlit's AppTest, on a copy of rulesets/ and an accounts file in tmp.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.people import access, accounts
from workbench.people.access import AccessDenied, Identity
from workbench.problems import ProblemError
from workbench.publish import lifecycle
from workbench.publish.published import published
from workbench.publish.repository import Repository
from workbench.publish.signing import create_key, load_keyring, trust

from ..conftest import V1
from .test_ui_apptest import answer_everything, by_label, no_errors, script, texts, type_into_editor

RULESET = "upper-back-pain"
PASSWORD = "correct horse battery"
PEOPLE = {"author": "Dr Ada Author", "reviewer": "Dr Rex Reviewer", "qa": "Dr Quinn QA", "viewer": "Dr Vera Viewer"}


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One account per role, made with the accounts API as `workbench user add` makes them."""
    path = tmp_path_factory.mktemp("accounts") / "users.json"
    for role, name in PEOPLE.items():
        accounts.add_account(name, [role], PASSWORD, path=path)
    return path


@pytest.fixture
def root(tmp_path: Path, users: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> Path:
    """A rulesets folder with its history; the reviewer's signing key, locked with their password, trusted."""
    target = tmp_path / "rulesets"
    shutil.copytree(V1, target / RULESET)
    Repository.open(target)
    monkeypatch.setenv("WORKBENCH_RULESETS", str(target))
    monkeypatch.setenv(accounts.USERS_ENV, str(users))
    _, key = create_key(PEOPLE["reviewer"], PASSWORD, isolated_home / "keys")
    trust(PEOPLE["reviewer"], key.key.public_key(), isolated_home / "keyring.json")
    return target


def opened(page: str) -> AppTest:
    return AppTest.from_string(script(page), default_timeout=60).run()


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login.name").input(name)
    at.text_input(key="login.password").input(password)
    return at.button(key="FormSubmitter:login.form-Sign in").click().run()


def as_role(role: str, page: str) -> AppTest:
    at = sign_in(opened(page), PEOPLE[role])
    no_errors(at)
    return at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def actions(root: Path) -> list[tuple[str, str]]:
    """The review actions in the history, oldest first: (action, who)."""
    return [(c.action, c.author) for c in reversed(Repository(root).log())
            if c.action in ("submit", "approve", "reject", "release")]


def state(root: Path) -> str:
    return lifecycle.review_state(Repository(root), RULESET, load_keyring(required=False)).state


# --- signing in -----------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["rulesets", "editor", "releases"])
def test_nothing_is_shown_before_sign_in(root: Path, page: str):
    at = opened(page)
    no_errors(at)
    assert titles(at) == ["Sign in"]
    assert "Upper back" not in texts(at) and not at.get("component_instance")
    assert [w.key for w in at.text_input] == ["login.name", "login.password"]


def test_a_wrong_password_is_refused_and_the_pages_stay_closed(root: Path):
    at = sign_in(opened("rulesets"), PEOPLE["author"], "wrong horse battery")
    no_errors(at)
    assert titles(at) == ["Sign in"]
    assert [e.value for e in at.error] == ["The name or the password is not right."]


def test_guessing_passwords_in_the_sign_in_form_makes_the_account_wait(root: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    """The form signs in through the same per-account limit as the CLI: after 5 wrong passwords even the right
    one is refused for a while, and the page says why. (Its own accounts file: the lock lasts 15 minutes.)"""
    from workbench.people.accounts import MAX_FAILURES

    own = tmp_path / "users.json"
    accounts.add_account(PEOPLE["author"], ["author"], PASSWORD, path=own)
    monkeypatch.setenv(accounts.USERS_ENV, str(own))
    at = opened("rulesets")
    for _ in range(MAX_FAILURES):
        at = sign_in(at, PEOPLE["author"], "wrong horse battery")
    at = sign_in(at, PEOPLE["author"])
    no_errors(at)
    assert titles(at) == ["Sign in"]
    assert any("Too many failed sign-ins for this name" in e.value for e in at.error), [e.value for e in at.error]


def test_after_sign_in_the_sidebar_names_the_person_and_their_role(root: Path):
    at = as_role("reviewer", "rulesets")
    assert titles(at) == ["Rulesets"]
    assert any("Dr Rex Reviewer" in c.value and "reviewer" in c.value for c in at.sidebar.caption)
    at.sidebar.button(key="login.sign_out").click().run()
    assert titles(at) == ["Sign in"]


# --- a viewer reads, and cannot write even by forcing it ----------------------------------------

def test_a_viewer_sees_the_ruleset_read_only(root: Path):
    at = as_role("viewer", "editor")
    assert titles(at) == ["Editor"]
    assert at.button(key="editor.save").disabled
    assert "Read only: Dr Vera Viewer is a viewer and cannot edit rulesets" in texts(at)
    assert "Add to the ruleset" not in texts(at)  # the forms are for authors
    assert at.get("component_instance")[0].proto.json_args.count('"readOnly": true') == 1


@pytest.fixture
def page_forgets_to_hide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every control shown to everyone, as if a page forgot to check the role: only the core is left to refuse."""
    from workbench.ui import common

    monkeypatch.setattr(common, "may", lambda action: True)


def test_a_viewers_save_is_refused_by_the_core_even_when_the_page_offers_it(root: Path, page_forgets_to_hide: None):
    path = root / RULESET / "ruleset.yaml"
    original = path.read_text(encoding="utf-8")
    at = as_role("viewer", "editor")
    at = type_into_editor(at, original.replace("version: 1.0.0", "version: 9.0.0"))
    at.button(key="editor.save").click().run()
    no_errors(at)
    assert [e.value for e in at.error] == ["Dr Vera Viewer is a viewer and cannot edit rulesets; ask an author. "
                                           "Your text is still in the editor."]
    assert path.read_text(encoding="utf-8") == original
    assert "version: 9.0.0" in at.session_state["editor"]["buffers"][str(path)]["text"]  # the text is kept


def test_an_authors_approval_is_refused_by_the_core_even_when_the_page_offers_it(root: Path,
                                                                                 page_forgets_to_hide: None):
    at = as_role("author", "releases")
    at.button(key="FormSubmitter:releases.submit-Submit for review").click().run()
    by_label(at.text_input, "Note (optional)").input("looks fine to me")
    at.button(key="FormSubmitter:releases.approve-Approve").click().run()
    no_errors(at)
    assert any("Dr Ada Author is an author and cannot approve releases; ask a reviewer." in e.value for e in at.error)
    assert by_label(at.text_input, "Note (optional)").value == "looks fine to me"
    assert actions(root) == [("submit", "Dr Ada Author")]
    assert state(root) == "in_review"


def test_a_viewers_save_forced_through_the_core_is_refused(root: Path):
    path = root / RULESET / "ruleset.yaml"
    original = path.read_text(encoding="utf-8")
    viewer = Identity(PEOPLE["viewer"], frozenset({"viewer"}))
    with pytest.raises(AccessDenied):
        access.save_ruleset(viewer, path, "anything", None)
    with pytest.raises(AccessDenied):
        access.create_ruleset(viewer, root, "neck-pain", "Neck pain")
    assert path.read_text(encoding="utf-8") == original and not (root / "neck-pain").exists()


@pytest.mark.parametrize("page, missing", [
    ("rulesets", "Create a new ruleset"),
    ("try", "Save as a vignette"),
    ("vignettes", "Add a vignette"),
])
def test_a_viewer_is_offered_no_write(root: Path, page: str, missing: str):
    at = as_role("viewer", page)
    assert missing not in [e.label for e in at.expander]
    assert "Dr Vera Viewer is a viewer and cannot" in texts(at)


def test_a_viewer_cannot_replay_submit_or_review(root: Path):
    at = as_role("viewer", "vignettes")
    assert not at.metric and "cannot replay vignettes" in texts(at)
    at = as_role("viewer", "releases")
    assert not at.main.button and "cannot submit a draft for review" in texts(at)
    assert not [e for e in at.error]  # a draft awaiting submission is a state, not an error


# --- authors, QA and reviewers ----------------------------------------------------------------

def test_an_author_saves_and_creates_rulesets(root: Path):
    path = root / RULESET / "ruleset.yaml"
    edited = path.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0")
    at = as_role("author", "editor")
    assert not at.get("component_instance")[0].proto.json_args.count('"readOnly": true')
    at = type_into_editor(at, edited)
    at.button(key="editor.save").click().run()
    no_errors(at)
    assert path.read_text(encoding="utf-8") == edited
    at = as_role("author", "rulesets")
    by_label(at.text_input, "Title").input("Neck pain")
    by_label(at.text_input, "Id (names the folder and the web address)").input("neck-pain")
    at.button(key="FormSubmitter:rulesets.new-Create").click().run()
    no_errors(at)
    assert titles(at) == ["Editor"] and (root / "neck-pain" / "ruleset.yaml").is_file()


def test_qa_writes_vignettes_but_not_rules(root: Path):
    at = as_role("qa", "editor")
    assert at.button(key="editor.save").disabled and "is a QA clinician and cannot edit rulesets" in texts(at)
    at = answer_everything(as_role("qa", "try"))
    by_label(at.text_input, "Narrative").input("Simple back pain, checked by QA.")
    at.button(key="FormSubmitter:try.save-Save vignette").click().run()
    no_errors(at)
    assert "Saved vignette 'simple-back-pain'" in texts(at)
    assert (root / RULESET / "vignettes" / "tried-cases.yaml").is_file()


def test_a_reviewer_approves_and_releases_an_authors_submission_signing_with_their_password(root: Path):
    at = as_role("author", "releases")
    assert "Your name" not in [w.label for w in at.text_input]  # signed in: the name is not asked
    assert any("Draft." in i.value and "Next: an author submits" in i.value for i in at.info)
    at.button(key="FormSubmitter:releases.submit-Submit for review").click().run()
    no_errors(at)
    assert any("Submitted" in s.value for s in at.success)
    assert any("Waiting for review" in i.value for i in at.info) and not at.error
    assert "cannot approve releases" in texts(at)  # the author now sees no Approve
    at = as_role("reviewer", "releases")
    by_label(at.text_input, "Note (optional)").input("checked every red flag")
    by_label(at.text_input, "Your password (it opens your signing key)").input("not my password")
    at.button(key="FormSubmitter:releases.approve-Approve").click().run()
    no_errors(at)
    assert any("The name or the password is not right." in e.value for e in at.error)
    assert state(root) == "in_review"
    by_label(at.text_input, "Your password (it opens your signing key)").input(PASSWORD)
    at.button(key="FormSubmitter:releases.approve-Approve").click().run()
    no_errors(at)
    assert any("Approved and signed." in s.value for s in at.success)
    by_label(at.text_input, "Reason for this release").input("first release")
    by_label(at.text_input, "Your password (it opens your signing key)").input(PASSWORD)
    at.button(key="FormSubmitter:releases.release-Release version 1.0.0").click().run()
    no_errors(at)
    assert any("Released version 1.0.0, signed by Dr Rex Reviewer" in s.value for s in at.success)
    assert actions(root) == [("submit", "Dr Ada Author"), ("approve", "Dr Rex Reviewer"),
                             ("release", "Dr Rex Reviewer")]
    found, _ = published(root, load_keyring(required=False))
    assert [(r.version, r.approver, r.signer.name) for r in found] == [("1.0.0", PEOPLE["reviewer"],
                                                                        PEOPLE["reviewer"])]


def test_an_author_cannot_approve_even_by_calling_the_core(root: Path):
    author = Identity(PEOPLE["author"], frozenset({"author"}))
    assert access.submit(author, root / RULESET, "first").ok
    with pytest.raises(AccessDenied, match="cannot approve releases; ask a reviewer"):
        access.approve(author, root / RULESET, "", access.unlock_key(
            Identity(PEOPLE["reviewer"], frozenset({"reviewer"})), PASSWORD, "approve"))
    assert actions(root) == [("submit", "Dr Ada Author")]


# --- without accounts ---------------------------------------------------------------------------

def test_a_missing_accounts_file_once_accounts_existed_fails_closed(root: Path, users: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch):
    gone = tmp_path / "moved" / "users.json"
    gone.parent.mkdir()
    shutil.copy(users, gone)
    shutil.copy(accounts.required_marker(users), accounts.required_marker(gone))
    gone.unlink()  # the file went missing; the marker says accounts were required here
    monkeypatch.setenv(accounts.USERS_ENV, str(gone))
    at = opened("releases")
    no_errors(at)
    assert titles(at) == ["Sign in"] and any("Nobody can sign in" in e.value for e in at.error)
    assert "Releases" not in titles(at)


# --- creating a ruleset: the guarded core function ----------------------------------------------

@pytest.mark.parametrize("bad", ["../outside", "..", "a/b", "Neck", "x", "neck pain", "neck-pain\n", "/etc"])
def test_create_ruleset_refuses_ids_that_are_not_slugs(root: Path, bad: str):
    author = Identity(PEOPLE["author"], frozenset({"author"}))
    before = sorted(p.name for p in root.parent.rglob("*"))
    with pytest.raises(ProblemError) as refused:
        access.create_ruleset(author, root, bad, "Neck pain")
    assert refused.value.problems[0].code == "WB013"
    assert sorted(p.name for p in root.parent.rglob("*")) == before


def test_create_ruleset_refuses_a_taken_id_and_a_missing_title(root: Path):
    author = Identity(PEOPLE["author"], frozenset({"author"}))
    with pytest.raises(ProblemError, match="already a ruleset folder"):
        access.create_ruleset(author, root, RULESET, "Again")
    with pytest.raises(ProblemError, match="needs a title"):
        access.create_ruleset(author, root, "neck-pain", "  ")
    folder = access.create_ruleset(author, root, "neck-pain", "Neck pain")
    assert folder == root / "neck-pain" and (folder / "vignettes" / "examples.yaml").is_file()
