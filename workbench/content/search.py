"""Search a ruleset by what it says, not only by titles: "bladder" finds the cauda equina question, because one
of its conditions reads the bladder and bowel question and a red flag on it speaks of the bladder.

Every item (a question on the flow, an outcome, a question asked of the patient, a red flag, a safety promise, a
reference) is searched through the words a clinician reads: titles, descriptions, questions, help, labels,
advice, safety-netting, the questions its conditions read (their wording, labels, help and ids written as
words), the red flags on those questions and the titles of the sources it cites. Every word of the query must be
found, in any order, ignoring case and accents. Results name what matched, so a reader sees why it was found."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ..expr.syntax import ExprSyntaxError, names, parse
from .model import DecisionNode, Input, OutcomeNode, Ruleset

KINDS = {"decision": "Question on the flow", "outcome": "Outcome", "input": "Question asked",
         "red_flag": "Red flag", "safety": "Safety promise", "reference": "Source"}


@dataclass(frozen=True)
class Hit:
    kind: str  # a key of KINDS
    id: str
    title: str  # in the ruleset's words
    section: str  # where it is written: nodes, inputs, red_flags, safety, references
    matched: tuple[str, ...]  # what matched, in words: "its title", "a condition's question (…)", …
    excerpt: str  # the first matching text, shortened around the match
    nodes: tuple[str, ...]  # the flow's nodes to show for it: itself, or the questions that ask it

    @property
    def kind_words(self) -> str:
        return KINDS[self.kind]


def folded(text: str) -> str:
    """Text as search compares it: lower case, accents off, ids' underscores and dashes as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[_\-\s]+", " ", text.casefold())


def _reads(condition: str) -> list[str]:
    try:
        return sorted(names(parse(condition)))
    except ExprSyntaxError:
        return []


def _input_texts(spec: Input) -> list[tuple[str, str]]:
    texts = [("question", spec.question), ("id", spec.id)]
    if spec.label:
        texts.append(("label", spec.label))
    if spec.help:
        texts.append(("help", spec.help))
    for value, label in (getattr(spec, "labels", None) or {}).items():
        texts.append(("answer", f"{value}: {label}"))
    return texts


