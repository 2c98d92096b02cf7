"""People's names as the workbench compares them: one person, one name, however it is typed or drawn.

Every name that enters (an account, a signing key, a name typed at the command line or on the Releases page) is
checked here and compared by one key: NFKC, spacing collapsed, then the confusable skeleton of Unicode's
Technical Standard #39 (each character replaced by the one it is drawn like, from Unicode's confusables table as
the `confusable-homoglyphs` package ships it), then case folded. So "Dr  Lee" and "dr lee" are one person, and so
are "Dr Al Lee" and "Dr AI Lee" (a capital I drawn as an l), or a name written wholly in Cyrillic letters that
look Latin: a second name that could pass for the first is refused, since the same clinician could otherwise
approve their own work under it. Names holding invisible characters (zero-width spaces, direction marks,
variation selectors, the combining grapheme joiner, controls) or mixing scripts are refused outright.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from confusable_homoglyphs import confusables

from .problems import Problem

MAX_NAME = 100

_IGNORABLE = frozenset(chr(c) for c in (
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0,
    *range(0x180B, 0x1810), *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
    *range(0xFE00, 0xFE10), *range(0xFFF0, 0xFFF9), *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B),
    *range(0xE0000, 0xE1000)))
"""Unicode's Default_Ignorable_Code_Point: drawn as nothing, so a name holding one looks like a name without."""


def clean_name(name: str | None) -> str:
    """The name as stored and shown: NFKC, single spaces, no spaces at the ends."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split())


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each character to the one every character it can be mistaken for maps to (its prototype): the classes of
    Unicode's confusables table, each represented by its ASCII member where it has one."""
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            parent[char] = parent.get(parent[char], parent[char])  # halve the path
            char = parent[char]
        return char

    expansions: dict[str, str] = {}
    for char, items in confusables.confusables_data.items():
        for item in items:
            other = item["c"].replace("\u200e", "").replace("\u200f", "")
            if len(char) == 1 and len(other) == 1:
                a, b = find(char), find(other)
                if a != b:
                    parent[a] = b
            elif len(char) == 1 and len(other) > 1:
                expansions.setdefault(char, other)  # "m" is drawn like "rn"
    members: dict[str, list[str]] = {}
    for char in list(parent):
        members.setdefault(find(char), []).append(char)
    table: dict[str, str] = {}
    for root, group in members.items():
        chosen = min(group + [root], key=lambda c: (not c.isascii(), c))
        for char in [*group, root]:
            table[char] = chosen
    for char, text in expansions.items():
        table.setdefault(char, "".join(table.get(c, c) for c in text))
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton (NFD, each character to its prototype, NFD again): equal for strings drawn alike. Never
    shown to anyone; only compared."""
    table = _prototypes()
    mapped = "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def name_key(name: str | None) -> str:
    """One key per person whatever the case: NFKC, spacing, case folded, then the confusable skeleton."""
    return skeleton(clean_name(name).casefold())


def _drawn(name: str | None) -> str:
    """The key of the name as drawn in the case it was typed ('AI' and 'Al' look alike; 'ai' and 'al' do not)."""
    return skeleton(clean_name(name)).casefold()


def same_person(a: str | None, b: str | None) -> bool:
    """Names that are one person: equal once case and spacing are set aside, or drawn alike as typed."""
    return bool(name_key(a)) and (name_key(a) == name_key(b) or _drawn(a) == _drawn(b))


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
    hidden = [c for c in raw if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")
              or c in _IGNORABLE]
    if hidden:
        return Problem("WB1007", "The name holds invisible or control characters (such as " +
                       ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden)) + "); type it again plainly.")
    if confusables.is_mixed_script(cleaned, allowed_aliases=["COMMON", "INHERITED"]):
        return Problem("WB1007", "The name mixes letters from different alphabets (for example a Cyrillic 'е' among "
                       "Latin letters), so it could pass for someone else's name; type it in one alphabet.")
    return None


def look_alike(name: str, others: Iterable[str]) -> str | None:
    """The other name `name` could pass for while not being written the same way (case and spacing aside), or
    None: 'Dr AI Lee' when 'Dr Al Lee' exists, a Cyrillic 'Дr' spelling of a Latin name."""
    wanted = clean_name(name).casefold()
    return next((other for other in others if same_person(name, other) and clean_name(other).casefold() != wanted),
                None)
