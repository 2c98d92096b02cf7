"""YAML text -> plain data with the file:line:col of every value -> pydantic model.

Only PyYAML's safe scanner is used, and the node tree is converted by hand so that duplicate keys,
aliases (alias bombs), non-plain tags and absurd nesting are refused as Problems, with a line.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import AliasEvent

from ..files import NotAFile, read_regular
from ..problems import Problem, did_you_mean
from .model import Ruleset, VignetteFile
from .yaml_words import explain

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_VALUES = 200_000

YamlPath = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TAG_WORDS = {"tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:int": "a whole number",
              "tag:yaml.org,2002:float": "a number", "tag:yaml.org,2002:null": "an empty value",
              "tag:yaml.org,2002:str": "text"}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class Document:
    """Plain data from one YAML file, and where each value and key stands in it (1-based)."""

    file: str
    data: Any
    values: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def quote_offset(self, path: YamlPath) -> int:
        """1 where the value at `path` is written in quotes, so a column inside it lands right."""
        line, column = self.locate(path)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return 1 if text[column - 1:column] in ("'", '"') else 0

    def locate(self, path: YamlPath, *, key: bool = False) -> tuple[int, int]:
        """The line and column of `path`, or of its nearest ancestor that exists."""
        path = tuple(path)
        while True:
            if key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def problem(self, code: str, message: str, path: YamlPath = (), *, key: bool = False,
                severity: str = "error") -> Problem:
        line, column = self.locate(path, key=key)
        return Problem(code, message, severity, self.file, line, column, path)  # type: ignore[arg-type]


@dataclass
class Parsed(Generic[M]):
    """The outcome of reading one file: the model where the shape was right, and its problems."""

    document: Document | None
    model: M | None
    problems: list[Problem]


class _YamlError(Exception):
    def __init__(self, code: str, message: str, mark: Any) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.line = mark.line + 1 if mark else 1
        self.column = mark.column + 1 if mark else 1


class _TooManyValues(_YamlError):
    """Found by libyaml's events: said at once, rather than parsed again by the pure-Python way to say the same."""


