"""One release as the files a downstream developer takes away from the Releases page: the signed release document
byte for byte, its FHIR Questionnaire and PlanDefinition, and its CDS Hooks discovery document.

Each is made by the function `workbench export --fhir` and the API use (export.py, artefacts.py, cds_hooks.py), so
a file downloaded here is the file an export writes, and each comes with the sha256 of its bytes and the release's
signature, which a developer checks before using it (docs/downstream.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .artefacts import artefact_files
from .cds_hooks import services
from .fhir import Canonicals, release_stamp
from .releases import Release, document_bytes

JSON, FHIR_JSON = "application/json", "application/fhir+json"


@dataclass(frozen=True)
class Download:
    """One file of a release: what it is, the name it is saved under, its bytes and their media type."""

    kind: str  # release | Questionnaire | PlanDefinition | cds-services
    title: str
    file_name: str
    data: bytes = field(repr=False)
    media_type: str = JSON

    @property
    def sha256(self) -> str:
        """Of the bytes downloaded: what `sha256sum` on the saved file prints."""
        return hashlib.sha256(self.data).hexdigest()


def downloads(release: Release, canonicals: Canonicals) -> list[Download]:
    """The release and its artefacts, identified under `canonicals` (the base URL an export uses by default is
    `Canonicals.of()`)."""
    stem = f"{release.id}-{release.version}"
    fhir = artefact_files(release, canonicals)
    return [Download("release", "Release (signed JSON)", f"{stem}.json", release.data),
            Download("Questionnaire", "FHIR R4 Questionnaire", f"{stem}.Questionnaire.json", fhir["Questionnaire"],
                     FHIR_JSON),
            Download("PlanDefinition", "FHIR R4 PlanDefinition", f"{stem}.PlanDefinition.json",
                     fhir["PlanDefinition"], FHIR_JSON),
            Download("cds-services", "CDS Hooks discovery", f"{stem}.cds-services.json",
                     document_bytes(services([release], canonicals)))]


def signature(release: Release) -> dict[str, str]:
    """Who signed the release, with which key and algorithm, and the signature itself: what a developer checks the
    release document against (the same stamp every FHIR artefact and CDS response carries)."""
    signed = release_stamp(release)["signature"]
    return {key: str(signed.get(key) or "") for key in ("signer", "key_id", "algorithm", "value")}
