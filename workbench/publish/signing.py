"""Signed releases: the approver's Ed25519 key signs the whole release; a keyring the deployment controls says
whose signatures count.

A release document is the ruleset's own fields, `sha256` of their canonical JSON, the `release` record (author,
approver, time, reason, vignette set, replay summary) and `signature`. The signature covers the RFC 8785
canonical JSON of everything but itself, so no field can be changed, added or removed unseen, and any
language with Ed25519 and JCS can check it. Private keys live with their person (a keys folder outside the
rulesets, each file 0600, encrypted with the person's password when one is given); the keyring holds only
public keys, by name, and is kept outside the rulesets folder by whoever runs a server or an export.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .. import workspace
from ..files import atomic_write, locked, read_regular, unique_keys
from ..names import check as check_name
from ..names import clean_name, name_key, same_person
from ..problems import Problem, ProblemError

ALGORITHM = "Ed25519"
CANONICALIZATION = "RFC 8785"
KEYRING_ENV = "WORKBENCH_KEYRING"
KEYS_ENV = "WORKBENCH_KEYS"
SIGNATURE_VERSION = 2
MAX_KEYRING_BYTES = 1_000_000


class SignatureError(ProblemError):
    """A release that is unsigned, signed by a key the keyring does not hold, or altered after signing."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    """'ed25519:' and the first 16 hex digits of the sha256 of the raw public key: short, stable, unforgeable."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def signed_bytes(document: Mapping[str, Any]) -> bytes:
    """What a release signature covers. Version 2: the whole document, its `signature` object included but for
    `value`, so the signer's name and key id cannot be changed unseen. Releases signed before (no `version` in
    the signature) cover the document without `signature`; their `signer` is then checked against the keyring."""
    signature = document.get("signature")
    if isinstance(signature, Mapping) and signature.get("version") == SIGNATURE_VERSION:
        return canonical({**{k: v for k, v in document.items() if k != "signature"},
                          "signature": {k: v for k, v in signature.items() if k != "value"}}, keep_signature=True)
    return canonical(document)


def canonical(document: Mapping[str, Any], *, keep_signature: bool = False) -> bytes:
    """What a signature covers: the document without `signature`, as RFC 8785 canonical JSON."""
    try:
        return rfc8785.dumps({key: value for key, value in document.items() if key != "signature" or keep_signature})
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise SignatureError([Problem("WB906", f"The release holds a value JSON cannot carry exactly ({exc}); "
                                      "it cannot be signed or checked.")]) from None


# --- keys ---------------------------------------------------------------------------------------------

def keys_folder() -> Path:
    """$WORKBENCH_KEYS, or `keys/` in the workspace."""
    configured = os.environ.get(KEYS_ENV)
    return Path(configured).expanduser() if configured else workspace.home() / "keys"


def keyring_file() -> Path:
    """$WORKBENCH_KEYRING, or `keyring.json` in the workspace."""
    configured = os.environ.get(KEYRING_ENV)
    return Path(configured).expanduser() if configured else workspace.home() / "keyring.json"


def fingerprint(public: Ed25519PublicKey) -> str:
    """The whole sha256 of the raw public key, in groups of four hex digits: what two people read to each other to
    be sure a keyring holds the key its owner made (the key id is its first 16 digits)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def key_file(folder: Path, name: str) -> Path:
    """Where `name`'s private key is kept: a readable part (its Latin letters) and a part from the name's key, so
    names in other scripts ("Д-р Иванова", "د. أحمد") never share a file, and look-alike names do."""
    readable = re.sub(r"[^a-z0-9]+", "-", clean_name(name).casefold()).strip("-")[:40] or "key"
    return folder / f"{readable}-{hashlib.sha256(name_key(name).encode('utf-8')).hexdigest()[:12]}.pem"


def _legacy_key_file(folder: Path, name: str) -> Path | None:
    """Where a key made before key_file was kept (a Latin slug only), if the name has one."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return folder / f"{slug}.pem" if slug else None


