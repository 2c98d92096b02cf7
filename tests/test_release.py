"""Review and release through the history: one commit per action by the person who took it, a review state
read from the commits (no file to edit), signed approvals and releases, and a gate that reads one snapshot."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, REVIEWER, approved, keyring, released, submitted
from workbench.cli import main
from workbench.content.validate import validate_ruleset_file, validate_ruleset_text
from workbench.problems import ProblemError
from workbench.publish import lifecycle
from workbench.publish.canonical import ruleset_data, ruleset_sha256, sha256_hex
from workbench.publish.published import published
from workbench.publish.releases import load_release
from workbench.publish.repository import Person, Repository, message
from workbench.publish.signing import SigningKey, create_key, verify


def repo(folder: Path) -> Repository:
    return Repository.open(folder.parent)


def gate(folder: Path, approver: str | None = REVIEWER) -> lifecycle.Gate:
    return lifecycle.check_release(repo(folder), folder.name, approver, keyring(), "go")


def codes(problems: list) -> set[str]:
    return {p.code for p in problems}


def save(folder: Path, path: str, text: str, who: str = AUTHOR) -> None:
    """A save as the workbench makes it: one commit by `who`."""
    repo(folder).commit({f"{folder.name}/{path}": text.encode()}, message(f"Save {path}", "an edit",
                                                                           {"Action": "save"}), Person(who))


def edit(folder: Path, old: str, new: str) -> None:
    text = (folder / "ruleset.yaml").read_text(encoding="utf-8")
    assert old in text, old
    save(folder, "ruleset.yaml", text.replace(old, new, 1))


def release_as(folder: Path, who: str, key: SigningKey, reason: str = "go live") -> lifecycle.Outcome:
    return lifecycle.release(repo(folder), folder.name, Person(who), reason, key, keyring())


def approve_as(folder: Path, who: str, key: SigningKey) -> lifecycle.Outcome:
    return lifecycle.approve(repo(folder), folder.name, Person(who), "checked", key, keyring())


# --- the happy path, the commits and the document -----------------------------------------------------

def test_each_action_is_one_commit_by_the_person_with_the_reason(v1_copy: Path, signers: dict) -> None:
    path = released(v1_copy, signers)
    commits = repo(v1_copy).log(v1_copy.name)
    actions = [(c.action, c.author) for c in commits[:3]]
    assert actions == [("release", REVIEWER), ("approve", REVIEWER), ("submit", AUTHOR)]
    assert commits[0].reason == "clinical sign-off" and commits[2].reason == "first version"
    assert commits[0].paths == (f"{v1_copy.name}/releases/1.0.0.json",) and commits[1].paths == ()
    assert not (v1_copy / "review.json").exists() and not (v1_copy / "audit.jsonl").exists()
    assert path == v1_copy / "releases" / "1.0.0.json"
    status = subprocess.run(["git", "-C", str(v1_copy.parent), "status", "--porcelain"], capture_output=True,
                            text=True).stdout
    assert status == ""  # everything the workbench wrote is committed, the index in step


def test_the_release_document_is_signed_and_covers_who_when_why_and_the_vignettes(v1_copy: Path,
                                                                                   signers: dict) -> None:
    document = json.loads(released(v1_copy, signers).read_text(encoding="utf-8"))
    model = validate_ruleset_file(v1_copy / "ruleset.yaml").model
    assert model is not None
    assert {k: v for k, v in document.items() if k not in ("sha256", "hash_version", "release", "signature")} \
        == ruleset_data(model)
    assert document["sha256"] == ruleset_sha256(model) == sha256_hex(ruleset_data(model))
    assert document["hash_version"] == 2  # RFC 8785: any language reproduces it (test_canonical.py)
    record = document["release"]
    assert (record["author"], record["approver"], record["reason"]) == (AUTHOR, REVIEWER, "clinical sign-off")
    assert record["replay"] == {"total": 56, "passed": 56, "failed": 0}
    assert record["vignettes"]["count"] == 56 and record["vignettes"]["files"] == 5
    assert record["released_at"].endswith("Z") and len(record["snapshot"]) == 64
    assert document["signature"]["signer"] == REVIEWER and document["signature"]["algorithm"] == "Ed25519"
    assert verify(document, keyring()).name == REVIEWER
    for field, value in (("reason", "something else"), ("approver", AUTHOR), ("released_at", "2020-01-01T00:00:00Z")):
        forged = {**document, "release": {**record, field: value}}
        with pytest.raises(Exception, match="WB90[56]"):
            verify(forged, keyring())
    found, problems = published(v1_copy.parent, keyring())
    assert [r.version for r in found] == ["1.0.0"] and problems == []


# --- the review state comes from the history, and only signed approvals count ---------------------------

def test_a_review_file_written_by_hand_changes_nothing(v1_copy: Path, signers: dict) -> None:
    submitted(v1_copy)
    (v1_copy / "review.json").write_text(json.dumps({"state": "approved", "reviewer": REVIEWER}), encoding="utf-8")
    assert "WB707" in codes(gate(v1_copy).problems)


def test_a_forged_approval_commit_does_not_count(v1_copy: Path, signers: dict) -> None:
    submitted(v1_copy)
    snap = lifecycle.snapshot(repo(v1_copy), v1_copy.name)
    trailers = {"Action": "approve", "Ruleset": v1_copy.name, "Version": "1.0.0", "Snapshot": snap.sha256,
                "At": "2026-01-01T00:00:00Z", "Key": signers[REVIEWER].id, "Signature": "AAAA"}
    repo(v1_copy).commit({}, message("Approve", "", trailers), Person(REVIEWER), allow_empty=True)
    state = lifecycle.review_state(repo(v1_copy), v1_copy.name, keyring())
    assert state.state == "in_review" and "copied from another approval, or altered" in state.ignored[0]
    assert "WB707" in codes(gate(v1_copy).problems)
    history = lifecycle.history(repo(v1_copy), v1_copy.name, keyring())
    assert not history.ok and "does not count" in history.problems[0].message


def test_a_genuine_approval_copied_onto_a_later_submission_does_not_count(v1_copy: Path, signers: dict) -> None:
    """Found by an independent reviewer: approve, reject ("do not release"), the same content submitted again,
    and the approval commit's message copied into a new commit by hand: it counted, and the rejected content was
    released. An approval now signs the submission it answers."""
    approved(v1_copy, signers)
    approval = repo(v1_copy).log(v1_copy.name)[0]
    assert approval.action == "approve"
    rejected = lifecycle.reject(repo(v1_copy), v1_copy.name, Person(REVIEWER), "do not release", keyring())
    assert rejected.ok
    submitted(v1_copy)
    repo(v1_copy).commit({}, approval.message, Person(REVIEWER), allow_empty=True)
    state = lifecycle.review_state(repo(v1_copy), v1_copy.name, keyring())
    assert state.state == "in_review" and "copied from another approval" in state.ignored[-1]
    refused = release_as(v1_copy, REVIEWER, signers[REVIEWER])
    assert "WB707" in codes(refused.problems) and not (v1_copy / "releases").exists()


def test_whoever_changed_the_content_cannot_approve_it_whoever_submitted_it(v1_copy: Path, signers: dict) -> None:
    """Found by an independent reviewer: the author changed the rules, committed a submission by hand under
    someone else's name, approved and released her own work. Now anyone who changed the content since the last
    release is refused as its approver, at approval and at release."""
    edit(v1_copy, "title: Upper back", "title: My upper back")  # a save by the author
    snap = lifecycle.snapshot(repo(v1_copy), v1_copy.name)
    repo(v1_copy).commit({}, message("Submit upper-back-pain 1.0.0 for review", "", {
        "Action": "submit", "Ruleset": v1_copy.name, "Version": "1.0.0", "Snapshot": snap.sha256}),
        Person("Dr Someone Else"), allow_empty=True)
    refused = approve_as(v1_copy, AUTHOR, signers[AUTHOR])
    assert not refused.ok and "Dr Ada Author changed this version (commit" in refused.problems[0].message
    assert "WB704" in codes(release_as(v1_copy, AUTHOR, signers[AUTHOR]).problems)
    assert approve_as(v1_copy, REVIEWER, signers[REVIEWER]).ok  # a clinician who wrote none of it may


def test_an_approval_signed_with_an_untrusted_key_or_someone_elses_does_not_count(v1_copy: Path, signers: dict,
                                                                                   tmp_path: Path) -> None:
    submitted(v1_copy)
    _, stranger = create_key("Dr Rex Reviewer", None, tmp_path / "elsewhere")  # same name, key not in the keyring
    refused = approve_as(v1_copy, REVIEWER, stranger)
    assert not refused.ok and "WB905" in codes(refused.problems)
    refused = approve_as(v1_copy, "Dr Someone Else", signers[REVIEWER])
    assert not refused.ok and "belongs to Dr Rex Reviewer" in refused.problems[-1].message
    assert lifecycle.review_state(repo(v1_copy), v1_copy.name, keyring()).state == "in_review"


# --- the gate --------------------------------------------------------------------------------------------

def test_release_without_submission_or_approval_is_refused(v1_copy: Path, signers: dict) -> None:
    assert "WB707" in codes(release_as(v1_copy, REVIEWER, signers[REVIEWER]).problems)
    submitted(v1_copy)
    refused = release_as(v1_copy, REVIEWER, signers[REVIEWER])
    assert "WB707" in codes(refused.problems) and "awaits a second clinician" in refused.problems[0].message


@pytest.mark.parametrize("same", [AUTHOR, "dr ada author", "  Dr  Ada   Author ", "Ｄｒ Ada Author"])
def test_the_author_cannot_approve_or_release_their_own_version(v1_copy: Path, signers: dict, same: str) -> None:
    submitted(v1_copy)
    refused = approve_as(v1_copy, same, signers[AUTHOR])
    assert "WB704" in codes(refused.problems)
    assert approve_as(v1_copy, REVIEWER, signers[REVIEWER]).ok
    refused = release_as(v1_copy, same, signers[AUTHOR])
    assert "WB704" in codes(refused.problems) and not (v1_copy / "releases").exists()


def test_release_by_someone_other_than_the_approver_is_refused(v1_copy: Path, signers: dict, tmp_path: Path) -> None:
    approved(v1_copy, signers)
    assert "WB709" in codes(gate(v1_copy, "Dr Third Person").problems)


def test_reasons_are_required(v1_copy: Path, signers: dict) -> None:
    approved(v1_copy, signers)
    assert "WB712" in codes(release_as(v1_copy, REVIEWER, signers[REVIEWER], reason="  ").problems)
    rejected = lifecycle.reject(repo(v1_copy), v1_copy.name, Person(REVIEWER), "", keyring())
    assert "WB712" in codes(rejected.problems)


def test_any_saved_change_after_submission_needs_a_new_review(v1_copy: Path, signers: dict) -> None:
    submitted(v1_copy)
    edit(v1_copy, "id: upper-back-pain", "# a comment is a change too: what is reviewed is the exact text\n"
                                         "id: upper-back-pain")
    assert "WB708" in codes(approve_as(v1_copy, REVIEWER, signers[REVIEWER]).problems)


def test_removing_vignettes_after_approval_invalidates_it(v1_copy: Path, signers: dict) -> None:
    approved(v1_copy, signers)
    repo(v1_copy).commit({f"{v1_copy.name}/vignettes/cancer.yaml": None}, message("Remove cancer cases"),
                         Person(AUTHOR))
    refused = release_as(v1_copy, REVIEWER, signers[REVIEWER])
    assert "WB708" in codes(refused.problems)
    assert not (v1_copy / "releases").exists()


def test_a_save_while_the_gate_runs_waits_and_the_release_is_what_was_replayed(
        v1_copy: Path, signers: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The finding: the gate read ruleset.yaml twice, and a save in between released content that failed two
    vignettes with "56/56" recorded. Now a second process saves a breaking change while the gate replays: its
    save waits for the history's lock, lands after the release, and the release holds the replayed content."""
    approved(v1_copy, signers)
    before = (v1_copy / "ruleset.yaml").read_text(encoding="utf-8")
    breaking = before.replace("next: suspected_cauda_equina_or_cord_compression", "next: self_care_advice", 1)
    script = (
        "from pathlib import Path\nfrom workbench.people import access\n"
        "from workbench.files import read_versioned\n"
        f"path = Path({str(v1_copy / 'ruleset.yaml')!r})\ntext, version = read_versioned(path)\n"
        f"access.save_ruleset(access.local_identity('Dr Ada Author'), path, {breaking!r}, version, 'in between')\n")
    saver: list[subprocess.Popen[bytes]] = []
    real = lifecycle.check_release

    def gate_with_a_save_racing_it(*args: object, **kwargs: object) -> lifecycle.Gate:
        saver.append(subprocess.Popen([sys.executable, "-c", script]))
        try:
            saver[0].wait(timeout=3)  # it cannot finish: the release holds the lock
        except subprocess.TimeoutExpired:
            pass
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lifecycle, "check_release", gate_with_a_save_racing_it)
    done = release_as(v1_copy, REVIEWER, signers[REVIEWER])
    assert done.ok, done.problems
    assert saver[0].wait(timeout=60) == 0  # the save then lands, after the release
    commits = repo(v1_copy).log(v1_copy.name)
    assert [c.action for c in commits[:2]] == ["save", "release"]
    document = json.loads((repo(v1_copy).read(f"{v1_copy.name}/releases/1.0.0.json") or b"{}").decode())
    now = validate_ruleset_file(v1_copy / "ruleset.yaml").model  # the breaking text, saved after
    replayed = validate_ruleset_text(before).model
    assert now is not None and replayed is not None
    assert document["sha256"] == ruleset_sha256(replayed) != ruleset_sha256(now)
    assert document["release"]["replay"] == {"total": 56, "passed": 56, "failed": 0}
    assert document["release"]["commit"] == commits[2].id  # the approval commit the gate read


