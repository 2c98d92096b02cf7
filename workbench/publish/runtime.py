"""The downstream runtime: a published release (JSON) -> a CompiledRuleset, refused unless it verifies and is the
release the app asked for.

Apps load releases with this and need neither Streamlit nor FastAPI. Before the content is trusted, the
release's signature is checked against the keyring the deployment controls (is it signed by the approving
clinician, with a key this deployment trusts, and unchanged since?), its sha256 against its content, and the
content against the validator, so an app never runs a tree the workbench would refuse or nobody signed. With a
`Pin`, the release must also be the ruleset asked for (another ruleset's release, however validly signed, is
refused: WB911), at the version pinned or at least the one named, and, with a `state` file, never below the
highest release this app has already trusted (a rollback: WB910); the state file remembers it across restarts.
A version pinned exactly is the app's own choice and is not refused as a rollback.

There is no expiry: a server that keeps offering an old latest release (TUF's freeze attack) is caught only by
`at_least` and the state file, not by time. Releases carry no signed timestamp to expire against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content.semver import version_key
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset, RulesetError
from .releases import Release, document_bytes, load_release, read_bytes
from .signing import Keyring, load_keyring
from .trusted import Highest, StateError

ReleaseSource = str | Path | bytes | bytearray | Mapping[str, Any]
CLIENT_SCOPE = "client"


class IntegrityError(RulesetError):
    """The release is unsigned, signed by someone the keyring does not trust, changed after signing, not the
    release asked for, or older than one already trusted."""


@dataclass(frozen=True)
class Pin:
    """What an app asks for: a ruleset, and either one version exactly or the latest at or above one."""

    ruleset: str
    version: str | None = None
    at_least: str | None = None

    def problem(self, release: Release) -> Problem | None:
        """WB911 when the release is not what this pin asks for."""
        if release.id != self.ruleset:
            return _pin_problem(f"This is a release of '{release.id}', not of '{self.ruleset}', which was asked "
                                "for: another ruleset's release is never used in its place.", release)
        if self.version is not None and release.version != self.version:
            return _pin_problem(f"This is {release.id} {release.version}, but {self.version} was asked for.", release)
        if self.at_least is not None and version_key(release.version) < version_key(self.at_least):
            return _pin_problem(f"This is {release.id} {release.version}, below {self.at_least}, the lowest version "
                                "this app accepts.", release)
        return None


def _pin_problem(message: str, release: Release) -> Problem:
    return Problem("WB911", message, file=release.path or "<release>", line=1, column=1)


def accept_release(source: ReleaseSource, keyring: Keyring | None = None, *, pin: Pin | None = None,
                   state: Path | None = None) -> Release:
    """The verified release, if it is what `pin` asks for and (with `state`) not below the highest already
    trusted, which it then becomes; IntegrityError (or RulesetError for content the validator refuses) otherwise."""
    if keyring is None:
        try:
            keyring = load_keyring(required=True)
        except ProblemError as exc:
            raise RulesetError(exc.problems) from None
    data, file = _bytes_of(source)
    try:
        release = load_release(data, keyring, file)
    except ProblemError as exc:
        integrity = any(p.code in ("WB902", "WB904", "WB905", "WB906", "WB704") for p in exc.problems)
        raise (IntegrityError if integrity else RulesetError)(exc.problems) from None
    if pin is not None and (refused := pin.problem(release)):
        raise IntegrityError([refused])
    if state is not None:
        highest = Highest(state, CLIENT_SCOPE)
        try:
            rollback = highest.problem(release.id, release.version, release.sha256, file)
            if rollback is not None and (pin is None or pin.version is None or "content" in rollback.message):
                raise IntegrityError([rollback])
            highest.remember(release.id, release.version, release.sha256)
        except StateError as exc:
            raise IntegrityError([Problem("WB910", str(exc), file=str(state), line=1, column=1)]) from None
    return release


def load_release_json(source: ReleaseSource, keyring: Keyring | None = None, *, pin: Pin | None = None,
                      state: Path | None = None) -> CompiledRuleset:
    """A release from a file path, JSON bytes/text or a parsed dict, verified against `keyring` (by default the
    deployment's, from $WORKBENCH_KEYRING or the workspace's keyring.json; none trusts nobody) and compiled; with
    `pin` and `state`, as accept_release checks it."""
    release = accept_release(source, keyring, pin=pin, state=state)
    return CompiledRuleset(release.model, release.path)


def _bytes_of(source: ReleaseSource) -> tuple[bytes, str]:
    if isinstance(source, Mapping):
        return document_bytes(dict(source)), "<release>"
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "<release>"
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return source.encode("utf-8", "surrogatepass"), "<release>"
    try:
        return read_bytes(Path(source)), str(source)
    except ProblemError as exc:
        raise RulesetError(exc.problems) from None
