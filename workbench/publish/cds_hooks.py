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


UNSURE_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UNSURE_CODES = {"asked-unknown", "unknown"}
"""An answer coded as data-absent-reason asked-unknown ("asked, but the person does not know") is Unsure
(SPEC 3a): taken as whichever answer is more dangerous, never as no."""


def answers_from_request(body: Mapping[str, Any], release: Release) -> tuple[dict[str, Any], list[str]]:
    """The case's answers and unsure inputs from a CDS Hooks request body; ProblemError (WB601) when they
    cannot be read. Plain answers (`context.answers`, `context.unsure`) or one QuestionnaireResponse, not
    both: two sources could disagree about the same question."""
    context = body.get("context") if isinstance(body.get("context"), Mapping) else {}
    prefetch = body.get("prefetch") if isinstance(body.get("prefetch"), Mapping) else {}
    assert isinstance(context, Mapping) and isinstance(prefetch, Mapping)
    plain, unsure = context.get("answers"), context.get("unsure")
    response = context.get("questionnaireResponse", prefetch.get("questionnaireResponse"))
    if plain is not None and response is not None:
        raise _problem("Send the answers either as context.answers or as a questionnaireResponse, not both: "
                       "they could disagree about the same question.")
    if response is not None:
        if not isinstance(response, Mapping):
            raise _problem("questionnaireResponse must be a FHIR QuestionnaireResponse object.")
        return answers_from_response(response, release)
    if plain is not None and not isinstance(plain, Mapping):
        raise _problem("context.answers must be an object of answers by input id.")
    if unsure is not None and not (isinstance(unsure, list) and all(isinstance(u, str) for u in unsure)):
        raise _problem("context.unsure must be a list of input ids.")
    return dict(plain or {}), list(unsure or [])


def answers_from_response(response: Mapping[str, Any], release: Release) -> tuple[dict[str, Any], list[str]]:
    """A QuestionnaireResponse's answers and unsure inputs by input id (its items' linkIds), read strictly:
    a linkId the Questionnaire does not have, a question answered twice, or an answer of the wrong type is a
    problem, never silently dropped (a mistyped linkId must not make a symptom disappear). Items nested in
    groups and under answers are read too."""
    if response.get("resourceType") != "QuestionnaireResponse":
        raise _problem("Expected a FHIR QuestionnaireResponse (resourceType \"QuestionnaireResponse\").")
    kinds = {spec.id: spec for spec in release.model.inputs}
    answers: dict[str, Any] = {}
    unsure: list[str] = []
    for item in _items(response.get("item")):
        link = item.get("linkId")
        if isinstance(link, str) and link.endswith(".help") and link.removesuffix(".help") in kinds:
            if item.get("answer") not in (None, []):
                raise _problem(f"'{link}' is the help text shown under '{link.removesuffix('.help')}', not a "
                               "question: an answer given there would be lost. Answer the question itself.", link)
            continue  # the help text the Questionnaire shows under a question
        if item.get("item") and not item.get("answer") and link not in kinds:
            continue  # a group around questions (its items are read on their own)
        if not isinstance(link, str) or link not in kinds:
            raise _problem(f"The response answers {link!r}, which is not a question of this ruleset "
                           f"({release.id} {release.version}).", str(link))
        given = item.get("answer")
        if given is None or given == []:
            continue  # not answered yet: unknown
        if not isinstance(given, list) or len(given) != 1 or not isinstance(given[0], Mapping):
            count = len(given) if isinstance(given, list) else "no list of"
            raise _problem(f"'{link}' takes one answer; it has {count} answers.", link)
        if link in answers or link in unsure:
            raise _problem(f"'{link}' is answered twice in the response.", link)
        value = _value(given[0], link, kinds[link], release)
        if value is _UNSURE:
            unsure.append(link)
        else:
            answers[link] = value
    return answers, unsure


_UNSURE = object()


def _items(items: Any) -> list[Mapping[str, Any]]:
    """Every item, depth first: a group's items and the items under each answer too."""
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise _problem("QuestionnaireResponse items must be a list of objects.")
    found: list[Mapping[str, Any]] = []
    for item in items:
        found.append(item)
        found.extend(_items(item.get("item")))
        for answer in item.get("answer") or [] if isinstance(item.get("answer"), list) else []:
            if isinstance(answer, Mapping):
                found.extend(_items(answer.get("item")))
    return found


