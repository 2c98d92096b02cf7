"""Search by clinical content: every word a clinician reads, not only titles."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, V1
from workbench.content.loader import parse_ruleset
from workbench.content.model import DecisionNode
from workbench.content.search import folded, search


def model(path):  # type: ignore[no-untyped-def]
    parsed = parse_ruleset(path.read_text(encoding="utf-8"), str(path))
    assert parsed.model is not None
    return parsed.model


def test_bladder_finds_the_cauda_equina_question_first_in_the_fixture():
    hits = search(model(V1 / "ruleset.yaml"), "bladder")
    assert hits[0].kind == "decision" and hits[0].id == "emergency_screen"
    assert any("bladder" in field or "condition" in field for field in hits[0].matched)
    assert hits[0].nodes == ("emergency_screen",)
    kinds = {h.kind for h in hits}
    assert {"decision", "input", "red_flag"} <= kinds


def test_bladder_finds_the_question_that_reads_it_in_the_shipped_ruleset():
    """Whatever the shipped content says today: the decision nodes whose conditions read an input about the
    bladder are found, ahead of outcomes that merely mention it in their advice."""
    rules = model(ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml")
    bladder_inputs = {i.id for i in rules.inputs if "bladder" in folded(" ".join([i.id, i.question, i.help or ""]))}
    asking = [n.id for n in rules.nodes if isinstance(n, DecisionNode)
              and any(name in b.when for b in n.branches for name in bladder_inputs)]
    assert asking
    hits = search(rules, "bladder")
    decisions = [h.id for h in hits if h.kind == "decision"]
    assert set(asking) <= set(decisions)
    first_outcome = next((i for i, h in enumerate(hits) if h.kind == "outcome" and h.matched == ("its advice",)),
                         len(hits))
    assert all(hits.index(h) < first_outcome for h in hits if h.id in asking)


@pytest.mark.parametrize("query, kind, item", [
    ("NG234", "reference", "NG234"),  # a citation
    ("night pain", "input", "night_pain"),  # a question's id in words
    ("safety-netting", None, None),  # nothing crashes on punctuation
    ("BLADDER bowel", "red_flag", None),  # case and several words, in any order
])
def test_search_reads_citations_ids_and_several_words(query: str, kind: str | None, item: str | None):
    hits = search(model(V1 / "ruleset.yaml"), query)
    if kind is not None:
        assert any(h.kind == kind and (item is None or h.id == item) for h in hits), [(h.kind, h.id) for h in hits]


def test_every_word_must_be_found_and_an_empty_query_finds_nothing():
    rules = model(V1 / "ruleset.yaml")
    assert search(rules, "   ") == []
    assert search(rules, "bladder zebra") == []
    assert all("fever" in " ".join(h.matched + (h.excerpt, h.title)).casefold() or h.matched
               for h in search(rules, "fever"))
