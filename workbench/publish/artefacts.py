"""The FHIR artefacts each release is exported and served as, by resource type: `build(release, canonicals, ruleset)`
(the compiled ruleset, when the caller has one, spares compiling it again)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..run.engine import CompiledRuleset
from .fhir import Canonicals, questionnaire
from .plan_definition import plan_definition
from .releases import Release, document_bytes


def _questionnaire(release: Release, canonicals: Canonicals, ruleset: CompiledRuleset | None = None) -> dict[str, Any]:
    return questionnaire(release, canonicals)


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {"Questionnaire": _questionnaire,
                                                       "PlanDefinition": plan_definition}
KINDS = tuple(BUILDERS)


def artefact_files(release: Release, canonicals: Canonicals) -> dict[str, bytes]:
    """Each FHIR artefact of a release as the bytes an export writes and the Releases page offers: kind -> bytes."""
    return {kind: document_bytes(build(release, canonicals)) for kind, build in BUILDERS.items()}
