"""A result in the ruleset's own words: labels for ids, the advice and safety-netting of its outcome, and why each
possible red flag is possible ("possible cauda equina symptoms: unsure about bladder or bowel control").

Every skin (CLI, API, CDS Hooks, Try it, replay) says these things, so they are worked out here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..content.model import OutcomeNode
from .engine import CompiledRuleset, Result


def input_label(ruleset: CompiledRuleset, input_id: str) -> str:
    """The short clinical name of an answer: its `label`, else its id in words."""
    spec = ruleset.inputs.get(input_id)
    label = getattr(spec, "label", None)
    return label or input_id.replace("_", " ")


def red_flag_label(ruleset: CompiledRuleset, flag_id: str) -> str:
    return next((flag.label for flag in ruleset.model.red_flags if flag.id == flag_id), flag_id.replace("_", " "))


def _lower_first(text: str) -> str:
    """'Cauda equina symptoms' -> 'cauda equina symptoms'; 'MSCC ...' stays as it is."""
    return text[:1].lower() + text[1:] if text[:2].istitle() or text[1:2].islower() else text


@dataclass(frozen=True)
class PossibleFlag:
    """A red flag that fires in the completion reported but not on the known answers: which unsure answers hide it."""

    id: str
    label: str
    unsure: tuple[str, ...]
    unsure_labels: tuple[str, ...]

    @property
    def text(self) -> str:
        short = self.label.split(" — ")[0]
        return f"possible {_lower_first(short)}: unsure about {', '.join(self.unsure_labels)}"

    def to_dict(self) -> dict[str, Any]:
        return {"red_flag": self.id, "label": self.label, "unsure": list(self.unsure), "text": self.text}


def possible_flags(ruleset: CompiledRuleset, result: Result) -> list[PossibleFlag]:
    """SPEC 3a's `possible_red_flags`, each with the unsure answers its condition reads."""
    flags = {flag.id: flag for flag in ruleset.model.red_flags}
    out = []
    for flag_id in result.possible_red_flags:
        reads = ruleset.condition(flags[flag_id].when).reads
        behind = tuple(i for i in result.unsure if i in reads) or tuple(result.unsure)
        out.append(PossibleFlag(flag_id, flags[flag_id].label, behind,
                                tuple(input_label(ruleset, i) for i in behind)))
    return out


def possible_texts(ruleset: CompiledRuleset, result: dict[str, Any]) -> list[str]:
    """A result's possible red flags in words, from its SPEC 5 dictionary (what replay keeps)."""
    if not result.get("possible_red_flags"):
        return []
    made = Result(result["status"], result["outcome"], result["disposition"], result["red_flags"], result["path"],
                  result["needs"], result["unsure"], result["possible_red_flags"])
    return [flag.text for flag in possible_flags(ruleset, made)]


def outcome_node(ruleset: CompiledRuleset, outcome_id: str | None) -> OutcomeNode | None:
    node = next((n for n in ruleset.model.nodes if n.id == outcome_id), None)
    return node if isinstance(node, OutcomeNode) else None


def advice(ruleset: CompiledRuleset, outcome_id: str | None) -> str | None:
    node = outcome_node(ruleset, outcome_id)
    return node.advice if node else None


def safety_net(ruleset: CompiledRuleset, outcome_id: str | None) -> str | None:
    """The outcome's safety-netting, else its disposition's: what to do if things change."""
    node = outcome_node(ruleset, outcome_id)
    if node is None:
        return None
    if node.safety_net:
        return node.safety_net
    return next((d.safety_net for d in ruleset.model.dispositions if d.id == node.disposition), None)


@dataclass(frozen=True)
class Explanation:
    """What a person reads about a result: where to go, what to do, what to watch for, and why."""

    disposition: str | None
    disposition_label: str | None
    outcome: str | None
    outcome_title: str | None
    advice: str | None
    safety_net: str | None
    cites: tuple[str, ...]
    red_flags: tuple[tuple[str, str], ...]
    possible: tuple[PossibleFlag, ...]
    needs: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"disposition_label": self.disposition_label, "outcome_title": self.outcome_title,
                "advice": self.advice, "safety_net": self.safety_net, "cites": list(self.cites),
                "red_flags": [{"id": i, "label": label} for i, label in self.red_flags],
                "possible_red_flags": [p.to_dict() for p in self.possible],
                "needs": [{"id": i, "question": q} for i, q in self.needs]}


def explain(ruleset: CompiledRuleset, result: Result) -> Explanation:
    model = ruleset.model
    node = outcome_node(ruleset, result.outcome)
    labels = {d.id: d.label for d in model.dispositions}
    return Explanation(
        result.disposition, labels.get(result.disposition or ""), result.outcome, node.title if node else None,
        node.advice if node else None, safety_net(ruleset, result.outcome), tuple(node.cites) if node else (),
        tuple((flag, red_flag_label(ruleset, flag)) for flag in result.red_flags),
        tuple(possible_flags(ruleset, result)),
        tuple((need, ruleset.inputs[need].question) for need in result.needs))
