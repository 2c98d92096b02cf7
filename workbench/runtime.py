"""The downstream runtime: a published release (JSON) -> a CompiledRuleset, refused unless its sha256 matches.

Apps load releases with this and need neither Streamlit nor FastAPI. The hash is checked before the content
is trusted, and the content is validated again, so an app never runs a tree the workbench would refuse.

A release document is `{"id", "version", "sha256", "ruleset": {...}, "release": {...}}` (what
`rulesets/<id>/releases/<version>.json` holds and `workbench export` publishes); the sha256 covers the
canonical JSON of `ruleset` (see canonical.py). A flat ruleset object with a `sha256` field is read too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .canonical import sha256_hex
from .engine import CompiledRuleset, RulesetError
from .loader import Document, parse_model, read_text
from .model import Ruleset
from .problems import Problem, has_errors
from .validate import check_ruleset

ReleaseSource = str | Path | bytes | bytearray | Mapping[str, Any]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_METADATA = ("sha256", "release")


class IntegrityError(RulesetError):
    """The release's content does not match its sha256: it was changed after release, so it is refused."""


def load_release_json(source: ReleaseSource) -> CompiledRuleset:
    """A release from a file path, JSON bytes/text or an already parsed dict, verified and compiled."""
    document, file = read_release_document(source)
    return CompiledRuleset(verify_release(document, file), file)


def read_release_document(source: ReleaseSource) -> tuple[dict[str, Any], str]:
    """The release as a dict and a name for messages; RulesetError (WB901) when it is not JSON of an object."""
    if isinstance(source, Mapping):
        return dict(source), "<release>"
    if isinstance(source, (bytes, bytearray)):
        return _parse(bytes(source).decode("utf-8", errors="replace"), "<release>"), "<release>"
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return _parse(source, "<release>"), "<release>"
    file = str(source)
    text, problems = read_text(Path(source))
    if text is None:
        raise RulesetError([Problem("WB901", p.message, file=file, line=1, column=1) for p in problems])
    return _parse(text, file), file


def ruleset_part(document: Mapping[str, Any]) -> Any:
    """The hashed part of a release: its `ruleset` object, or the document minus `sha256` and `release`."""
    if "ruleset" in document:
        return document["ruleset"]
    return {key: value for key, value in document.items() if key not in _METADATA}


def verify_release(document: Mapping[str, Any], file: str = "<release>") -> Ruleset:
    """The release's ruleset model, after checking its sha256 and validating it; raises otherwise."""
    claimed = document.get("sha256")
    if not isinstance(claimed, str) or not _SHA256.match(claimed):
        raise IntegrityError([_problem("WB902", "The release has no sha256 (64 lower-case hex digits), so its "
                                       "content cannot be trusted.", file)])
    data = ruleset_part(document)
    try:
        actual = sha256_hex(data)
    except (TypeError, ValueError) as exc:
        raise RulesetError([_problem("WB901", f"The release's ruleset is not plain JSON data: {exc}.", file)]) from None
    if actual != claimed:
        raise IntegrityError([_problem("WB902", f"The ruleset's content has sha256 {actual}, not the {claimed} it was "
                                       "released with: it was changed after release and must not be used.", file)])
    if not isinstance(data, dict):
        raise RulesetError([_problem("WB901", "The release's ruleset is not an object of fields.", file)])
    parsed = parse_model(Document(file, data), Ruleset)
    if parsed.model is None:
        raise RulesetError(parsed.problems)
    problems = check_ruleset(parsed.model, Document(file, data))
    if has_errors(problems):
        raise RulesetError([p for p in problems if p.is_error])
    for field in ("id", "version"):
        if field in document and document[field] != getattr(parsed.model, field):
            raise IntegrityError([_problem("WB902", f"The release is labelled {field} {document[field]!r} but its "
                                           f"ruleset says {getattr(parsed.model, field)!r}.", file)])
    return parsed.model


def _parse(text: str, file: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise RulesetError([_problem("WB901", f"The release is not valid JSON: {exc}.", file)]) from None
    if not isinstance(data, dict):
        raise RulesetError([_problem("WB901", "The release should be a JSON object with 'sha256' and 'ruleset'.",
                                     file)])
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _problem(code: str, message: str, file: str) -> Problem:
    return Problem(code, message, file=file, line=1, column=1)
