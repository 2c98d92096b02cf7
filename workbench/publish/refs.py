"""A version named on the command line or by a page: a ruleset file or folder (its working copy), a release
file, or a published release as `ID@VERSION` (verified: signed by a trusted key, unchanged since release)."""

from __future__ import annotations

from pathlib import Path

from ..folder import RULESET_FILE
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset
from .diff import resolve
from .signing import Keyring


def version_at(ref: str, rulesets_root: Path, keyring: Keyring) -> CompiledRuleset:
    """The compiled ruleset `ref` names; ProblemError (WB722) when there is none, or when it has errors or does
    not verify."""
    path = Path(ref)
    if path.is_dir() and (path / RULESET_FILE).is_file():
        return resolve(path, "draft", keyring)
    if path.suffix in (".yaml", ".yml", ".json"):
        return resolve(path.parent, ref, keyring)
    ruleset_id, at, version = ref.partition("@")
    if not at or not ruleset_id or not version:
        raise ProblemError([Problem("WB722", f"'{ref}' is neither a ruleset file nor a release as ID@VERSION "
                                    "(e.g. upper-back-pain@1.0.0).")])
    folder = Path(rulesets_root) / ruleset_id
    if not folder.is_dir() or "/" in ruleset_id or ruleset_id.startswith("."):
        raise ProblemError([Problem("WB722", f"There is no ruleset '{ruleset_id}' in {rulesets_root}.")])
    return resolve(folder, version, keyring)