class _SafeComposer(yaml.SafeLoader):
    """Composes the node tree, refusing aliases and deep nesting before they cost anything."""

    depth = 0
    count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _YamlError("WB004", "YAML aliases ('*name') are not allowed: write the value out in full.",
                             event.start_mark)
        self.depth += 1
        self.count += 1
        if self.depth > MAX_DEPTH:
            raise _YamlError("WB007", f"The file is nested more than {MAX_DEPTH} levels deep.",
                             self.peek_event().start_mark)
        if self.count > MAX_VALUES:
            raise _YamlError("WB007", f"The file has more than {MAX_VALUES} values.", self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_text(path: str | Path) -> tuple[str | None, list[Problem]]:
    """The file's text, or a problem saying why it cannot be read (WB001; WB1023 for a link or a special file,
    which is never read: a link can lead out of the rulesets folder, a pipe would block, /dev/zero never ends)."""
    name = str(path)
    try:
        data = read_regular(Path(path), MAX_FILE_BYTES)
        if len(data) > MAX_FILE_BYTES:
            return None, [Problem("WB001", f"The file is over the limit of {MAX_FILE_BYTES:,} bytes.",
                                  file=name, line=1, column=1)]
        return data.decode("utf-8"), []
    except NotAFile as exc:
        return None, [Problem("WB1023", f"{exc}: it is not read.", file=name, line=1, column=1)]
    except UnicodeDecodeError as exc:
        return None, [Problem("WB001", f"The file is not UTF-8 text (byte {exc.start}).", file=name, line=1,
                              column=1)]
    except OSError as exc:
        return None, [Problem("WB001", f"The file cannot be read: {exc.strerror or exc}.", file=name, line=1,
                              column=1)]


def read_yaml(text: str, file: str = "<text>") -> tuple[Document | None, list[Problem]]:
    """Plain data and locations from YAML text; never raises.

    Text that libyaml (the C parser) reads within the limits is built from its events, about ten times faster;
    anything else, and every mistake, goes the pure-Python way, whose messages yaml_words.py puts in plain
    words, so a problem reads the same whichever parser found the text fine."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        return None, [Problem("WB001", f"The text is over the limit of {MAX_FILE_BYTES:,} bytes.", file=file,
                              line=1, column=1)]
    try:
        fast = _read_with_libyaml(text, file)
    except _TooManyValues as exc:
        return None, [Problem(exc.code, exc.message, "error", file, exc.line, exc.column)]
    if fast is not None:
        return fast, []
    try:
        loader = _SafeComposer(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return None, [Problem("WB002", f"The text holds a control character (code {exc.character}) that YAML does "
                              "not allow; remove it.", "error", file, line, 1)]
    try:
        node = loader.get_single_node()
        document = Document(file, None, lines=text.splitlines())
        document.data = _convert(node, (), document, loader) if node is not None else None
        return document, []
    except _YamlError as exc:
        return None, [Problem(exc.code, exc.message, "error", file, exc.line, exc.column)]
    except yaml.MarkedYAMLError as exc:
        message, line, column = explain(exc, text.splitlines())
        return None, [Problem("WB002", message, "error", file, line, column)]
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return None, [Problem("WB002", f"The text is not valid YAML: {exc}.", "error", file, 1, 1)]
    finally:
        loader.dispose()


def _read_with_libyaml(text: str, file: str) -> Document | None:
    """The document built straight from libyaml's events, or None to go the pure-Python way (no libyaml, an alias or
    anchor, too deep, or anything the pure-Python way would refuse, which it then says in words); too many values is
    said at once (_TooManyValues). One pass, with the limits checked as it goes, so no deep or aliased text ever
    reaches a recursive composer; building the data here costs a third of composing nodes and converting them."""
    if not yaml.__with_libyaml__:
        return None
    document = Document(file, None, lines=text.splitlines())
    try:
        built = _build(yaml.parse(text, Loader=yaml.CSafeLoader), document)
    except _TooManyValues:
        raise
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    if built is _REFUSED:
        return None
    document.data = built
    return document


_REFUSED = object()
"""What _build gives for text the pure-Python way must read (and explain)."""
_STR_TAG = "tag:yaml.org,2002:str"
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)


def _build(events: Any, document: Document) -> Any:
    """The data of a single document from its events, and where each key and value stands, as PyYAML's safe loader
    composes and constructs it (a test holds the two to the same data and locations on every file). The limits are
    checked on every event as they were before anything was built: an alias or too deep stops at once, too many
    values is raised at once, and after any other mistake the rest is only counted."""
    values, keys = document.values, document.keys
    constructor = yaml.constructor.SafeConstructor()
    stack: list[list[Any]] = []  # [container, its path, the key waiting for its value (mappings; None: none)]
    root: Any = None
    count = documents = 0
    for event in events:
        kind = event.__class__
        if kind is yaml.ScalarEvent or kind in _COLLECTION_STARTS:
            opens = kind is not yaml.ScalarEvent
            if opens and len(stack) >= MAX_DEPTH:
                return _REFUSED
            count += 1
            if count > MAX_VALUES:
                raise _TooManyValues("WB007", f"The file has more than {MAX_VALUES} values.", event.start_mark)
            if event.anchor is not None:
                return _counted(events, count, len(stack) + opens)
            top = stack[-1] if stack else None
            mapping = top is not None and top[0].__class__ is dict
            if mapping and top[2] is None:  # a key
                if opens or _scalar_tag(event) not in _PLAIN_TAGS or event.value == "<<" or event.value in top[0]:
                    return _counted(events, count, len(stack) + opens)
                top[2] = event.value
                keys[top[1] + (event.value,)] = (event.start_mark.line + 1, event.start_mark.column + 1)
                continue
            path = () if top is None else top[1] + ((top[2],) if mapping else (len(top[0]),))
            values[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
            if not opens:
                value = _scalar(event, constructor)
                if value is _REFUSED:
                    return _counted(events, count, len(stack))
            elif event.tag in (None, "!", _MAP_TAG if kind is yaml.MappingStartEvent else _SEQ_TAG):
                value = {} if kind is yaml.MappingStartEvent else []
            else:
                return _counted(events, count, len(stack) + 1)
            if top is None:
                root = value
            elif mapping:
                top[0][top[2]] = value
                top[2] = None
            else:
                top[0].append(value)
            if opens:
                stack.append([value, path, None])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is AliasEvent:
            return _REFUSED
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                return _counted(events, count, 0)
    return root


def _counted(events: Any, count: int, depth: int) -> Any:
    """_REFUSED once the rest of the events are counted, the limits checked as _build checks them: too many values
    is said at once, without the pure-Python way parsing a megabyte again to say it."""
    for event in events:
        kind = event.__class__
        if kind is AliasEvent:
            break
        if kind in _COLLECTION_STARTS:
            if depth >= MAX_DEPTH:
                break
            depth += 1
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            depth -= 1
        if kind is yaml.ScalarEvent or kind in _COLLECTION_STARTS:
            count += 1
            if count > MAX_VALUES:
                raise _TooManyValues("WB007", f"The file has more than {MAX_VALUES} values.", event.start_mark)
    return _REFUSED


def _scalar_tag(event: Any) -> str:
    """The scalar's tag as PyYAML's resolver gives it: an explicit tag, else the first implicit resolver for its first
    character whose pattern matches a plain scalar, else text."""
    if event.tag is not None and event.tag != "!":
        return str(event.tag)
    if event.implicit[0]:
        value = event.value
        for tag, pattern in _IMPLICIT.get(value[:1], ()):
            if pattern.match(value):
                return str(tag)
    return _STR_TAG


def _scalar(event: Any, constructor: Any) -> Any:
    """A scalar's value as the safe loader constructs it; a date kept as written; _REFUSED for any other tag or a
    value its tag cannot read (the pure-Python way says why)."""
    tag = _scalar_tag(event)
    if tag == _STR_TAG or tag == "tag:yaml.org,2002:timestamp":
        return event.value
    if tag not in _PLAIN_TAGS:
        return _REFUSED
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return constructor.yaml_constructors[tag](constructor, node)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, yaml.YAMLError):
        return _REFUSED


def _convert(node: Any, path: YamlPath, document: Document, loader: Any) -> Any:
    document.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            raise _YamlError("WB005", f"The tag '{node.tag}' is not allowed here.", node.start_mark)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<":
                raise _YamlError("WB004", "YAML merge keys ('<<') are not allowed: write the fields out.",
                                 key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                raise _YamlError("WB002", "A key must be a plain word.", key_node.start_mark)
            key = key_node.value
            if key in out:
                first = document.keys[path + (key,)][0]
                raise _YamlError("WB003", f"'{key}' appears twice in the same mapping (first on line {first}); "
                                 "keep one.", key_node.start_mark)
            document.keys[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, path + (key,), document, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            raise _YamlError("WB005", f"The tag '{node.tag}' is not allowed here.", node.start_mark)
        return [_convert(item, path + (i,), document, loader) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value  # a date is kept as the text the author wrote
    if node.tag not in _PLAIN_TAGS:
        raise _YamlError("WB005", f"The tag '{node.tag}' is not allowed: write plain text, numbers, true or false.",
                         node.start_mark)
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, yaml.YAMLError):
        kind = _TAG_WORDS.get(node.tag, "a plain value")
        raise _YamlError("WB012", f"'{node.value}' cannot be read as {kind}: write {kind} plainly, without a '!!' "
                         "tag.", node.start_mark) from None


def detect_kind(data: Any) -> str | None:
    """'ruleset' or 'vignettes', told by the top-level keys (SPEC 6)."""
    if isinstance(data, dict):
        if "nodes" in data:
            return "ruleset"
        if "vignettes" in data:
            return "vignettes"
    return None


def parse_model(document: Document, model: type[M]) -> Parsed[M]:
    """Checks the shape of the data against a model, every error located and in plain words."""
    if not isinstance(document.data, dict):
        return Parsed(document, None, [document.problem(
            "WB006", "The file should be a mapping of fields (such as 'id:', 'nodes:'), not a single value or list.")])
    try:
        return Parsed(document, model.model_validate(document.data), [])
    except ValidationError as exc:
        problems: dict[tuple[str, str], Problem] = {}
        for error in exc.errors(include_url=False):
            problem = _translate(error, document)
            problems.setdefault((problem.path, problem.code), problem)
        return Parsed(document, None, list(problems.values()))


def parse_ruleset(text: str, file: str = "<text>") -> Parsed[Ruleset]:
    document, problems = read_yaml(text, file)
    return parse_model(document, Ruleset) if document else Parsed(None, None, problems)


def parse_vignettes(text: str, file: str = "<text>") -> Parsed[VignetteFile]:
    """Remembered by text: the Editor replays the same vignette files on every change to the ruleset, and reading
    them again cost more than the replay. The model is frozen and the document only read; the problems are a new
    list each time, for callers that add to it."""
    found = _parsed_vignettes(text, file)
    return Parsed(found.document, found.model, list(found.problems))


@functools.lru_cache(maxsize=64)
def _parsed_vignettes(text: str, file: str) -> Parsed[VignetteFile]:
    document, problems = read_yaml(text, file)
    return parse_model(document, VignetteFile) if document else Parsed(None, None, problems)


# --- pydantic errors in clinical words -------------------------------------------------------

_SECTION_NAMES = {"nodes": "node", "inputs": "input", "red_flags": "red flag", "dispositions": "disposition",
                  "references": "reference", "vignettes": "vignette", "branches": "branch",
                  "safety": "safety property"}


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[YamlPath, str | None]:
    """The pydantic location as a path into the data, skipping union tags; and the missing leaf."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif isinstance(current, dict) and part in (current.get("kind"), current.get("type")):
            continue
        else:
            leaf = part if i == len(loc) - 1 and isinstance(part, str) else None
            return tuple(path), leaf
    return tuple(path), None


