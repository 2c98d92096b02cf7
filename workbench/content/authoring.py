"""Form edits on ruleset and vignette YAML text, templates, and summaries: shared by the web UI and tests.

An edit inserts, replaces or removes whole lines and leaves every other byte as the author wrote it,
comments included, so a form edit reads in a diff like a hand edit. Each edit is checked by reading the
new text back: it must change exactly the list it meant to, or AuthoringError says why not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from ..folder import RULESET_FILE, VIGNETTES_DIR
from ..problems import Problem, ProblemError
from .loader import Document, YamlPath, read_yaml
from .model import RULESET_ID_PATTERN, SEMVER_PATTERN

if TYPE_CHECKING:  # a result is only read here; the engine is a later stage
    from ..run.engine import Result

_SEMVER = re.compile(SEMVER_PATTERN)


class AuthoringError(ProblemError, ValueError):
    """An edit that cannot be made to this text; the message says why, in plain words (a Problem, WB1040)."""

    def __init__(self, message: str) -> None:
        super().__init__([Problem("WB1040", message)])

    def __str__(self) -> str:
        return self.problems[0].message


# --- rendering items ------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Block mappings; long prose as folded `>-` blocks, like hand-written advice; short lists on one line."""


class FlowMapping(dict):  # type: ignore[type-arg]
    """A mapping written on one line in braces, as vignettes write their inputs."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 90 and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(not isinstance(v, (dict, list)) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_flow_mapping(dumper: yaml.SafeDumper, value: FlowMapping) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(FlowMapping, _represent_flow_mapping)


def render_item(item: Mapping[str, Any], dash_column: int) -> list[str]:
    """One list item as YAML lines, its dash at `dash_column`."""
    body = yaml.dump(dict(item), Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100).splitlines()
    pad = " " * dash_column
    return [f"{pad}- {body[0]}"] + [f"{pad}  {line}" if line else "" for line in body[1:]]


def yaml_scalar(value: Any) -> str:
    """A value as it would be written after `key: ` (quoted only where YAML needs it)."""
    return yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n...").removesuffix("...").strip()


# --- locating lists in the text -------------------------------------------------------------

def _document(text: str) -> Document:
    document, problems = read_yaml(text)
    if document is None or not isinstance(document.data, dict):
        raise AuthoringError("The YAML cannot be read yet" + (f" (line {problems[0].line}: {problems[0].message})"
                                                            if problems else "") + "; fix it before using a form.")
    return document


def _get(data: Any, path: YamlPath) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_filler(line: str) -> bool:
    """Blank or comment-only lines belong to whatever block surrounds them."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _dash(lines: list[str], document: Document, path: YamlPath) -> tuple[int, int]:
    """(0-based line, column) of the dash that starts the list item at `path`."""
    line, column = document.values[path]
    index = line - 1
    prefix = lines[index][:column - 1]
    if prefix.strip() == "-":
        return index, prefix.index("-")
    if not prefix.strip():
        for above in range(index - 1, -1, -1):
            if lines[above].strip() == "-":
                return above, _indent(lines[above])
            if not _is_filler(lines[above]):
                break
    raise AuthoringError(f"Line {line} is laid out in a way the forms cannot edit safely; edit it in the text.")


def _item_end(lines: list[str], start: int, dash_column: int) -> int:
    """The line after the last content line of the item starting at `start` (trailing comments excluded)."""
    end = start + 1
    for index in range(start + 1, len(lines)):
        if _is_filler(lines[index]):
            continue
        if _indent(lines[index]) <= dash_column:
            break
        end = index + 1
    return end


def _leading_comments(lines: list[str], start: int, dash_column: int) -> int:
    """The first line of the comment lines directly above an item, at its indent: they describe it."""
    while start > 0 and lines[start - 1].strip().startswith("#") and _indent(lines[start - 1]) == dash_column:
        start -= 1
    return start


def _join(lines: list[str], trailing_newline: bool) -> str:
    return "\n".join(lines) + ("\n" if trailing_newline else "")


