"""A release as HL7 FHIR R4 resources, for EHRs and form tools that speak FHIR rather than our JSON.

Every artefact is identified under one base URL (`Canonicals`): a deployment's own http address, so canonical
URLs, code systems and extension URLs resolve where the resources are served. Every artefact carries the
release it came from, its sha256 and the approver's signature (`meta.tag` and the `release` extension), and a
short narrative.

- `Questionnaire`: each input an item with its type (boolean, decimal, choice), answer options with their
  labels, a UCUM unit, minimum and maximum, help text, and the input's LOINC or SNOMED CT code when the ruleset
  gives one.
- `PlanDefinition`: see plan_definition.py (the decision tree as executable FHIRPath conditions).
- `CapabilityStatement`: what the FHIR endpoint of `workbench serve` answers.

The resources are plain dicts here (the core has no FHIR dependency); tests validate them with the
`fhir.resources` models and the official FHIR R4 JSON Schema.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from typing import Any

from ..content.model import BooleanInput, EnumInput, NumberInput, Ruleset
from .releases import Release

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
BASE_URL_VARIABLE = "WORKBENCH_BASE_URL"
"""The environment variable that sets the base URL when no option does (`serve`, `export --fhir`)."""
HL7 = "http://hl7.org/fhir/StructureDefinition"
UCUM = "http://unitsofmeasure.org"
UCUM_CODES = {"years": "a", "year": "a", "months": "mo", "month": "mo", "weeks": "wk", "week": "wk", "days": "d",
              "day": "d", "hours": "h", "hour": "h", "minutes": "min", "kg": "kg", "g": "g", "cm": "cm", "m": "m",
              "mmHg": "mm[Hg]", "°C": "Cel", "%": "%", "/min": "/min", "beats per minute": "/min",
              "breaths per minute": "/min", "mmol/L": "mmol/L"}
"""Units as rulesets write them, and their UCUM codes (only those that are unambiguous); any other unit is
given as text."""
FHIR_VERSION = "4.0.1"


@dataclass(frozen=True)
class Canonicals:
    """Where the artefacts of one deployment live: `base` is the server's own address (`http://host:port`), the
    FHIR endpoint is `{base}/fhir`, and every canonical URL, code system and extension is under it."""

    base: str

    @classmethod
    def of(cls, base: str | None = None) -> Canonicals:
        """The base URL given, else the environment's WORKBENCH_BASE_URL, else DEFAULT_BASE_URL."""
        chosen = base or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
        if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", chosen):
            raise ValueError(f"the base URL must be an http or https address such as {DEFAULT_BASE_URL}, "
                             f"not {chosen!r}")
        return cls(chosen.rstrip("/"))

    @property
    def fhir(self) -> str:
        return f"{self.base}/fhir"

    def resource(self, kind: str, ruleset_id: str) -> str:
        """The canonical URL of a ruleset's artefact (versions told apart by `version`)."""
        return f"{self.fhir}/{kind}/{ruleset_id}"

    def code_system(self, ruleset_id: str, name: str) -> str:
        return f"{self.fhir}/CodeSystem/{ruleset_id}-{name}"

    def choice_system(self, ruleset_id: str, input_id: str) -> str:
        """The code system of a choice input's answers: its values are the codes."""
        return self.code_system(ruleset_id, input_id.replace("_", "-"))

    def extension(self, name: str) -> str:
        return f"{self.fhir}/StructureDefinition/{name}"


def fhir_id(release: Release) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) naming the ruleset and its version."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", f"{release.id}-{release.version}")[:64]


def release_stamp(release: Release) -> dict[str, Any]:
    """Which signed release an answer or artefact came from: id, version, sha256 and the approver's signature."""
    signature = release.document.get("signature") or {}
    return {"id": release.id, "version": release.version, "sha256": release.sha256,
            "signature": {key: signature.get(key) for key in ("algorithm", "key_id", "signer", "value")}}


def release_extension(release: Release, canonicals: Canonicals) -> dict[str, Any]:
    """The release stamp as a FHIR extension (id, version, sha256, and the signature's signer, key and value)."""
    stamp = release_stamp(release)
    signature = stamp["signature"]
    parts = [("id", stamp["id"]), ("version", stamp["version"]), ("sha256", stamp["sha256"]),
             ("signer", signature["signer"]), ("keyId", signature["key_id"]),
             ("algorithm", signature["algorithm"]), ("signature", signature["value"])]
    return {"url": canonicals.extension("release"),
            "extension": [{"url": name, "valueString": str(value)} for name, value in parts if value]}


def meta(release: Release, canonicals: Canonicals) -> dict[str, Any]:
    """`meta.tag`: the release's sha256 (searchable with `_tag`), the version it came from."""
    return {"tag": [{"system": canonicals.code_system("release", "sha256"), "code": release.sha256,
                     "display": f"sha256 of {release.id} {release.version}"}]}