def describe(path: YamlPath, data: Any) -> str:
    """'branch 2 of node 'neuro_screen'' for a path: where a person would look."""
    words: list[str] = []
    current = data
    for i, part in enumerate(path):
        parent = path[i - 1] if i else None
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            current = None
        if isinstance(part, int) and isinstance(parent, str):
            noun = _SECTION_NAMES.get(parent, "item")
            ident = current.get("id") if isinstance(current, dict) else None
            words.append(f"{noun} '{ident}'" if isinstance(ident, str) else f"{noun} {part + 1}")
    if not words:
        return "the file"
    return " of ".join(reversed(words))


_WHAT_FIELDS_ARE_FOR = {
    "else": "the node to go to when no branch matches",
    "start": "the id of the first node to ask",
    "disposition": "where the patient goes, one of the declared dispositions",
    "when": "the condition, e.g. 'known_cancer and age >= 60'",
    "next": "the id of the node this branch leads to",
    "question": "the question as it is put to the patient or clinician",
    "dispositions": "the possible dispositions, most urgent first",
    "nodes": "the decisions and outcomes of the tree",
    "expect": "what a clinician expects: at least a disposition",
    "values": "the answers this choice allows",
}

_TYPE_WORDS = {"string_type": "text", "int_type": "a whole number", "float_type": "a number",
               "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping of fields",
               "model_type": "a mapping of fields", "model_attributes_type": "a mapping of fields",
               "int_from_float": "a whole number"}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing" if value is None else type(value).__name__


