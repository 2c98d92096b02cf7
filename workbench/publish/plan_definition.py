"""A release's decision tree as an executable FHIR R4 PlanDefinition: an EHR's clinical-reasoning engine selects
the same outcome, or the same questions to ask next, as our engine.

Conditions are FHIRPath (`text/fhirpath`, run/fhirpath.py) over the QuestionnaireResponse, passed as `%response`,
generated from the compiled trees the engine runs; each keeps our own condition text in an extension on its
Expression, for people (never as a second condition). The layout follows SPEC 3 step by step:

- `triage`: the decision tree. Each branch of a decision is a group with `cqf-applicabilityBehavior` `any` (the
  first applicable child is taken) and three children, one per value the branch condition can have: `~ true`
  (the branch's target), `~ false` (the next branch, or the else), `.empty()` (unknown: an "ask next" action
  whose children are the questions the branch reads that are still unanswered, SPEC 5 `needs`). Exactly one
  child applies on any response, so an engine that reads `any` as `all` still selects one. An outcome is a leaf
  with its disposition (`code`, `priority`), its advice and safety-net text (`description`) and citations.
- `red-flags`: one action per red flag, applicable when its condition is true (unknown: not fired).

Unsure answers (SPEC 3a) are data-absent-reason `asked-unknown` codings: every condition reads them as unknown,
never as yes or no, so a branch that reads one is routed to "ask next" with the unsure question among those it
needs. The EHR then weighs each value the question could take, as SPEC 3a does: it applies the PlanDefinition
again with the Unsure answer replaced by each value in the `unsure-values` extension (yes and no; each choice;
one number per region the rules tell apart) and takes the most urgent disposition (`disposition-order`), as
docs/downstream.md spells out and tests/fhir-js/select.mjs does.
"""

from __future__ import annotations

from typing import Any

from ..content.model import DecisionNode, OutcomeNode, Ruleset
from ..run.engine import CompiledRuleset
from ..run.explain import safety_net
from ..run.fhirpath import VARIABLE, FhirPath
from .fhir import HL7, Canonicals, coding, header, narrative
from .releases import Release

APPLICABILITY = f"{HL7}/cqf-applicabilityBehavior"
PRIORITIES = ("stat", "asap", "urgent")
"""FHIR request priorities for the three most urgent dispositions, in order; the rest are `routine`."""
MAX_ACTIONS = 20_000
"""Actions the decision tree may unfold into (a node reached from several places is written out at each);
past this the triage group says to evaluate the released tree instead of listing it."""


def plan_definition(release: Release, canonicals: Canonicals, ruleset: CompiledRuleset | None = None) -> dict[str, Any]:
    model = release.model
    compiled = ruleset or CompiledRuleset(model)
    builder = _Builder(compiled, canonicals)
    triage: dict[str, Any] = {
        "id": "triage", "title": f"Triage: {model.title}",
        "description": "The decision tree, first match: take the first applicable child at every level.",
        "extension": [_behaviour("any")], "groupingBehavior": "logical-group", "selectionBehavior": "exactly-one"}
    try:
        triage["action"] = [builder.node(model.start)]
    except _TooLarge:
        triage["textEquivalent"] = (f"The tree unfolds into more than {MAX_ACTIONS:,} actions: evaluate the released "
                                    "decision tree (GET /rulesets/{id}/versions/{version}) instead.")
    references = {ref.id: ref for ref in model.references}
    flags = [{"id": f"red-flag-{flag.id}", "title": flag.label,
              "code": [{"coding": [{"system": canonicals.code_system(model.id, "red-flag"), "code": flag.id,
                                    "display": flag.label}, *([coding(flag.code)] if flag.code else [])]}],
              "condition": [{"kind": "applicability", "expression": builder.expression(
                  builder.fhirpath.condition(flag.when), flag.when, "the red flag's condition")}],
              **_documentation(flag.cites, references)} for flag in model.red_flags]
    actions = [triage]
    if flags:
        actions.append({"id": "red-flags", "title": "Red flags: every one whose condition is true is shown",
                        "extension": [_behaviour("all")], "groupingBehavior": "logical-group",
                        "selectionBehavior": "any", "action": flags})
    outcomes = [f"{node.title} — {node.disposition}" for node in model.nodes if isinstance(node, OutcomeNode)]
    questionnaire = canonicals.resource("Questionnaire", model.id)
    head = header(release, canonicals, "PlanDefinition")
    head["extension"] += [*_disposition_order(model, canonicals), *_unsure_values(compiled, canonicals)]
    return {
        **head, "text": narrative(model.title, release, outcomes),
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                             "code": "eca-rule"}]},
        "usage": (f"Apply with the QuestionnaireResponse to {questionnaire}|{model.version} as the parameter "
                  f"'{VARIABLE}' (%{VARIABLE} in the conditions). Take the first applicable child under "
                  "cqf-applicabilityBehavior 'any' and every applicable child under 'all'. An answer coded "
                  "data-absent-reason asked-unknown is Unsure: apply again with each value in the unsure-values "
                  "extension in its place and take the most urgent disposition (disposition-order)."),
        "approvalDate": release.released_at[:10],
        "author": [{"name": release.author}], "reviewer": [{"name": release.approver}],
        "relatedArtifact": [{"type": "depends-on", "label": "Questionnaire", "display": "The questions whose "
                             "answers (by linkId) the conditions read", "resource": f"{questionnaire}|{model.version}"},
                            *(_artifact(ref) for ref in model.references)],
        "action": actions}


