"""What `serve` remembers between restarts: the highest release of each ruleset it has served, so it never goes
back (a rollback)."""

from __future__ import annotations

import logging
from pathlib import Path

from .. import workspace
from ..content.semver import version_key
from ..problems import Problem
from ..publish.releases import Release, group, latest
from ..publish.trusted import Highest, StateError

_log = logging.getLogger("workbench.api")


class Memory:
    """The highest release of each ruleset this server has served, kept in the workspace (`served.json`, or the
    file given to `serve --served`), so `serve` never goes back: when that release is no longer published (a
    push deleted its file and sync pulled it, or its file was edited), the ruleset's latest release is refused
    (503) rather than an older one served in its place, before and after a restart alike; releases asked for by
    version are still served. A release whose key the keyring no longer trusts is a revocation, the deployment's
    own decision: then the release before it is served. Each refusal is logged and shown in /health."""

    def __init__(self, root: Path, served: Path | None) -> None:
        self.highest = Highest(served or workspace.home() / "served.json", str(Path(root).resolve()))
        self.refused: dict[str, str] = {}

    def check(self, found: list[Release], problems: list[Problem]) -> None:
        """Note every ruleset whose latest release would now be older than one served before (`refused`), and
        remember the latest of the others."""
        self.refused = {}
        try:
            remembered = self.highest.known()
        except StateError as exc:
            _log.error("%s", exc)
            remembered = {}
        now = group(found)
        for ruleset_id, highest in remembered.items():
            versions = now.get(ruleset_id, [])
            if any(r.version == highest["version"] and r.sha256 == highest["sha256"] for r in versions) or (
                    versions and version_key(latest(versions).version) > version_key(highest["version"])):
                continue
            place = f"{ruleset_id}/releases/{highest['version']}.json"
            if any(p.file == place and p.code in ("WB904", "WB905") for p in problems):
                _log.warning("%s %s is no longer trusted by the keyring (revoked): serving the release before it",
                             ruleset_id, highest["version"])
                continue
            self.refused[ruleset_id] = (f"{ruleset_id} {highest['version']} was served here before and is no longer "
                                        f"published ({place} is gone or not what was released): going back to an "
                                        "older release is refused. Restore it, or withdraw it on purpose by removing "
                                        f"it from the record of releases served ({self.highest.path}).")
            _log.error("%s", self.refused[ruleset_id])
        for ruleset_id, versions in now.items():
            if ruleset_id not in self.refused:
                top = latest(versions)
                try:
                    self.highest.remember(ruleset_id, top.version, top.sha256)
                except (OSError, StateError) as exc:
                    _log.error("cannot record the release served (%s): %s", self.highest.path, exc)