def _translate(error: Any, document: Document) -> Problem:
    path, leaf = _data_path(error["loc"], document.data)
    where = describe(path, document.data)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    field_name = path[-1] if path and isinstance(path[-1], str) else leaf
    owner = "" if where == "the file" else f" of {where}"
    if field_name == "version" and kind in ("string_type", "string_pattern_mismatch"):
        return document.problem("WB014", f"Version '{value}' must be a semantic version such as 1.0.0.", path)
    if kind == "missing":
        why = _WHAT_FIELDS_ARE_FOR.get(str(leaf))
        return document.problem("WB010", f"{where.capitalize()} needs '{leaf}'" + (f": {why}." if why else "."), path)
    if kind == "extra_forbidden":
        hint = did_you_mean(str(field_name), _known_fields())
        return document.problem("WB011", f"{where.capitalize()} has an unknown field '{field_name}'{hint or '.'}", path,
                                key=True)
    if kind == "union_tag_invalid":
        tag_field = "kind" if "nodes" in path else "type"
        hint = did_you_mean(str(ctx.get("tag")), ctx.get("expected_tags", "").replace("'", "").split(", "))
        return document.problem("WB014", f"{where.capitalize()} has {tag_field} '{ctx.get('tag')}', which must be "
                                f"one of {ctx.get('expected_tags')}{hint or '.'}", path + (tag_field,))
    if kind == "union_tag_not_found":
        tag_field = ctx.get("discriminator", "kind").strip("'")
        return document.problem("WB010", f"{where.capitalize()} needs '{tag_field}'.", path)
    if kind == "string_pattern_mismatch":
        return document.problem("WB013", f"'{value}' is not a valid id: use lower-case letters, digits, '-' or '_', "
                                "2 to 64 characters, starting with a letter or digit.", path)
    if kind in _TYPE_WORDS:
        return document.problem("WB012", f"'{field_name}'{owner} should be {_TYPE_WORDS[kind]}, not "
                                f"{_kind_of(value)}.", path)
    if kind == "too_short" and isinstance(value, list):
        return document.problem("WB014", f"'{field_name}'{owner} needs at least {ctx.get('min_length', 1)} "
                                "entry.", path)
    if kind == "string_too_short":
        return document.problem("WB014", f"'{field_name}'{owner} must not be empty.", path)
    if kind == "string_too_long":
        return document.problem("WB014", f"'{field_name}'{owner} is longer than {ctx.get('max_length')} "
                                "characters.", path)
    return document.problem("WB014", f"'{field_name or 'value'}'{owner}: {error['msg']}.", path)


@functools.cache
def _known_fields() -> list[str]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [Ruleset, VignetteFile]
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            stack.extend(_models_in(info.annotation))
    return sorted(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)] + (
        _models_in(getattr(annotation, "__origin__", None)) if hasattr(annotation, "__metadata__") else [])


__all__ = ["Document", "Parsed", "read_text", "read_yaml", "parse_ruleset", "parse_vignettes", "parse_model",
           "detect_kind", "describe"]