class _TooLarge(Exception):
    pass


class _Builder:
    """Unfolds the flow from its start into nested actions, each with a unique id."""

    def __init__(self, ruleset: CompiledRuleset, canonicals: Canonicals) -> None:
        self.ruleset, self.canonicals = ruleset, canonicals
        model = ruleset.model
        self.model = model
        self.fhirpath = FhirPath(ruleset, lambda input_id: canonicals.choice_system(model.id, input_id))
        self.nodes = {node.id: node for node in model.nodes}
        self.rank = {d.id: i for i, d in enumerate(model.dispositions)}
        self.labels = {d.id: d.label for d in model.dispositions}
        self.references = {ref.id: ref for ref in model.references}
        self.used: dict[str, int] = {}
        self.count = 0

    def unique(self, name: str) -> str:
        self.count += 1
        if self.count > MAX_ACTIONS:
            raise _TooLarge
        seen = self.used.get(name, 0)
        self.used[name] = seen + 1
        return name if not seen else f"{name}~{seen + 1}"

    def node(self, node_id: str) -> dict[str, Any]:
        node = self.nodes[node_id]
        if isinstance(node, OutcomeNode):
            return self.outcome(node)
        assert isinstance(node, DecisionNode)
        return self.branch(node, 0)

    def branch(self, node: DecisionNode, index: int) -> dict[str, Any]:
        """Branch `index` of a decision: yes, its target; no, the next branch (or the else); unknown, ask."""
        if index == len(node.branches):
            return self.node(node.else_)
        branch = node.branches[index]
        condition = self.fhirpath.condition(branch.when)
        said = branch.label or branch.when
        name = node.id if len(node.branches) == 1 else f"{node.id}.{index + 1}"
        group: dict[str, Any] = {"id": self.unique(name), "title": node.title if index == 0 else
                                 f"{node.title} (otherwise: {said})",
                                 "description": f"Branch {index + 1} of {len(node.branches)}: {said}",
                                 "extension": [_behaviour("any")], "groupingBehavior": "logical-group",
                                 "selectionBehavior": "exactly-one"}
        taken = self.node(branch.next)
        otherwise = self.branch(node, index + 1)
        asked = self.ask(node, index)
        group["action"] = [
            _when(taken, self.expression(f"({condition}) ~ true", branch.when, "yes")),
            _when(otherwise, self.expression(f"({condition}) ~ false", f"not ({branch.when})", "no")),
            _when(asked, self.expression(f"({condition}).empty()", branch.when, "not known yet (or Unsure)"))]
        return group

    def ask(self, node: DecisionNode, index: int) -> dict[str, Any]:
        """The questions a branch reads that are still unanswered (SPEC 5 `needs`, in declaration order)."""
        reads = self.ruleset.steps[node.id].branches[index].reads
        name = f"ask.{node.id}.{index + 1}"
        questions = []
        for input_id in reads:
            spec = self.ruleset.inputs[input_id]
            codings = [{"system": self.canonicals.code_system(self.model.id, "input"), "code": input_id,
                        "display": spec.label or spec.question[:100]}, *([coding(spec.code)] if spec.code else [])]
            questions.append({"id": self.unique(f"{name}.{input_id}"), "title": spec.question,
                              "code": [{"coding": codings}],
                              "condition": [{"kind": "applicability", "expression": self.expression(
                                  self.fhirpath.unanswered(input_id), f"'{input_id}' is not answered",
                                  "unanswered, or answered Unsure")}]})
        return {"id": self.unique(name), "title": "Ask next",
                "description": "More answers are needed: ask each question listed (those still unanswered).",
                "code": [{"coding": [{"system": self.canonicals.code_system(self.model.id, "action"), "code": "ask",
                                      "display": "Ask the next questions"}]}],
                "extension": [_behaviour("all")], "groupingBehavior": "logical-group", "selectionBehavior": "all",
                "action": questions}

    def outcome(self, node: OutcomeNode) -> dict[str, Any]:
        rank = self.rank[node.disposition]
        advice = node.advice or node.title
        net = safety_net(self.ruleset, node.id)
        return {"id": self.unique(node.id), "title": node.title,
                "description": advice + (f"\n\nSafety-net: {net}" if net else ""),
                "code": [{"coding": [{"system": self.canonicals.code_system(self.model.id, "outcome"),
                                      "code": node.id, "display": node.title}]},
                         {"coding": [{"system": self.canonicals.code_system(self.model.id, "disposition"),
                                      "code": node.disposition, "display": self.labels[node.disposition]}]}],
                "priority": PRIORITIES[rank] if rank < len(PRIORITIES) else "routine",
                **_documentation(node.cites, self.references)}

    def expression(self, fhirpath: str, own: str, description: str) -> dict[str, Any]:
        """A FHIRPath Expression, our own condition text beside it in an extension (for people, never run)."""
        return {"extension": [{"url": self.canonicals.extension("workbench-condition"), "valueString": own}],
                "description": description, "language": "text/fhirpath", "expression": fhirpath}


