"""The clinical-rules workbench: author, validate, replay and publish triage decision trees.

Downstream Python apps need only this:

    from workbench import load_ruleset, evaluate
    rs = load_ruleset("rulesets/upper-back-pain/ruleset.yaml")
    evaluate(rs, {"age": 62, "known_cancer": True}).to_dict()
"""

from .problems import Problem
from .run.engine import CompiledRuleset, InputError, Result, RulesetError, evaluate
from .run.load import load_ruleset

__all__ = ["CompiledRuleset", "InputError", "Problem", "Result", "RulesetError", "evaluate", "load_ruleset"]