class _Index:
    """Each item with the (field, text) pairs it is found by."""

    def __init__(self, model: Ruleset) -> None:
        self.model = model
        self.inputs = {spec.id: spec for spec in model.inputs}
        self.references = {ref.id: ref for ref in model.references}
        self.flags_on: dict[str, list[str]] = {}  # input id -> labels of the red flags that read it
        for flag in model.red_flags:
            for name in _reads(flag.when):
                self.flags_on.setdefault(name, []).append(flag.label)
        self.askers: dict[str, list[str]] = {}  # input id -> decision nodes whose branches read it
        for node in model.nodes:
            if isinstance(node, DecisionNode):
                for name in sorted({n for b in node.branches for n in _reads(b.when)}):
                    self.askers.setdefault(name, []).append(node.id)

    def _conditions(self, conditions: Iterable[str]) -> list[tuple[str, str]]:
        texts = []
        for name in sorted({n for condition in conditions for n in _reads(condition)}):
            spec = self.inputs.get(name)
            if spec is None:
                continue
            name_words = spec.label or _short(spec.question)
            texts += [(f"a condition's question ({name_words})", text) for _, text in _input_texts(spec)]
            texts += [(f"a red flag on a condition's question ({name_words})", label)
                      for label in self.flags_on.get(name, [])]
        return texts

    def _cites(self, cites: Iterable[str]) -> list[tuple[str, str]]:
        return [("a source it cites", f"{c} {self.references[c].title if c in self.references else ''}")
                for c in cites]

    def items(self) -> Iterable[tuple[str, str, str, str, list[tuple[str, str]], tuple[str, ...]]]:
        """(kind, id, title, section, texts, nodes) for every item, in the order a reader meets them."""
        model = self.model
        for node in model.nodes:
            if isinstance(node, DecisionNode):
                texts = [("its title", node.title), ("its id", node.id)]
                if node.description:
                    texts.append(("its description", node.description))
                texts += [("a branch's label", b.label) for b in node.branches if b.label]
                texts += self._conditions(b.when for b in node.branches)
                texts += self._cites([*node.cites, *(c for b in node.branches for c in b.cites)])
                yield "decision", node.id, node.title, "nodes", texts, (node.id,)
            elif isinstance(node, OutcomeNode):
                texts = [("its title", node.title), ("its id", node.id)]
                if node.advice:
                    texts.append(("its advice", node.advice))
                if node.safety_net:
                    texts.append(("its safety-netting", node.safety_net))
                texts += self._cites(node.cites)
                yield "outcome", node.id, node.title, "nodes", texts, (node.id,)
        for spec in model.inputs:
            texts = [(f"its {field}", text) for field, text in _input_texts(spec)]
            texts += [("a red flag on it", label) for label in self.flags_on.get(spec.id, [])]
            yield "input", spec.id, spec.label or spec.question, "inputs", texts, tuple(self.askers.get(spec.id, []))
        for flag in model.red_flags:
            texts = [("its label", flag.label), ("its id", flag.id), *self._conditions([flag.when]),
                     *self._cites(flag.cites)]
            asked = tuple(dict.fromkeys(n for name in _reads(flag.when) for n in self.askers.get(name, [])))
            yield "red_flag", flag.id, flag.label, "red_flags", texts, asked
        for promise in model.safety:
            texts = [("its title", promise.title), ("its id", promise.id), *self._conditions([promise.when]),
                     *self._cites(promise.cites)]
            asked = tuple(dict.fromkeys(n for name in _reads(promise.when) for n in self.askers.get(name, [])))
            yield "safety", promise.id, promise.title, "safety", texts, asked
        for ref in model.references:
            citing = tuple(n.id for n in model.nodes if ref.id in n.cites
                           or (isinstance(n, DecisionNode) and any(ref.id in b.cites for b in n.branches)))
            yield "reference", ref.id, ref.title, "references", [("its title", ref.title), ("its id", ref.id)], citing


def _short(text: str, width: int = 48) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width].rsplit(" ", 1)[0] + "…"


_DIRECT = ("its title", "its label", "its question", "its id", "a branch's label", "its answer", "its help")
_FAR = ("its advice", "its safety-netting", "its description", "a source it cites")


def _closeness(matched: tuple[str, ...]) -> int:
    """0 when the item itself says it (or asks it), 1 when a red flag on what it asks does, 2 for advice,
    descriptions and sources only."""
    if any(field in _DIRECT or field.startswith("a condition's question") for field in matched):
        return 0  # a question on the flow asks what its conditions read: that is what it says
    return 2 if all(field in _FAR for field in matched) else 1


def _excerpt(text: str, word: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    at = folded(flat).find(word)
    if at < 0 or len(flat) <= width:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, at - width // 3)
    return ("…" if start else "") + flat[start:start + width] + ("…" if start + width < len(flat) else "")


def search(model: Ruleset, query: str, limit: int = 50) -> list[Hit]:
    """The items every word of `query` is found in: those that say it themselves first, then those whose
    conditions' questions do, then advice and descriptions; within each, questions on the flow first, then in
    the ruleset's order."""
    words = folded(query).split()
    if not words:
        return []
    hits = []
    for kind, item_id, title, section, texts, nodes in _Index(model).items():
        found = [(field, text) for field, text in texts if any(w in folded(text) for w in words)]
        every = " ".join(folded(text) for _, text in found)
        if not found or not all(w in every for w in words):
            continue
        first = next(text for field, text in found if words[0] in folded(text))
        hits.append(Hit(kind, item_id, title, section, tuple(dict.fromkeys(field for field, _ in found)),
                        _excerpt(first, words[0]), nodes))
    order = list(KINDS)
    hits.sort(key=lambda hit: (_closeness(hit.matched), order.index(hit.kind)))  # stable: the ruleset's order
    return hits[:limit]
