"""SPEC 7 export and the downstream runtime: only releases signed by a trusted approver and unchanged since are
published, byte for byte as released and reproducibly, and an exported release evaluates exactly like the
YAML it was released from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.downstream_support import KEYRING, V1, release_document, shipped_data, write_keyring, write_release
from workbench import RulesetError, evaluate, load_ruleset
from workbench.publish.canonical import sha256_hex
from workbench.publish.export import ExportRefused, export
from workbench.publish.published import published
from workbench.publish.releases import ruleset_part
from workbench.publish.runtime import IntegrityError, load_release_json
from workbench.run.replay import check_vignette, load_vignettes, vignette_paths

ID = "upper-back-pain"


@pytest.fixture(autouse=True)
def deployment(isolated_home: Path) -> Path:
    """This machine's keyring trusts the approver of the test releases (load_ruleset and the CLI read it)."""
    return write_keyring(isolated_home / "keyring.json")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Releases 1.0.0, 1.9.0, 1.10.0 and 2.0.0-rc.1, plus drafts that must never be published."""
    root = tmp_path / "rulesets"
    for version in ("1.0.0", "1.9.0", "1.10.0", "2.0.0-rc.1"):
        write_release(root, shipped_data(version=version, title=f"Upper back pain {version}"))
    draft = (V1 / "ruleset.yaml").read_text(encoding="utf-8").replace("version: 1.0.0", "version: 9.9.9")
    (root / ID / "ruleset.yaml").write_text(draft, encoding="utf-8")
    (root / "draft-only").mkdir()
    (root / "draft-only" / "ruleset.yaml").write_text(draft.replace(f"id: {ID}", "id: draft-only"), encoding="utf-8")
    return root


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the files ---------------------------------------------------------------------------------

def test_index_lists_released_versions_in_semver_order_with_the_latest_full_release(root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    assert read_json(tmp_path / "out" / "index.json") == {"rulesets": [
        {"id": ID, "title": "Upper back pain 1.10.0", "latest": "1.10.0",
         "versions": ["1.0.0", "1.9.0", "1.10.0", "2.0.0-rc.1"]}]}


def test_each_version_is_the_release_document_byte_for_byte(root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    exported = (tmp_path / "out" / ID / "1.0.0.json").read_bytes()
    assert exported == (root / ID / "releases" / "1.0.0.json").read_bytes()
    document = json.loads(exported)
    assert (document["id"], document["version"]) == (ID, "1.0.0")
    assert document["sha256"] == sha256_hex(ruleset_part(document))
    assert document["start"] and document["nodes"] and document["title"] and "ruleset" not in document
    assert document["release"]["approver"] == "dr.approver" and document["signature"]["signer"] == "dr.approver"


def test_latest_json_is_the_latest_version_byte_for_byte(root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    assert (tmp_path / "out" / ID / "latest.json").read_bytes() == (tmp_path / "out" / ID / "1.10.0.json").read_bytes()


def test_drafts_are_never_exported(root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    files = tree(tmp_path / "out")
    assert sorted(files) == ["index.json", f"{ID}/1.0.0.json", f"{ID}/1.10.0.json", f"{ID}/1.9.0.json",
                             f"{ID}/2.0.0-rc.1.json", f"{ID}/latest.json"]
    assert not any(b"9.9.9" in data or b"draft-only" in data for data in files.values())


def test_export_is_reproducible_byte_for_byte(root: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    export(root, first, KEYRING)
    export(root, second, KEYRING)
    assert tree(first) == tree(second)
    assert all(data.endswith(b"}\n") for data in tree(first).values())
    again = export(root, first, KEYRING)
    assert again.written == [] and len(again.unchanged) == 6
    assert tree(first) == tree(second)


def test_withdrawn_release_files_are_removed_from_a_previous_export_and_nothing_else(root: Path,
                                                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(root, out, KEYRING)
    (out / "README.txt").write_text("kept", encoding="utf-8")
    shutil.rmtree(root / ID / "releases")
    write_release(root, shipped_data(id="other-ruleset"))
    versions = [f"{ID}@{v}" for v in read_json(out / "index.json")["rulesets"][0]["versions"]]
    assert export(root, out, KEYRING).problems[-1].code == "WB909"  # not without naming them
    report = export(root, out, KEYRING, withdraw=versions)
    assert sorted(tree(out)) == ["README.txt", "index.json", "other-ruleset/1.0.0.json", "other-ruleset/latest.json"]
    assert len(report.removed) == 5
    assert [r["id"] for r in read_json(out / "index.json")["rulesets"]] == ["other-ruleset"]


def test_a_release_exported_before_never_disappears_quietly(root: Path, tmp_path: Path) -> None:
    """Found by an independent reviewer: rewinding the history (git reset --hard) dropped the newest release,
    and the next export deleted it downstream and moved latest.json back, exit 0. Now nothing is written until
    the release is withdrawn by name."""
    out = tmp_path / "out"
    export(root, out, KEYRING)
    before = tree(out)
    latest_before = (out / ID / "latest.json").read_bytes()
    (root / ID / "releases" / "1.10.0.json").unlink()  # as a rewound history would lose it
    report = export(root, out, KEYRING)
    assert [p.code for p in report.problems] == ["WB909"] and f"{ID}@1.10.0 was exported before" in \
        report.problems[0].message
    assert tree(out) == before and (out / ID / "latest.json").read_bytes() == latest_before
    keyring_file = write_keyring(tmp_path / "keyring.json")
    done = run_cli("export", "--rulesets", str(root), "--out", str(out), "--keyring", str(keyring_file))
    assert done.returncode == 1 and "Nothing was exported." in done.stderr and "--withdraw" in done.stderr
    done = run_cli("export", "--rulesets", str(root), "--out", str(out), "--keyring", str(keyring_file),
                   "--withdraw", f"{ID}@1.10.0")
    assert done.returncode == 0 and not (out / ID / "1.10.0.json").exists()


def test_tampered_unsigned_and_misplaced_releases_are_reported_and_left_out(root: Path, tmp_path: Path) -> None:
    tampered = root / ID / "releases" / "1.9.0.json"
    tampered.write_bytes(tampered.read_bytes().replace(b"Emergency", b"Routine"))
    shutil.copy(root / ID / "releases" / "1.0.0.json", root / ID / "releases" / "1.5.0.json")
    write_release(root, shipped_data(version="1.6.0"), key=None)
    report = export(root, tmp_path / "out", KEYRING)
    assert sorted(p.code for p in report.problems) == ["WB903", "WB904", "WB906"]
    assert read_json(tmp_path / "out" / "index.json")["rulesets"][0]["versions"] == ["1.0.0", "1.10.0", "2.0.0-rc.1"]
    assert not (tmp_path / "out" / ID / "1.9.0.json").exists()
    assert sorted(r.version for r in published(root, KEYRING)[0]) == ["1.0.0", "1.10.0", "2.0.0-rc.1"]


def test_with_an_empty_keyring_nothing_is_published(root: Path, tmp_path: Path) -> None:
    from workbench.publish.signing import Keyring

    report = export(root, tmp_path / "out", Keyring())
    assert report.releases == 0 and {p.code for p in report.problems} == {"WB905"}


def test_the_export_never_writes_or_deletes_through_a_link(root: Path, tmp_path: Path) -> None:
    """A link planted in the output folder (say to the rulesets' own releases) must not make the export write, or
    delete, the files behind it."""
    out = tmp_path / "out"
    export(root, out, KEYRING)
    shutil.rmtree(out / ID)
    (out / ID).symlink_to(root / ID / "releases")
    before = tree(root)
    with pytest.raises(ExportRefused, match="is a link"):
        export(root, out, KEYRING)
    assert tree(root) == before
    (out / ID).unlink()
    (out / "index.json").unlink()
    (tmp_path / "elsewhere").write_text("{}", encoding="utf-8")
    (out / "index.json").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ExportRefused):
        export(root, out, KEYRING)
    assert (tmp_path / "elsewhere").read_text(encoding="utf-8") == "{}"


def test_only_pre_releases_make_the_highest_pre_release_latest(tmp_path: Path) -> None:
    write_release(tmp_path / "r", shipped_data(version="0.1.0-beta.2"))
    write_release(tmp_path / "r", shipped_data(version="0.1.0-beta.10"))
    export(tmp_path / "r", tmp_path / "out", KEYRING)
    entry = read_json(tmp_path / "out" / "index.json")["rulesets"][0]
    assert (entry["latest"], entry["versions"]) == ("0.1.0-beta.10", ["0.1.0-beta.2", "0.1.0-beta.10"])


# --- round trip: exported JSON evaluates like the YAML -------------------------------------------

def shipped_vignettes() -> list[Any]:
    yaml_ruleset = load_ruleset(V1 / "ruleset.yaml")
    reports = load_vignettes(vignette_paths(V1), yaml_ruleset)
    return [v for report in reports for v in report.model.vignettes]


def test_exported_release_gives_the_same_result_as_the_yaml_on_every_shipped_vignette(root: Path,
                                                                                      tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    yaml_ruleset = load_ruleset(V1 / "ruleset.yaml")
    exported = tmp_path / "out" / ID / "1.0.0.json"
    for released in (load_release_json(exported, KEYRING), load_ruleset(exported), load_ruleset(str(exported))):
        vignettes = shipped_vignettes()
        assert len(vignettes) > 40
        for vignette in vignettes:
            assert evaluate(released, vignette.inputs).to_dict() == evaluate(yaml_ruleset, vignette.inputs).to_dict()
            assert check_vignette(released, vignette)[0].passed, vignette.id


@pytest.mark.parametrize("form", ["path", "str", "bytes", "text", "dict"])
def test_runtime_reads_a_release_in_any_form(root: Path, form: str) -> None:
    path = root / ID / "releases" / "1.0.0.json"
    source = {"path": path, "str": str(path), "bytes": path.read_bytes(), "text": path.read_text(encoding="utf-8"),
              "dict": read_json(path)}[form]
    ruleset = load_release_json(source, KEYRING)
    assert (ruleset.id, ruleset.version) == (ID, "1.0.0")


def test_runtime_refuses_an_unsigned_ruleset_even_with_its_sha256(root: Path) -> None:
    data = shipped_data()
    with pytest.raises(IntegrityError) as caught:
        load_release_json({**data, "sha256": sha256_hex(data)}, KEYRING)
    assert caught.value.problems[0].code == "WB904"


def test_runtime_without_a_keyring_trusts_nothing(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_KEYRING", str(tmp_path / "missing.json"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(root / ID / "releases" / "1.0.0.json")
    assert caught.value.problems[0].code == "WB907"


# --- tampering is refused ----------------------------------------------------------------------

def release(root: Path) -> dict[str, Any]:
    return read_json(root / ID / "releases" / "1.0.0.json")


def test_changed_content_is_refused_with_an_integrity_error(root: Path) -> None:
    document = release(root)
    document["nodes"][0]["title"] = "something else"
    with pytest.raises(IntegrityError) as caught:
        load_release_json(document, KEYRING)
    assert caught.value.problems[0].code == "WB906"
    assert isinstance(caught.value, RulesetError)


@pytest.mark.parametrize("field, value", [("version", "2.0.0"), ("release", {"approver": "dr.approver"}),
                                          ("sha256", "0" * 64)])
def test_any_changed_field_is_refused(root: Path, field: str, value: Any) -> None:
    with pytest.raises(IntegrityError):
        load_release_json({**release(root), field: value}, KEYRING)


def test_content_rehashed_after_release_is_refused(root: Path) -> None:
    document = release(root)
    document["title"] = "Planted"
    document["sha256"] = sha256_hex(ruleset_part(document))
    with pytest.raises(IntegrityError):
        load_release_json(document, KEYRING)


def test_a_tampered_file_is_refused_by_load_ruleset(root: Path) -> None:
    path = root / ID / "releases" / "1.0.0.json"
    path.write_bytes(path.read_bytes().replace(b"urgent_same_day", b"self_care", 1))
    with pytest.raises(IntegrityError):
        load_ruleset(path)


def test_signed_but_invalid_content_is_refused_with_its_problems() -> None:
    with pytest.raises(RulesetError) as caught:
        load_release_json(release_document(shipped_data(start="nowhere")), KEYRING)
    assert "WB102" in [p.code for p in caught.value.problems]


@pytest.mark.parametrize("text", [b"", b"[]", b"{", b'{"sha256": NaN}', b"[" * 100_000, b"\xff\xfe"])
def test_malformed_release_json_is_refused_without_a_traceback(text: bytes) -> None:
    with pytest.raises(RulesetError) as caught:
        load_release_json(text, KEYRING)
    assert caught.value.problems and caught.value.problems[0].code in ("WB901", "WB904")


# --- the command -------------------------------------------------------------------------------

def test_cli_export_writes_the_files_and_reports_in_json(root: Path, tmp_path: Path) -> None:
    done = run_cli("export", "--out", str(tmp_path / "out"), "--rulesets", str(root), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["releases"] == 4 and report["problems"] == []
    assert (tmp_path / "out" / "index.json").is_file()


def test_cli_export_exits_1_when_a_release_was_left_out(root: Path, tmp_path: Path) -> None:
    path = root / ID / "releases" / "1.0.0.json"
    path.write_bytes(path.read_bytes().replace(b"Emergency", b"Routine"))
    done = run_cli("export", "--out", str(tmp_path / "out"), "--rulesets", str(root))
    assert done.returncode == 1
    assert "WB906" in done.stderr and "1.0.0.json" in done.stderr


@pytest.mark.parametrize("problem", ["no rulesets folder", "out is a file"])
def test_cli_export_usage_errors_exit_2(root: Path, tmp_path: Path, problem: str) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    rulesets, out = (tmp_path / "missing", tmp_path / "out") if problem == "no rulesets folder" else (
        root, tmp_path / "file")
    done = run_cli("export", "--out", str(out), "--rulesets", str(rulesets))
    assert done.returncode == 2
    assert done.stderr.startswith("workbench: ")


def test_cli_evaluates_an_exported_release(root: Path, tmp_path: Path) -> None:
    export(root, tmp_path / "out", KEYRING)
    done = run_cli("evaluate", str(tmp_path / "out" / ID / "1.0.0.json"), "--inputs", '{"age": 62}',
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "needs_input"