def test_a_file_edited_on_disk_without_saving_is_not_what_would_be_reviewed(v1_copy: Path, signers: dict) -> None:
    approved(v1_copy, signers)
    (v1_copy / "vignettes" / "cancer.yaml").write_text("ruleset: upper-back-pain\nvignettes: []\n", encoding="utf-8")
    refused = release_as(v1_copy, REVIEWER, signers[REVIEWER])
    assert "WB708" in codes(refused.problems) and "cancer.yaml" in refused.problems[-1].message


def test_validation_errors_and_failing_vignettes_are_listed_with_every_other_reason(v1_copy: Path,
                                                                                     signers: dict) -> None:
    edit(v1_copy, "next: suspected_cauda_equina_or_cord_compression", "next: nowhere")
    problems = gate(v1_copy, None).problems
    assert {"WB701", "WB707", "WB711"} <= codes(problems)
    save(v1_copy, "ruleset.yaml", (v1_copy / "ruleset.yaml").read_text(encoding="utf-8").replace(
        "next: nowhere", "next: suspected_cauda_equina_or_cord_compression"))
    cases = (v1_copy / "vignettes" / "emergency.yaml").read_text(encoding="utf-8")
    save(v1_copy, "vignettes/emergency.yaml", cases.replace("disposition: emergency", "disposition: routine", 1))
    assert "WB702" in codes(gate(v1_copy).problems)


