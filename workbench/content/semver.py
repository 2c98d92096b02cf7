"""Semantic versions compared as semver.org says, not as text: 1.10.0 is above 1.9.0, 1.0.0-rc.1 below 1.0.0.

Releases must go up, and they are listed in this order, so the rule lives in one place.
"""

from __future__ import annotations

import re
from typing import Literal

from .model import SEMVER_PATTERN

Bump = Literal["major", "minor", "patch"]

_SEMVER = re.compile(SEMVER_PATTERN)


def version_key(text: str) -> tuple[object, ...]:
    """A sort key: core numbers, then a release above any of its pre-releases (semver.org, rule 11)."""
    match = _SEMVER.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a semantic version such as 1.2.0")
    core = tuple(int(part) for part in match.groups()[:3])
    _, _, pre = text.partition("-")
    if not pre:
        return (*core, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, parts)


def bumped(text: str, bump: Bump) -> str:
    """The next version after `text` for a bump: 1.2.3 + minor -> 1.3.0."""
    major, minor, patch = (int(part) for part in text.split("-")[0].split("."))
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def bump_of(old: str, new: str) -> Bump | None:
    """Which part `new` raises over `old`; None when it is not higher."""
    if version_key(new) <= version_key(old):
        return None
    old_core, new_core = version_key(old)[:3], version_key(new)[:3]
    if new_core[0] != old_core[0]:
        return "major"
    if new_core[1] != old_core[1]:
        return "minor"
    return "patch"
