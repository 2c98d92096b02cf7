"""Signing in to the workbench (ui/login.py), driven through Streamlit's AppTest: no accounts opens straight away
with every role, an accounts file asks for a name and password, and an identity provider is offered when set up."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.people import accounts


def app() -> None:
    import streamlit as st

    from workbench.ui.login import current_identity, identity

    if current_identity() is None:
        st.stop()
    who = identity()  # what a page reads
    assert who is not None
    st.markdown(f"IDENTITY {who.name} | {','.join(sorted(who.roles))} | signed_in={who.signed_in}")


def shown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("IDENTITY")]


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("login") / "users.json"
    accounts.add_account("Dr Ada Author", ["author"], "correct horse", path=path)
    return path


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login.name").input(name)
    at.text_input(key="login.password").input(password)
    return at.button[0].click().run()


def test_without_accounts_the_workbench_opens_with_every_role_and_says_so(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accounts.USERS_ENV, str(tmp_path / "none.json"))
    at = AppTest.from_function(app).run()
    assert not at.exception
    assert shown(at) == ["IDENTITY local | admin,author,qa,reviewer,viewer | signed_in=False"]
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "No accounts yet" in said and "Create the first admin account" in said
    assert "workbench user" not in said and str(tmp_path) not in said  # no shell command, no path in the sidebar


def test_with_accounts_nothing_is_shown_until_the_right_password(users: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accounts.USERS_ENV, str(users))
    at = AppTest.from_function(app).run()
    assert shown(at) == [] and [t.key for t in at.text_input] == ["login.name", "login.password"]
    sign_in(at, "Dr Ada Author", "wrong horse")
    assert shown(at) == [] and [e.value for e in at.error] == ["The name or the password is not right."]
    sign_in(at, "dr ada author", "correct horse")
    assert not at.exception
    assert shown(at) == ["IDENTITY Dr Ada Author | author | signed_in=True"]


def test_signing_out_and_removal_from_the_file_both_end_the_session(users: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(users.read_bytes())
    monkeypatch.setenv(accounts.USERS_ENV, str(path))
    at = sign_in(AppTest.from_function(app).run(), "Dr Ada Author", "correct horse")
    at.sidebar.button(key="login.sign_out").click().run()
    assert shown(at) == []
    sign_in(at, "Dr Ada Author", "correct horse")
    assert shown(at)
    accounts.remove_account("Dr Ada Author", path=path)
    assert shown(at.run()) == []


def test_a_damaged_accounts_file_signs_nobody_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv(accounts.USERS_ENV, str(path))
    at = AppTest.from_function(app).run()
    assert shown(at) == [] and any("Nobody can sign in" in e.value for e in at.error) and not at.exception


def test_an_identity_provider_in_secrets_is_offered_instead_of_the_form(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accounts.USERS_ENV, str(tmp_path / "none.json"))
    at = AppTest.from_function(app)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s",
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"}
    at.run()
    assert shown(at) == [] and not at.exception  # no accounts file: still nobody is let in without signing in
    assert [b.label for b in at.button] == ["Sign in with your organisation's account"]