def test_no_vignettes_means_no_release(v1_copy: Path, signers: dict) -> None:
    repo(v1_copy).commit({f"{v1_copy.name}/vignettes/{p.name}": None for p in (v1_copy / "vignettes").iterdir()},
                         message("Remove every case"), Person(AUTHOR))
    assert "WB703" in codes(gate(v1_copy).problems)


def test_versions_only_go_up_and_a_released_version_is_never_replaced(v1_copy: Path, signers: dict) -> None:
    released(v1_copy, signers)
    first = (v1_copy / "releases" / "1.0.0.json").read_bytes()
    assert "WB706" in codes(lifecycle.submit(repo(v1_copy), v1_copy.name, Person(AUTHOR), "again",
                                             keyring()).problems)
    edit(v1_copy, "version: 1.0.0", "version: 0.9.0")
    assert "WB705" in codes(gate(v1_copy).problems)
    assert (v1_copy / "releases" / "1.0.0.json").read_bytes() == first


def test_reject_sends_it_back_to_draft_with_the_reason(v1_copy: Path, signers: dict) -> None:
    submitted(v1_copy)
    done = lifecycle.reject(repo(v1_copy), v1_copy.name, Person(REVIEWER), "age threshold must follow NG12",
                            keyring())
    assert done.ok and done.review.state == "draft" and done.review.reject_reason == "age threshold must follow NG12"
    assert "rejected by Dr Rex Reviewer" in done.review.describe()