def narrative(title: str, release: Release, lines: list[str]) -> dict[str, Any]:
    """Human-readable text for a resource: its title, the release and its sha256, and a list."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = (f"<p><b>{html.escape(title)}</b> — {html.escape(release.id)} {html.escape(release.version)}, "
            f"approved by {html.escape(release.approver)}; sha256 {release.sha256}</p>"
            + (f"<ul>{items}</ul>" if items else ""))
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def header(release: Release, canonicals: Canonicals, kind: str) -> dict[str, Any]:
    """What every artefact of a release starts with: ids, canonical URL, version, names, status, stamp."""
    model = release.model
    return {"resourceType": kind, "id": fhir_id(release), "meta": meta(release, canonicals),
            "extension": [release_extension(release, canonicals)],
            "url": canonicals.resource(kind, model.id), "version": model.version, "name": _name(model.id),
            "title": model.title, "status": "active", "date": release.released_at,
            **({"description": model.description} if model.description else {})}


def questionnaire(release: Release, canonicals: Canonicals) -> dict[str, Any]:
    model = release.model
    return {**header(release, canonicals, "Questionnaire"),
            "text": narrative(model.title, release, [spec.question for spec in model.inputs]),
            "subjectType": ["Patient"], "item": [item(model, spec, canonicals) for spec in model.inputs]}


def item(model: Ruleset, spec: Any, canonicals: Canonicals) -> dict[str, Any]:
    """One input as a Questionnaire item."""
    out: dict[str, Any] = {"linkId": spec.id, **({"code": [coding(spec.code)]} if spec.code else {}),
                           "text": spec.question, "required": False}
    if spec.label:  # FHIR's "short label ... used for reference by the individual completing the questionnaire"
        out["prefix"] = spec.label
    if isinstance(spec, BooleanInput):
        out["type"] = "boolean"
    elif isinstance(spec, EnumInput):
        labels = spec.labels or {}
        system = canonicals.choice_system(model.id, spec.id)
        out["type"] = "choice"
        out["answerOption"] = [{"valueCoding": {"system": system, "code": value, "display": labels.get(value, value)}}
                               for value in spec.values]
    else:
        assert isinstance(spec, NumberInput)
        out["type"] = "decimal"
        extensions = []
        if spec.min is not None:
            extensions.append({"url": f"{HL7}/minValue", "valueDecimal": spec.min})
        if spec.max is not None:
            extensions.append({"url": f"{HL7}/maxValue", "valueDecimal": spec.max})
        if spec.unit:
            extensions.append({"url": f"{HL7}/questionnaire-unit", "valueCoding": unit(spec.unit)})
        if extensions:
            out["extension"] = extensions
    if spec.help:
        out["item"] = [{"linkId": f"{spec.id}.help", "type": "display", "text": spec.help, "extension": [
            {"url": f"{HL7}/questionnaire-itemControl", "valueCodeableConcept": {"coding": [
                {"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]}}]}]
    return out


def unit(text: str) -> dict[str, Any]:
    """A unit as a Coding: UCUM when its code is known for certain, else the text alone."""
    code = UCUM_CODES.get(text)
    return {"system": UCUM, "code": code, "display": text} if code else {"display": text}


def coding(code: Any) -> dict[str, Any]:
    """A ruleset's `code` (SNOMED CT or LOINC) as a FHIR Coding."""
    return {"system": code.system, "code": code.code, **({"display": code.display} if code.display else {})}


def capability_statement(releases: list[Release], canonicals: Canonicals, software_version: str) -> dict[str, Any]:
    """What `/fhir` answers: reads and searches by url of Questionnaire and PlanDefinition, SDC $next-question."""
    kinds = {"Questionnaire": [{"name": "$next-question",
                                "definition": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question"}],
             "PlanDefinition": []}
    resources = [{"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
                  "searchParam": [{"name": "url", "type": "uri"}, {"name": "version", "type": "token"},
                                  {"name": "_id", "type": "token"}],
                  **({"operation": operations} if operations else {})} for kind, operations in kinds.items()]
    served = [f"{r.id} {r.version} (sha256 {r.sha256})" for r in releases]
    return {"resourceType": "CapabilityStatement", "id": "workbench", "url": f"{canonicals.fhir}/metadata",
            "name": "ClinicalRulesWorkbench", "title": "Clinical-rules workbench: published triage rulesets",
            "status": "active", "date": max((r.released_at for r in releases), default="2025-01-01")[:10],
            "kind": "instance", "software": {"name": "clinical-rules-workbench", "version": software_version},
            "implementation": {"description": "Read-only FHIR endpoint over signed, released rulesets",
                               "url": canonicals.fhir},
            "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Released rulesets: '
                     + html.escape("; ".join(served) or "none") + "</p></div>"},
            "extension": [{"url": canonicals.extension("served-release"), "valueString": line} for line in served],
            "fhirVersion": FHIR_VERSION, "format": ["application/fhir+json", "json"],
            "rest": [{"mode": "server", "resource": resources}]}


def _name(ruleset_id: str) -> str:
    """A machine name as FHIR wants it (starts upper-case, no spaces)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", ruleset_id) if part) or "Ruleset"
