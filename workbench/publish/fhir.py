"""A release as HL7 FHIR R4 resources, for EHRs and form tools that speak FHIR rather than our JSON.

- `Questionnaire`: each input an item with its type (boolean, decimal, choice), answer options with their
  labels, unit, minimum and maximum, and help text; `status` active, the release's version and date.
- `PlanDefinition` (an ECA rule): one action per outcome, with the condition under which a case reaches it,
  its disposition as `priority` and `code`, its advice as `description`, its citations as `documentation`
  (with the reference URLs); one action per red flag; the release's author and approver (`reviewer`).

Conditions are written in the workbench's own condition language (`text/x-workbench-condition`, see
SPEC section 3): FHIR has no standard language an EHR evaluates without CQL tooling, and a faithful copy
of what was tested beats a translation nobody tested. The resources are plain dicts here (the core has no
FHIR dependency); tests validate them with the `fhir.resources` models.
"""

from __future__ import annotations

import re
from typing import Any

from ..content.model import BooleanInput, DecisionNode, EnumInput, NumberInput, OutcomeNode, Ruleset
from .releases import Release

CONDITION_LANGUAGE = "text/x-workbench-condition"
SYSTEM = "urn:workbench"
MAX_PATHS_PER_OUTCOME = 200
"""Past this many routes to one outcome, its condition is left to the decision tree (said in the action)."""
MAX_STEPS = 20_000
"""Steps of the walk over routes: a flow whose screens rejoin has exponentially many; past this, every
outcome's condition is left to the decision tree."""
PRIORITIES = ("stat", "asap", "urgent")
"""FHIR request priorities for the three most urgent dispositions, in order; the rest are `routine`."""
EXT = "http://hl7.org/fhir/StructureDefinition"


def canonical_url(ruleset_id: str, kind: str) -> str:
    """Each artifact its own canonical URL (a Questionnaire and a PlanDefinition must not share one)."""
    return f"{SYSTEM}:ruleset:{ruleset_id}:{kind}"


def questionnaire(release: Release) -> dict[str, Any]:
    model = release.model
    return {"resourceType": "Questionnaire", "id": _fhir_id(model), "url": canonical_url(model.id, "Questionnaire"),
            "version": model.version, "name": _name(model.id), "title": model.title, "status": "active",
            "date": release.released_at, **({"description": model.description} if model.description else {}),
            "item": [_item(model, spec) for spec in model.inputs]}


