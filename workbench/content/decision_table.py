"""A decision node's branches as a decision table (when → next, in order, then "otherwise"), and the table written
back into the YAML without losing a comment or changing the layout of anything else.

Reading for validation stays with the project's own safe loader (loader.py); this module only edits text, with
ruamel.yaml in round-trip mode, which keeps comments, quoting, block scalars and key order. Before any edit the
unchanged text must come back byte for byte under one of the usual indentation styles; a file whose layout it
cannot keep is refused (TableError), so the author edits it as text instead. Rows carry the branch they came
from, so a moved row takes its comments with it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ..problems import Problem, ProblemError

_STYLES = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 4, 0))
"""(mapping indent, sequence indent, dash offset) tried in turn: the first that writes the text back unchanged."""


class TableError(ProblemError, ValueError):
    """The table cannot be read from or written into this text; `.problems` says why, in words."""


@dataclass(frozen=True)
class Row:
    when: str | None  # None: the "otherwise" row
    next: str
    label: str | None = None
    source: int | None = None  # the branch this row came from (its index), None for a new row


def _refuse(message: str) -> TableError:
    return TableError([Problem("WB1040", message)])


def _yaml(style: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _load(text: str) -> tuple[YAML, Any]:
    """The round-trip tree and the writer that gives `text` back unchanged."""
    for style in _STYLES:
        yaml = _yaml(style)
        try:
            data = yaml.load(text)
        except YAMLError:
            raise _refuse("The text is not valid YAML yet: fix it in the editor, then use the table.") from None
        if _dump(yaml, data) == text:
            return yaml, data
    raise _refuse("This file's layout (its indentation) cannot be kept exactly by the table, so it is edited as "
                  "text only: nothing was changed.")


def _node(data: Any, node_id: str) -> CommentedMap:
    nodes = data.get("nodes") if isinstance(data, CommentedMap) else None
    for node in nodes if isinstance(nodes, CommentedSeq) else []:
        if isinstance(node, CommentedMap) and node.get("id") == node_id and node.get("kind") == "decision":
            return node
    raise _refuse(f"There is no decision node '{node_id}' in the text.")


def rows(text: str, node_id: str) -> list[Row]:
    """The node's branches in order, then its "otherwise" row."""
    _, data = _load(text)
    node = _node(data, node_id)
    branches = node.get("branches") or []
    out = [Row(str(b.get("when", "")), str(b.get("next", "")), b.get("label"), i) for i, b in enumerate(branches)
           if isinstance(b, CommentedMap)]
    return out + [Row(None, str(node.get("else", "")))]


def with_rows(text: str, node_id: str, table: Sequence[Row]) -> str:
    """The text with the node's branches and "otherwise" as in `table` (the rows with a condition in order, and
    one row without: the otherwise). Everything else, comments included, is written back as it was."""
    yaml, data = _load(text)
    node = _node(data, node_id)
    otherwise = [row for row in table if row.when is None]
    if len(otherwise) != 1 or not otherwise[0].next.strip():
        raise _refuse("A decision needs exactly one “otherwise” row, saying where every other case goes.")
    old = node.get("branches")
    old = old if isinstance(old, CommentedSeq) else CommentedSeq()
    new = CommentedSeq()
    for position, row in enumerate(r for r in table if r.when is not None):
        when, target = (row.when or "").strip(), row.next.strip()
        if not when or not target:
            raise _refuse(f"Row {position + 1} needs both a condition and where it leads.")
        kept = old[row.source] if row.source is not None and 0 <= row.source < len(old) else None
        branch = kept if isinstance(kept, CommentedMap) else CommentedMap()
        if branch.get("when") != when:
            branch["when"] = when
        if branch.get("next") != target:
            branch["next"] = target
        label = (row.label or "").strip()
        if label and branch.get("label") != label:
            branch["label"] = label
        elif not label and "label" in branch:
            del branch["label"]
        if kept is not None and row.source in old.ca.items:  # the comments before and after it move with it
            new.ca.items[position] = old.ca.items[row.source]
        new.append(branch)
    if isinstance(node.get("branches"), CommentedSeq):
        new.ca.comment = old.ca.comment
    node["branches"] = new
    if node.get("else") != otherwise[0].next.strip():
        node["else"] = otherwise[0].next.strip()
    return _dump(yaml, data)
