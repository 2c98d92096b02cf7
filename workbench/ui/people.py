"""People: each approver makes their own signing key, and an administrator adds, replaces and removes accounts
and revokes keys, all in the browser.

Every decision is the core's (people/access.py, people/accounts.py, publish/signing.py): the page lays out the
forms and shows what the core says. Changes ask for the signed-in person's password again (access.confirm), as a
signature does: a workstation left signed in does not let a passer-by add an account or make a key.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ..people import access, accounts
from ..people.access import Identity
from ..problems import ProblemError
from ..publish.signing import fingerprint
from . import common

DONE = "people.done"  # what the last change did, shown once after the rerun it causes
_ROLE_WORDS = {"author": "author", "reviewer": "reviewer (approves and releases)", "qa": "QA clinician",
               "viewer": "viewer", "admin": "administrator"}


def page() -> None:
    st.title("People")
    who = common.person()
    if who is None or not who.signed_in:
        st.info("No accounts yet, so nobody is signed in: whoever opens the workbench may edit, but submitting, "
                "approving and releasing are off, since they record who took them. **Create the first admin "
                "account** in the sidebar; you are then signed in as the administrator and add the others here.")
        return
    _last_change()
    _own_key(who)
    st.divider()
    if common.may("manage_people"):
        _accounts(who)
    else:
        common.not_allowed("manage_people", "Accounts")


def _last_change() -> None:
    said = st.session_state.pop(DONE, None)
    if said:
        st.success(said)


# --- your signing key ------------------------------------------------------------------------

def _own_key(who: Identity) -> None:
    st.subheader("Your signing key", anchor=False)
    if not who.can("approve"):
        st.caption(":material/lock: Only those who approve and release (reviewers) sign, so only they make a "
                   "signing key.")
        return
    held = access.keyring().held(who.name)
    if held is not None:
        st.markdown(":material/key: The keyring trusts your signing key. Approving and releasing open it with your "
                    "password.")
        st.markdown(f"Key id `{held.key_id}`  \nFingerprint `{fingerprint(held.public_key)}`")
        st.caption("Anyone who checks your releases can compare this fingerprint with the key their keyring holds "
                   "for you. One key per person: to make a new one, an administrator first revokes this one, which "
                   "also withdraws what it signed.")
        return
    st.caption("Approving and releasing sign with your own key. Make it once: it is kept in the workspace locked "
               "with your password (never in the clear), and its public half is added to the keyring that "
               "servers and apps check releases against.")
    with st.form("people.key", border=True):
        password = st.text_input("Your password (it locks the key)", type="password", key="people.key.password")
        again = st.text_input("Your password again", type="password", key="people.key.again")
        made = st.form_submit_button("Make my signing key", type="primary", icon=":material/key:")
    if not made:
        return
    try:
        access.make_own_key(who, accounts.confirmed(password, again))
    except ProblemError as exc:  # passwords differ or wrong, not a reviewer, already has a key, the disk refused
        common.refused(exc, "No key was made.")
        return
    except OSError as exc:
        st.error(f"The key could not be saved: {exc.strerror or exc}. No key was made.")
        return
    _changed("Your signing key is made, locked with your password, and trusted by the keyring.")


# --- accounts, for an administrator ------------------------------------------------------------

def _accounts(who: Identity) -> None:
    st.subheader("Accounts", anchor=False)
    try:
        rows = access.people(who)
    except ProblemError as exc:
        common.refused(exc)
        return
    st.table([_row(r) for r in rows], hide_index=True, border="horizontal")
    holders = {r.name for r in rows if r.key_id}
    _add(who, holders)
    _remove_or_revoke(who, [r.name for r in rows], holders)


def _row(person: access.PersonRow) -> dict[str, Any]:
    return {"Name": person.name, "Roles": ", ".join(_ROLE_WORDS[r] for r in person.roles),
            "Signs in with": "password" if person.password else "organisation account",
            "Personal tokens": person.tokens, "Signing key": person.key_id or "—"}


def _add(who: Identity, key_holders: set[str]) -> None:
    with st.expander("Add a person, or replace an account", icon=":material/person_add:"):
        with st.form("people.add", border=False):
            name = st.text_input("Name, as the history will record it", key="people.add.name",
                                 placeholder="e.g. Dr Raj Shah")
            roles = st.multiselect("Roles", list(accounts.ROLES), format_func=_ROLE_WORDS.get, key="people.add.roles")
            left, right = st.columns(2)
            password = left.text_input(f"Their first password ({accounts.MIN_PASSWORD} characters or more)",
                                       type="password", key="people.add.password")
            again = right.text_input("Their first password again", type="password", key="people.add.again")
            replace = st.checkbox("Replace the account of that name: its old password and personal tokens stop "
                                  "working", key="people.add.replace")
            mine = st.text_input("Your password, to confirm it is you", type="password", key="people.add.mine")
            added = st.form_submit_button("Save the account", type="primary")
        if not added:
            return
        try:
            admin = access.confirm(who, mine, "manage_people")
            account = access.add_person(admin, name, roles, accounts.confirmed(password, again), replace=replace)
        except ProblemError as exc:
            common.refused(exc, "Nothing was changed.")
            return
        done = "is replaced: the old password and personal tokens no longer work." if replace else "can sign in now."
        said = f"{account.name} ({', '.join(account.roles)}) {done}"
        if replace and any(accounts.same_name(account.name, holder) for holder in key_holders):
            said += (" Their signing key still opens only with their old password: if that is lost, revoke the key "
                     "below and they make a new one.")
        _changed(said + " Give them their password in person.")


def _remove_or_revoke(who: Identity, names: list[str], key_holders: set[str]) -> None:
    with st.expander("Remove an account, or revoke a signing key", icon=":material/person_remove:"):
        with st.form("people.remove", border=False):
            name = st.selectbox("Person", names, key="people.remove.name")
            what = st.radio("Do", ["revoke", "remove"], key="people.remove.what", format_func={
                "revoke": "Revoke their signing key: every release and approval it signed is no longer accepted",
                "remove": "Remove their account: they can no longer sign in"}.get)
            mine = st.text_input("Your password, to confirm it is you", type="password", key="people.remove.mine")
            done = st.form_submit_button("Do it", type="secondary")
        if not done or name is None:
            return
        try:
            admin = access.confirm(who, mine, "manage_people")
            if what == "revoke":
                gone = access.revoke_key(admin, name)
                said = f"Revoked {name}'s key {', '.join(k.key_id for k in gone)}: what it signed is no longer " \
                       "accepted. They can make a new key on this page."
            else:
                access.remove_person(admin, name)
                said = f"Removed {name}'s account: they can no longer sign in." + (
                    " Their signing key is still trusted until it is revoked." if name in key_holders else "")
        except ProblemError as exc:
            common.refused(exc, "Nothing was changed.")
            return
        _changed(said)


def _changed(said: str) -> None:
    st.session_state[DONE] = said
    st.rerun()
