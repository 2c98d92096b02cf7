"""Upper back pain 3.0.0 goes through the same gate as 2.0.0 (two people, signed) and is served beside it: 2.0.0
stays published, the latest is 3.0.0, and a case the brief changed gets each version's answer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, REVIEWER, SHIPPED, V2, keyring, released
from workbench.api import create_app
from workbench.publish.published import published
from workbench.publish.repository import Person, Repository, message
from workbench.publish.sync import seed

# 49, sudden tummy and back pain: an aneurysm has no age floor (brief v3 change 1); 2.0.0 counted tummy pain at 50+.
V2_CASE = {"emergency_features": False, "abdominal_pain": True, "pregnancy_warning_signs": False, "age": 49,
           "known_cancer": False, "on_chemotherapy": False, "unwell_on_treatment": False, "anticoagulant": False,
           "pain_site": "lumbar", "pain_progressive": False, "pain_severe_unremitting": False,
           "pain_worse_straining": False, "mechanical_pain": False, "localised_tenderness": False, "night_pain": False,
           "radicular_pain": False, "bilateral_sciatica": False, "limb_weakness": False, "difficulty_walking": False,
           "sensory_loss": False, "sensory_level": False, "bladder_bowel_dysfunction": False,
           "saddle_anaesthesia": False, "sexual_dysfunction": False, "unexplained_weight_loss": False,
           "fever": False, "infection_risk": False, "major_trauma": False, "minor_trauma": False,
           "osteoporosis_or_steroids": False, "not_improving": False}
V3_CASE = V2_CASE | {"abdominal_pain_acute": True, "pregnancy": "not_pregnant", "vertebrobasilar_symptoms": False,
                     "neck_injury": "not_injured", "infection_risk_other": False, "band_rash": False}


def content(folder: Path) -> dict[str, bytes]:
    """A ruleset folder's rules and vignettes as the files of one save."""
    files = {f"upper-back-pain/{path.relative_to(folder).as_posix()}": path.read_bytes()
             for path in [folder / "ruleset.yaml", *sorted((folder / "vignettes").glob("*.yaml"))]}
    return files


@pytest.fixture
def both_released(tmp_path: Path, signers: dict) -> Path:
    source = tmp_path / "source"
    shutil.copytree(V2, source / "upper-back-pain")
    root = tmp_path / "rulesets"
    seed(root, source)
    folder = root / "upper-back-pain"
    released(folder, signers)  # 2.0.0: submitted by one clinician, approved and released by another, signed
    Repository.open(root).commit(content(SHIPPED), message("Upper back pain 3.0.0 from brief version 3",
                                                           "brief v3: changes 1-7", {"Action": "save"}),
                                 Person(AUTHOR))
    released(folder, signers)
    return root


def test_3_0_0_is_released_through_the_same_gate_and_served_beside_2_0_0(both_released: Path) -> None:
    found, problems = published(both_released, keyring())
    assert not problems
    versions = {release.version: release for release in found}
    assert set(versions) == {"2.0.0", "3.0.0"}
    for release in versions.values():
        assert release.author == AUTHOR and release.approver == REVIEWER and release.signer.name == REVIEWER
    replay = versions["3.0.0"].record["replay"]
    assert replay["passed"] == replay["total"] >= 200  # every vignette of 3.0.0 replayed and passed at the gate
    # both are served, and a case the brief changed gets each version's answer
    import warnings

    with warnings.catch_warnings():  # Starlette suggests httpx2 for its test client; httpx is what we have
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(both_released, keyring())) as client:
        assert client.get("/rulesets/upper-back-pain").json()["version"] == "3.0.0"
        assert client.get("/rulesets").json()["rulesets"][0]["versions"] == ["2.0.0", "3.0.0"]
        old = client.post("/rulesets/upper-back-pain/versions/2.0.0/evaluate", json={"inputs": V2_CASE}).json()
        new = client.post("/rulesets/upper-back-pain/versions/3.0.0/evaluate", json={"inputs": V3_CASE}).json()
    assert old["disposition"] == "self_care" and old["release"]["version"] == "2.0.0"
    assert new["disposition"] == "emergency" and new["outcome"] == "acute_abdominal_emergency"
    assert new["release"]["version"] == "3.0.0" and new["release"]["sha256"] != old["release"]["sha256"]
