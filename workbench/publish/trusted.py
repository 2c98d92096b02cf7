"""The highest release of each ruleset already trusted (a downstream client) or served (`workbench serve`),
kept in a small JSON file so that a restart remembers it. TUF's lesson for rollback: versions only go up, so a
release below the highest one seen is a rollback (WB910) and is refused, whoever serves it and however validly it
is signed; and a version seen once with one content never comes back with another.

The file is `{"rulesets": {SCOPE: {RULESET_ID: {"version", "sha256"}}}}`: a client uses one scope for everything
it fetches, a server one per rulesets folder it serves. Written atomically under a lock, so several processes
(`serve --workers`) share it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..content.semver import version_key
from ..files import NotAFile, atomic_write, locked, read_regular, unique_keys
from ..problems import Problem

MAX_BYTES = 1_000_000


class Highest:
    """The highest (version, sha256) of each ruleset in one scope of a state file; no file is an empty memory."""

    def __init__(self, path: Path, scope: str = "") -> None:
        self.path, self.scope = Path(path), scope

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(read_regular(self.path, MAX_BYTES)[:MAX_BYTES].decode("utf-8"),
                              object_pairs_hook=unique_keys)
        except FileNotFoundError:
            return {}
        except (NotAFile, OSError, ValueError) as exc:
            raise StateError(f"The record of releases already trusted ({self.path}) cannot be read ({exc}); "
                             "nothing is accepted until it is restored, since a lower version could pass for "
                             "the newest.") from None
        return data if isinstance(data, dict) else {}

    def known(self) -> dict[str, dict[str, str]]:
        """Ruleset id -> {"version", "sha256"} of the highest release remembered in this scope."""
        scoped = (self._read().get("rulesets") or {}).get(self.scope) or {}
        return {key: value for key, value in scoped.items() if isinstance(value, dict)
                and isinstance(value.get("version"), str) and isinstance(value.get("sha256"), str)}

    def get(self, ruleset_id: str) -> dict[str, str] | None:
        return self.known().get(ruleset_id)

    def problem(self, ruleset_id: str, version: str, sha256: str, file: str = "<release>") -> Problem | None:
        """WB910 when this release is below the highest remembered, or that version with other content."""
        highest = self.get(ruleset_id)
        if highest is None:
            return None
        if version_key(version) < version_key(highest["version"]):
            return Problem("WB910", f"{ruleset_id} {version} is older than {highest['version']}, which was already "
                           "trusted here: going back is refused (a rollback). Whoever withdraws a release does so "
                           f"on purpose, by removing it from {self.path}.", file=file, line=1, column=1)
        if version == highest["version"] and sha256 != highest["sha256"]:
            return Problem("WB910", f"{ruleset_id} {version} was trusted here with other content (sha256 "
                           f"{highest['sha256'][:12]}…, now {sha256[:12]}…): a released version never changes.",
                           file=file, line=1, column=1)
        return None

    def remember(self, ruleset_id: str, version: str, sha256: str) -> None:
        """Keep this release as the highest of its ruleset, if it is higher than the one remembered."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self.path):
            data = self._read()
            scoped = data.setdefault("rulesets", {}).setdefault(self.scope, {})
            current = scoped.get(ruleset_id)
            if isinstance(current, dict) and isinstance(current.get("version"), str) and \
                    version_key(current["version"]) >= version_key(version):
                return
            scoped[ruleset_id] = {"version": version, "sha256": sha256}
            atomic_write(self.path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"),
                         mode=0o600)


class StateError(Exception):
    """The state file cannot be read: fail closed."""
