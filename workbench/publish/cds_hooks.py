"""A release as a CDS Hooks service and as SDC-style "next question" answers, for EHRs.

CDS Hooks (https://cds-hooks.hl7.org): `GET /cds-services` lists one service per released ruleset (its latest
version); `POST /cds-services/{id}` takes the answers known so far and returns cards: `critical` for the most
urgent disposition, `warning` for the next, `info` otherwise; summary the disposition's label, detail the
advice and the red flags that fired, source the first guideline the outcome cites. When answers are missing,
one `info` card asks the next questions (SPEC 5 `needs`). Answers come as plain inputs (`context.answers`)
or as a FHIR QuestionnaireResponse (`context.questionnaireResponse` or `prefetch.questionnaireResponse`),
whose items are matched to inputs by `linkId`, as the exported Questionnaire names them.

Next question (after SDC's `$next-question`): a QuestionnaireResponse in, the same response out with the
next questions appended as unanswered items (`status` in-progress), or, once the case is decided, `status`
completed and the result in an extension.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..content.model import EnumInput, OutcomeNode
from ..problems import Problem, ProblemError
from ..run.engine import Result
from .fhir import SYSTEM, canonical_url
from .releases import Release

HOOK = "patient-view"
"""The hook the services answer: triage happens while a clinician has the patient open."""
RESULT_EXTENSION = f"{SYSTEM}:evaluation"


def services(latest: list[Release]) -> dict[str, Any]:
    return {"services": [{"hook": HOOK, "id": r.id, "title": r.model.title,
                          "description": f"Triage by the released ruleset '{r.id}' {r.version}: a disposition "
                                         "and its red flags, or the next questions to ask.",
                          "prefetch": {}, "usageRequirements": "Send the answers known so far as "
                          "context.answers (by input id) or context.questionnaireResponse (FHIR R4)."}
                         for r in latest]}


def answers_from_request(body: Mapping[str, Any], release: Release) -> dict[str, Any]:
    """The case's answers from a CDS Hooks request body; ProblemError (WB601) when they cannot be read."""
    context = body.get("context") if isinstance(body.get("context"), Mapping) else {}
    prefetch = body.get("prefetch") if isinstance(body.get("prefetch"), Mapping) else {}
    assert isinstance(context, Mapping) and isinstance(prefetch, Mapping)
    plain = context.get("answers")
    if isinstance(plain, Mapping):
        return dict(plain)
    response = context.get("questionnaireResponse") or prefetch.get("questionnaireResponse")
    if isinstance(response, Mapping):
        return answers_from_response(response, release)
    if plain is None and response is None:
        return {}
    raise ProblemError([Problem("WB601", "context.answers must be an object of answers by input id, and "
                                "questionnaireResponse a FHIR QuestionnaireResponse.")])


def answers_from_response(response: Mapping[str, Any], release: Release) -> dict[str, Any]:
    """A QuestionnaireResponse's answers by input id (its items' linkIds); nested items are read too."""
    if response.get("resourceType") != "QuestionnaireResponse":
        raise ProblemError([Problem("WB601", "Expected a FHIR QuestionnaireResponse (resourceType "
                                    "\"QuestionnaireResponse\").")])
    kinds = {spec.id: spec for spec in release.model.inputs}
    answers: dict[str, Any] = {}
    pending = list(response.get("item") or [])
    while pending:
        item = pending.pop(0)
        if not isinstance(item, Mapping):
            raise ProblemError([Problem("WB601", "Each QuestionnaireResponse item must be an object.")])
        pending.extend(item.get("item") or [])
        link = item.get("linkId")
        given = item.get("answer") or []
        if not isinstance(link, str) or link not in kinds or not given:
            continue  # a display item, a question from another form, or not answered yet: unknown
        if not isinstance(given, list) or not isinstance(given[0], Mapping):
            raise ProblemError([Problem("WB601", f"The answer to '{link}' must be a list of answer objects.",
                                        path=link)])
        answers[link] = _value(given[0], link, isinstance(kinds[link], EnumInput))
    return answers


def _value(answer: Mapping[str, Any], link: str, choice: bool) -> Any:
    for key in ("valueBoolean", "valueDecimal", "valueInteger", "valueString"):
        if key in answer:
            return answer[key]
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping) and "code" in coding:
        return coding["code"]
    raise ProblemError([Problem("WB601", f"The answer to '{link}' has no value this service reads "
                                f"({'valueCoding' if choice else 'valueBoolean, valueDecimal or valueInteger'}).",
                                path=link)])


def cards(release: Release, result: Result) -> dict[str, Any]:
    model = release.model
    labels = {d.id: d.label for d in model.dispositions}
    questions = {spec.id: spec.question for spec in model.inputs}
    flags = {f.id: f.label for f in model.red_flags}
    source = _source(release, result.outcome)
    if result.status != "complete":
        asked = "\n".join(f"- {questions.get(n, n)} (`{n}`)" for n in result.needs)
        detail = f"Ask next:\n{asked}"
        if result.red_flags:
            detail += "\n\nRed flags already present:\n" + "\n".join(f"- {flags[f]}" for f in result.red_flags)
        return {"cards": [_card("More answers are needed to triage", "warning" if result.red_flags else "info",
                                detail, source)]}
    rank = [d.id for d in model.dispositions].index(result.disposition or "")
    outcome = next(n for n in model.nodes if isinstance(n, OutcomeNode) and n.id == result.outcome)
    detail = outcome.advice or outcome.title
    if result.red_flags:
        detail += "\n\nRed flags:\n" + "\n".join(f"- {flags[f]}" for f in result.red_flags)
    indicator = "critical" if rank == 0 else "warning" if rank == 1 else "info"
    return {"cards": [_card(labels[result.disposition or ""], indicator, detail, source)]}


def _card(summary: str, indicator: str, detail: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "summary": summary[:140], "indicator": indicator, "detail": detail,
            "source": source}


def _source(release: Release, outcome: str | None) -> dict[str, Any]:
    """The first guideline the outcome cites (else the ruleset's first reference), with its URL."""
    model = release.model
    references = {ref.id: ref for ref in model.references}
    node = next((n for n in model.nodes if n.id == outcome), None)
    cited = [references[c] for c in getattr(node, "cites", []) if c in references] or list(model.references)
    label = f"{model.title} {release.version}"
    if not cited:
        return {"label": label}
    return {"label": f"{cited[0].title} (via {label})", **({"url": cited[0].url} if cited[0].url else {})}


def next_question(release: Release, response: Mapping[str, Any], result: Result) -> dict[str, Any]:
    """The response with the next questions appended (in-progress), or completed with the result."""
    model = release.model
    questions = {spec.id: spec for spec in model.inputs}
    out = {key: value for key, value in response.items() if key not in ("status", "extension")}
    out["resourceType"] = "QuestionnaireResponse"
    out["questionnaire"] = f"{canonical_url(model.id)}|{model.version}"
    answered = [item for item in (response.get("item") or []) if isinstance(item, Mapping) and item.get("answer")]
    if result.status == "complete":
        out["status"] = "completed"
        out["item"] = answered
        out["extension"] = [{"url": RESULT_EXTENSION, "extension": [
            {"url": "disposition", "valueCode": result.disposition},
            {"url": "outcome", "valueCode": result.outcome},
            *({"url": "red-flag", "valueCode": flag} for flag in result.red_flags)]}]
        return out
    out["status"] = "in-progress"
    out["item"] = [*answered, *({"linkId": need, "text": questions[need].question} for need in result.needs)]
    return out
