"""The audit log: who submitted, approved, rejected and released what, in a hash chain.

`rulesets/<id>/audit.jsonl` holds one JSON entry a line. Each entry carries the hash of the one
before it and its own hash (the sha256 of its canonical JSON without `hash`), so editing,
removing or reordering any past entry breaks the chain at that point and `verify_audit` says where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .canonical import sha256_hex
from .problems import Problem
from .store import atomic_write, locked

Action = Literal["submit", "approve", "reject", "release"]

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "version", "sha256", "reason", "prev_hash", "hash")


def utc_now() -> str:
    """Now as ISO 8601 UTC to the second, e.g. 2025-03-01T09:30:00Z."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def entry_hash(entry: dict[str, Any]) -> str:
    return sha256_hex({key: value for key, value in entry.items() if key != "hash"})


@dataclass
class AuditCheck:
    """The entries read and the first broken link, if any; `ok` when the whole chain holds."""

    file: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def last_hash(self) -> str:
        return self.entries[-1]["hash"] if self.entries else GENESIS

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "entries": self.entries,
                "problem": self.problem.to_dict() if self.problem else None}


def verify_audit(path: Path) -> AuditCheck:
    """Read the log and check every link; stops at the first broken one (later entries cannot be trusted)."""
    path = Path(path)
    check = AuditCheck(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return check
    except (OSError, UnicodeDecodeError) as exc:
        check.problem = Problem("WB720", f"The audit log cannot be read: {exc}.", file=str(path))
        return check
    for number, line in enumerate(text.splitlines(), start=1):
        reason = _broken_link(line, len(check.entries) + 1, check.last_hash)
        if reason:
            check.problem = Problem("WB720", f"The audit log is broken at entry {len(check.entries) + 1}: {reason}. "
                                    "It has been edited, reordered or cut since it was written.",
                                    file=str(path), line=number, column=1)
            return check
        check.entries.append(json.loads(line))
    return check


def _broken_link(line: str, seq: int, prev_hash: str) -> str:
    """Why this line is not the next link of the chain; '' when it is."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return "the line is not a complete JSON entry"
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        return "the entry does not have exactly the fields " + ", ".join(FIELDS)
    if entry["seq"] != seq:
        return f"its number is {entry['seq']!r} where {seq} was expected (an entry is missing or out of order)"
    if entry["prev_hash"] != prev_hash:
        return "it does not link to the entry before it (prev_hash differs)"
    if entry["hash"] != entry_hash(entry):
        return "its content does not match its hash"
    return ""


def append_entry(path: Path, *, actor: str, action: Action, version: str, sha256: str,
                 reason: str = "") -> dict[str, Any]:
    """Add one entry linked to the last; refuses (AuditBroken) when the chain is already broken.

    The whole file is rewritten atomically with the new line added, so a crash leaves the log as it
    was or with the entry complete, never with half a line.
    """
    path = Path(path)
    with locked(path):
        check = verify_audit(path)
        if not check.ok:
            assert check.problem is not None
            raise AuditBroken(check.problem)
        entry: dict[str, Any] = {"seq": len(check.entries) + 1, "at": utc_now(), "actor": actor, "action": action,
                                 "version": version, "sha256": sha256, "reason": reason, "prev_hash": check.last_hash}
        entry["hash"] = entry_hash(entry)
        old = path.read_bytes() if path.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        atomic_write(path, old + line.encode("utf-8"))
    return entry


class AuditBroken(Exception):
    """The chain is broken, so nothing more may be recorded until someone looks at it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem
