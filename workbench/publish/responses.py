"""A QuestionnaireResponse's answers, read the way the exported PlanDefinition's conditions read them.

Read strictly, because a dropped answer can be a dropped symptom: every question is a top-level item (where the
Questionnaire asks it and where the FHIRPath conditions look), answered once, with the type its item declares
(`valueBoolean`, `valueDecimal`, a `valueCoding` from the question's own code system). Anything else is a
problem naming the question (HTTP 422), never silently dropped or guessed at. An answer coded data-absent-reason
`asked-unknown` is Unsure (SPEC 3a).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..content.model import EnumInput
from ..problems import Problem, ProblemError
from ..run.fhirpath import UNSURE_CODES, UNSURE_SYSTEM
from .fhir import Canonicals
from .releases import Release

Answers = tuple[dict[str, Any], list[str]]
"""Answers by input id, and the inputs answered Unsure (SPEC 3a)."""


def answers_from_response(response: Mapping[str, Any], release: Release, canonicals: Canonicals) -> Answers:
    """A QuestionnaireResponse's answers and unsure inputs by input id (the items' linkIds); ProblemError (WB601)
    naming the question when one cannot be read."""
    if not isinstance(response, Mapping) or response.get("resourceType") != "QuestionnaireResponse":
        raise problem("Expected a FHIR QuestionnaireResponse (resourceType \"QuestionnaireResponse\").")
    _check_questionnaire(response.get("questionnaire"), release, canonicals)
    kinds = {spec.id: spec for spec in release.model.inputs}
    answers: dict[str, Any] = {}
    unsure: list[str] = []
    for item in _list(response.get("item"), "QuestionnaireResponse items"):
        link = item.get("linkId")
        if not isinstance(link, str) or link not in kinds:
            inside = [i.get("linkId") for i in _nested(item) if i.get("linkId") in kinds]
            if inside:
                raise problem(f"'{inside[0]}' is inside the item {link!r}: the Questionnaire asks every question at "
                              "the top level, and that is where it is read.", str(inside[0]))
            raise problem(f"The response answers {link!r}, which is not a question of this ruleset "
                          f"({release.id} {release.version}).", str(link))
        nested = [i.get("linkId") for i in _nested(item) if i.get("linkId") in kinds]
        if nested:
            raise problem(f"'{nested[0]}' is nested under '{link}': the Questionnaire asks every question at the top "
                          "level, and that is where it is read.", str(nested[0]))
        answered = [i.get("linkId") for i in _nested(item) if i.get("answer") not in (None, [])]
        if answered:  # e.g. the help text shown under a question: an answer there would be lost
            raise problem(f"{answered[0]!r} under '{link}' is not a question, so an answer given there would be "
                          f"lost. Answer '{link}' itself.", link)
        given = item.get("answer")
        if given is None or given == []:
            continue  # not answered yet: unknown
        if not isinstance(given, list) or len(given) != 1 or not isinstance(given[0], Mapping):
            count = len(given) if isinstance(given, list) else "no list of"
            raise problem(f"'{link}' takes one answer; it has {count} answers.", link)
        if link in answers or link in unsure:
            raise problem(f"'{link}' is answered twice in the response.", link)
        value = _value(given[0], link, kinds[link], release, canonicals)
        if value is UNSURE:
            unsure.append(link)
        else:
            answers[link] = value
    return answers, unsure


UNSURE = object()


def _check_questionnaire(reference: Any, release: Release, canonicals: Canonicals) -> None:
    """A response that names its Questionnaire must name this release's (any version after '|' must match)."""
    if reference is None or (isinstance(reference, str) and reference.startswith("#")):
        return  # none named, or the contained adaptive Questionnaire ($next-question)
    url = canonicals.resource("Questionnaire", release.id)
    if not isinstance(reference, str) or reference.split("|")[0] != url:
        raise problem(f"The response answers the Questionnaire {reference!r}, not this one ({url}).")
    version = reference.partition("|")[2]
    if version and version != release.version:
        raise problem(f"The response answers version {version} of the Questionnaire; this is version "
                      f"{release.version}, whose questions may differ. Answer this version's Questionnaire.")


def _list(items: Any, what: str) -> list[Mapping[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise problem(f"{what} must be a list of objects.")
    return items


def _nested(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every item under an item: in its `item` and under each of its answers, depth first."""
    found: list[Mapping[str, Any]] = []
    children = list(_list(item.get("item"), "Items"))
    for answer in item.get("answer") or [] if isinstance(item.get("answer"), list) else []:
        if isinstance(answer, Mapping):
            children.extend(_list(answer.get("item"), "Items under an answer"))
    for child in children:
        found.append(child)
        found.extend(_nested(child))
    return found


def _value(answer: Mapping[str, Any], link: str, spec: Any, release: Release, canonicals: Canonicals) -> Any:
    given = [key for key in answer if key.startswith("value")]
    if len(given) > 1:
        raise problem(f"'{link}' is answered twice in one answer ({', '.join(given)}): FHIR allows one value[x], "
                      "and the two could disagree.", link)
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping) and coding.get("system") == UNSURE_SYSTEM and coding.get("code") in UNSURE_CODES:
        return UNSURE
    if isinstance(spec, EnumInput):
        system = canonicals.choice_system(release.id, spec.id)
        if not isinstance(coding, Mapping) or coding.get("system") != system or not isinstance(coding.get("code"), str):
            raise problem(f"'{link}' is a choice: answer it with a valueCoding from the Questionnaire's answer "
                          f"options (system {system}), or data-absent-reason asked-unknown for Unsure.", link)
        return coding["code"]
    kind = "boolean" if spec.type == "boolean" else "decimal"
    key = "valueBoolean" if kind == "boolean" else "valueDecimal"
    if key not in answer:
        raise problem(f"'{link}' takes {key}, as its Questionnaire item is {kind} (or a data-absent-reason "
                      "asked-unknown coding for Unsure).", link)
    return answer[key]


def problem(message: str, link: str = "") -> ProblemError:
    return ProblemError([Problem("WB601", message, path=link)])