def test_the_same_content_cannot_be_submitted_twice(v1_copy: Path, signers: dict) -> None:
    submitted(v1_copy)
    again = lifecycle.submit(repo(v1_copy), v1_copy.name, Person(AUTHOR), "", keyring())
    assert not again.ok and "WB710" in codes(again.problems)


# --- tampering with what was released ------------------------------------------------------------------

def test_a_release_edited_on_disk_is_reported_and_the_history_copy_is_served(v1_copy: Path, signers: dict) -> None:
    path = released(v1_copy, signers)
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"disposition": "emergency"', b'"disposition": "self_care"'))
    found, problems = published(v1_copy.parent, keyring())
    assert [r.data for r in found] == [original] and codes(problems) == {"WB906"}


def served_and_exported(root: Path, tmp_path: Path) -> tuple[dict[str, int], list[str]]:
    """What `workbench serve` answers for each version, and what `workbench export` writes, from `root`."""
    from tests.asgi_support import call
    from workbench.api import create_app
    from workbench.publish.export import export

    app = create_app(root, keyring())
    status = {version: call(app, "GET", f"/rulesets/upper-back-pain/versions/{version}")[0]
              for version in ("1.0.0", "2.0.0")}
    export(root, tmp_path / "out", keyring())
    return status, sorted(p.name for p in (tmp_path / "out" / "upper-back-pain").glob("*.json"))


