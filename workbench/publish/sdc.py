"""The next questions to ask, as SDC adaptive forms ask them (`Questionnaire/$next-question`), and as our own
simpler route (`.../next-question`: a QuestionnaireResponse in, the same with the next questions appended out).

`$next-question` (SDC): a `Parameters` with the `questionnaire-response` in; out, `return`: the response with a
contained adaptive Questionnaire (`derivedFrom` the release's Questionnaire, the `questionnaireAdaptive`
extension) holding every question asked so far and the next ones, in Questionnaire order, each with `enableWhen`
on the answers that led to it where that condition is a simple one (a yes/no, a choice or a number against a
constant, or an `and` / `or` of those). Once the case is decided the response is `completed`, with the result in
the `evaluation` extension and a display item saying it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..content.model import DecisionNode
from ..expr.syntax import BoolOp, Compare, Expr, ListOf, Literal, Name, Not
from ..run.engine import CompiledRuleset, Result, trace
from ..run.explain import explain
from .fhir import Canonicals, item, meta, release_extension
from .releases import Release

ADAPTIVE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive"
ADAPT_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-adapt"
CONTAINED_ID = "adaptive"


def result_extension(result: Result, canonicals: Canonicals) -> dict[str, Any]:
    """The evaluation on a completed response: disposition, outcome, each red flag fired, each unsure answer."""
    return {"url": canonicals.extension("evaluation"), "extension": [
        {"url": "disposition", "valueCode": result.disposition}, {"url": "outcome", "valueCode": result.outcome},
        *({"url": "red-flag", "valueCode": flag} for flag in result.red_flags),
        *({"url": "possible-red-flag", "valueCode": flag} for flag in result.possible_red_flags),
        *({"url": "unsure", "valueCode": name} for name in result.unsure)]}


def in_questionnaire_order(release: Release, items: list[Any]) -> list[Any]:
    order = {spec.id: i for i, spec in enumerate(release.model.inputs)}
    return sorted(items, key=lambda i: order.get(i.get("linkId") if isinstance(i, Mapping) else None, len(order)))


def next_question(release: Release, canonicals: Canonicals, response: Mapping[str, Any],
                  result: Result) -> dict[str, Any]:
    """Our own route: the response with the next questions appended (in-progress), or completed with the result;
    items in Questionnaire order, those sent kept as they were."""
    model = release.model
    questions = {spec.id: spec for spec in model.inputs}
    out = {key: value for key, value in response.items() if key not in ("status", "extension", "meta")}
    out.update(resourceType="QuestionnaireResponse", meta=meta(release, canonicals),
               questionnaire=f"{canonicals.resource('Questionnaire', model.id)}|{model.version}")
    sent = [i for i in (response.get("item") or [])
            if not (isinstance(i, Mapping) and i.get("linkId") in result.needs and not i.get("answer"))]
    stamp = release_extension(release, canonicals)
    if result.status == "complete":
        out.update(status="completed", item=in_questionnaire_order(release, sent),
                   extension=[stamp, result_extension(result, canonicals)])
        return out
    asked = [{"linkId": need, "text": questions[need].question} for need in result.needs]
    out.update(status="in-progress", item=in_questionnaire_order(release, [*sent, *asked]), extension=[stamp])
    return out


def adaptive_response(release: Release, ruleset: CompiledRuleset, canonicals: Canonicals,
                      response: Mapping[str, Any], answers: Mapping[str, Any], unsure: list[str]) -> dict[str, Any]:
    """SDC `$next-question`: the response with its contained adaptive Questionnaire brought up to date."""
    model = release.model
    result, edges = trace(ruleset, answers, unsure)
    answered = {i.get("linkId") for i in response.get("item") or [] if isinstance(i, Mapping) and i.get("answer")}
    asked = [spec for spec in model.inputs if spec.id in answered or spec.id in result.needs]
    depends = _dependencies(ruleset, edges, lambda input_id: canonicals.choice_system(model.id, input_id))
    items = []
    for spec in asked:
        entry = item(model, spec, canonicals)
        condition = depends.get(spec.id)
        if condition is not None and all(question in answered for question in condition[1]):
            entry.update(condition[0])
        items.append(entry)
    if result.status == "complete":
        said = explain(ruleset, result)
        text = f"{said.disposition_label}. {said.advice or said.outcome_title or ''}".strip()
        if said.safety_net:
            text += f" Safety-net: {said.safety_net}"
        items.append({"linkId": "result", "type": "display", "text": text})
    source = f"{canonicals.resource('Questionnaire', model.id)}|{model.version}"
    contained = {"resourceType": "Questionnaire", "id": CONTAINED_ID, "meta": {"profile": [ADAPT_PROFILE]},
                 "extension": [{"url": ADAPTIVE, "valueBoolean": True}], "derivedFrom": [source],
                 "version": model.version, "title": model.title, "status": "active", "subjectType": ["Patient"],
                 "item": items}
    kept = [i for i in response.get("item") or [] if isinstance(i, Mapping) and i.get("answer")]
    out = {key: value for key, value in response.items() if key not in ("status", "extension", "contained", "meta",
                                                                          "item")}
    out.update(resourceType="QuestionnaireResponse", meta=meta(release, canonicals), contained=[contained],
               questionnaire=f"#{CONTAINED_ID}", item=in_questionnaire_order(release, kept),
               status="completed" if result.status == "complete" else "in-progress",
               extension=[release_extension(release, canonicals),
                          *([result_extension(result, canonicals)] if result.status == "complete" else [])])
    if not out["item"]:
        del out["item"]
    return out


def source_of(response: Mapping[str, Any]) -> str | None:
    """The Questionnaire a response answers: its contained adaptive one's `derivedFrom`, or its `questionnaire`."""
    reference = response.get("questionnaire")
    if isinstance(reference, str) and reference.startswith("#"):
        for resource in response.get("contained") or []:
            if isinstance(resource, Mapping) and resource.get("id") == reference[1:]:
                derived = resource.get("derivedFrom")
                if isinstance(derived, list) and derived and isinstance(derived[0], str):
                    return derived[0]
        return None
    return reference if isinstance(reference, str) else None