def _check(new_text: str, path: YamlPath, expected: list[Any]) -> str:
    """The new text, if it reads back with exactly `expected` at `path`; a bug otherwise, never a silent change."""
    document, _ = read_yaml(new_text)
    if document is None or _get(document.data, path) != expected:
        raise AuthoringError("This edit could not be made without disturbing the rest of the file; "
                             "make it in the text instead.")
    return new_text


_TOP_ORDER = ("id", "version", "title", "description", "references", "dispositions", "inputs", "red_flags",
              "start", "nodes", "ruleset", "vignettes")


# --- inserting, replacing and removing list items -------------------------------------------

def insert_item(text: str, path: YamlPath, item: Mapping[str, Any], index: int | None = None) -> str:
    """`text` with `item` added to the list at `path`, at `index` (default: the end)."""
    document = _document(text)
    lines = text.splitlines()
    current = _get(document.data, path)
    if current is not None and not isinstance(current, list):
        raise AuthoringError(f"'{path[-1]}' is not a list in this file.")
    items = list(current or [])
    index = len(items) if index is None else max(0, min(index, len(items)))
    expected = items[:index] + [dict(item)] + items[index:]

    if path not in document.keys:
        new_lines = _insert_missing_key(lines, document, path, item)
    elif not items:
        new_lines = _fill_empty_key(lines, document, path, item)
    else:
        first_line, first_column = document.values[path]
        if lines[first_line - 1][first_column - 1:first_column] == "[":
            raise AuthoringError(f"'{path[-1]}' is written on one line in brackets; write it as a list of "
                                 "'- ' items to use this form.")
        if index < len(items):
            start, column = _dash(lines, document, path + (index,))
            at = _leading_comments(lines, start, column)
            new_lines = lines[:at] + render_item(item, column) + lines[at:]
        else:
            start, column = _dash(lines, document, path + (len(items) - 1,))
            end = _item_end(lines, start, column)
            spacer = [""] if _blank_between(lines, document, path, len(items)) else []
            new_lines = lines[:end] + spacer + render_item(item, column) + lines[end:]
    return _check(_join(new_lines, text.endswith("\n") or not text), path, expected)


def _blank_between(lines: list[str], document: Document, path: YamlPath, count: int) -> bool:
    """Whether the author separates this list's items with blank lines (then a new item gets one too)."""
    if count < 2:
        return False
    start, column = _dash(lines, document, path + (count - 2,))
    end = _item_end(lines, start, column)
    following, _ = _dash(lines, document, path + (count - 1,))
    return any(not lines[i].strip() for i in range(end, following))


def _fill_empty_key(lines: list[str], document: Document, path: YamlPath, item: Mapping[str, Any]) -> list[str]:
    """`key: []` or `key:` with nothing: the key line loses its empty value and the item goes below it."""
    line, column = document.keys[path]
    key_line = lines[line - 1]
    comment = re.search(r"\s+#.*$", key_line)
    head = key_line[:key_line.index(":", column - 1) + 1]
    lines = list(lines)
    lines[line - 1] = head + (comment.group(0) if comment else "")
    return lines[:line] + render_item(item, column - 1 + 2) + lines[line:]


def _insert_missing_key(lines: list[str], document: Document, path: YamlPath, item: Mapping[str, Any]) -> list[str]:
    """A list that is not written yet: at top level in the usual order, in a node before its `else`."""
    key = str(path[-1])
    parent = path[:-1]
    if not parent:
        later = [k for k in _TOP_ORDER[_TOP_ORDER.index(key) + 1:] if (k,) in document.keys] if key in _TOP_ORDER \
            else []
        block = [f"{key}:"] + render_item(item, 2)
        if later:
            at = _leading_comments(lines, document.keys[(later[0],)][0] - 1, 0)
            return lines[:at] + block + [""] + lines[at:]
        return lines + ([""] if lines and lines[-1].strip() else []) + block
    siblings = [p for p in document.keys if p[:-1] == parent]
    anchor = parent + ("else",) if parent + ("else",) in document.keys else None
    if anchor is None:
        if not siblings:
            raise AuthoringError("That part of the file cannot be found; edit it in the text.")
        last = max(siblings, key=lambda p: document.keys[p])
        line, column = document.keys[last]
        start = line - 1
        end = _item_end(lines, start, column - 1)
        return lines[:end] + [" " * (column - 1) + f"{key}:"] + render_item(item, column + 1) + lines[end:]
    line, column = document.keys[anchor]
    return lines[:line - 1] + [" " * (column - 1) + f"{key}:"] + render_item(item, column + 1) + lines[line - 1:]


