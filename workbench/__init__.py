"""The clinical-rules workbench: author, validate, replay and publish triage decision trees.

Downstream Python apps need only this:

    from workbench import load_ruleset, evaluate
    rs = load_ruleset("rulesets/upper-back-pain/ruleset.yaml")
    evaluate(rs, {"age": 62, "known_cancer": True}).to_dict()
"""

from .engine import CompiledRuleset, InputError, Result, RulesetError, evaluate, load_ruleset
from .problems import Problem

__all__ = ["CompiledRuleset", "InputError", "Problem", "Result", "RulesetError", "evaluate", "load_ruleset"]