def _item(model: Ruleset, spec: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": spec.id, "text": spec.question, "required": False}
    if spec.label:  # FHIR's "short label ... used for reference by the individual completing the questionnaire"
        item["prefix"] = spec.label
    if isinstance(spec, BooleanInput):
        item["type"] = "boolean"
    elif isinstance(spec, EnumInput):
        labels = spec.labels or {}
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": {"system": f"{SYSTEM}:{model.id}:{spec.id}", "code": value,
                                                 "display": labels.get(value, value)}} for value in spec.values]
    else:
        assert isinstance(spec, NumberInput)
        item["type"] = "decimal"
        extensions = []
        if spec.min is not None:
            extensions.append({"url": f"{EXT}/minValue", "valueDecimal": spec.min})
        if spec.max is not None:
            extensions.append({"url": f"{EXT}/maxValue", "valueDecimal": spec.max})
        if spec.unit:
            extensions.append({"url": f"{EXT}/questionnaire-unit", "valueCoding": {"display": spec.unit}})
        if extensions:
            item["extension"] = extensions
    if spec.help:
        item["item"] = [{"linkId": f"{spec.id}.help", "type": "display", "text": spec.help, "extension": [
            {"url": f"{EXT}/questionnaire-itemControl", "valueCodeableConcept": {"coding": [
                {"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]}}]}]
    return item


def plan_definition(release: Release) -> dict[str, Any]:
    model = release.model
    references = {ref.id: ref for ref in model.references}
    labels = {d.id: d.label for d in model.dispositions}
    rank = {d.id: i for i, d in enumerate(model.dispositions)}
    routes = _routes(model)
    flags = []
    for flag in model.red_flags:  # findings to show, not requests: no priority
        flags.append({"id": f"red-flag-{flag.id}", "title": flag.label,
                      "code": [{"coding": [{"system": f"{SYSTEM}:{model.id}:red-flag", "code": flag.id,
                                            "display": flag.label}]}],
                      "condition": [_condition(flag.when)],
                      **_documentation(flag.cites, references)})
    actions = []
    for node in model.nodes:
        if not isinstance(node, OutcomeNode):
            continue
        paths = routes.get(node.id, [])
        action: dict[str, Any] = {
            "id": node.id, "title": node.title,
            "priority": PRIORITIES[rank[node.disposition]] if rank[node.disposition] < len(PRIORITIES) else "routine",
            "code": [{"coding": [{"system": f"{SYSTEM}:{model.id}:disposition", "code": node.disposition,
                                  "display": labels[node.disposition]}]}],
            **({"description": node.advice} if node.advice else {}),
            **_documentation(node.cites, references)}
        if paths is not None and paths:
            action["condition"] = [_condition(" or ".join(f"({p})" for p in paths))]
        elif paths is None:
            action["textEquivalent"] = ("Reached by more routes than a condition can list here: evaluate the "
                                        "released decision tree.")
        actions.append(action)
    out: dict[str, Any] = {
        "resourceType": "PlanDefinition", "id": _fhir_id(model), "url": canonical_url(model.id, "PlanDefinition"),
        "version": model.version, "name": _name(model.id), "title": model.title,
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                             "code": "eca-rule"}]},
        "status": "active", "date": release.released_at,
        **({"description": model.description} if model.description else {}),
        "approvalDate": release.released_at[:10],
        "author": [{"name": release.author}], "reviewer": [{"name": release.approver}],
        "relatedArtifact": [{"type": "depends-on", "label": "Questionnaire", "display": "The questions whose "
                             "answers (by linkId) the conditions read",
                             "resource": f"{canonical_url(model.id, 'Questionnaire')}|{model.version}"},
                            *(_artifact(ref) for ref in model.references)],
        "action": [{"id": "outcome", "title": "Disposition: exactly one outcome applies to a case",
                    "groupingBehavior": "logical-group", "selectionBehavior": "exactly-one", "action": actions},
                   *([{"id": "red-flags", "title": "Red flags: every one whose condition holds is shown",
                       "groupingBehavior": "logical-group", "selectionBehavior": "any", "action": flags}]
                     if flags else [])]}
    return out


def _routes(model: Ruleset) -> dict[str, list[str] | None]:
    """Per outcome, each route's condition (the branches taken and the earlier ones not taken), or None when
    an outcome has more than MAX_PATHS_PER_OUTCOME routes."""
    nodes = {node.id: node for node in model.nodes}
    found: dict[str, list[str] | None] = {}
    stack: list[tuple[str, list[str]]] = [(model.start, [])]
    steps = 0
    while stack:
        steps += 1
        if steps > MAX_STEPS:
            return {node.id: None for node in model.nodes if isinstance(node, OutcomeNode)}
        node_id, parts = stack.pop()
        node = nodes[node_id]
        if isinstance(node, OutcomeNode):
            routes = found.setdefault(node_id, [])
            if routes is not None:
                if len(routes) >= MAX_PATHS_PER_OUTCOME:
                    found[node_id] = None
                else:
                    routes.append(" and ".join(parts) or "true")
            continue
        assert isinstance(node, DecisionNode)
        earlier: list[str] = []
        for branch in node.branches:
            stack.append((branch.next, [*parts, *(f"not ({w})" for w in earlier), f"({branch.when})"]))
            earlier.append(branch.when)
        stack.append((node.else_, [*parts, *(f"not ({w})" for w in earlier)]))
    return found


def _condition(text: str) -> dict[str, Any]:
    return {"kind": "applicability", "expression": {"language": CONDITION_LANGUAGE, "expression": text}}


def _documentation(cites: list[str], references: dict[str, Any]) -> dict[str, Any]:
    docs = [_artifact(references[c]) for c in cites if c in references]
    return {"documentation": docs} if docs else {}


def _artifact(ref: Any) -> dict[str, Any]:
    return {"type": "citation", "label": ref.id, "display": ref.title, **({"url": ref.url} if ref.url else {})}


def _fhir_id(model: Ruleset) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) naming the ruleset and its version."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", f"{model.id}-{model.version}")[:64]


def _name(ruleset_id: str) -> str:
    """A machine name as FHIR wants it (starts upper-case, no spaces)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", ruleset_id) if part) or "Ruleset"


RESOURCES = {"Questionnaire": questionnaire, "PlanDefinition": plan_definition}
