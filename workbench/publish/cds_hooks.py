"""A release as a CDS Hooks 2.0 service (https://cds-hooks.hl7.org): discovery, reading a call, cards.

One service per released ruleset (its latest version), on the `patient-view` hook: triage is read when a clinician
opens the chart of a patient whose triage form (a QuestionnaireResponse to the release's Questionnaire) exists.
`order-select` is not offered: the ruleset triages a presenting complaint and knows no order codes, so it could
not tell which draft orders it bears on, and a card on every order selected would be noise.

Data comes from prefetch (`patient`: `Patient/{{context.patientId}}`; `questionnaireResponse`: the latest
response to this Questionnaire for the patient), else from the CDS client's FHIR server with `fhirAuthorization`
(the API fetches it), else the call is refused with 412 and an OperationOutcome. The age is the answer to the age
question, else worked out from `Patient.birthDate`. Our own clients may send `context.answers` (by input id) and
`context.unsure` instead of a form.

Cards: one per call with answers. Complete: the summary names the finding and its disposition ("Suspected cauda
equina syndrome — emergency"), the detail gives the disposition, advice, safety-netting, the red flags fired and
those an Unsure answer may hide, `links` the guidance the outcome cites, `source` the signed release. Incomplete:
the card is raised to the most urgent disposition the missing answers could still reach (the missing questions
weighed as Unsure, SPEC 3a) and lists the questions to ask.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..content.model import OutcomeNode
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset, InputError, Result, evaluate
from ..run.explain import explain
from .fhir import Canonicals, release_stamp
from .releases import Release
from .responses import answers_from_response

HOOK = "patient-view"
EXTENSION = "org.clinical-rules-workbench.release"
"""The key of our extension (CDS Hooks: reverse-domain names) carrying the signed release an answer came from."""
LOINC_AGE = ("http://loinc.org", "30525-0")
INDICATORS = {0: "critical", 1: "warning", 2: "warning"}
"""The card's indicator by the disposition's place in the ruleset's order (most urgent first): the most urgent is
critical, the next two warning, the rest info. CDS Hooks has three indicators; the disposition itself is in the
card's `source.topic`, one code per disposition."""
SUMMARY_LIMIT = 139
_USER = re.compile(r"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class PreconditionFailed(Exception):
    """CDS Hooks 412: data the service needs is neither prefetched nor fetchable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def prefetch(release: Release, canonicals: Canonicals) -> dict[str, str]:
    """The prefetch templates: the patient, and the latest response to this release's Questionnaire."""
    questionnaire = f"{canonicals.resource('Questionnaire', release.id)}|{release.version}"
    return {"patient": "Patient/{{context.patientId}}",
            "questionnaireResponse": f"QuestionnaireResponse?subject=Patient/{{{{context.patientId}}}}"
                                     f"&questionnaire={questionnaire}&_sort=-authored&_count=1"}


def services(latest: list[Release], canonicals: Canonicals) -> dict[str, Any]:
    return {"services": [{
        "hook": HOOK, "id": r.id, "title": r.model.title,
        "description": f"Triage by the released ruleset '{r.id}' {r.version}: a disposition with its red flags and "
                       "advice, or the next questions to ask.",
        "prefetch": prefetch(r, canonicals),
        "usageRequirements": (
            f"Record the triage with the Questionnaire {canonicals.resource('Questionnaire', r.id)}|{r.version} "
            "(GET /fhir/Questionnaire?url=...); answers are read from the latest QuestionnaireResponse to it and "
            "the age from Patient.birthDate. Prefetch both, or send fhirServer and fhirAuthorization. Calls carry "
            "a JWT signed by a trusted issuer. Not offered for order-select: the ruleset knows no order codes."),
        "extension": {EXTENSION: release_stamp(r)}} for r in latest]}


@dataclass
class Call:
    """A CDS Hooks call, checked: what it asks, the data it brought and where more can be fetched."""

    hook_instance: str
    patient_id: str
    user_id: str
    context: Mapping[str, Any]
    prefetched: dict[str, Any]
    fhir_server: str | None = None
    access_token: str | None = None
    fetched: dict[str, Any] = field(default_factory=dict)


def read_call(body: Mapping[str, Any]) -> Call:
    """A call's fields, checked as CDS Hooks 2.0 and the patient-view hook define them; ProblemError (422)."""
    problems = []
    hook, instance = body.get("hook"), body.get("hookInstance")
    if hook != HOOK:
        problems.append(f"this service answers the {HOOK} hook, not {hook!r}")
    if not isinstance(instance, str) or not _UUID.match(instance):
        problems.append(f"hookInstance must be a UUID, not {instance!r}")
    context = body.get("context")
    if not isinstance(context, Mapping):
        raise _problem("context must be an object with userId and patientId (the patient-view hook).")
    user, patient = context.get("userId"), context.get("patientId")
    if not isinstance(user, str) or not _USER.match(user):
        problems.append(f"context.userId must name the user as Practitioner/id, PractitionerRole/id, Patient/id or "
                        f"RelatedPerson/id, not {user!r}")
    if not isinstance(patient, str) or not _FHIR_ID.match(patient):
        problems.append(f"context.patientId must be the patient's FHIR id, not {patient!r}")
    prefetched = body.get("prefetch")
    if prefetched is not None and not isinstance(prefetched, Mapping):
        problems.append("prefetch must be an object of prefetched resources by key")
    server, authorization = body.get("fhirServer"), body.get("fhirAuthorization")
    token = None
    if authorization is not None:
        if not isinstance(authorization, Mapping) or authorization.get("token_type") != "Bearer" or not isinstance(
                authorization.get("access_token"), str) or not authorization.get("access_token"):
            problems.append("fhirAuthorization must have token_type Bearer and an access_token")
        elif server is None:
            problems.append("fhirAuthorization is given, so fhirServer is required")
        else:
            token = authorization["access_token"]
    if server is not None and (not isinstance(server, str) or not re.match(r"^https?://[^\s]+$", server)):
        problems.append(f"fhirServer must be an http(s) URL, not {server!r}")
    if problems:
        raise _problem("The CDS Hooks call is not valid: " + "; ".join(problems) + ".")
    assert isinstance(user, str) and isinstance(patient, str) and isinstance(instance, str)
    return Call(instance, patient, user, context, dict(prefetched or {}),
                server.rstrip("/") if isinstance(server, str) else None, token)


def to_fetch(call: Call, release: Release, canonicals: Canonicals) -> dict[str, str]:
    """The prefetch keys the call left out and the service needs, with the relative URL to fetch each."""
    if "answers" in call.context or "questionnaireResponse" in call.context:
        return {}  # our own clients send the answers themselves
    templates = {key: url.replace("{{context.patientId}}", call.patient_id)
                 for key, url in prefetch(release, canonicals).items()}
    wanted = ["questionnaireResponse"]
    if age_input(release) is not None:
        wanted.append("patient")
    return {key: templates[key] for key in wanted if key not in call.prefetched}


def gather(call: Call, release: Release, canonicals: Canonicals) -> tuple[dict[str, Any], list[str], bool]:
    """The case's answers, unsure inputs, and whether a form was found (no form: no triage, no card). Raises
    PreconditionFailed when needed data is neither prefetched nor fetched, ProblemError when it cannot be read."""
    context = call.context
    plain, unsure = context.get("answers"), context.get("unsure")
    response = context.get("questionnaireResponse")
    if plain is not None and response is not None:
        raise _problem("Send the answers either as context.answers or as a questionnaireResponse, not both: they "
                       "could disagree about the same question.")
    if plain is not None or unsure is not None:
        if plain is not None and not isinstance(plain, Mapping):
            raise _problem("context.answers must be an object of answers by input id.")
        if unsure is not None and not (isinstance(unsure, list) and all(isinstance(u, str) for u in unsure)):
            raise _problem("context.unsure must be a list of input ids.")
        return dict(plain or {}), list(unsure or []), bool(plain or unsure)
    if response is None:
        response = _resource(call, "questionnaireResponse", "the latest QuestionnaireResponse to this Questionnaire")
        response = _latest(response)
    if response is None:
        return {}, [], False
    answers, unsure_ids = answers_from_response(response, release, canonicals)
    age = age_input(release)
    if age is not None and age not in answers and age not in unsure_ids and "questionnaireResponse" not in context:
        patient = _resource(call, "patient", "the Patient (for the age, from Patient.birthDate)")
        years = age_from_birth_date(patient)
        if years is not None:
            answers[age] = years
    return answers, unsure_ids, True


def _resource(call: Call, key: str, what: str) -> Any:
    """A prefetched (or fetched) resource; None when the client says there is none; 412 when neither has it."""
    for source in (call.prefetched, call.fetched):
        if key in source:
            found = source[key]
            if isinstance(found, Mapping) and found.get("resourceType") == "OperationOutcome":
                raise PreconditionFailed(f"The CDS client could not provide {what}: its prefetch holds an "
                                         "OperationOutcome.")
            return found
    raise PreconditionFailed(f"This service needs {what}: send it as prefetch '{key}', or send fhirServer and "
                             "fhirAuthorization so the service can fetch it.")


def _latest(found: Any) -> Any:
    """A QuestionnaireResponse, or the newest in a searchset Bundle (by `authored`); None for none."""
    if found is None or not isinstance(found, Mapping) or found.get("resourceType") != "Bundle":
        return found
    entries = [e.get("resource") for e in found.get("entry") or [] if isinstance(e, Mapping)]
    responses = [r for r in entries if isinstance(r, Mapping) and r.get("resourceType") == "QuestionnaireResponse"]
    return max(responses, key=lambda r: str(r.get("authored", "")), default=None)


def age_input(release: Release) -> str | None:
    """The input that is the patient's age in years: coded LOINC 30525-0, else an input `age` in years."""
    for spec in release.model.inputs:
        if spec.type == "number" and spec.code and (spec.code.system, spec.code.code) == LOINC_AGE:
            return spec.id
    spec = next((s for s in release.model.inputs if s.id == "age" and s.type == "number"), None)
    return spec.id if spec is not None and (spec.unit or "years").lower() in ("years", "year", "a") else None


def age_from_birth_date(patient: Any, today: date | None = None) -> int | None:
    """Whole years since Patient.birthDate; None without a full date (a year alone could be either side of a
    threshold: the question is then asked)."""
    if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
        return None
    text = patient.get("birthDate")
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return None
    today = today or date.today()
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years if years >= 0 else None


def _problem(message: str) -> ProblemError:
    return ProblemError([Problem("WB601", message)])


# --- cards ---------------------------------------------------------------------------------------------------

def cards(release: Release, ruleset: CompiledRuleset, result: Result, canonicals: Canonicals,
          answers: Mapping[str, Any], unsure: list[str], asked: bool = True) -> dict[str, Any]:
    """One card for the case; none when nothing was asked yet (no card on every chart that is opened)."""
    extension = {EXTENSION: release_stamp(release)}
    if not asked:
        return {"cards": [], "extension": extension}
    if result.status == "complete":
        card = _complete_card(release, ruleset, result, canonicals)
    else:
        card = _incomplete_card(release, ruleset, result, canonicals, answers, unsure)
    return {"cards": [card], "extension": extension}


def _complete_card(release: Release, ruleset: CompiledRuleset, result: Result, canonicals: Canonicals) -> dict:
    said = explain(ruleset, result)
    node = _outcome(ruleset, result.outcome)
    lines = [f"**{said.disposition_label}**", said.advice or said.outcome_title or ""]
    if said.safety_net:
        lines.append(f"**Safety-net:** {said.safety_net}")
    if said.red_flags:
        lines.append("**Red flags:**\n" + "\n".join(f"- {label}" for _, label in said.red_flags))
    if said.possible:
        possible = "\n".join(f"- {p.text}" for p in said.possible)
        lines.append(f"**Possible red flags (behind Unsure answers):**\n{possible}")
    summary = f"{node.title} — {_short(said.disposition_label or '')}"
    return _card(release, ruleset, canonicals, summary, result.disposition or "", "\n\n".join(lines), node.cites)


def _incomplete_card(release: Release, ruleset: CompiledRuleset, result: Result, canonicals: Canonicals,
                     answers: Mapping[str, Any], unsure: list[str]) -> dict:
    """Raised to the most urgent disposition the missing answers could still reach (weighed as Unsure)."""
    missing = [i for i in ruleset.inputs if answers.get(i) is None and i not in unsure]
    try:
        worst = evaluate(ruleset, answers, unsure=[*unsure, *missing])
    except InputError:  # too many combinations to weigh: say what is known
        worst = None
    questions = "\n".join(f"- {ruleset.inputs[n].question}" for n in result.needs)
    lines = [f"**Ask next:**\n{questions}"]
    said = explain(ruleset, result)
    if said.red_flags:
        lines.append("**Red flags already present:**\n" + "\n".join(f"- {label}" for _, label in said.red_flags))
    cites: list[str] = []
    if worst is not None and worst.status == "complete":
        node = _outcome(ruleset, worst.outcome)
        worst_said = explain(ruleset, worst)
        label = worst_said.disposition_label or ""
        summary = f"Not yet triaged — could be {node.title.lower() if node.title[1:2].islower() else node.title} " \
                  f"({_short(label)}): ask {len(result.needs)} more"
        lines.insert(0, f"Until these are answered, this could be **{node.title}**: {label}.")
        if worst_said.safety_net:
            lines.append(f"**Safety-net meanwhile:** {worst_said.safety_net}")
        disposition, cites = worst.disposition or "", node.cites
    else:
        summary, disposition = "More answers are needed to triage", ""
    return _card(release, ruleset, canonicals, summary, disposition, "\n\n".join(lines), cites)


def _card(release: Release, ruleset: CompiledRuleset, canonicals: Canonicals, summary: str, disposition: str,
          detail: str, cites: list[str]) -> dict[str, Any]:
    model = ruleset.model
    rank = [d.id for d in model.dispositions].index(disposition) if disposition else len(model.dispositions)
    references = {ref.id: ref for ref in model.references}
    links = [{"label": _summary(references[c].title), "url": references[c].url, "type": "absolute"}
             for c in cites if c in references and references[c].url]
    labels = {d.id: d.label for d in model.dispositions}
    source: dict[str, Any] = {"label": f"{model.title} {release.version} (sha256 {release.sha256[:12]}…)",
                              "url": f"{canonicals.base}/rulesets/{release.id}/versions/{release.version}"}
    if disposition:
        source["topic"] = {"system": canonicals.code_system(release.id, "disposition"), "code": disposition,
                           "display": labels[disposition]}
    return {"uuid": str(uuid.uuid4()), "summary": _summary(summary), "indicator": INDICATORS.get(rank, "info"),
            "detail": detail, "source": source, **({"links": links} if links else {}),
            "extension": {EXTENSION: release_stamp(release)}}


def _outcome(ruleset: CompiledRuleset, outcome_id: str | None) -> OutcomeNode:
    return next(n for n in ruleset.model.nodes if isinstance(n, OutcomeNode) and n.id == outcome_id)


def _short(label: str) -> str:
    """A disposition's label up to its first dash, in lower case: 'Emergency — now: 999 …' -> 'emergency'."""
    head = re.split(r"\s[—–-]\s", label, maxsplit=1)[0].strip()
    return head[:1].lower() + head[1:] if head[1:2].islower() else head


def _summary(text: str) -> str:
    """CDS Hooks: under 140 characters, cut at a word with an ellipsis (the whole text is in the detail)."""
    if len(text) <= SUMMARY_LIMIT:
        return text
    return text[:SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:—-(") + "…"


__all__ = ["HOOK", "Call", "PreconditionFailed", "age_from_birth_date", "cards", "gather",
           "prefetch", "read_call", "services", "to_fetch"]
