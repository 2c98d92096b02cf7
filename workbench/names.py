"""People's names as the workbench compares them: one person, one name, however it is typed.

Names are compared after Unicode normalisation (NFKC), with spacing collapsed and case folded, so "Dr  Lee"
and "dr lee" are one person. A name that could pass for someone else's is refused outright rather than
compared: invisible characters (zero-width spaces, direction marks, controls) and look-alike letters from
another script mixed in ("dr.lее" with Cyrillic е) — otherwise the same clinician could approve their own work
under a second name that looks like the first.
"""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables

from .problems import Problem

MAX_NAME = 100


def clean_name(name: str | None) -> str:
    """The name as stored and shown: NFKC, single spaces, no spaces at the ends."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


def name_key(name: str | None) -> str:
    """What two names are compared by."""
    return clean_name(name).casefold()


def same_person(a: str | None, b: str | None) -> bool:
    return bool(name_key(a)) and name_key(a) == name_key(b)


def name_problem(name: str | None) -> str:
    """Why `name` cannot name a person; '' when it can."""
    found = check(name)
    return found.message if found else ""


def check(name: str | None) -> Problem | None:
    """The problem with `name` as a person's name (WB1003, or WB1007 when it could pass for another), or None."""
    raw = name or ""
    cleaned = clean_name(raw)
    if not cleaned:
        return Problem("WB1003", "The name is empty.")
    if len(cleaned) > MAX_NAME:
        return Problem("WB1003", f"The name is longer than {MAX_NAME} characters.")
    hidden = [c for c in raw if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")]
    if hidden:
        return Problem("WB1007", "The name holds invisible or control characters (such as " +
                       ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden)) + "); type it again plainly.")
    if confusables.is_mixed_script(cleaned, allowed_aliases=["COMMON", "INHERITED"]):
        return Problem("WB1007", "The name mixes letters from different alphabets (for example a Cyrillic 'е' among "
                       "Latin letters), so it could pass for someone else's name; type it in one alphabet.")
    return None