def planted_document(v1_copy: Path) -> dict:
    """The 1.0.0 release turned into 2.0.0 with every emergency sent to self-care, re-hashed and signed with a
    key nobody trusts: what an attacker with write access to the folder, but no approver's key, can make."""
    document = json.loads((v1_copy / "releases" / "1.0.0.json").read_text(encoding="utf-8"))
    document["version"] = "2.0.0"
    for node in document["nodes"]:
        if node.get("disposition") == "emergency":
            node["disposition"] = "self_care"
    content = {k: v for k, v in document.items() if k not in ("sha256", "release", "signature")}
    document["sha256"] = sha256_hex(content)
    _, attacker = create_key(REVIEWER, None, v1_copy.parent / "attacker")
    return attacker.sign(document)


def test_a_planted_release_is_never_published_committed_or_not(v1_copy: Path, signers: dict,
                                                                tmp_path: Path) -> None:
    """Planted on disk, then committed by hand with every trailer a real release commit has (its sha256
    included): only the signature stands in the way, and it holds in published(), serve and export."""
    released(v1_copy, signers)
    planted = v1_copy / "releases" / "2.0.0.json"
    planted.write_text(json.dumps(planted_document(v1_copy)), encoding="utf-8")
    found, problems = published(v1_copy.parent, keyring())
    assert [r.version for r in found] == ["1.0.0"] and "WB908" in codes(problems)
    assert served_and_exported(v1_copy.parent, tmp_path / "a") == ({"1.0.0": 200, "2.0.0": 404},
                                                                   ["1.0.0.json", "latest.json"])
    data = planted.read_bytes()
    repo(v1_copy).commit({f"{v1_copy.name}/releases/2.0.0.json": data}, message(
        "Release upper-back-pain 2.0.0", "go live", {
            "Action": "release", "Ruleset": v1_copy.name, "Version": "2.0.0",
            "Release-File": "upper-back-pain/releases/2.0.0.json", "Release-Sha256": hashlib.sha256(data).hexdigest()}),
        Person(REVIEWER))
    found, problems = published(v1_copy.parent, keyring())
    assert [r.version for r in found] == ["1.0.0"] and {"WB905"} <= codes(problems)
    assert served_and_exported(v1_copy.parent, tmp_path / "b") == ({"1.0.0": 200, "2.0.0": 404},
                                                                   ["1.0.0.json", "latest.json"])


def test_a_released_file_replaced_by_a_later_commit_is_reported_and_never_served(v1_copy: Path, signers: dict,
                                                                                tmp_path: Path) -> None:
    """Found by an independent reviewer: the real 1.0.0 with a second "nodes" key put first (every emergency sent
    to self-care), committed as a release. Python keeps the last key, so the signature still verified, and a
    parser that keeps the first would run the attacker's tree. Now a repeated key is refused, and a released
    file changed by any later commit is reported and its first release served."""
    path = released(v1_copy, signers)
    original = path.read_bytes()
    document = json.loads(original)
    harmful = [dict(n, disposition="self_care") if n.get("disposition") == "emergency" else n
               for n in document["nodes"]]
    text = original.decode().replace("{\n  ", '{\n  "nodes": ' + json.dumps(harmful) + ",\n  ", 1)
    assert text.count('"nodes"') == 2
    with pytest.raises(ProblemError) as refused:
        load_release(text.encode(), keyring(), "x.json")
    assert "the key 'nodes' appears twice" in refused.value.problems[0].message
    repo(v1_copy).commit({f"{v1_copy.name}/releases/1.0.0.json": text.encode()}, message(
        "Release upper-back-pain 1.0.0", "", {
            "Action": "release", "Ruleset": v1_copy.name, "Release-File": "upper-back-pain/releases/1.0.0.json",
            "Release-Sha256": hashlib.sha256(text.encode()).hexdigest()}), Person(REVIEWER))
    found, problems = published(v1_copy.parent, keyring())
    assert [r.data for r in found] == [original]
    assert any(p.code == "WB906" and "was changed after its release" in p.message for p in problems)
    status, written = served_and_exported(v1_copy.parent, tmp_path)
    assert status["1.0.0"] == 200 and (tmp_path / "out" / "upper-back-pain" / "1.0.0.json").read_bytes() == original


