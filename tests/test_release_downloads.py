"""A release's downloads (publish/downloads.py) are the files `workbench export --fhir` writes, byte for byte, and
the CDS Hooks discovery the API serves for that release: a file taken from the Releases page is the file an export
gives, with the sha256 of its bytes and the approver's signature."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from workbench.publish.cds_hooks import services
from workbench.publish.downloads import downloads, signature
from workbench.publish.fhir import DEFAULT_BASE_URL, Canonicals
from workbench.publish.published import published

from .conftest import keyring, released, run_cli


def test_each_download_is_the_exported_file_byte_for_byte_with_its_sha256(v1_copy: Path, signers: dict,
                                                                           tmp_path: Path) -> None:
    release_file = released(v1_copy, signers)
    (release,), problems = published(v1_copy.parent, keyring())
    assert problems == []
    out = tmp_path / "export"
    done = run_cli("export", "--out", str(out), "--fhir", "--rulesets", str(v1_copy.parent))
    assert done.returncode == 0, done.stderr
    files = {item.kind: item for item in downloads(release, Canonicals.of())}
    assert files["release"].data == release_file.read_bytes() == (out / "upper-back-pain" / "1.0.0.json").read_bytes()
    for kind in ("Questionnaire", "PlanDefinition"):
        assert files[kind].data == (out / "upper-back-pain" / "fhir" / f"1.0.0.{kind}.json").read_bytes()
        assert files[kind].media_type == "application/fhir+json"
    assert json.loads(files["cds-services"].data) == services([release], Canonicals.of(DEFAULT_BASE_URL))
    for item in files.values():
        assert item.sha256 == hashlib.sha256(item.data).hexdigest()
        assert item.file_name.startswith("upper-back-pain-1.0.0")
    document = json.loads(release_file.read_bytes())
    assert signature(release) == {key: document["signature"][key] for key in ("signer", "key_id", "algorithm", "value")}


def test_the_base_url_names_every_canonical_url(v1_copy: Path, signers: dict) -> None:
    released(v1_copy, signers)
    (release,), _ = published(v1_copy.parent, keyring())
    files = {item.kind: item for item in downloads(release, Canonicals.of("https://triage.example.org"))}
    assert json.loads(files["Questionnaire"].data)["url"] == \
        "https://triage.example.org/fhir/Questionnaire/upper-back-pain"
    assert b"127.0.0.1" not in files["PlanDefinition"].data + files["cds-services"].data
