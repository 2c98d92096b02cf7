"""Who changed a line or a rule, when and why: `git blame` of the saved file joined with the reasons people gave
when they saved, and each rule's lines read from the YAML (the comment block written above a rule is part of
it). The Editor shows this beside the text; it is the history as saved, so unsaved typing has none yet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..content.loader import Document
from .repository import Repository

SECTIONS = ("dispositions", "inputs", "red_flags", "nodes", "safety", "references")
"""The lists whose items are the rules and definitions a clinician asks about, by id."""


@dataclass(frozen=True)
class Change:
    """One commit, as a reader of a rule's history wants it."""

    commit: str
    author: str
    at: str
    action: str  # the commit's subject, e.g. "Save upper-back-pain/ruleset.yaml"
    reason: str  # why, in the person's words ("" when none was given)
    age: int  # 0 for the newest commit of the history, 1 for the one before: orders changes made in one second


@dataclass(frozen=True)
class Rule:
    """An item of one of SECTIONS and the lines it takes in the file."""

    section: str
    id: str
    first: int
    last: int


def line_changes(repository: Repository, path: Path) -> list[Change]:
    """The last change to each line of the saved file `path` (line 1 first); [] when it is not committed."""
    relative = Path(path).resolve().relative_to(repository.root).as_posix()
    commits = repository.blame(relative)
    if not commits:
        return []
    known = {c.id: (age, c) for age, c in enumerate(repository.log())}
    changes = {i: Change(i, known[i][1].author, known[i][1].at, known[i][1].subject, known[i][1].reason, known[i][0])
               for i in set(commits) if i in known}
    return [changes[i] for i in commits if i in changes]


def rules(document: Document) -> list[Rule]:
    """Every item with an id in SECTIONS, with its lines: from the comments just above it to the line before
    the next item or section starts."""
    data = document.data if isinstance(document.data, dict) else {}
    starts: list[tuple[int, str, str]] = []
    for section in SECTIONS:
        items = data.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                starts.append((document.locate((section, i))[0], section, item["id"]))
    tops = [line for path, (line, _) in document.keys.items() if len(path) == 1]
    boundaries = sorted({line for line, *_ in starts} | set(tops) | {len(document.lines) + 1})
    found = []
    for line, section, rule_id in sorted(starts):
        end = next(b for b in boundaries if b > line) - 1
        while end > line and _aside(document.lines[end - 1]):
            end -= 1
        first = line
        while first > 1 and document.lines[first - 2].lstrip().startswith("#"):
            first -= 1
        found.append(Rule(section, rule_id, first, end))
    return found


def rule_at(document: Document, line: int) -> Rule | None:
    return next((r for r in rules(document) if r.first <= line <= r.last), None)


def changes_to(changes: list[Change], first: int, last: int) -> list[Change]:
    """The distinct commits that last changed any of lines first..last, newest first."""
    seen: dict[str, Change] = {}
    for change in changes[first - 1:last]:
        seen.setdefault(change.commit, change)
    return sorted(seen.values(), key=lambda c: c.age)


def _aside(line: str) -> bool:
    """A blank or comment line: trailing ones belong to whatever comes next."""
    return not line.strip() or line.lstrip().startswith("#")
