"""Release documents: what is stored, exported, served and checked downstream, all the same bytes.

A release document is flat: the ruleset's own fields, `sha256` (of their canonical JSON, see canonical.py),
`release` (who wrote and approved it, when, why, which vignettes and how they replayed) and `signature`
(signing.py). It is checked in full wherever it is read: the signature against the deployment's keyring, the
content against its sha256, the approver against the author, the content against the validator, and the
file's name and folder against the id and version it claims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.loader import Document, parse_model
from ..content.model import RULESET_ID_PATTERN, SEMVER_PATTERN, Ruleset
from ..content.semver import version_key
from ..content.validate import check_ruleset
from ..files import NotAFile, read_regular, unique_keys
from ..folder import RELEASES_DIR
from ..names import same_person
from ..problems import Problem, ProblemError, has_errors
from .canonical import HASH_VERSION, HASH_VERSIONS, ruleset_data, ruleset_sha256, sha256_hex
from .signing import Keyring, SignatureError, TrustedKey, verify

METADATA = ("sha256", "hash_version", "release", "signature")
MAX_RELEASE_BYTES = 2_000_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RULESET_ID = re.compile(RULESET_ID_PATTERN)
_SEMVER = re.compile(SEMVER_PATTERN)


class ReleaseError(ProblemError):
    """A release that cannot be read, does not verify, or is not where it belongs; `.problems` says which."""


def document_bytes(data: Any) -> bytes:
    """How every stored, exported or served document is written: sorted keys, 2-space indent, UTF-8, newline."""
    return (json.dumps(data, sort_keys=True, indent=2, separators=(",", ": "), ensure_ascii=False, allow_nan=False)
            + "\n").encode()


def unsigned_document(model: Ruleset, release: dict[str, Any]) -> dict[str, Any]:
    """The document a release signs: the ruleset's fields, their sha256, and the release record."""
    data = ruleset_data(model)
    return {**data, "sha256": sha256_hex(data), "hash_version": HASH_VERSION, "release": release}


def ruleset_part(document: dict[str, Any]) -> dict[str, Any]:
    """The hashed part of a document: everything but `sha256`, `hash_version`, `release` and `signature`."""
    return {key: value for key, value in document.items() if key not in METADATA}


@dataclass(frozen=True)
class Release:
    """One published version, verified: its document, model, signer, and the bytes it is served as."""

    id: str
    version: str
    sha256: str
    document: dict[str, Any] = field(repr=False)
    model: Ruleset = field(repr=False)
    signer: TrustedKey = field(repr=False)
    data: bytes = field(repr=False)
    path: str | None = None

    @property
    def record(self) -> dict[str, Any]:
        return dict(self.document.get("release") or {})

    @property
    def author(self) -> str:
        return str(self.record.get("author"))

    @property
    def approver(self) -> str:
        return str(self.record.get("approver"))

    @property
    def released_at(self) -> str:
        return str(self.record.get("released_at"))

    @property
    def hash_version(self) -> int:
        return int(self.document.get("hash_version", 1))

    @property
    def stamp(self) -> dict[str, str]:
        """Which signed release gave an answer: every evaluation and CDS response carries it, so a client can tie
        an answer to the release it verified (and refuse one that is not it)."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    def has_content_of(self, model: Ruleset) -> bool:
        """Whether `model` is this release's content (hashed the way this release was)."""
        return self.sha256 == ruleset_sha256(model, self.hash_version)

    def summary(self) -> dict[str, Any]:
        """The release without its ruleset: what a history table or a JSON report shows."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256, **self.record,
                "signed_by": self.signer.name, "key_id": self.signer.key_id, "file": self.path}


def parse_document(data: bytes, file: str) -> dict[str, Any]:
    """The document as a dict; ReleaseError (WB901) when it is not JSON of an object."""
    if len(data) > MAX_RELEASE_BYTES:
        raise ReleaseError([_problem("WB901", f"The release is over {MAX_RELEASE_BYTES:,} bytes.", file)])
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=unique_keys)
    except (ValueError, RecursionError) as exc:
        raise ReleaseError([_problem("WB901", f"The release is not valid JSON: {exc}.", file)]) from None
    if not isinstance(document, dict):
        raise ReleaseError([_problem("WB901", "The release should be a JSON object.", file)])
    return document


def read_bytes(path: Path) -> bytes:
    """A release file's bytes, never through a link or from a special file, and bounded (WB1023, WB901)."""
    try:
        return read_regular(Path(path), MAX_RELEASE_BYTES)
    except NotAFile as exc:
        raise ReleaseError([_problem("WB1023", f"The release cannot be read: {exc}.", str(path))]) from None
    except OSError as exc:
        raise ReleaseError([_problem("WB901", f"The release cannot be read: {exc.strerror or exc}.",
                                     str(path))]) from None


