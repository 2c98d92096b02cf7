"""The downstream runtime: a published release (JSON) -> a CompiledRuleset, refused unless it verifies.

Apps load releases with this and need neither Streamlit nor FastAPI. Before the content is trusted, the
release's signature is checked against the keyring the deployment controls (is it signed by the approving
clinician, with a key this deployment trusts, and unchanged since?), its sha256 against its content, and the
content against the validator, so an app never runs a tree the workbench would refuse or nobody signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..problems import ProblemError
from ..run.engine import CompiledRuleset, RulesetError
from .releases import document_bytes, load_release, read_bytes
from .signing import Keyring, load_keyring

ReleaseSource = str | Path | bytes | bytearray | Mapping[str, Any]


class IntegrityError(RulesetError):
    """The release is unsigned, signed by someone the keyring does not trust, or changed after signing."""


def load_release_json(source: ReleaseSource, keyring: Keyring | None = None) -> CompiledRuleset:
    """A release from a file path, JSON bytes/text or a parsed dict, verified against `keyring` (by default the
    deployment's, from $WORKBENCH_KEYRING or .workbench/keyring.json; none trusts nobody) and compiled."""
    if keyring is None:
        try:
            keyring = load_keyring(required=True)
        except ProblemError as exc:
            raise RulesetError(exc.problems) from None
    data, file = _bytes_of(source)
    try:
        release = load_release(data, keyring, file)
    except ProblemError as exc:
        integrity = any(p.code in ("WB902", "WB904", "WB905", "WB906", "WB704") for p in exc.problems)
        raise (IntegrityError if integrity else RulesetError)(exc.problems) from None
    return CompiledRuleset(release.model, file)


def _bytes_of(source: ReleaseSource) -> tuple[bytes, str]:
    if isinstance(source, Mapping):
        return document_bytes(dict(source)), "<release>"
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "<release>"
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return source.encode("utf-8", "surrogatepass"), "<release>"
    try:
        return read_bytes(Path(source)), str(source)
    except ProblemError as exc:
        raise RulesetError(exc.problems) from None
