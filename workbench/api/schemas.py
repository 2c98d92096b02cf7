"""What the API speaks, as pydantic models: the bodies it reads and, for the OpenAPI document, what it answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt, StrictStr

from ..content.model import Ruleset

FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]  # 1e999 reads as infinity: refused
Answer = StrictBool | StrictInt | FiniteFloat | StrictStr | None


class EvaluateRequest(BaseModel):
    """A case: answers by input id; a missing or null answer is unknown and may be asked for."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"inputs": {"age": 62},
                                                                             "unsure": ["known_cancer"]}})
    inputs: dict[str, Answer]
    unsure: list[StrictStr] = Field(default=[], max_length=1000, description=(
        "Inputs the person answered 'unsure' (SPEC 3a): each is taken as whichever answer is more dangerous."))


class EvaluationResult(BaseModel):
    """SPEC 5: the disposition, or (status needs_input) the inputs to ask for next."""

    status: Literal["complete", "needs_input"]
    outcome: str | None
    disposition: str | None
    red_flags: list[str]
    path: list[str]
    needs: list[str]
    unsure: list[str]
    possible_red_flags: list[str] = Field(description="Red flags an unsure answer may hide (SPEC 3a).")
    advice: str | None = Field(description="The outcome's advice, when complete.")
    safety_net: str | None = Field(description="What to do if things change: the outcome's safety-netting.")
    release: dict[str, str] = Field(description="The signed release that gave this answer: id, version, sha256.")


class RulesetSummary(BaseModel):
    id: str
    title: str
    latest: str
    versions: list[str]


class Index(BaseModel):
    rulesets: list[RulesetSummary]


class ReleaseSignature(BaseModel):
    """Ed25519 over the RFC 8785 canonical JSON of the document without `signature`."""

    algorithm: Literal["Ed25519"]
    canonicalization: Literal["RFC 8785"]
    key_id: str
    signer: str
    value: str


class ReleaseDocument(Ruleset):
    """A release: the ruleset as JSON plus `sha256` (of the canonical JSON of the ruleset's own fields: sorted
    keys, no spaces, UTF-8), `release` (who wrote and approved it, when, why, its vignettes and replay) and
    `signature` (the approver's). Check the signature against keys you trust before using it."""

    sha256: str
    release: dict[str, Any]
    signature: ReleaseSignature



class CdsHooksRequest(BaseModel):
    """A CDS Hooks 2.0 call on the patient-view hook. The answers come from the latest QuestionnaireResponse to
    the release's Questionnaire (prefetch `questionnaireResponse`, or fetched with `fhirAuthorization`), the age
    from the Patient (prefetch `patient`); our own clients may send `context.answers` and `context.unsure`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "example",
                    "answers": {"bladder_bowel_dysfunction": True}}}})
    hook: StrictStr
    hookInstance: StrictStr
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    fhirServer: StrictStr | None = None
    fhirAuthorization: dict[str, Any] | None = None


class CdsFeedbackItem(BaseModel):
    """One piece of feedback on a card (CDS Hooks 2.0 Feedback)."""

    model_config = ConfigDict(extra="forbid")
    card: Annotated[str, Field(min_length=1, max_length=200)]
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")]
    acceptedSuggestions: list[dict[str, StrictStr]] | None = Field(default=None, max_length=100)
    overrideReason: dict[str, Any] | None = None


class CdsFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedback: Annotated[list[CdsFeedbackItem], Field(min_length=1, max_length=100)]


class QuestionnaireResponseBody(BaseModel):
    """A FHIR R4 QuestionnaireResponse; each item's `linkId` is an input id, its first answer the answer."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "resourceType": "QuestionnaireResponse", "status": "in-progress",
        "item": [{"linkId": "age", "answer": [{"valueDecimal": 62}]}]}})
    resourceType: Literal["QuestionnaireResponse"]
    item: list[dict[str, Any]] = []


class CdsCard(BaseModel):
    uuid: str
    summary: str
    indicator: Literal["info", "warning", "critical"]
    detail: str
    source: dict[str, Any]
    links: list[dict[str, Any]] = []
    extension: dict[str, Any] = {}


class CdsCards(BaseModel):
    cards: list[CdsCard]
    extension: dict[str, Any] = {}


class CdsServices(BaseModel):
    services: list[dict[str, Any]]

