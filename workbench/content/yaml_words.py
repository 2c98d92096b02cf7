"""YAML syntax errors in plain words, at the line a person would fix.

PyYAML says "mapping values are not allowed here" or "could not find expected ':'", often one line after the
mistake. A clinician editing a ruleset needs "this line is indented more than the one above" at the line that
is indented. Each rule below reads PyYAML's problem, the marks it gives and the lines themselves."""

from __future__ import annotations

import yaml


def explain(exc: yaml.MarkedYAMLError, lines: list[str]) -> tuple[str, int, int]:
    """(message, line, column), 1-based, for a YAML syntax error in a text of these lines, at the line the
    mistake is on: PyYAML notices a list item or the first line of a block of text indented wrongly only on
    the line after it."""
    message, line, column = _explain(exc, lines)
    if "indented" not in message and "lined up" not in message:
        return message, line, column
    item = _misaligned_item(lines, line)
    if item is not None:
        return ("This list item is not lined up with the items around it: each '- ' of one list starts in the "
                "same column.", item, 1)
    first = _misindented_block_start(lines, line)
    if first is not None:
        return ("This line, the first of a block of text, is indented more than the lines after it: the first "
                "line sets the indentation for the whole block.", first, 1)
    return message, line, column


def _content_above(lines: list[str], line: int, reach: int = 8) -> list[int]:
    """The numbers of the lines above `line` that hold something other than a comment, nearest first."""
    found = []
    for number in range(line - 1, max(0, line - 1 - reach), -1):
        text = _text(lines, number)
        if text.strip() and not text.lstrip().startswith("#"):
            found.append(number)
    return found


def _is_item(text: str) -> bool:
    return text.lstrip(" ").startswith("- ") or text.strip() == "-"


def _misaligned_item(lines: list[str], line: int) -> int | None:
    """The list item above `line` whose '- ' is out of line with its neighbours' when the lines between fit the
    neighbours' column: that item is the mistake, not the line where PyYAML stumbled."""
    above = next((n for n in _content_above(lines, line) if _is_item(_text(lines, n))), None)
    if above is None:
        return None
    dash = _indent(_text(lines, above))
    siblings = [n for n in [*range(above - 1, 0, -1), *range(line + 1, len(lines) + 1)]
                if _is_item(_text(lines, n)) and abs(_indent(_text(lines, n)) - dash) <= 2 and n != line]
    if not siblings:
        return None
    nearest = min(siblings, key=lambda n: abs(n - above))
    column = _indent(_text(lines, nearest))
    between = [n for n in range(above + 1, line + 1) if _text(lines, n).strip()
               and not _text(lines, n).lstrip().startswith("#")]
    if column != dash and all(_indent(_text(lines, n)) >= column + 2 for n in between):
        return above
    return None


_BLOCK_HEADER = ("|", "|-", "|+", ">", ">-", ">+")


def _misindented_block_start(lines: list[str], line: int) -> int | None:
    """The first line of a block of text (after `key: >-` or `key: |`) indented more than the line where PyYAML
    stumbled, which is indented as the block should be (the line after it is not indented more)."""
    above = _content_above(lines, line, reach=2)
    if len(above) < 2:
        return None
    first, header = above[0], above[1]
    if not _text(lines, header).rstrip().endswith(_BLOCK_HEADER):
        return None
    after = next((n for n in range(line + 1, len(lines) + 1) if _text(lines, n).strip()), None)
    in_step = after is None or _indent(_text(lines, after)) <= _indent(_text(lines, line))
    if in_step and _indent(_text(lines, first)) > _indent(_text(lines, line)) > _indent(_text(lines, header)):
        return first
    return None


def _explain(exc: yaml.MarkedYAMLError, lines: list[str]) -> tuple[str, int, int]:
    problem = exc.problem or ""
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    here = _text(lines, line)

    if "expected a single document" in str(exc):
        return "The file holds more than one YAML document ('---'): keep one.", line, column
    if "\t" in problem or "'\\t'" in problem or "tab character" in problem:
        return "This line is indented with a tab: YAML needs spaces.", line, here.find("\t") + 1 or column
    if "while scanning a quoted scalar" in context:
        start = exc.context_mark.line + 1 if exc.context_mark else line
        return "A quote opened on this line is never closed: add the closing quote.", start, 1
    if "could not find expected ':'" in problem:
        start = exc.context_mark.line + 1 if exc.context_mark and "simple key" in context else line
        return ("This line has no ':' after its key, or it continues the line above without being indented "
                "more: write `key: value`.", start, 1)
    if "mapping values are not allowed" in problem:
        if _indent(here) > _indent(_previous(lines, line)) and not _previous(lines, line).rstrip().endswith(":"):
            return ("This line is indented more than the one above, so YAML reads it as part of that line's "
                    "value: line it up with the lines around it.", line, 1)
        return ("This line has a ': ' inside its value: put the value in quotes, for example "
                "title: 'Back pain: red flags'.", line, column)
    if "did not find expected key" in problem or "expected <block end>" in problem:
        where = "more" if _indent(here) > _indent(_previous(lines, line)) else "less"
        if here.lstrip().startswith("- "):
            return ("This list item is not lined up with the items around it: each '- ' of one list starts in "
                    "the same column.", line, 1)
        return (f"This line is indented {where} than the lines around it: the keys of one item start in the same "
                "column.", line, 1)
    if "did not find expected '-' indicator" in problem:
        return ("This line is not lined up with the list it is in: each item of a list starts with '- ' in the "
                "same column.", line, 1)
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        start = exc.context_mark.line + 1 if exc.context_mark else line
        kind = "list in [ ]" if "]" in problem else "group in { }"
        return (f"The {kind} that starts on this line is not closed, or its items are not separated by commas.",
                start, exc.context_mark.column + 1 if exc.context_mark else column)
    if "found unknown escape character" in problem:
        return ("A backslash inside double quotes starts an escape YAML does not know: use single quotes, or "
                "write two backslashes.", line, column)
    if "that cannot start any token" in problem:
        character = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return (f"A value cannot start with {character!r} in YAML: put the value in quotes.", line, column)
    if "found unexpected ':'" in problem:
        return ("A ':' inside [ ] or { } needs a space after it, or the value holding it needs quotes.", line,
                column)
    return f"YAML cannot read this line: {problem or context or 'the text is not valid YAML'}.", line, column


def _text(lines: list[str], line: int) -> str:
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _previous(lines: list[str], line: int) -> str:
    """The nearest line above that holds something other than a comment."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1]
        if text.strip() and not text.lstrip().startswith("#"):
            return text
    return ""


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))
