"""Pydantic models of rulesets and vignettes: the vocabulary every other module speaks.

The models check shape only (fields, types, slugs). Cross-references, graph structure and
expressions are checked in `validate.py`, where each problem gets a clinical message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,63}$"
"""Ids: lower-case letters, digits, `-` and `_`. `_` is allowed because input ids such as
`known_cancer` double as identifiers in `when` expressions."""

RULESET_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
"""Ruleset ids name folders and URLs, so they are stricter: no `_`, `/` or `..`."""

SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$"

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
Number = Union[StrictInt, StrictFloat]
Expression = Annotated[str, Field(min_length=1, max_length=2000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Reference(_Model):
    """A source a rule cites: a guideline, a paper."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    title: Text
    url: str | None = None


class Disposition(_Model):
    """Where the patient goes; the list order is urgency, most urgent first."""

    id: Slug
    label: Text
    description: Text | None = None
    safety_net: Text | None = Field(default=None, description=(
        "What to do if things change (\"if any of these appear, go to A&E now or call 999\"), given with every "
        "outcome of this disposition that has no safety-net of its own."))


class Code(_Model):
    """A code from a standard terminology for what an input asks or a red flag names, for EHRs that code their data
    (FHIR exports carry it). Only SNOMED CT and LOINC, and only a code someone has checked: a wrong code is worse
    than none."""

    system: Literal["http://snomed.info/sct", "http://loinc.org"]
    code: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.-]{0,31}$")]
    display: Text | None = None


class _InputBase(_Model):
    id: Slug
    question: Text
    label: Annotated[str, Field(min_length=1, max_length=120, description=(
        "A short clinical name for the answer (\"bladder or bowel control\"), used wherever the question is "
        "named rather than asked: failures, counterexamples, diffs, \"possible cauda equina: unsure about ...\"."
        ))] | None = None
    help: Text | None = None
    code: Code | None = None


class BooleanInput(_InputBase):
    type: Literal["boolean"]


class NumberInput(_InputBase):
    type: Literal["number"]
    unit: str | None = None
    min: Number | None = None
    max: Number | None = None


class EnumInput(_InputBase):
    type: Literal["enum"]
    values: Annotated[list[Slug], Field(min_length=1)]
    labels: dict[str, Text] | None = None


Input = Annotated[BooleanInput | NumberInput | EnumInput, Field(discriminator="type")]


class RedFlag(_Model):
    """A warning sign shown on every case where it holds, whatever the path."""

    id: Slug
    label: Text
    when: Expression
    cites: list[str] = []
    code: Code | None = None


class Branch(_Model):
    """One way out of a decision: taken when `when` holds and no earlier branch did."""

    when: Expression
    next: Slug
    label: Text | None = None
    cites: list[str] = []


class DecisionNode(_Model):
    id: Slug
    kind: Literal["decision"]
    title: Text
    description: Text | None = None
    branches: list[Branch] = []
    else_: Slug = Field(alias="else")
    cites: list[str] = []

    @property
    def targets(self) -> list[str]:
        """Where a case can go next: each branch's node in order, then the else (repeats kept)."""
        return [branch.next for branch in self.branches] + [self.else_]


class OutcomeNode(_Model):
    id: Slug
    kind: Literal["outcome"]
    title: Text
    disposition: Slug
    advice: Text | None = None
    safety_net: Text | None = Field(default=None, description=(
        "What to do if things change, given with this outcome; without it, the disposition's safety-net."))
    cites: list[str] = []

    @property
    def targets(self) -> list[str]:
        """An outcome ends the flow: nowhere to go."""
        return []


Node = Annotated[DecisionNode | OutcomeNode, Field(discriminator="kind")]


class SafetyProperty(_Model):
    """A promise the tree keeps for every case where `when` holds; `workbench verify` proves it over all cases.

    Exactly one of `at_least` (disposition at least this urgent), `never` (never this disposition) and
    `requires_red_flag` (this red flag always fires) is given; `validate.py` checks that.
    """

    id: Slug
    title: Text
    when: Expression
    at_least: Slug | None = None
    never: Slug | None = None
    requires_red_flag: Slug | None = None
    cites: list[str] = []


class Ruleset(_Model):
    """One triage decision tree, as written in `rulesets/<id>/ruleset.yaml`."""

    id: Annotated[str, Field(pattern=RULESET_ID_PATTERN)]
    version: Annotated[str, Field(pattern=SEMVER_PATTERN)]
    title: Text
    description: Text | None = None
    references: list[Reference] = []
    dispositions: Annotated[list[Disposition], Field(min_length=1)]
    inputs: list[Input] = []
    red_flags: list[RedFlag] = []
    start: Slug
    nodes: Annotated[list[Node], Field(min_length=1)]
    safety: list[SafetyProperty] = []
    monotonic: Annotated[StrictBool, Field(description=(
        "Escalation is monotonic: answering yes instead of no to a question a red flag reads never makes the "
        "disposition less urgent. `workbench verify` proves it over every case."))] = False


InputValue = Union[StrictBool, StrictInt, StrictFloat, str, None]


class Expectation(_Model):
    """What a vignette must produce: `disposition` is required unless `needs` is given."""

    disposition: Slug | None = None
    outcome: Slug | None = None
    red_flags: list[Slug] | None = None
    needs: list[Slug] | None = None
    possible_red_flags: list[Slug] | None = Field(default=None, description=(
        "The exact set of red flags an unsure answer may hide (SPEC 3a `possible_red_flags`)."))


class Vignette(_Model):
    """A synthetic patient case with the result a clinician expects."""

    id: Slug
    narrative: Text | None = None
    inputs: dict[str, InputValue] = {}
    unsure: list[Slug] = Field(default=[], description=(
        "Inputs the person answered 'unsure' (SPEC 3a): each is taken as whichever answer is more dangerous."))
    cites: list[str] = Field(default=[], description=(
        "The guidance the expected result rests on: ids of the ruleset's references."))
    expect: Expectation


class VignetteFile(_Model):
    """A file of vignettes for one ruleset: `rulesets/<id>/vignettes/*.yaml`."""

    ruleset: Annotated[str, Field(pattern=RULESET_ID_PATTERN)]
    vignettes: list[Vignette] = []


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema a YAML editor uses to check a file as it is typed."""
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
