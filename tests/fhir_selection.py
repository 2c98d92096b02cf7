"""What an EHR selects from an exported PlanDefinition, in Python with fhirpathpy: the same algorithm as
tests/fhir-js/select.mjs (read its header) and docs/downstream.md, so the differential compares two independent
FHIRPath engines running one algorithm against our engine.

fhirpathpy is slow (about 2 ms to find one answer in a response of 30 items), so `Fhirpathpy` compiles each
expression once and evaluates it once per distinct set of the items it names (`linkId = '...'`), on the response
cut down to those items: an expression that reads only those items gives the same value on every response that
has the same ones. (fhirpath.js, in select.mjs, evaluates every expression on the whole response.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

APPLICABILITY = "http://hl7.org/fhir/StructureDefinition/cqf-applicabilityBehavior"
UNSURE_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UNSURE_CODES = {"asked-unknown", "unknown"}
_LINK = re.compile(r"linkId = '((?:[^'\\]|\\.)*)'")

Evaluate = Callable[[str, dict[str, Any]], list[Any]]


class Fhirpathpy:
    """fhirpathpy with the R4 model: each expression compiled once, evaluated once per distinct set of the items
    it reads; `evaluations` counts the real evaluations."""

    def __init__(self) -> None:
        from fhirpathpy import compile as compile_fhirpath
        from fhirpathpy.models import models

        self._compile = lambda text: compile_fhirpath(text, model=models["r4"])
        self._compiled: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._values: dict[tuple[str, str], list[Any]] = {}
        self.evaluations = 0

    def __call__(self, expression: str, response: dict[str, Any]) -> list[Any]:
        found = self._compiled.get(expression)
        if found is None:
            links = tuple(sorted(set(_LINK.findall(expression))))
            found = self._compiled[expression] = (self._compile(expression), links)
        function, links = found
        read = [item for item in response.get("item", []) if item.get("linkId") in links]
        key = (expression, json.dumps(read, sort_keys=True))
        value = self._values.get(key)
        if value is None:
            self.evaluations += 1
            value = self._values[key] = list(function({}, {"response": {**response, "item": read}}))
        return value


def _codes(action: dict[str, Any], suffix: str) -> list[str]:
    return [c["code"] for concept in action.get("code", []) for c in concept.get("coding", [])
            if c["system"].endswith(suffix)]


def _extensions(element: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in element.get("extension", []) if e["url"].endswith(f"/{name}")]


def _is_unsure(item: dict[str, Any]) -> bool:
    coding = (item.get("answer") or [{}])[0].get("valueCoding") or {}
    return coding.get("system") == UNSURE_SYSTEM and coding.get("code") in UNSURE_CODES


class Selection:
    """The EHR-side reading of one PlanDefinition with one FHIRPath engine."""

    def __init__(self, plan: dict[str, Any], evaluate: Evaluate) -> None:
        self.evaluate = evaluate
        actions = {action["id"]: action for action in plan["action"]}
        self.triage, self.flags = actions["triage"], actions.get("red-flags")
        self.order = [e["valueCoding"]["code"] for e in _extensions(plan, "disposition-order")]
        self.values: dict[str, list[dict[str, Any]]] = {}
        for extension in _extensions(plan, "unsure-values"):
            parts = extension["extension"]
            link = next(p["valueString"] for p in parts if p["url"] == "linkId")
            self.values[link] = [{k: v for k, v in p.items() if k != "url"} for p in parts if p["url"] == "value"]

    def applies(self, action: dict[str, Any], response: dict[str, Any]) -> bool:
        return all(self.evaluate(c["expression"]["expression"], response) == [True]
                   for c in action.get("condition", []))

    def leaves(self, action: dict[str, Any], response: dict[str, Any]) -> list[dict[str, Any]]:
        if "ask" in _codes(action, "-action"):
            return [{"needs": [_codes(q, "-input")[0] for q in action["action"] if self.applies(q, response)]}]
        if not action.get("action"):
            return [{"outcome": _codes(action, "-outcome")[0], "disposition": _codes(action, "-disposition")[0]}]
        first = any(e["url"] == APPLICABILITY and e["valueCode"] == "any" for e in action.get("extension", []))
        found: list[dict[str, Any]] = []
        for child in action["action"]:
            if self.applies(child, response):
                found.extend(self.leaves(child, response))
                if first:
                    break
        return found

    def select(self, response: dict[str, Any]) -> dict[str, Any]:
        """SPEC 5's fields as the EHR sees them: status, outcome, disposition, red_flags, needs."""
        rank = {code: i for i, code in enumerate(self.order)}
        flags = [_codes(f, "-red-flag")[0] for f in (self.flags or {}).get("action", []) if self.applies(f, response)]
        unsure = {item["linkId"] for item in response.get("item", []) if _is_unsure(item)}
        best: dict[str, Any] | None = None
        stuck: list[dict[str, Any]] = []
        stack = [response]
        while stack:
            current = stack.pop()
            found = self.leaves(self.triage, current)
            if not found:  # nothing applicable: what a broken PlanDefinition gives an EHR
                return {"status": "nothing-selected", "outcome": None, "disposition": None, "red_flags": flags,
                        "needs": []}
            leaf = found[0]
            if "outcome" in leaf:
                if best is None or rank[leaf["disposition"]] < rank[best["disposition"]]:
                    best = leaf
                    if rank[leaf["disposition"]] == 0:
                        break
                continue
            still = {item["linkId"] for item in current.get("item", []) if _is_unsure(item)}
            split = next((n for n in leaf["needs"] if n in unsure and n in still), None)
            if split is None:
                stuck.append(leaf)
                continue
            stack.extend(_with_answer(current, split, value) for value in self.values[split])
        if best is not None and (not stuck or rank[best["disposition"]] == 0):
            return {"status": "complete", "outcome": best["outcome"], "disposition": best["disposition"],
                    "red_flags": flags, "needs": []}
        needed = {n for leaf in stuck for n in leaf["needs"]}
        return {"status": "needs_input", "outcome": None, "disposition": None, "red_flags": flags,
                "needs": [link for link in self.values if link in needed]}


def _with_answer(response: dict[str, Any], link: str, value: dict[str, Any]) -> dict[str, Any]:
    items = [{**item, "answer": [value]} if item["linkId"] == link else item for item in response["item"]]
    return {**response, "item": items}
