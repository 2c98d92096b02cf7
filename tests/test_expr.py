"""The condition language (SPEC 3): precedence, Kleene logic, clinical type errors, and no crash on any text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.content.model import BooleanInput, EnumInput, NumberInput
from workbench.expr import compile_condition
from workbench.expr.syntax import BoolOp, Compare, ExprSyntaxError, Name, Not, parse

INPUTS = {
    "a": BooleanInput.model_construct(id="a", type="boolean", question="A?"),
    "b": BooleanInput.model_construct(id="b", type="boolean", question="B?"),
    "c": BooleanInput.model_construct(id="c", type="boolean", question="C?"),
    "age": NumberInput.model_construct(id="age", type="number", question="Age?", min=16, max=120, unit="years"),
    "pain_site": EnumInput.model_construct(id="pain_site", type="enum", question="Where?",
                                           values=["cervical", "thoracic", "lumbar"]),
}


def run(text: str, case: dict) -> object:
    condition, issues = compile_condition(text, INPUTS)
    assert condition is not None, issues
    return condition.predicate(case)


def test_precedence_is_pythons() -> None:
    tree = parse("not a or b and c")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    assert isinstance(tree.operands[0], Not) and isinstance(tree.operands[1], BoolOp)
    assert isinstance(parse("not age > 60"), Not)
    compare = parse("age >= 60")
    assert isinstance(compare, Compare) and isinstance(compare.left, Name)


@pytest.mark.parametrize("a, b", list(itertools.product([True, False, None], repeat=2)))
def test_kleene_truth_tables(a: object, b: object) -> None:
    case = {k: v for k, v in (("a", a), ("b", b)) if v is not None}
    expected_and = False if False in (a, b) else (None if None in (a, b) else True)
    expected_or = True if True in (a, b) else (None if None in (a, b) else False)
    assert run("a and b", case) is expected_and
    assert run("a or b", case) is expected_or
    assert run("not a", case) is (None if a is None else not a)


@pytest.mark.parametrize("text, case, expected", [
    ("age >= 60", {"age": 60}, True),
    ("age >= 60", {"age": 59.9}, False),
    ("age >= 60", {}, None),
    ("16 <= age < 60", {"age": 16}, True),
    ("16 <= age < 60", {"age": 60}, False),
    ("pain_site in ['thoracic', 'cervical']", {"pain_site": "lumbar"}, False),
    ("pain_site not in ['thoracic', 'cervical']", {"pain_site": "lumbar"}, True),
    ("pain_site == 'thoracic'", {}, None),
    ("pain_site != \"thoracic\"", {"pain_site": "cervical"}, True),
    ("a == true", {"a": False}, False),
    ("(a or b) and not c", {"a": True, "c": False}, True),
    ("a or age > 100", {"a": True}, True),
    ("not (a and b)", {"a": False}, True),
])
def test_evaluation(text: str, case: dict, expected: object) -> None:
    assert run(text, case) is expected


@pytest.mark.parametrize("text, column, words", [
    ("a and", 5, "ends too early"),
    ("a && b", 2, "write 'and'"),
    ("(a or b", 7, "never closed"),
    ("a b", 2, "join conditions"),
    ("pain_site == 'thoracic", 13, "never closed"),
    ("True", 0, "write 'true'"),
    ("", 0, "empty"),
])
def test_syntax_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse(text)
    assert caught.value.pos == column and words in caught.value.message


@pytest.mark.parametrize("text, code, words", [
    ("pain_site == 'thorasic'", "WB304",
     "allowed values are 'cervical', 'thoracic', 'lumbar' — did you mean 'thoracic'?"),
    ("pain_site in ['thoracic', 'sacral']", "WB304", "'sacral' is not an answer"),
    ("age > 200", "WB305", "outside the range of 'age' (16 to 120 years)"),
    ("age in [10, 50]", "WB305", "10 is outside"),
    ("limb_weaknes", "WB302", "not a declared input"),
    ("age", "WB306", "compare it, e.g. 'age >= 60'"),
    ("a and age", "WB306", "'and' joins yes/no conditions"),
    ("age == 'old'", "WB303", "cannot compare"),
    ("pain_site < 3", "WB303", "compares numbers"),
    ("a in b", "WB303", "not a list"),
    ("pain_site == 3", "WB303", "cannot compare"),
])
def test_type_errors_in_clinical_words(text: str, code: str, words: str) -> None:
    condition, issues = compile_condition(text, INPUTS)
    assert condition is None
    assert issues[0].code == code and words in issues[0].message


# --- count(...) (SPEC 3) ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, case, expected", [
    ("count(a, b, c) >= 2", {"a": True, "b": True}, True),          # two known trues decide '>= 2'
    ("count(a, b, c) >= 2", {"a": True, "b": False}, None),         # c decides
    ("count(a, b, c) >= 2", {"a": False, "b": False}, False),       # c cannot make two
    ("count(a, b, c) < 2", {"a": True, "b": True}, False),
    ("count(a, b, c) == 1", {"a": True, "b": False, "c": False}, True),
    ("count(a, b, c) == 1", {"a": True, "b": True}, False),
    ("count(a, b, c) != 0", {"c": True}, True),
    ("count(a, age >= 60, pain_site == 'thoracic') >= 2", {"a": True, "age": 61}, True),
    ("count(a, age >= 60, pain_site == 'thoracic') >= 2", {"a": True, "age": 59}, None),
    ("2 <= count(a, b)", {"a": True, "b": True}, True),
    ("count(a, b) in [1, 2]", {"a": True}, True),
    ("count(a, b) in [1, 2]", {"a": False}, None),
    ("count(a, b) >= age", {"a": True, "b": True, "age": 16}, False),
    ("count(a, not b, a and c) >= 2", {"a": True, "b": False}, True),
])
def test_count_is_decided_once_the_unknown_conditions_cannot_change_it(text: str, case: dict,
                                                                        expected: object) -> None:
    assert run(text, case) is expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "not a", "a and b", "b or c"]), min_size=1, max_size=4),
       st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(-1, 5),
       st.fixed_dictionaries({}, optional={"a": st.booleans(), "b": st.booleans(), "c": st.booleans()}))
def test_count_agrees_with_trying_every_value_of_its_unknown_conditions(operands: list[str], op: str, k: int,
                                                                         case: dict) -> None:
    text = f"count({', '.join(operands)}) {op} {k}"
    values = [run(operand, case) for operand in operands]
    unknown = [i for i, v in enumerate(values) if v is None]
    outcomes = set()
    for filled in itertools.product([True, False], repeat=len(unknown)):
        known = list(values)
        for i, v in zip(unknown, filled, strict=True):
            known[i] = v
        outcomes.add(run(f"{sum(known)} {op} {k}", {}))
    assert run(text, case) is (outcomes.pop() if len(outcomes) == 1 else None)


@pytest.mark.parametrize("text, column, words", [
    ("count() >= 1", 0, "has nothing to count"),
    ("max(a, b) >= 1", 0, "the only function is count(...)"),
    ("Count(a) >= 1", 0, "write 'count' in lower case"),
    ("count(a, b >= 1", 15, "never closed"),
    ("count(a b) >= 1", 8, "expected ',' or ')'"),
])
def test_count_syntax_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse(text)
    assert caught.value.pos == column and words in caught.value.message


@pytest.mark.parametrize("text, code, words", [
    ("count(a, b)", "WB306", "compare it with a number, e.g. 'count(night_pain, pain_progressive) >= 2'"),
    ("count(a, age) >= 1", "WB306", "count(...) counts yes/no conditions, but 'age' is a number"),
    ("count(a, pain_site) >= 1", "WB306", "but 'pain_site' is a choice"),
    ("count(a, b) == true", "WB303", "compare it with a number such as 2, not with true"),
    ("count(a, b) >= 'two'", "WB303", "not with 'two' (text)"),
    ("count(a, b) and c", "WB306", "'and' joins yes/no conditions, but count(...) is a number"),
    ("count(a, b) in ['x']", "WB303", "cannot be an answer to count(...)"),
])
def test_count_misuse_is_explained(text: str, code: str, words: str) -> None:
    condition, issues = compile_condition(text, INPUTS)
    assert condition is None
    assert issues[0].code == code and words in issues[0].message, issues


@pytest.mark.parametrize("text, words", [
    ("count(a, b) >= 3", "count(...) of 2 conditions is always between 0 and 2, so '>= 3' is always false"),
    ("count(a, b) >= 0", "'>= 0' is always true"),
    ("3 <= count(a, b)", "'>= 3' is always false"),
])
def test_a_count_that_can_never_decide_is_a_warning(text: str, words: str) -> None:
    condition, issues = compile_condition(text, INPUTS)
    assert condition is not None
    assert [(i.code, i.severity) for i in issues] == [("WB406", "warning")] and words in issues[0].message


def test_count_reads_the_inputs_of_its_conditions() -> None:
    condition, _ = compile_condition("count(c, age >= 60, a and pain_site == 'lumbar') >= 2", INPUTS)
    assert condition is not None and condition.reads == ("c", "age", "a", "pain_site")


def test_too_long_and_too_deep_conditions_are_refused() -> None:
    assert compile_condition("a or " * 500 + "a", INPUTS)[1][0].code == "WB307"
    assert compile_condition("(" * 40 + "a" + ")" * 40, INPUTS)[1][0].code == "WB307"


def test_compiled_condition_reads_its_inputs() -> None:
    condition, _ = compile_condition("a and (age >= 60 or pain_site == 'lumbar') and a", INPUTS)
    assert condition is not None and condition.reads == ("a", "age", "pain_site")


ATOMS = st.sampled_from(["a", "b", "c", "age", "pain_site", "true", "false", "60", "'thoracic'", "['lumbar']",
                         "and", "or", "not", "in", "not in", "==", "<", ">=", "(", ")", "[", "]", ",", "-", "&&",
                         "'", "x", "1.5", "é", "\n", "\\", "count(", "count", "max("])


@settings(max_examples=500, deadline=None)
@given(st.lists(ATOMS, max_size=15).map(" ".join))
def test_random_condition_text_never_raises_anything_but_problems(text: str) -> None:
    condition, issues = compile_condition(text, INPUTS)
    if condition is None:
        assert issues and all(issue.code.startswith("WB3") for issue in issues)
    else:
        for case in ({}, {"a": True, "b": False, "c": True, "age": 70, "pain_site": "lumbar"}):
            assert condition.predicate(case) in (True, False, None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_unicode_text_never_raises(text: str) -> None:
    condition, issues = compile_condition(text, INPUTS)
    assert condition is not None or issues