def test_a_huge_file_planted_over_a_release_is_reported_not_read(v1_copy: Path, signers: dict,
                                                                tmp_path: Path) -> None:
    """Found by an independent reviewer: a 1 TB sparse file over the release made serve answer 500 and history
    and export die of MemoryError. Reads are bounded now; the history's copy is served."""
    path = released(v1_copy, signers)
    original = path.read_bytes()
    os.truncate(path, 1 << 40)
    found, problems = published(v1_copy.parent, keyring())
    assert [r.data for r in found] == [original] and "WB906" in codes(problems)
    status, _ = served_and_exported(v1_copy.parent, tmp_path)
    assert status["1.0.0"] == 200


def test_a_deleted_release_is_reported(v1_copy: Path, signers: dict) -> None:
    released(v1_copy, signers)
    repo(v1_copy).commit({f"{v1_copy.name}/releases/1.0.0.json": None}, message("Tidy up"), Person(AUTHOR))
    found, problems = published(v1_copy.parent, keyring())
    assert found == [] and "deleted" in problems[0].message


# --- the command line ------------------------------------------------------------------------------------

def cli(*args: str, capsys: pytest.CaptureFixture[str], stdin: str = "") -> tuple[int, str]:
    import io
    import sys

    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        sys.stdin = sys.__stdin__
    return code, capsys.readouterr().out


def test_cli_lifecycle_with_json_output_and_exit_codes(v1_copy: Path, signers: dict,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(v1_copy)
    code, out = cli("release", folder, "--approver", REVIEWER, "--reason", "x", "--format", "json", capsys=capsys)
    assert code == 1 and "WB707" in {p["code"] for p in json.loads(out)["problems"]}
    assert cli("submit", folder, "--author", AUTHOR, capsys=capsys)[0] == 0
    assert cli("approve", folder, "--reviewer", AUTHOR, capsys=capsys)[0] == 1
    code, out = cli("approve", folder, "--reviewer", REVIEWER, "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out)["review"]["state"] == "approved"
    code, out = cli("release", folder, "--approver", REVIEWER, "--reason", "NG234 update", "--format", "json",
                    capsys=capsys)
    assert code == 0 and json.loads(out)["release"]["signed_by"] == REVIEWER
    code, out = cli("history", folder, capsys=capsys)
    assert code == 0 and "approved and signed by Dr Rex Reviewer" in out and "Release upper-back-pain 1.0.0" in out


def test_cli_history_reports_tampering_with_exit_1(v1_copy: Path, signers: dict,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = released(v1_copy, signers)
    path.write_text(path.read_text(encoding="utf-8").replace("Emergency", "Routine", 1), encoding="utf-8")
    code, out = cli("history", str(v1_copy), capsys=capsys)
    assert code == 1 and "TAMPERING" in out and "WB906" in out


def test_the_project_checkout_is_never_committed_into(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import SHIPPED

    code, out = cli("submit", str(SHIPPED), "--author", AUTHOR, capsys=capsys)
    assert code == 1 and "WB1030" in out and "never commits there" in out


def test_a_release_document_can_never_hold_infinity_or_nan() -> None:
    """The finding: `max: .inf` was released as `Infinity`, which is not JSON. Validation refuses it now
    (tests/test_limits.py); should anything else bring one in, writing the document refuses too."""
    from workbench.publish.canonical import canonical_bytes
    from workbench.publish.releases import document_bytes

    for value in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError):
            document_bytes({"max": value})
        with pytest.raises(ValueError):
            canonical_bytes({"max": value})