@dataclass(frozen=True)
class SigningKey:
    """A person's private key, unlocked for this one action."""

    name: str
    key: Ed25519PrivateKey

    @property
    def id(self) -> str:
        return key_id(self.key.public_key())

    def sign(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The document with its `signature`, made by this key over everything else in it and over the
        signature's own fields but its value (algorithm, key, signer: SIGNATURE_VERSION 2)."""
        signature = {"algorithm": ALGORITHM, "canonicalization": CANONICALIZATION, "key_id": self.id,
                     "signer": self.name, "version": SIGNATURE_VERSION}
        unsigned = {key: value for key, value in document.items() if key != "signature"}
        value = self.key.sign(signed_bytes({**unsigned, "signature": signature}))
        return {**unsigned, "signature": {**signature, "value": _b64(value)}}

    def sign_statement(self, statement: Mapping[str, Any]) -> str:
        """A detached signature of a small statement (an approval), as base64."""
        return _b64(self.key.sign(canonical(statement)))


def create_key(name: str, passphrase: str | None, folder: Path | None = None) -> tuple[Path, SigningKey]:
    """A new Ed25519 key for `name`, saved 0600 in the keys folder (encrypted when a passphrase is given).
    Refused for a name that is not a person's name (names.check)."""
    if problem := check_name(name):
        raise ProblemError([problem])
    name = clean_name(name)
    folder = Path(folder) if folder is not None else keys_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = key_file(folder, name)
    if os.path.lexists(path):
        raise ProblemError([Problem("WB1004", f"{name} already has a key ({path}); remove it first to make a new "
                                    "one (what it signed stays verifiable while the keyring keeps its public key).")])
    key = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    atomic_write(path, pem, mode=0o600)
    return path, SigningKey(name, key)


def make_key(name: str, passphrase: str | None, folder: Path | None = None,
             keyring: Path | None = None) -> tuple[Path, SigningKey, Keyring]:
    """`workbench key create`: a new key for `name` and its public half in the keyring, or neither. The keyring is
    asked first (one key per person), so a refused name leaves no private key behind."""
    if problem := check_name(name):
        raise ProblemError([problem])
    ring = keyring if keyring is not None else keyring_file()
    held = load_keyring(ring, required=False).held(name)
    if held is not None:
        raise ProblemError([Problem("WB1004", f"The keyring already trusts key {held.key_id} for {held.name}: one key "
                                    "per person. An administrator revokes it first (People page, or `workbench key "
                                    f"revoke '{held.name}'`), which also withdraws what it signed.")])
    folder = Path(folder) if folder is not None else keys_folder()
    _retire_revoked(key_file(folder, name), passphrase)
    path, key = create_key(name, passphrase, folder)
    try:
        trusted = trust(key.name, key.key.public_key(), ring)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, key, trusted


def _retire_revoked(path: Path, passphrase: str | None) -> None:
    """Keep the private key of a key the keyring no longer trusts (revoked) under another name beside it, so its
    owner can make a new one: only when it opens with their passphrase (it is theirs); any other file there is
    left alone, and create_key refuses to write over it."""
    if not os.path.lexists(path):
        return
    try:
        serialization.load_pem_private_key(read_regular(path, 100_000), passphrase.encode("utf-8") if passphrase
                                           else None)
    except (OSError, ValueError, TypeError):
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    os.replace(path, path.with_name(f"{path.stem}.revoked-{stamp}.pem"))


def load_key(name: str, passphrase: str | None, folder: Path | None = None) -> SigningKey:
    """`name`'s private key, unlocked with the passphrase; WB1033 when there is none or it does not open."""
    folder = Path(folder) if folder is not None else keys_folder()
    path = key_file(folder, name)
    legacy = _legacy_key_file(folder, name)
    if not os.path.lexists(path) and legacy is not None and os.path.lexists(legacy):
        path = legacy  # made before key files named by the name's key; the keyring still says whose it is
    try:
        data = read_regular(path, 100_000)
    except OSError:
        raise ProblemError([Problem("WB1033", f"{name} has no signing key in {folder}: make one on the People page "
                                    "(or with `workbench key create`).")]) from None
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError):
        raise ProblemError([Problem("WB1033", f"{name}'s signing key does not open with that password.")]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProblemError([Problem("WB1033", f"{path} is not an Ed25519 key.")])
    return SigningKey(name, key)


# --- the keyring ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrustedKey:
    name: str
    key_id: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class Keyring:
    """The public keys whose signatures a deployment accepts, by person. Empty trusts nobody."""

    keys: tuple[TrustedKey, ...] = ()
    file: str | None = None

    def find(self, wanted: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.key_id == wanted), None)

    def held(self, name: str) -> TrustedKey | None:
        """The key this keyring trusts for `name` (or a name drawn like it), if any: one per person."""
        return next((k for k in self.keys if same_person(k.name, name)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": [{"name": k.name, "key_id": k.key_id, "public_key": _b64(k.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))} for k in self.keys]}


def load_keyring(path: Path | None = None, *, required: bool = True) -> Keyring:
    """The keyring; a missing one is an empty keyring (nothing verifies), or WB907 when `required`; a damaged
    one is always WB907: nothing is trusted until it is restored."""
    path = Path(path) if path is not None else keyring_file()
    try:
        raw = read_regular(path, MAX_KEYRING_BYTES)
        if len(raw) > MAX_KEYRING_BYTES:
            raise ValueError(f"it is over {MAX_KEYRING_BYTES:,} bytes")
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=unique_keys)
        entries = data["keys"]
        keys = []
        for entry in entries:
            raw = base64.b64decode(entry["public_key"], validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
            if key_id(public) != entry["key_id"] or not isinstance(entry["name"], str) or not entry["name"].strip():
                raise ValueError(f"the entry for {entry.get('name')!r} does not match its key")
            keys.append(TrustedKey(" ".join(entry["name"].split()), entry["key_id"], public))
        return Keyring(tuple(keys), str(path))
    except FileNotFoundError:
        if required:
            raise ProblemError([Problem("WB907", f"There is no keyring at {path}, so no release signature can be "
                                        "checked and nothing is served. Give --keyring (or set WORKBENCH_KEYRING) "
                                        "to the keyring this deployment trusts.")]) from None
        return Keyring((), str(path))
    except (OSError, ValueError, KeyError, TypeError, RecursionError, AttributeError) as exc:
        raise ProblemError([Problem("WB907", f"The keyring {path} cannot be trusted ({exc}); no signature is "
                                    "accepted until it is restored.", file=str(path))]) from None


def trust(name: str, public: Ed25519PublicKey, path: Path | None = None) -> Keyring:
    """Add `name`'s public key to the keyring file (made when missing); the keyring as it is now. One key per
    person: refused (WB1004) while the keyring holds another key for that name or one that looks like it, until
    that key is revoked (taken out of the keyring: `workbench key revoke`)."""
    if problem := check_name(name):
        raise ProblemError([problem])
    path = Path(path) if path is not None else keyring_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        current = load_keyring(path, required=False)
        wanted = key_id(public)
        held = [k for k in current.keys if same_person(k.name, name) and k.key_id != wanted]
        if held:
            raise ProblemError([Problem("WB1004", f"The keyring already trusts key {held[0].key_id} for "
                                        f"{held[0].name}: one key per person. Revoke it first (`workbench key revoke "
                                        f"'{held[0].name}'`), which also withdraws what it signed.")])
        keys = [k for k in current.keys if k.key_id != wanted] + [TrustedKey(clean_name(name), wanted, public)]
        ring = Keyring(tuple(keys), str(path))
        atomic_write(path, (json.dumps(ring.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return ring



def revoke(name: str, path: Path | None = None) -> list[TrustedKey]:
    """Take every key of `name` (or a name that looks like it) out of the keyring: what they signed is no longer
    accepted anywhere this keyring is used. The keys taken out; WB1004 when there are none."""
    path = Path(path) if path is not None else keyring_file()
    with locked(path):
        current = load_keyring(path, required=True)
        gone = [k for k in current.keys if same_person(k.name, name)]
        if not gone:
            raise ProblemError([Problem("WB1004", f"The keyring {path} holds no key for {clean_name(name)}.")])
        ring = Keyring(tuple(k for k in current.keys if k not in gone), str(path))
        atomic_write(path, (json.dumps(ring.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return gone


# --- checking -------------------------------------------------------------------------------------------

def verify(document: Mapping[str, Any], keyring: Keyring, file: str = "<release>") -> TrustedKey:
    """The trusted key that signed this document; SignatureError (WB904 unsigned, WB905 not a trusted signer or
    not the approver, WB906 altered after signing) otherwise."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        raise SignatureError([_problem("WB904", "The release is not signed, so nobody vouches for it: only releases "
                                       "signed by their approver are published.", file)])
    if signature.get("algorithm") != ALGORITHM or signature.get("canonicalization") != CANONICALIZATION:
        raise SignatureError([_problem("WB904", f"The release is signed with {signature.get('algorithm')!r}, not "
                                       f"{ALGORITHM} over {CANONICALIZATION} JSON.", file)])
    trusted = keyring.find(str(signature.get("key_id")))
    if trusted is None:
        raise SignatureError([_problem("WB905", f"The release is signed with key {signature.get('key_id')!r}, which "
                                       f"the keyring{' ' + keyring.file if keyring.file else ''} does not hold: "
                                       "whoever signed it is not trusted here.", file)])
    try:
        value = base64.b64decode(signature["value"], validate=True)
        trusted.public_key.verify(value, signed_bytes(document))
    except (InvalidSignature, ValueError):
        raise SignatureError([_problem("WB906", "The release does not match its signature: it was changed after "
                                       f"{trusted.name} signed it, and must not be used.", file)]) from None
    signer = signature.get("signer")
    if not isinstance(signer, str) or not same_person(signer, trusted.name):
        raise SignatureError([_problem("WB905", f"The release names {signer!r} as its signer but was signed with "
                                       f"{trusted.name}'s key.", file)])
    release = document.get("release")
    approver = release.get("approver") if isinstance(release, dict) else None
    if not isinstance(approver, str) or not same_person(approver, trusted.name):
        raise SignatureError([_problem("WB905", f"The release names {approver!r} as its approver but was signed by "
                                       f"{trusted.name}: only the approving clinician's key counts.", file)])
    return trusted


def verify_statement(statement: Mapping[str, Any], key: str, value: str, keyring: Keyring) -> TrustedKey | None:
    """The trusted key that signed a detached statement (an approval), or None."""
    trusted = keyring.find(key)
    if trusted is None:
        return None
    try:
        trusted.public_key.verify(base64.b64decode(value, validate=True), canonical(statement))
    except (InvalidSignature, ValueError, SignatureError):
        return None
    return trusted


def _problem(code: str, message: str, file: str) -> Problem:
    return Problem(code, message, file=file, line=1, column=1)