def _index_of(document: Document, path: YamlPath, item_id: str, noun: str) -> int:
    items = _get(document.data, path) or []
    for i, existing in enumerate(items):
        if isinstance(existing, dict) and existing.get("id") == item_id:
            return i
    raise AuthoringError(f"There is no {noun} called '{item_id}' in this file.")


def replace_item(text: str, path: YamlPath, index: int, item: Mapping[str, Any]) -> str:
    """`text` with the list item at `path[index]` rewritten as `item`; its leading comments are kept."""
    document = _document(text)
    lines = text.splitlines()
    items = list(_get(document.data, path) or [])
    start, column = _dash(lines, document, path + (index,))
    end = _item_end(lines, start, column)
    new_lines = lines[:start] + render_item(item, column) + lines[end:]
    expected = items[:index] + [dict(item)] + items[index + 1:]
    return _check(_join(new_lines, text.endswith("\n")), path, expected)


def remove_item(text: str, path: YamlPath, index: int) -> str:
    """`text` without the list item at `path[index]` and the comment lines just above it."""
    document = _document(text)
    lines = text.splitlines()
    items = list(_get(document.data, path) or [])
    start, column = _dash(lines, document, path + (index,))
    end = _item_end(lines, start, column)
    start = _leading_comments(lines, start, column)
    if 0 < start and end < len(lines) and not lines[start - 1].strip() and not lines[end].strip():
        end += 1  # do not leave two blank lines where the item was
    new_lines = lines[:start] + lines[end:]
    if len(items) == 1:
        line, key_column = document.keys[path]
        key_line = new_lines[line - 1]
        new_lines[line - 1] = key_line[:key_line.index(":", key_column - 1) + 1] + " []"
    return _check(_join(new_lines, text.endswith("\n")), path, items[:index] + items[index + 1:])


# --- ruleset edits ----------------------------------------------------------------------------

