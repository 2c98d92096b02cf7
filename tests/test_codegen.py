"""The generated code is a security boundary (SECURITY.md): content reaches it only as constants, it calls
nothing but its own functions, and it runs with no builtins."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from workbench.run.codegen import module_for, partial_module_for
from workbench.run.load import load_file, load_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_TEXT = (ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml").read_text(encoding="utf-8")
HOSTILE_TITLE = "title: \"Pain'); __import__('os').system('id'); ('\""
OWN_NAMES = {"answers", "prefix", "red_flags", "Result", "make", "KEYS", "TAKE", "STR", "INT", "FLOAT", "value",
             "NEEDS", "DICT", "LEN", "COUNT", "MISSING", "MAP", "IDS"}
ALLOWED = (ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.If, ast.Expr, ast.Assign, ast.Call,
           ast.Attribute, ast.Name, ast.Load, ast.Store, ast.Constant, ast.Subscript, ast.Compare, ast.BoolOp,
           ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.BinOp, ast.Add, ast.List, ast.Tuple, ast.Eq, ast.NotEq, ast.Lt,
           ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Starred, ast.NamedExpr, ast.Try,
           ast.ExceptHandler)
LOCAL = re.compile(r"^a_[0-9]+$")  # the answers taken into locals (the tree's arguments)
PREDICATE = re.compile(r"^p_[0-9]+$")  # a condition's compiled Kleene closure (expr/compile.py)


def generated(text: str) -> ast.Module:
    """Both generated modules, for complete cases and for cases with unanswered inputs, as one."""
    ruleset = load_text(text, "r.yaml").required()
    partial, _ = partial_module_for(ruleset)
    return ast.Module([*module_for(ruleset).body, *partial.body], type_ignores=[])


@pytest.mark.parametrize("text", [SHIPPED_TEXT, SHIPPED_TEXT.replace(
    "title: Upper back and neck pain — cancer and other serious causes", HOSTILE_TITLE)])
def test_the_generated_code_holds_only_constants_and_its_own_names(text: str) -> None:
    assert text.count("__import__") == (text != SHIPPED_TEXT)
    module = generated(text)
    functions = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    for node in ast.walk(module):
        assert isinstance(node, ALLOWED), f"unexpected {type(node).__name__} in generated code"
        if isinstance(node, ast.Name):
            assert node.id in OWN_NAMES | functions or LOCAL.match(node.id) or PREDICATE.match(node.id), node.id
        if isinstance(node, ast.Attribute):
            assert isinstance(node.value, ast.Name) and (node.attr, node.value.id) in {
                ("append", "red_flags"), ("keys", "answers"), ("get", "answers"), ("__class__", "answers")} or (
                node.attr == "__class__" and LOCAL.match(node.value.id)), ast.unparse(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id in functions | {"make", "TAKE", "NEEDS", "MAP", "LEN"} or PREDICATE.match(node.func.id)
        if isinstance(node, ast.Constant):
            assert node.value is None or isinstance(node.value, (str, int, float, bool, frozenset)) or (
                isinstance(node.value, tuple) and all(isinstance(item, str) for item in node.value))
    source = ast.unparse(module)
    assert "__import__" not in source and ".system(" not in source  # the title is not part of the code at all


def test_hostile_text_in_a_condition_never_reaches_the_code() -> None:
    """A condition is parsed by the workbench's own grammar; anything else is WB301, nothing is compiled."""
    text = SHIPPED_TEXT.replace("when: bladder_bowel_dysfunction", "when: __import__('os').system('id')", 1)
    assert text != SHIPPED_TEXT
    loaded = load_text(text, "r.yaml")
    assert loaded.ruleset is None and {"WB301", "WB302"} & {p.code for p in loaded.problems}


def test_the_compiled_function_runs_without_builtins() -> None:
    ruleset = load_file(ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml").required()
    run = ruleset.run_complete
    assert run.__globals__["__builtins__"] == {}
    assert set(run.__globals__) <= OWN_NAMES | {"__builtins__", "run", "checked", "tree"} | {
        name for name in run.__globals__ if name.startswith("node_")}


def test_the_same_content_shares_one_compiled_function_and_other_content_does_not() -> None:
    first, again = (load_text(SHIPPED_TEXT, f"{n}.yaml").required() for n in ("a", "b"))
    changed = SHIPPED_TEXT.replace("disposition: self_care", "disposition: routine", 1)
    assert changed != SHIPPED_TEXT
    other = load_text(changed, "c.yaml").required()
    assert first.run_complete is again.run_complete
    assert other.run_complete is not first.run_complete


def test_the_generated_answer_check_agrees_with_the_answer_checks() -> None:
    """`checked` runs the tree only when every input is answered with an answer that fits, exactly as
    content/answers.py decides it (the messages' source): anything else is None, for the engine to explain."""
    import collections
    import random
    import types

    from workbench.content.answers import answer_problems

    ruleset = load_file(ROOT / "tests" / "fixtures" / "mini.yaml").required()
    rng = random.Random(0)
    good = {"age": [16, 61.5, 120], "known_cancer": [True, False], "limb_weakness": [True, False],
            "pain_site": ["cervical", "thoracic", "lumbar"]}
    bad = [None, 1, 0, 1.0, "yes", float("nan"), 15, 121, "sacral", [], {}, True]
    for _ in range(3000):
        case = {key: rng.choice(values) if rng.random() > 0.15 else rng.choice(bad) for key, values in good.items()}
        if rng.random() < 0.1:
            case.pop(rng.choice(list(case)))
        if rng.random() < 0.05:
            case["unknown_input"] = True
        fits = len(case) == 4 and None not in case.values() and answer_problems(ruleset.answer_checks, case) == []
        found = ruleset.run_checked(case)
        assert (found is not None) == fits, case
        if fits:
            assert found == ruleset.run_complete(case)
        # any other mapping gets the same answer, and a defaultdict is not given the inputs it lacks
        lacking = collections.defaultdict(lambda: True, case)
        assert ruleset.run_checked(types.MappingProxyType(case)) == found == ruleset.run_checked(lacking), case
        assert lacking == case