def _dependencies(ruleset: CompiledRuleset, edges: list[tuple[str, int]],
                  system: Callable[[str], str]) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """For each question first read at a decision entered through a branch with a simple condition: that
    condition as `enableWhen` (and the questions it names)."""
    model = ruleset.model
    nodes = {node.id: node for node in model.nodes}
    read: set[str] = set()
    found: dict[str, tuple[dict[str, Any], set[str]]] = {}
    entered_by: Expr | None = None
    path = [model.start] + [nodes[node_id].targets[index] for node_id, index in edges]
    for step, node_id in enumerate(path):
        node = nodes[node_id]
        if isinstance(node, DecisionNode):
            reads = [i for branch in node.branches for i in ruleset.condition(branch.when).reads if i not in read]
            enable = _enable_when(ruleset, entered_by, system) if entered_by is not None else None
            for input_id in dict.fromkeys(reads):
                if enable is not None and input_id not in enable[1]:
                    found[input_id] = enable
            read.update(reads)
        if step < len(edges):
            origin, index = edges[step]
            origin_node = nodes[origin]
            assert isinstance(origin_node, DecisionNode)
            entered_by = (ruleset.condition(origin_node.branches[index].when).tree
                          if index < len(origin_node.branches) else None)
    return found


def _enable_when(ruleset: CompiledRuleset, expr: Expr,
                 system: Callable[[str], str]) -> tuple[dict[str, Any], set[str]] | None:
    """A condition as Questionnaire `enableWhen` when it is an atom or an `and` / `or` of atoms, else None."""
    atoms = expr.operands if isinstance(expr, BoolOp) else (expr,)
    behaviour = "all" if isinstance(expr, BoolOp) and expr.op == "and" else "any"
    conditions = []
    for atom in atoms:
        made = _atom(ruleset, atom, system)
        if made is None or (len(made) > 1 and behaviour == "all"):
            return None  # an `in` is an `or` of its values: not inside an `and`
        conditions.extend(made)
    out: dict[str, Any] = {"enableWhen": conditions}
    if len(conditions) > 1:
        out["enableBehavior"] = behaviour
    return out, {c["question"] for c in conditions}


def _atom(ruleset: CompiledRuleset, expr: Expr, system: Callable[[str], str]) -> list[dict[str, Any]] | None:
    if isinstance(expr, Name):
        return [{"question": expr.id, "operator": "=", "answerBoolean": True}]
    if isinstance(expr, Not) and isinstance(expr.operand, Name):
        return [{"question": expr.operand.id, "operator": "=", "answerBoolean": False}]
    if not (isinstance(expr, Compare) and isinstance(expr.left, Name)):
        return None
    spec = ruleset.inputs[expr.left.id]
    if expr.op == "in" and isinstance(expr.right, ListOf) and spec.type == "enum":
        return [{"question": spec.id, "operator": "=", "answerCoding": {"system": system(spec.id), "code": item.value}}
                for item in expr.right.items]
    if not isinstance(expr.right, Literal) or expr.op not in ("==", "!=", "<", "<=", ">", ">="):
        return None
    operator = "=" if expr.op == "==" else expr.op
    value = expr.right.value
    if spec.type == "enum":
        if operator not in ("=", "!="):
            return None
        return [{"question": spec.id, "operator": operator, "answerCoding": {"system": system(spec.id), "code": value}}]
    if spec.type == "boolean":
        return [{"question": spec.id, "operator": operator, "answerBoolean": value}]
    return [{"question": spec.id, "operator": operator, "answerDecimal": value}]