def hash_version(document: dict[str, Any], file: str = "<release>") -> int:
    """How the document's sha256 was computed: 1 when it does not say (releases made before RFC 8785)."""
    version = document.get("hash_version", 1)
    if isinstance(version, bool) or version not in HASH_VERSIONS:
        known = ", ".join(f"{k} ({v})" for k, v in HASH_VERSIONS.items())
        raise ReleaseError([_problem("WB902", f"The release's hash_version {version!r} is not one this workbench "
                                     f"knows ({known}), so its sha256 cannot be checked.", file)])
    return int(version)


def verify_document(document: dict[str, Any], keyring: Keyring, file: str = "<release>") -> tuple[Ruleset, TrustedKey]:
    """The model and signer of a document that passes every check; ReleaseError or SignatureError otherwise."""
    signer = verify(document, keyring, file)
    claimed = document.get("sha256")
    if not isinstance(claimed, str) or not _SHA256.match(claimed):
        raise ReleaseError([_problem("WB902", "The release has no sha256 (64 lower-case hex digits).", file)])
    version = hash_version(document, file)
    data = ruleset_part(document)
    if sha256_hex(data, version) != claimed:
        raise ReleaseError([_problem("WB902", "The ruleset's content does not match the sha256 it was released "
                                     "with: it was changed after release and must not be used.", file)])
    record = document.get("release")
    missing = [key for key in ("author", "approver", "released_at", "reason", "replay", "vignettes")
               if not isinstance(record, dict) or key not in record]
    if missing:
        raise ReleaseError([_problem("WB901", "The release does not say " + ", ".join(missing) + ": every release "
                                     "records who wrote and approved it, when, why, and its replay.", file)])
    assert isinstance(record, dict)
    if same_person(str(record["author"]), signer.name):
        raise ReleaseError([_problem("WB704", f"{signer.name} both wrote and approved this release: a second "
                                     "clinician must approve.", file)])
    parsed = parse_model(Document(file, data), Ruleset)
    if parsed.model is None:
        raise ReleaseError(parsed.problems)
    problems = check_ruleset(parsed.model, Document(file, data))
    if has_errors(problems):
        raise ReleaseError([p for p in problems if p.is_error])
    return parsed.model, signer


def load_release(data: bytes, keyring: Keyring, file: str, *, expect: tuple[str, str] | None = None) -> Release:
    """A verified release from its bytes; `expect` is the (id, version) its place says it holds (WB903)."""
    document = parse_document(data, file)
    model, signer = verify_document(document, keyring, file)
    if expect is not None and expect != (model.id, model.version):
        raise ReleaseError([_problem("WB903", f"This release holds {model.id} {model.version} but is stored as "
                                     f"{expect[0]} {expect[1]}: a published version stays where it was released.",
                                     file)])
    return Release(model.id, model.version, str(document["sha256"]), document, model, signer, data, file)


def place(path: str) -> tuple[str, str] | None:
    """The (id, version) a release path `<id>/releases/<version>.json` claims, or None when it is not one."""
    parts = path.split("/")
    if len(parts) != 3 or parts[1] != RELEASES_DIR or not parts[2].endswith(".json"):
        return None
    ruleset_id, version = parts[0], parts[2][:-len(".json")]
    if not _RULESET_ID.fullmatch(ruleset_id) or not _SEMVER.fullmatch(version):
        return None
    return ruleset_id, version


def group(releases: list[Release]) -> dict[str, list[Release]]:
    """By ruleset id (sorted), oldest version first."""
    grouped: dict[str, list[Release]] = {}
    for release in releases:
        grouped.setdefault(release.id, []).append(release)
    return {ruleset_id: sorted(grouped[ruleset_id], key=lambda r: version_key(r.version))
            for ruleset_id in sorted(grouped)}


def latest(releases: list[Release]) -> Release:
    """The highest version, preferring full releases over pre-releases (`-rc.1`) when there are any."""
    full = [r for r in releases if "-" not in r.version]
    return max(full or releases, key=lambda r: version_key(r.version))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")



def _problem(code: str, message: str, file: str) -> Problem:
    return Problem(code, message, file=file, line=1, column=1)


__all__ = ["RELEASES_DIR", "Release", "ReleaseError", "SignatureError", "document_bytes", "group", "latest",
           "load_release", "parse_document", "place", "read_bytes", "ruleset_part", "unsigned_document",
           "verify_document"]