def _value(answer: Mapping[str, Any], link: str, spec: Any, release: Release) -> Any:
    given = [key for key in answer if key.startswith("value")]
    if len(given) > 1:
        raise _problem(f"'{link}' is answered twice in one answer ({', '.join(given)}): FHIR allows one value[x], "
                       "and the two could disagree.", link)
    coding = answer.get("valueCoding")
    if isinstance(coding, Mapping) and coding.get("system") == UNSURE_SYSTEM and coding.get("code") in UNSURE_CODES:
        return _UNSURE
    if isinstance(spec, EnumInput):
        system = f"{SYSTEM}:{release.id}:{spec.id}"
        if not isinstance(coding, Mapping) or coding.get("system", system) != system or "code" not in coding:
            raise _problem(f"'{link}' is a choice: answer it with a valueCoding from the Questionnaire "
                           f"(system {system}).", link)
        return coding["code"]
    keys = ("valueBoolean",) if spec.type == "boolean" else ("valueDecimal", "valueInteger")
    for key in keys:
        if key in answer:
            return answer[key]
    raise _problem(f"'{link}' takes {' or '.join(keys)} (or a data-absent-reason asked-unknown coding for "
                   "Unsure).", link)


def _problem(message: str, link: str = "") -> ProblemError:
    return ProblemError([Problem("WB601", message, path=link)])


def cards(release: Release, result: Result, asked: bool = True) -> dict[str, Any]:
    """One card for the case; none when nothing was asked yet (no card on every chart that is opened)."""
    if not asked:
        return {"cards": []}
    model = release.model
    labels = {d.id: d.label for d in model.dispositions}
    questions = {spec.id: spec.question for spec in model.inputs}
    flags = {f.id: f.label for f in model.red_flags}
    if result.status != "complete":
        asked_next = "\n".join(f"- {questions.get(n, n)} (`{n}`)" for n in result.needs)
        detail = f"Ask next:\n{asked_next}"
        if result.red_flags:
            detail += "\n\nRed flags already present:\n" + "\n".join(f"- {flags[f]}" for f in result.red_flags)
        return {"cards": [_card("More answers are needed to triage", "warning" if result.red_flags else "info",
                                detail, {"label": f"{model.title} {release.version}"})]}
    rank = [d.id for d in model.dispositions].index(result.disposition or "")
    outcome = next(n for n in model.nodes if isinstance(n, OutcomeNode) and n.id == result.outcome)
    label = labels[result.disposition or ""]
    detail = f"**{label}**\n\n{outcome.advice or outcome.title}"
    if result.red_flags:
        detail += "\n\nRed flags:\n" + "\n".join(f"- {flags[f]}" for f in result.red_flags)
    return {"cards": [_card(label, INDICATORS[rank] if rank < len(INDICATORS) else "info", detail,
                            _source(release, result.outcome))]}


def with_release(response: dict[str, Any], release: Release) -> dict[str, Any]:
    """A CDS Hooks response tied to the signed release that made it: `extension.release` ({id, version, sha256})
    on the response and on every card, so an EHR can check each card against the release it verified."""
    stamp = {"release": release.stamp}
    return {**response, "extension": stamp, "cards": [{**card, "extension": stamp} for card in response["cards"]]}


INDICATORS = ("critical", "warning", "warning")
"""Card indicators for the three most urgent dispositions, in order; the rest are info."""
SUMMARY_LIMIT = 139
"""CDS Hooks: a summary under 140 characters."""


def _summary(text: str) -> str:
    """The text within the limit, cut at a word with an ellipsis (the whole label is in the detail)."""
    if len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[:SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:—-")
    return cut + "…"


def _card(summary: str, indicator: str, detail: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "summary": _summary(summary), "indicator": indicator, "detail": detail,
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
    """The response with the next questions appended (in-progress), or completed with the result. The items
    sent are kept as they were (groups and nested answers included); only new questions are added."""
    model = release.model
    questions = {spec.id: spec for spec in model.inputs}
    out = {key: value for key, value in response.items() if key not in ("status", "extension")}
    out["resourceType"] = "QuestionnaireResponse"
    out["questionnaire"] = f"{canonical_url(model.id, 'Questionnaire')}|{model.version}"
    sent = [item for item in (response.get("item") or [])
            if not (isinstance(item, Mapping) and item.get("linkId") in result.needs and not item.get("answer"))]
    if result.status == "complete":
        out["status"] = "completed"
        out["item"] = sent
        out["extension"] = [{"url": RESULT_EXTENSION, "extension": [
            {"url": "disposition", "valueCode": result.disposition},
            {"url": "outcome", "valueCode": result.outcome},
            *({"url": "red-flag", "valueCode": flag} for flag in result.red_flags),
            *({"url": "unsure", "valueCode": name} for name in result.unsure)]}]
        return out
    out["status"] = "in-progress"
    out["item"] = [*sent, *({"linkId": need, "text": questions[need].question} for need in result.needs)]
    return out
