"""The published releases the API serves: read, verified and compiled once, again only when they change."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..problems import ProblemError
from ..publish.published import Watch, published
from ..publish.releases import Release, group, latest
from ..publish.signing import Keyring, load_keyring
from ..publish.trusted import StateError
from ..run.engine import CompiledRuleset
from .served import Memory

_log = logging.getLogger("workbench.api")

RECHECK_SECONDS = 1.0
"""How often the releases are looked at again: at most once a second, not on every request. Every replica behind a
proxy notices a new release (or a revoked key) within this long of the others."""


class Catalogue:
    """The published releases under a rulesets root (publish/published.py), each verified and compiled once.

    The whole set is read again only when it could have changed (publish.published.stamp: a few stat calls), and
    whether it changed is asked at most once every `recheck` seconds (monotonic clock), so a request costs a
    dictionary lookup, not a walk of the folder, a hash of a file or a stat call."""

    def __init__(self, rulesets_root: Path, keyring: Keyring, served: Path | None = None, *,
                 recheck: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.root = Path(rulesets_root)
        self.recheck = RECHECK_SECONDS if recheck is None else recheck
        self._clock, self._checked_at = clock, float("-inf")
        self.keyring = keyring
        self.memory = Memory(self.root, served)
        self._keyring_path = str(keyring.file) if keyring.file else None
        self._watch = Watch(self.root)
        self._stamp: tuple[int, ...] | None = None
        self._entries: dict[tuple[str, str], Entry] = {}
        self._grouped: dict[str, list[Release]] = {}
        self.problems: list[str] = []

    def _fresh(self) -> None:
        now = self._clock()
        if now - self._checked_at < self.recheck:
            return
        current = (*self._watch.stamp(), *self._keyring_stamp())
        if current == self._stamp:
            self._checked_at = now
            return
        self._watch.refresh()  # new folders or files to watch; the stamp below covers them
        current = (*self._watch.stamp(), *self._keyring_stamp())
        if self._stamp is not None and self.keyring.file and current[-3:] != self._stamp[-3:]:
            self._reload_keyring()
        found, problems = published(self.root, self.keyring)
        self._entries = {(r.id, r.version): Entry(r, CompiledRuleset(r.model, r.path), r.data,
                                                   '"' + hashlib.sha256(r.data).hexdigest() + '"') for r in found}
        self.memory.check(found, problems)  # never back to an older release than one served before
        self._grouped = {key: value for key, value in group(found).items() if key not in self.memory.refused}
        self.problems = [f"{p.file}: {p.message}" if p.file else p.message for p in problems]
        for problem in self.problems:
            _log.warning("not serving %s", problem)
        self._stamp, self._checked_at = current, now  # a read that failed is tried again at the next request

    def _keyring_stamp(self) -> tuple[int, int, int]:
        """The keyring file changes when a key is added or taken out (revoked): releases are checked again."""
        try:
            info = os.stat(self._keyring_path) if self._keyring_path else None
        except OSError:
            return (0, 0, 0)
        return (info.st_mtime_ns, info.st_size, info.st_ino) if info else (0, 0, 0)

    def _reload_keyring(self) -> None:
        try:
            self.keyring = load_keyring(Path(str(self.keyring.file)), required=True)
        except ProblemError as exc:  # missing or damaged: trust nobody until it is restored
            _log.error("the keyring %s cannot be read (%s): serving nothing", self.keyring.file,
                       exc.problems[0].message)
            self.keyring = Keyring((), self.keyring.file)

    def get(self, ruleset_id: str, version: str) -> Entry | None:
        self._fresh()
        return self._entries.get((ruleset_id, version))

    def releases(self) -> dict[str, list[Release]]:
        self._fresh()
        return self._grouped

    def latest(self, ruleset_id: str) -> Entry | None:
        """The latest release of a ruleset (SPEC 7: the highest version that is not a pre-release); None when there
        is none, or when it would be older than one served before (`refused`)."""
        versions = self.versions(ruleset_id)
        return self.get(ruleset_id, latest(versions).version) if versions else None

    def versions(self, ruleset_id: str) -> list[Release]:
        return self.releases().get(ruleset_id, [])

    def refused(self, ruleset_id: str) -> str:
        """Why the latest release of a ruleset is not served (it would go back), or ''."""
        self._fresh()
        return self.memory.refused.get(ruleset_id, "")

    def health(self) -> dict[str, Any]:
        """What `/health` says: each ruleset's latest release served and the highest ever served here."""
        self._fresh()
        try:
            highest = self.memory.highest.known()
        except StateError:
            highest = {}
        rulesets = {}
        for ruleset_id in sorted(set(self._grouped) | set(highest)):
            entry = self.latest(ruleset_id)
            rulesets[ruleset_id] = {"serving": entry.release.version if entry else None,
                                    "highest_served": (highest.get(ruleset_id) or {}).get("version"),
                                    "refused": self.memory.refused.get(ruleset_id)}
        return {"status": "degraded" if self.memory.refused else "ok", "rulesets": rulesets,
                "problems": list(self.problems)}

    def withheld(self, ruleset_id: str, version: str) -> str:
        """Why a release file that exists is not served, if it is one of those."""
        self._fresh()
        place = f"{ruleset_id}/releases/{version}.json"
        return next((p.split(": ", 1)[1] for p in self.problems if p.startswith(place + ":")), "")


@dataclass(frozen=True, eq=False)
class Entry:
    """A published release: verified, compiled, its served bytes and their ETag (the sha256 of the document)."""

    release: Release
    ruleset: CompiledRuleset
    body: bytes
    etag: str

    @functools.cached_property
    def stamp(self) -> dict[str, str]:
        return self.release.stamp
