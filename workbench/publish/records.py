"""What each commit of the history records, written so that no text a person types can change its shape.

A commit's message is its subject, the reason as the person wrote it (for anyone reading with git), and, as its
last line, one JSON object after `Workbench-Record: `: the facts the workbench reads back (action, ruleset,
version, snapshot, signatures) and the reason again. The JSON is written with every character outside
printable ASCII escaped, so whatever a reason holds (a newline, a `\\x1e`, a line that looks like a record) it
stays inside one string of one object and comes back byte for byte; the history is read commit by commit from
git's own length-prefixed objects (repository.py), so no text can end one commit's record and start another's.

Commits made before this format carry `Workbench-*` trailers instead; they are still read, from the last
paragraph of the message only, which is where the workbench always wrote them.

Reasons and names are also refused outright when they hold control characters (WB713): a reason is read by
people in terminals and pages, where such characters rewrite what is shown.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..files import unique_keys
from ..problems import Problem

PREFIX = "Workbench-Record: "
_TRAILER = re.compile(r"^Workbench-([A-Za-z0-9-]+): ?(.*)$")
MAX_REASON = 5_000

_ALLOWED_CONTROLS = {"\n", "\t"}
_DIRECTION = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
"""Direction marks and overrides: invisible, and they reorder what a reader sees (a reason that reads backwards)."""


def field(key: str) -> str:
    """'Release-File' -> 'release_file': the one spelling a record's keys have, old trailers included."""
    return key.strip().lower().replace("-", "_")


def message(subject: str, reason: str = "", facts: Mapping[str, Any] | None = None) -> str:
    """A commit message: the subject, the reason as written, and the record (the facts and the reason) as one
    JSON object on the last line."""
    record = {field(key): value for key, value in (facts or {}).items()}
    if reason.strip():
        record["reason"] = reason.strip()
    parts = [" ".join(subject.split()) or "Change"]
    if reason.strip():
        parts.append(reason.strip())
    parts.append(PREFIX + json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":")))
    return "\n\n".join(parts) + "\n"


def stamped(text: str, **facts: Any) -> str:
    """The message with `facts` added to its record (a message without one gets one)."""
    record, reason = read(text)
    subject = text.split("\n", 1)[0]
    return message(subject, reason, {**record, **facts})


def read(text: str) -> tuple[dict[str, Any], str]:
    """(record, reason) of a commit message. A message without a record of either kind is ({}, its body)."""
    body = text.strip("\n")
    head, _, last = body.rpartition("\n\n") if "\n\n" in body else ("", "", body)
    if last.startswith(PREFIX) and "\n" not in last:
        try:
            record = json.loads(last[len(PREFIX):], object_pairs_hook=unique_keys)
        except ValueError:
            record = None
        if isinstance(record, dict):
            reason = record.get("reason")
            return record, reason if isinstance(reason, str) else ""
        return {}, ""
    lines = last.split("\n")
    matches = [_TRAILER.match(line) for line in lines]
    if head and lines and all(matches):
        record = {field(m.group(1)): m.group(2) for m in matches if m}
        return record, head.partition("\n\n")[2].strip() if "\n\n" in head else ""
    return {}, body.partition("\n\n")[2].strip() if "\n\n" in body else ""



def reason_problem(reason: str | None, what: str = "reason") -> Problem | None:
    """Why `reason` cannot be recorded as typed (WB713), or None. New lines and tabs are kept; other control
    characters, direction overrides and unpaired surrogates are refused, since they would change what a reader
    of the history sees."""
    text = reason or ""
    if len(text) > MAX_REASON:
        return Problem("WB713", f"The {what} is longer than {MAX_REASON:,} characters; say it more briefly.")
    bad = [c for c in text if c not in _ALLOWED_CONTROLS and (unicodedata.category(c) in ("Cc", "Cs")
                                                             or c in _DIRECTION or c in "\u2028\u2029")]
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(bad))
        return Problem("WB713", f"The {what} holds control characters ({shown}), which could change how the history "
                       "reads; nothing was recorded. Type it again as plain text.")
    return None
