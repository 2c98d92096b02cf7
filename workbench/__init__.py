"""The clinical-rules workbench: author, validate, replay and publish triage decision trees.

Downstream Python apps need only this:

    from workbench import load_ruleset, evaluate
    rs = load_ruleset("rulesets/upper-back-pain/ruleset.yaml")
    evaluate(rs, {"age": 62, "known_cancer": True}).to_dict()
"""

from pathlib import Path

from .problems import Problem
from .run.engine import CompiledRuleset, InputError, Result, RulesetError, evaluate
from .run.load import load_file


def load_ruleset(path: str | Path) -> CompiledRuleset:
    """Read, validate and compile a ruleset file; raises RulesetError with every problem found.

    A `.json` file is a release or an export of one, and is refused unless its signature and sha256 verify
    against the deployment's keyring (publish/runtime.py)."""
    if str(path).endswith(".json"):
        from .publish.runtime import load_release_json  # the release stage, only when a release is read

        return load_release_json(Path(path))
    return load_file(path).required()


__all__ = ["CompiledRuleset", "InputError", "Problem", "Result", "RulesetError", "evaluate", "load_ruleset"]