def _when(action: dict[str, Any], expression: dict[str, Any]) -> dict[str, Any]:
    return {**action, "condition": [{"kind": "applicability", "expression": expression}, *action.get("condition", [])]}


def _behaviour(code: str) -> dict[str, Any]:
    return {"url": APPLICABILITY, "valueCode": code}


def _disposition_order(model: Ruleset, canonicals: Canonicals) -> list[dict[str, Any]]:
    """The dispositions, most urgent first: how an EHR picks the most urgent of several outcomes (SPEC 3a)."""
    system = canonicals.code_system(model.id, "disposition")
    return [{"url": canonicals.extension("disposition-order"),
             "valueCoding": {"system": system, "code": d.id, "display": d.label}} for d in model.dispositions]


def _unsure_values(ruleset: CompiledRuleset, canonicals: Canonicals) -> list[dict[str, Any]]:
    """For each question, in Questionnaire order, the answers an Unsure answer is weighed as (SPEC 3a)."""
    out = []
    for input_id, values in ruleset.possible_values.items():
        spec = ruleset.inputs[input_id]
        if spec.type == "boolean":
            answers = [{"url": "value", "valueBoolean": value} for value in values]
        elif spec.type == "enum":
            system = canonicals.choice_system(ruleset.model.id, input_id)
            answers = [{"url": "value", "valueCoding": {"system": system, "code": value}} for value in values]
        else:
            answers = [{"url": "value", "valueDecimal": value} for value in values]
        out.append({"url": canonicals.extension("unsure-values"),
                    "extension": [{"url": "linkId", "valueString": input_id}, *answers]})
    return out


def _documentation(cites: list[str], references: dict[str, Any]) -> dict[str, Any]:
    docs = [_artifact(references[c]) for c in cites if c in references]
    return {"documentation": docs} if docs else {}


def _artifact(ref: Any) -> dict[str, Any]:
    return {"type": "citation", "label": ref.id, "display": ref.title, **({"url": ref.url} if ref.url else {})}