def _clean(item: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields, so the YAML shows only what the author gave."""
    return {k: v for k, v in item.items() if v not in (None, "", [], {})}


def add_input(text: str, spec: Mapping[str, Any]) -> str:
    """A new question: {id, type, question, help?, unit?, min?, max?, values?, labels?}."""
    order = ("id", "type", "unit", "min", "max", "values", "labels", "question", "help")
    return insert_item(text, ("inputs",), _clean({k: spec.get(k) for k in order}))


def add_red_flag(text: str, flag: Mapping[str, Any]) -> str:
    """A new red flag: {id, label, when, cites?}."""
    return insert_item(text, ("red_flags",), _clean({k: flag.get(k) for k in ("id", "label", "when", "cites")}))


def add_disposition(text: str, disposition: Mapping[str, Any], index: int | None = None) -> str:
    """A new disposition at `index` in the urgency order (most urgent first); default least urgent."""
    item = _clean({k: disposition.get(k) for k in ("id", "label", "description")})
    return insert_item(text, ("dispositions",), item, index)


def add_outcome(text: str, node: Mapping[str, Any]) -> str:
    """A new outcome node: {id, title, disposition, advice?, cites?}."""
    item = _clean({"id": node.get("id"), "kind": "outcome", "title": node.get("title"),
                   "disposition": node.get("disposition"), "advice": node.get("advice"), "cites": node.get("cites")})
    return insert_item(text, ("nodes",), item)


def add_decision(text: str, node: Mapping[str, Any]) -> str:
    """A new decision node with no branches yet: {id, title, else, description?, cites?}."""
    item = _clean({"id": node.get("id"), "kind": "decision", "title": node.get("title"),
                   "description": node.get("description"), "else": node.get("else"), "cites": node.get("cites")})
    return insert_item(text, ("nodes",), item)


def add_branch(text: str, node_id: str, branch: Mapping[str, Any], index: int | None = None) -> str:
    """A new branch {when, next, label?} of decision `node_id`, at `index` (default: last, before else).

    Order matters: the first branch whose condition holds is taken."""
    document = _document(text)
    at = _index_of(document, ("nodes",), node_id, "node")
    node = _get(document.data, ("nodes", at))
    if node.get("kind") != "decision":
        raise AuthoringError(f"'{node_id}' is an outcome; branches belong to decision nodes.")
    item = _clean({k: branch.get(k) for k in ("when", "next", "label")})
    return insert_item(text, ("nodes", at, "branches"), item, index)


def with_version(text: str, version: str) -> str:
    """The ruleset text with its `version` changed to `version`, every other byte kept (comments included)."""
    if not _SEMVER.fullmatch(version):
        raise AuthoringError(f"'{version}' is not a version such as 2.1.0.")
    document = _document(text)
    if not isinstance(document.data, dict) or "version" not in document.data:
        raise AuthoringError("The ruleset has no 'version' to change: add `version: 1.0.0` at the top.")
    line, column = document.locate(("version",))
    lines = text.split("\n")
    current = lines[line - 1]
    end = column - 1 + len(str(document.data["version"])) + (2 if current[column - 1:column] in "'\"" else 0)
    lines[line - 1] = current[:column - 1] + version + current[end:]
    new_text = "\n".join(lines)
    document, _ = read_yaml(new_text)
    if document is None or not isinstance(document.data, dict) or document.data.get("version") != version:
        raise AuthoringError("The version could not be changed without disturbing the rest of the file; change "
                             "it in the text instead.")
    return new_text


# --- vignette edits ---------------------------------------------------------------------------

def vignette_item(vignette: Mapping[str, Any]) -> dict[str, Any]:
    """A vignette in the usual field order, empty optional fields dropped."""
    expect = _clean({k: vignette.get("expect", {}).get(k) for k in ("disposition", "outcome", "red_flags", "needs")})
    if "red_flags" in vignette.get("expect", {}) and vignette["expect"]["red_flags"] == []:
        expect["red_flags"] = []  # 'no red flags' is an expectation, not an empty field
    item = _clean({"id": vignette.get("id"), "narrative": vignette.get("narrative")})
    item["inputs"] = FlowMapping(vignette.get("inputs") or {})
    if vignette.get("unsure"):
        item["unsure"] = list(vignette["unsure"])
    item["expect"] = expect
    return item


def add_vignette(text: str, vignette: Mapping[str, Any]) -> str:
    return insert_item(text, ("vignettes",), vignette_item(vignette))


def replace_vignette(text: str, vignette_id: str, vignette: Mapping[str, Any]) -> str:
    document = _document(text)
    return replace_item(text, ("vignettes",), _index_of(document, ("vignettes",), vignette_id, "vignette"),
                        vignette_item(vignette))


def delete_vignette(text: str, vignette_id: str) -> str:
    document = _document(text)
    return remove_item(text, ("vignettes",), _index_of(document, ("vignettes",), vignette_id, "vignette"))


def new_vignettes_file(ruleset_id: str, vignettes: Sequence[Mapping[str, Any]] = ()) -> str:
    """A vignettes file for `rulesets/<id>/vignettes/`, pointing editors at the published schema."""
    text = (f"# yaml-language-server: $schema=../../../schemas/vignettes.schema.json\n"
            f"ruleset: {ruleset_id}\nvignettes: []\n")
    for vignette in vignettes:
        text = add_vignette(text, vignette)
    return text


def vignette_from_result(vignette_id: str, narrative: str | None, answers: Mapping[str, Any],
                         result: Result) -> dict[str, Any]:
    """A vignette that pins down this result: the disposition, outcome and exact red flags, or the
    questions still needed. Unknown answers are left out: missing means unknown; unsure ones are kept."""
    expect: dict[str, Any] = {}
    if result.status == "complete":
        expect = {"disposition": result.disposition, "outcome": result.outcome}
    else:
        expect = {"needs": list(result.needs)}
    expect["red_flags"] = list(result.red_flags)
    return {"id": vignette_id, "narrative": narrative or None,
            "inputs": {k: v for k, v in answers.items() if v is not None and k not in result.unsure},
            "unsure": list(result.unsure), "expect": expect}


def with_vignette(text: str | None, ruleset_id: str, vignette: Mapping[str, Any], replace: str | None = None) -> str:
    """The vignettes file's text with `vignette` added (or put in place of `replace`); a new file when None."""
    if text is None:
        return new_vignettes_file(ruleset_id, [vignette])
    if replace is not None:
        return replace_vignette(text, replace, vignette)
    return add_vignette(text, vignette)


def slugify(text: str, fallback: str = "case") -> str:
    """A valid id from any text: 'Breast cancer, 62' -> 'breast-cancer-62'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 2 else fallback


def unique_id(base: str, taken: Sequence[str] | set[str]) -> str:
    """`base`, or `base-2`, `base-3`... whichever is not taken."""
    taken = set(taken)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}"[:64] in taken:
        n += 1
    return f"{base}-{n}"[:64]


# --- new rulesets -----------------------------------------------------------------------------

_TEMPLATE = """\
# yaml-language-server: $schema=../../schemas/ruleset.schema.json
# A new triage ruleset. Replace the example question, red flag and outcomes with your own;
# every change is checked as you type.
id: {id}
version: 0.1.0
title: {title}
description: Who this ruleset is for and what it decides (replace this sentence).

references:
  - id: GUIDELINE
    title: The guideline this ruleset follows (replace with the full citation)

dispositions:                    # ordered: most urgent FIRST
  - id: urgent
    label: Urgent — same-day assessment
  - id: self_care
    label: Self-care with safety-netting advice

inputs:
  - id: warning_symptom
    type: boolean
    question: Does the patient have the warning symptom?

red_flags:                       # evaluated on every case, whatever the path
  - id: warning_symptom
    label: Warning symptom present
    when: warning_symptom
    cites: [GUIDELINE]

start: screen

nodes:
  - id: screen
    kind: decision
    title: Any warning symptom?
    branches:                    # the first matching branch wins
      - when: warning_symptom
        next: urgent_review
        label: Warning symptom
    else: self_care_advice
    cites: [GUIDELINE]

  - id: urgent_review
    kind: outcome
    title: Urgent review
    disposition: urgent
    advice: Arrange a same-day assessment.
    cites: [GUIDELINE]

  - id: self_care_advice
    kind: outcome
    title: Self-care
    disposition: self_care
    advice: Self-care advice; come back at once if the warning symptom appears.
    cites: [GUIDELINE]
"""

_RULESET_ID = re.compile(RULESET_ID_PATTERN)


def new_ruleset(ruleset_id: str, title: str) -> dict[str, str]:
    """The files of a new, valid ruleset with one vignettes file: {relative path: text}."""
    if not _RULESET_ID.match(ruleset_id):
        raise AuthoringError(f"'{ruleset_id}' cannot be a ruleset id: use 2 to 64 lower-case letters, digits or "
                             "'-', starting with a letter or digit (it names a folder and a web address).")
    title = " ".join(title.split())
    if not title:
        raise AuthoringError("The new ruleset needs a title.")
    vignettes = [
        {"id": "warning-symptom", "narrative": "Has the warning symptom.", "inputs": {"warning_symptom": True},
         "expect": {"disposition": "urgent", "outcome": "urgent_review", "red_flags": ["warning_symptom"]}},
        {"id": "no-warning-symptom", "narrative": "No warning symptom.", "inputs": {"warning_symptom": False},
         "expect": {"disposition": "self_care", "outcome": "self_care_advice", "red_flags": []}},
    ]
    return {RULESET_FILE: _TEMPLATE.format(id=ruleset_id, title=yaml_scalar(title)),
            f"{VIGNETTES_DIR}/examples.yaml": new_vignettes_file(ruleset_id, vignettes)}


__all__ = ["AuthoringError", "add_branch", "add_decision", "add_disposition", "add_input",
           "add_outcome", "add_red_flag", "add_vignette", "delete_vignette", "insert_item",
           "new_ruleset", "new_vignettes_file", "remove_item", "render_item", "replace_item", "replace_vignette",
           "slugify", "unique_id", "vignette_from_result", "vignette_item",
           "yaml_scalar"]
