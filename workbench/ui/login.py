"""Who is using the workbench: signed in through the identity provider, with a local account, or nobody to ask.

(a) `[auth]` in .streamlit/secrets.toml: Streamlit's st.login (OIDC); the email is mapped to an account's roles.
(b) an accounts file exists (accounts.users_file()): a sign-in form, name and password checked by accounts.py.
(c) neither: one local identity with every role and a note saying so, so ./run opens straight away.
Either way a missing or unreadable account signs nobody in. What a role may do is access.py's business.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from ..people import accounts
from ..people.access import Identity, accounts_expected, create_first_admin, identity_of, local_identity
from ..problems import ProblemError

SIGNED_IN = "login.user"  # session state: the signed-in account's name; roles are re-read from the file each run
CURRENT = "login.identity"  # session state: the Identity resolved on this run, for pages (see identity())
ACTIVE = "login.active"  # session state: time.time() of this session's last run (accounts.IDLE_TIMEOUT)
IDLED = "login.idled"  # session state: set when the last sign-out was for being idle, to say so once
_AUTH_SETTINGS = {"client_kwargs"}  # mappings under [auth] that are settings, not providers


def current_identity() -> Identity | None:
    """The person using the page now, or None after showing how to sign in (the caller then stops the page).

    Call it once a run, in streamlit_app.py before navigation; pages read the result with identity()."""
    st.session_state[CURRENT] = _resolve()
    return st.session_state[CURRENT]


def identity() -> Identity | None:
    """The identity current_identity() resolved on this run: what a page passes to access.py."""
    found = st.session_state.get(CURRENT)
    return found if isinstance(found, Identity) else None


def _resolve() -> Identity | None:
    _end_if_idle()
    if oidc_configured():
        return _identity_provider()
    path = accounts.users_file()
    if not accounts.accounts_required(path) and _history_had_accounts():
        st.title("Sign in")
        st.error(f"Nobody can sign in: the history of these rulesets shows actions by signed-in people, but there is "
                 f"no accounts file at `{path}` (nor its marker). Restore it from a backup.")
        return None
    if not accounts.accounts_required(path):
        _first_admin(path)
        return local_identity()
    return _local_account(path)


def _first_admin(path: Path) -> None:
    """Where there are no accounts yet: the form that makes the first one, an administrator, in the browser
    (access.create_first_admin, the same checks as `workbench user add`), who is then signed in."""
    st.sidebar.caption("No accounts yet: whoever opens the workbench may edit, but nobody can submit, approve or "
                       "release, since those record who took them. Create the first admin account to turn them on.")
    with st.sidebar.expander("Create the first admin account", icon=":material/person_add:"):
        with st.form("login.first", clear_on_submit=False, border=False):
            name = st.text_input("Your name, as the history will record it", key="login.first.name",
                                 placeholder="e.g. Dr Ada Lee")
            others = st.multiselect("Your roles besides administrator", [r for r in accounts.ROLES if r != "admin"],
                                    default=["author"], key="login.first.roles")
            password = st.text_input(f"Password ({accounts.MIN_PASSWORD} characters or more)", type="password",
                                     key="login.first.password")
            again = st.text_input("The same password again", type="password", key="login.first.again")
            made = st.form_submit_button("Create and sign in", type="primary")
    if made:
        try:
            account = create_first_admin(name, password, again, others, users=path, folder=_rulesets_root())
        except ProblemError as exc:
            st.sidebar.error(exc.problems[0].message)
        else:
            st.session_state[SIGNED_IN] = account.name
            st.rerun()


@st.cache_data(ttl=30, show_spinner=False)
def _had_accounts(root: str) -> bool:
    return accounts_expected(Path(root))


def _history_had_accounts() -> bool:
    """Whether the rulesets folder's history shows signed-in people (access.accounts_expected): then a deleted
    accounts file and marker do not open the workbench to everyone. (Without $WORKBENCH_RULESETS the pages show
    the project's own rulesets/, which has no history of its own.)"""
    root = _rulesets_root()
    return root is not None and _had_accounts(str(root))


def _rulesets_root() -> Path | None:
    root = os.environ.get("WORKBENCH_RULESETS")
    return Path(root).expanduser() if root else None


def _end_if_idle() -> None:
    """Sign out a session idle past accounts.IDLE_TIMEOUT (the core's rule); every run counts as activity."""
    now = time.time()
    signed_in = st.session_state.get(SIGNED_IN) or (oidc_configured() and st.user.get("is_logged_in"))
    if accounts.session_expired(st.session_state.get(ACTIVE), now) and signed_in:
        sign_out()
        st.session_state[IDLED] = True
    st.session_state[ACTIVE] = now


def sign_out() -> None:
    """Forget who signed in; with the identity provider, end its session too."""
    st.session_state.pop(SIGNED_IN, None)
    st.session_state.pop(CURRENT, None)
    if oidc_configured() and st.user.get("is_logged_in"):
        st.logout()


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all, or one that does not parse: no identity provider
        return False


def _accounts(path: Path) -> list[accounts.Account] | None:
    """The accounts, or None after saying why nobody can sign in (a lost or damaged file fails closed)."""
    try:
        return accounts.load_accounts(path)
    except ProblemError as exc:
        st.title("Sign in")
        st.error(f"Nobody can sign in: {exc.problems[0].message}")
        return None


def _plain(text: str) -> str:
    """Text shown in markdown as written: a name or email cannot become a link, emphasis or HTML."""
    for char in "\\`*_[]<>#|$~":
        text = text.replace(char, "\\" + char)
    return text


def _signed_in(identity: Identity) -> Identity:
    st.sidebar.caption(f"Signed in as **{_plain(identity.name)}** · {', '.join(sorted(identity.roles))}")
    st.sidebar.button("Sign out", key="login.sign_out", on_click=sign_out)
    return identity


def _local_account(path: Path) -> Identity | None:
    found = _accounts(path)
    if found is None:
        return None
    name = st.session_state.get(SIGNED_IN)
    account = accounts.find_account(found, name) if isinstance(name, str) else None
    if account is not None:
        return _signed_in(identity_of(account))
    st.session_state.pop(SIGNED_IN, None)  # removed from the file since: signed out
    st.title("Sign in")
    if st.session_state.pop(IDLED, False):
        st.info(f"You were signed out after {accounts.IDLE_TIMEOUT // 60} minutes without activity.")
    if not found:
        st.warning(f"There are no accounts in `{path}`. Add one with `workbench user add NAME --role author`.")
    with st.form("login.form", clear_on_submit=True):
        name = st.text_input("Name", key="login.name")
        password = st.text_input("Password", type="password", key="login.password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            account = accounts.authenticate(name, password, path=path)
        except ProblemError as exc:
            st.error(exc.problems[0].message)
        else:
            st.session_state[SIGNED_IN] = account.name
            st.rerun()
    return None


def _identity_provider() -> Identity | None:
    if not st.user.get("is_logged_in"):
        st.title("Sign in")
        for provider in _providers():
            label = f"Sign in with {provider}" if provider else "Sign in with your organisation's account"
            st.button(label, key=f"login.oidc.{provider or 'default'}", type="primary", on_click=st.login,
                      args=(provider,) if provider else ())
        return None
    email = st.user.get("email")
    found = _accounts(accounts.users_file())
    if found is None:
        return None
    account = accounts.find_by_email(found, email if isinstance(email, str) else None)
    if account is None:
        shown = _plain(str(email)) if email else "This sign-in"
        st.error(f"{shown} has no account in the workbench, so it has no role. Ask whoever runs it to add one: "
                 "`workbench user add NAME --email EMAIL --role viewer --no-password`.")
        st.button("Sign out", key="login.oidc.sign_out", on_click=sign_out)
        return None
    return _signed_in(identity_of(account))


def _providers() -> list[str | None]:
    """The named providers under [auth] ([auth.google], ...), or [None] for the one configured in [auth] itself."""
    settings: Any = st.secrets.get("auth", {})
    named = [key for key, value in settings.items() if isinstance(value, Mapping) and key not in _AUTH_SETTINGS]
    return list(named) or [None]
