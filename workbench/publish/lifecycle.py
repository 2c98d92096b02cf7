"""Review and release: nothing reaches a patient without a passing replay, proved safety properties and a second
clinician's signature.

An author submits the ruleset as it stands in the history; another clinician approves it (a signed approval)
or rejects it; the approver releases it, signing the release document. Each action is one commit by the
person who took it, with their reason and the facts in its record (records.py); the review state is read back
from those commits, so there is no state file to edit. Every check works on one snapshot, the ruleset and its
vignettes as committed at one commit, read once: what is replayed and verified is what is approved is what is
released, and changing or removing a vignette after approval invalidates the approval.

No broken safety property is ever released: the gate runs `verify` on the snapshot and refuses while any
property is violated. A property that verification could not finish (it stopped at its bound) is released only
when the approver says why, and that reason is signed with the approval and kept in the release.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..analysis.verify import Progress, Verification, verify
from ..content.model import Ruleset
from ..content.semver import version_key
from ..content.validate import validate_ruleset_text
from ..folder import RELEASES_DIR, RULESET_FILE, VIGNETTES_DIR
from ..names import same_person
from ..problems import Problem, ProblemError
from ..run.load import load_text
from ..run.replay import ReplayReport, replay_loaded
from .canonical import ruleset_sha256
from .published import published
from .records import reason_problem
from .releases import Release, document_bytes, unsigned_document
from .repository import Commit, Person, Repository, crashpoint, message
from .signing import Keyring, SigningKey, verify_statement


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the snapshot -----------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    """A ruleset and its vignettes as committed at one commit, validated and replayed once."""

    ruleset_id: str
    commit: str | None
    ruleset_text: str
    vignettes: dict[str, str]
    model: Ruleset | None
    replay: ReplayReport
    _verification: Verification | None = field(default=None, repr=False)

    @property
    def verification(self) -> Verification | None:
        """Every safety property checked over every case (analysis/verify.py), once per content."""
        if self._verification is None and self.replay.ruleset is not None:
            self._verification = _verified(self.ruleset_text, self.replay.ruleset)
        return self._verification

    def adopt(self, text: str, found: Verification) -> None:
        """Take `found`, a verification of `text` the gate ran already (a page runs it in the background so it
        never waits), instead of running it again; ignored unless `text` is this snapshot's ruleset. The one
        way a run stopped by its time limit, which is not cached, reaches the gate without a second run."""
        if text == self.ruleset_text and self.replay.ruleset is not None:
            self._verification = found

    def broken(self) -> dict[str, str]:
        """The safety promises verification found broken, which stop the gate (WB714): id -> title."""
        found = self.verification
        if found is None or found.status != "violated":
            return {}
        out = {p.id: p.title for p in found.properties if p.status == "violated"}
        if found.monotonic is False:
            out["monotonic"] = "Answering yes to a red-flag question never makes the disposition less urgent"
        return out

    def unproved(self) -> dict[str, str]:
        """The safety properties (and promises) verification left unproved: id -> title."""
        found = self.verification
        if found is None or found.status != "incomplete":
            return {}
        out = {p.id: p.title for p in found.properties if p.status == "unproved"}
        if self.model is not None and self.model.monotonic and "monotonic escalation" in found.unfinished:
            out["monotonic"] = "Answering yes to a red-flag question never makes the disposition less urgent"
        if "the flow" in found.unfinished:
            out["every-case-reaches-an-outcome"] = "Every complete case reaches an outcome"
        return out

    @property
    def sha256(self) -> str:
        """What review and release are about: the ruleset and every vignette file, byte for byte."""
        parts = {"ruleset": _digest(self.ruleset_text), "vignettes": {n: _digest(t) for n, t in self.vignettes.items()}}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    @property
    def summary(self) -> dict[str, int]:
        return {"total": len(self.replay.results), "passed": self.replay.passed, "failed": self.replay.failed}

    @property
    def vignette_set(self) -> dict[str, Any]:
        """The vignettes a release was replayed with: how many files and cases, and their sha256."""
        digest = hashlib.sha256(json.dumps({n: _digest(t) for n, t in self.vignettes.items()},
                                           sort_keys=True).encode()).hexdigest()
        return {"files": len(self.vignettes), "count": len(self.replay.results), "sha256": digest}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_VERIFIED: dict[str, Verification] = {}
"""Finished verifications by the sha256 of the ruleset text: submit, approve and release of one content verify it
once. One stopped by its time limit is not kept (another try may finish)."""
_VERIFIED_LOCK = threading.Lock()  # a page verifies in a background thread while the gate reads


def _verified(text: str, ruleset: Any, progress: Progress | None = None) -> Verification:
    key = _digest(text)
    with _VERIFIED_LOCK:
        found = _VERIFIED.get(key)
    if found is None:
        found = verify(ruleset, paths=False, progress=progress)
        if found.stopped_by != "time":
            with _VERIFIED_LOCK:
                _VERIFIED[key] = found
                while len(_VERIFIED) > 32:
                    _VERIFIED.pop(next(iter(_VERIFIED)))
    return found


def gate_verification(text: str, file: str, progress: Progress | None = None) -> Verification | None:
    """The verification the release gate requires of a ruleset text, exactly as submit, approve and release run
    it (and from the same cache): None when the text has errors, so there is nothing to verify. A page calls it
    ahead of the gate, in the background, and shows its progress."""
    loaded = load_text(text, file)
    return _verified(text, loaded.ruleset, progress) if loaded.ruleset is not None else None


def snapshot(repository: Repository, ruleset_id: str, commit: str | None = None) -> Snapshot:
    """The ruleset folder as committed at `commit` (the last one by default), read once and replayed."""
    commit = commit or repository.head()
    files = repository.files(ruleset_id, commit) if commit else {}
    ruleset_text = files.get(f"{ruleset_id}/{RULESET_FILE}", b"").decode("utf-8", "replace")
    prefix = f"{ruleset_id}/{VIGNETTES_DIR}/"
    vignettes = {path[len(prefix):]: data.decode("utf-8", "replace") for path, data in sorted(files.items())
                 if path.startswith(prefix) and "/" not in path[len(prefix):] and path.endswith((".yaml", ".yml"))}
    file = str(repository.root / ruleset_id / RULESET_FILE)
    loaded = load_text(ruleset_text, file)
    report = replay_loaded(loaded, [(str(repository.root / ruleset_id / VIGNETTES_DIR / name), text)
                                    for name, text in vignettes.items()])
    return Snapshot(ruleset_id, commit, ruleset_text, vignettes, loaded.model if ruleset_text else None, report)


# --- the review state, read from the history ------------------------------------------------------------

@dataclass
class ReviewState:
    """Where a ruleset stands in review, as its history says."""

    state: str = "draft"  # draft | in_review | approved
    version: str | None = None
    snapshot: str | None = None
    author: str | None = None
    submission: str | None = None  # the submit commit: what an approval signs for, so it cannot be replayed
    contributors: dict[str, str] = field(default_factory=dict)  # who changed the content since the last release
    submitted_at: str | None = None
    submit_reason: str | None = None
    reviewer: str | None = None
    reviewed_at: str | None = None
    reject_reason: str | None = None
    unproved: dict[str, str] = field(default_factory=dict)  # property id -> the approver's signed reason
    last_release: str | None = None
    ignored: list[str] = field(default_factory=list)  # review commits that did not count, and why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One sentence for people: where the draft stands."""
        if self.state == "in_review":
            return f"{self.version} submitted by {self.author} at {self.submitted_at}, awaiting a second clinician"
        if self.state == "approved":
            return f"{self.version} by {self.author}, approved by {self.reviewer} at {self.reviewed_at}"
        if self.reject_reason:
            return f"draft — {self.version} was rejected by {self.reviewer}: {self.reject_reason}"
        return "draft" + (f" — last release {self.last_release}" if self.last_release else " — never released")


def approval_statement(ruleset_id: str, version: str, snapshot_sha: str, reviewer: str, at: str,
                       submission: str, unproved: dict[str, str] | None = None) -> dict[str, Any]:
    """What an approval signs: this submission of this content and version, by this person, at this time, and
    why each unproved safety property may be released. The submission's commit is in it (its id covers the exact
    tree submitted), so an approval copied onto a later submission (after a rejection, say) of the same content
    does not count."""
    statement: dict[str, Any] = {"action": "approve", "ruleset": ruleset_id, "version": version,
                                 "snapshot": snapshot_sha, "reviewer": reviewer, "at": at, "submission": submission}
    if unproved:
        statement["unproved"] = dict(unproved)
    return statement


def review_state(repository: Repository, ruleset_id: str, keyring: Keyring) -> ReviewState:
    """Replay the review commits about this ruleset, oldest first. An approval counts only when it is signed by
    a key the keyring trusts, belonging to the person who made the commit, for the content submitted."""
    state = ReviewState()
    changed: dict[str, str] = {}
    for commit in reversed(repository.log(ruleset_id)):
        action = commit.action
        if action not in _REVIEW_ACTIONS and any(p.startswith(f"{ruleset_id}/") for p in commit.paths):
            changed.setdefault(commit.author, commit.id)
        if commit.record.get("ruleset") != ruleset_id:
            continue
        if action == "submit":
            state = ReviewState("in_review", commit.fact("version"), commit.fact("snapshot"), commit.author,
                                commit.id, dict(changed), commit.at, commit.reason or None,
                                last_release=state.last_release, ignored=state.ignored)
        elif action == "approve":
            why = _approval_problem(commit, state, ruleset_id, keyring)
            if why:
                state.ignored.append(f"The approval in commit {commit.id[:10]} by {commit.author} does not count: "
                                     f"{why}.")
                continue
            state.state, state.reviewer, state.reviewed_at, state.reject_reason = (
                "approved", commit.author, commit.at, None)
            state.unproved = _reasons(commit.record.get("unproved"))
        elif action == "reject" and state.state in ("in_review", "approved"):
            state.state, state.reviewer, state.reviewed_at, state.reject_reason = (
                "draft", commit.author, commit.at, commit.reason or "no reason given")
            state.unproved = {}
        elif action == "release":
            state = ReviewState(last_release=commit.fact("version"), ignored=state.ignored)
            changed = {}
    return state


def _reasons(value: Any) -> dict[str, str]:
    """An approval's reasons for unproved properties, as recorded: {property id: reason}."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


_REVIEW_ACTIONS = ("submit", "approve", "reject", "release")


def _changed_it(person: str | None, review: ReviewState) -> str | None:
    """The commit by which `person` changed the content under review since the last release, if they did:
    a second clinician is one who neither submitted nor wrote any of it."""
    return next((commit for author, commit in review.contributors.items() if same_person(person, author)), None)


def _approval_problem(commit: Commit, state: ReviewState, ruleset_id: str, keyring: Keyring) -> str:
    if state.state != "in_review":
        return "nothing was awaiting review"
    if commit.fact("snapshot") != state.snapshot or commit.fact("version") != state.version:
        return "it approves other content than was submitted"
    if same_person(commit.author, state.author):
        return "its author submitted the content"
    if _changed_it(commit.author, state):
        return "its author changed the content under review"
    statement = approval_statement(ruleset_id, commit.fact("version"), commit.fact("snapshot"), commit.author,
                                   commit.fact("at"), str(state.submission), _reasons(commit.record.get("unproved")))
    if keyring.find(commit.fact("key")) is None:
        return "it is not signed by a key the keyring trusts"
    signer = verify_statement(statement, commit.fact("key"), commit.fact("signature"), keyring)
    if signer is None:
        return ("its signature does not match this submission: it was copied from another approval, or "
                "altered")
    if not same_person(signer.name, commit.author):
        return f"it is signed with {signer.name}'s key"
    return ""


# --- the gate -----------------------------------------------------------------------------------------------

@dataclass
class Gate:
    """Every reason the snapshot cannot be released now (none: it may be), and what they are about."""

    problems: list[Problem]
    snapshot: Snapshot
    review: ReviewState
    releases: list[Release] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _releases_of(repository: Repository, ruleset_id: str, keyring: Keyring) -> tuple[list[Release], list[Problem]]:
    found, problems = published(repository.root, keyring)
    mine = [p for p in problems if (p.file or "").startswith(f"{ruleset_id}/")]
    return sorted((r for r in found if r.id == ruleset_id), key=lambda r: version_key(r.version)), mine


def content_problems(repository: Repository, snap: Snapshot, releases: list[Release]) -> list[Problem]:
    """Why this snapshot could never be released, whoever approves it."""
    out: list[Problem] = []
    errors = [p for p in snap.replay.problems if p.is_error]
    if errors:
        out.append(Problem("WB701", f"The ruleset or its vignettes have {len(errors)} error(s): "
                           + "; ".join(f"{p.code}: {p.message}" for p in errors[:5])))
    for result in snap.replay.results:
        if not result.passed:
            out.append(Problem("WB702", f"Vignette '{result.id}' fails: " + "; ".join(result.differences),
                               file=result.file, line=result.line))
    if snap.replay.ruleset is not None and not snap.replay.results:
        out.append(Problem("WB703", "There are no vignettes, so nothing shows the tree gives the dispositions a "
                           "clinician expects: add vignettes under vignettes/."))
    out += safety_problems(snap)
    if snap.model is not None:
        version = snap.model.version
        if version in {r.version for r in releases}:
            out.append(Problem("WB706", f"Version {version} has already been released and can never be replaced: "
                               "raise the version for this change."))
        elif releases and version_key(version) <= version_key(releases[-1].version):
            out.append(Problem("WB705", f"Version {version} is not higher than the last release "
                               f"{releases[-1].version}; `workbench diff` suggests the next version."))
        if snap.model.id != snap.ruleset_id:
            out.append(Problem("WB903", f"The ruleset id is '{snap.model.id}' but its folder is '{snap.ruleset_id}'; "
                               "releases are stored and served by id, so the two must match."))
    edited = repository.changed([f"{snap.ruleset_id}/{RULESET_FILE}"] + [
        f"{snap.ruleset_id}/{VIGNETTES_DIR}/{name}" for name in snap.vignettes])
    if edited:
        out.append(Problem("WB708", "These files were changed on disk without being saved in the history, so "
                           "they are not what would be reviewed: " + ", ".join(edited) + ". Save them in the "
                           "workbench (or discard the changes) first."))
    return out


def safety_problems(snap: Snapshot) -> list[Problem]:
    """Each broken safety promise (WB714): whatever the vignettes say, a case the properties forbid (cauda equina
    sent to routine care) is never released. Verification problems that are warnings (dead logic) do not stop it."""
    found = snap.verification
    if found is None or found.status != "violated":
        return []
    return [Problem("WB714", f"Not releasable while a safety promise is broken ({p.code}): {p.message}",
                    file=p.file, line=p.line, column=p.column, path=p.path)
            for p in found.problems if p.is_error and p.code != "WB816"]


def unproved_problems(snap: Snapshot, reasons: dict[str, str], who: str) -> list[Problem]:
    """WB715 for each safety promise verification left unproved that `reasons` does not explain."""
    missing = {key: title for key, title in snap.unproved().items() if not (reasons.get(key) or "").strip()}
    if not missing:
        return []
    why = snap.verification.why_unfinished if snap.verification is not None else ""
    listed = "; ".join(f"'{key}' ({title})" for key, title in missing.items())
    return [Problem("WB715", f"Verification could not finish ({why}), so these safety promises are unproved: "
                    f"{listed}. {who} must say why each may be released anyway; the reason is signed with the "
                    "approval and shown in the history and on the release.",
                    hint="workbench approve ... --unproved-reason PROPERTY_ID='why it is safe'")]


def check_release(repository: Repository, ruleset_id: str, approver: str | None, keyring: Keyring,
                  reason: str | None = "-", snap: Snapshot | None = None) -> Gate:
    """The release gate, without releasing: every reason, not just the first."""
    snap = snap or snapshot(repository, ruleset_id)
    review = review_state(repository, ruleset_id, keyring)
    releases, history_problems = _releases_of(repository, ruleset_id, keyring)
    problems = []
    if not " ".join((approver or "").split()):
        problems.append(Problem("WB711", "Give the approver's name: every review action records who did it."))
    if not (reason or "").strip():
        problems.append(Problem("WB712", "Give the reason for this release (what changed and why)."))
    elif found := reason_problem(reason):
        problems.append(found)
    if review.state != "approved":
        why = {"draft": "it has not been submitted for review" if not review.reject_reason
               else f"it was rejected by {review.reviewer}: {review.reject_reason}",
               "in_review": f"it was submitted by {review.author} and still awaits a second clinician's approval"}
        problems.append(Problem("WB707", f"Not approved: {why[review.state]}."))
    if review.state != "draft" and snap.sha256 != review.snapshot:
        problems.append(Problem("WB708", f"The ruleset or its vignettes changed since {review.author} submitted "
                                f"version {review.version}: what was reviewed is not what would be released. Submit "
                                "it again."))
    if review.author and same_person(approver, review.author):
        problems.append(Problem("WB704", f"{approver} wrote this version, so cannot also approve its release: a "
                                "second clinician must."))
    elif commit := _changed_it(approver, review):
        problems.append(Problem("WB704", f"{approver} changed this version (commit {commit[:12]}), so cannot "
                                "approve its release: a second clinician, who wrote none of it, must."))
    elif review.state == "approved" and approver and not same_person(approver, review.reviewer):
        problems.append(Problem("WB709", f"{review.reviewer} approved this version, not {approver}: the release "
                                "is made by the clinician who approved it."))
    if review.state == "approved":
        problems += unproved_problems(snap, review.unproved, f"{review.reviewer}'s approval gave no reason, so "
                                      f"{review.reviewer} must approve again and")
    problems += content_problems(repository, snap, releases) + history_problems
    return Gate(problems, snap, review, releases)


# --- the actions ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What an action did, or every reason it was refused; `notes` are what it has to say although it was done
    (a release that landed whose file the disk would not take yet)."""

    action: str
    problems: list[Problem]
    review: ReviewState
    release: Release | None = None
    replay: dict[str, int] | None = None
    commit: str | None = None
    notes: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "notes": [p.to_dict() for p in self.notes], "review": self.review.to_dict(), "replay": self.replay,
                "commit": self.commit, "release": self.release.summary() if self.release else None}


def _facts(action: str, snap: Snapshot, **extra: Any) -> dict[str, Any]:
    version = snap.model.version if snap.model else "?"
    return {"action": action, "ruleset": snap.ruleset_id, "version": version, "snapshot": snap.sha256,
            "commit": snap.commit or "", **extra}


def _reason_problems(reason: str | None, what: str = "reason") -> list[Problem]:
    found = reason_problem(reason, what)
    return [found] if found else []


def submit(repository: Repository, ruleset_id: str, author: Person, reason: str, keyring: Keyring) -> Outcome:
    """The author asks for review of the ruleset as committed; refused when it could never be released."""
    with repository.locked():
        snap = snapshot(repository, ruleset_id)
        review = review_state(repository, ruleset_id, keyring)
        releases, history_problems = _releases_of(repository, ruleset_id, keyring)
        problems = _reason_problems(reason) + content_problems(repository, snap, releases) + history_problems
        if review.state != "draft" and review.snapshot == snap.sha256:
            problems.append(Problem("WB710", f"This content is already {review.state.replace('_', ' ')}: "
                                    f"{review.describe()}."))
        if problems or snap.model is None:
            return Outcome("submit", problems, review, replay=snap.summary)
        commit = repository.commit({}, message(f"Submit {ruleset_id} {snap.model.version} for review", reason,
                                               _facts("submit", snap)), author, allow_empty=True,
                                   expected_head=snap.commit)
        return Outcome("submit", [], review_state(repository, ruleset_id, keyring), replay=snap.summary, commit=commit,
                       notes=list(repository.notes))


def approve(repository: Repository, ruleset_id: str, reviewer: Person, reason: str, key: SigningKey,
            keyring: Keyring, unproved: dict[str, str] | None = None) -> Outcome:
    """A second clinician signs off the submitted content, which must be unchanged and still pass; for each safety
    promise verification left unproved, `unproved` says why it may be released (signed with the approval)."""
    reasons = {key_: " ".join(text.split()) for key_, text in (unproved or {}).items() if text.strip()}
    with repository.locked():
        snap = snapshot(repository, ruleset_id)
        review = review_state(repository, ruleset_id, keyring)
        releases, history_problems = _releases_of(repository, ruleset_id, keyring)
        problems = _reason_problems(reason) + _review_problems("approve", review, snap, reviewer.name)
        problems += [p for text in reasons.values() for p in _reason_problems(text, "reason for an unproved promise")]
        problems += _key_problems(key, reviewer.name, keyring)
        problems += content_problems(repository, snap, releases) + history_problems
        problems += unproved_problems(snap, reasons, reviewer.name)
        if problems or snap.model is None:
            return Outcome("approve", problems, review, replay=snap.summary)
        reasons = {key_: text for key_, text in reasons.items() if key_ in snap.unproved()}
        at = utc_now()
        statement = approval_statement(ruleset_id, snap.model.version, snap.sha256, reviewer.name, at,
                                       str(review.submission), reasons)
        facts = _facts("approve", snap, at=at, key=key.id, signature=key.sign_statement(statement))
        if reasons:
            facts["unproved"] = reasons
        commit = repository.commit({}, message(f"Approve {ruleset_id} {snap.model.version}", reason, facts),
                                   reviewer, allow_empty=True, expected_head=snap.commit)
        return Outcome("approve", [], review_state(repository, ruleset_id, keyring), replay=snap.summary,
                       commit=commit, notes=list(repository.notes))


def reject(repository: Repository, ruleset_id: str, reviewer: Person, reason: str, keyring: Keyring) -> Outcome:
    """Send the submission back to draft, saying why, so the author knows what to change."""
    with repository.locked():
        snap = snapshot(repository, ruleset_id)
        review = review_state(repository, ruleset_id, keyring)
        problems = [p for p in _review_problems("reject", review, snap, reviewer.name) if p.code != "WB708"]
        if not (reason or "").strip():
            problems.append(Problem("WB712", "Give the reason for rejecting, so the author knows what to change."))
        problems += _reason_problems(reason)
        if problems:
            return Outcome("reject", problems, review, replay=snap.summary)
        commit = repository.commit({}, message(f"Reject {ruleset_id} {review.version}", reason,
                                               _facts("reject", snap)), reviewer, allow_empty=True,
                                   expected_head=snap.commit)
        return Outcome("reject", [], review_state(repository, ruleset_id, keyring), replay=snap.summary,
                       commit=commit, notes=list(repository.notes))


def release(repository: Repository, ruleset_id: str, approver: Person, reason: str, key: SigningKey,
            keyring: Keyring) -> Outcome:
    """Pass the gate on one snapshot, sign the release document, and commit it: the document and the record of
    the release land in one commit or not at all. Once the commit has landed the release exists (it is served
    from the history), and the outcome says so even when its file could not be written to the folder yet."""
    with repository.locked():
        snap = snapshot(repository, ruleset_id)
        gate = check_release(repository, ruleset_id, approver.name, keyring, reason, snap)
        problems = gate.problems + _key_problems(key, approver.name, keyring)
        if problems or snap.model is None:
            return Outcome("release", problems, gate.review, replay=snap.summary)
        model = snap.model
        record = {"author": gate.review.author, "approver": approver.name, "released_at": utc_now(),
                  "reason": reason.strip(), "replay": snap.summary, "vignettes": snap.vignette_set,
                  "snapshot": snap.sha256, "commit": snap.commit, "safety": _safety_record(snap, gate.review)}
        document = key.sign(unsigned_document(model, record))
        data = document_bytes(document)
        crashpoint("release:signed")
        path = f"{ruleset_id}/{RELEASES_DIR}/{model.version}.json"
        facts = _facts("release", snap, release_file=path, release_sha256=hashlib.sha256(data).hexdigest(),
                       content_sha256=ruleset_sha256(model))
        commit = repository.commit({path: data}, message(f"Release {ruleset_id} {model.version}", reason, facts),
                                   approver, expected_head=snap.commit)
        notes = list(repository.notes)
        releases, _ = _releases_of(repository, ruleset_id, keyring)
        done = next((r for r in releases if r.version == model.version), None)
        return Outcome("release", [], review_state(repository, ruleset_id, keyring), done, snap.summary, commit,
                       notes)


def _safety_record(snap: Snapshot, review: ReviewState) -> dict[str, Any]:
    """What the release says of its safety promises: how verification ended, and for each promise left unproved,
    the approver's signed reason."""
    found = snap.verification
    unproved = snap.unproved()
    return {"verification": found.status if found is not None else "invalid",
            "properties": len(found.properties) if found is not None else 0,
            "unproved": [{"id": key, "title": title, "reason": review.unproved.get(key, ""), "by": review.reviewer}
                         for key, title in unproved.items()]}


def _review_problems(action: str, review: ReviewState, snap: Snapshot, reviewer: str | None) -> list[Problem]:
    problems = []
    if not " ".join((reviewer or "").split()):
        problems.append(Problem("WB711", "Give the reviewer's name: every review action records who did it."))
    allowed = ("in_review",) if action == "approve" else ("in_review", "approved")
    if review.state not in allowed:
        problems.append(Problem("WB710", f"There is nothing to {action}: the ruleset is {review.describe()}."))
        return problems
    if same_person(reviewer, review.author):
        problems.append(Problem("WB704", f"{reviewer} submitted this version, so cannot review it: a second "
                                "clinician must."))
    elif action == "approve" and (commit := _changed_it(reviewer, review)):
        problems.append(Problem("WB704", f"{reviewer} changed this version (commit {commit[:12]}), so cannot approve "
                                "it: a second clinician, who wrote none of it, must."))
    if snap.sha256 != review.snapshot:
        problems.append(Problem("WB708", f"The ruleset or its vignettes changed since {review.author} submitted "
                                f"version {review.version}: the author must submit it again before it is reviewed."))
    return problems


def _key_problems(key: SigningKey, person: str, keyring: Keyring) -> list[Problem]:
    trusted = keyring.find(key.id)
    if trusted is None:
        return [Problem("WB905", f"{person}'s signing key ({key.id}) is not in the keyring, so nothing it signs "
                        "would be accepted: add its public key to the keyring first (`workbench key create` does).")]
    if not same_person(trusted.name, person):
        return [Problem("WB905", f"The key {key.id} belongs to {trusted.name}, not {person}.")]
    return []


# --- history ------------------------------------------------------------------------------------------------

@dataclass
class History:
    """A ruleset's history: releases (verified), review state, every commit, and every sign of tampering."""

    id: str
    releases: list[Release]
    review: ReviewState
    commits: list[Any]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "review": self.review.to_dict(),
                "releases": [r.summary() for r in self.releases], "commits": [c.to_dict() for c in self.commits],
                "problems": [p.to_dict() for p in self.problems]}


def history(repository: Repository, ruleset_id: str, keyring: Keyring) -> History:
    releases, problems = _releases_of(repository, ruleset_id, keyring)
    review = review_state(repository, ruleset_id, keyring)
    problems += [Problem("WB905", note) for note in review.ignored]
    return History(ruleset_id, releases, review, repository.log(ruleset_id), problems)


def standing(ruleset_dir: Path, keyring: Keyring) -> tuple[str, str | None]:
    """Where a ruleset stands at a glance: 'draft', 'in review', 'approved' or 'released' (its content as it is
    now is the latest published version), and the latest published version. Never creates a history."""
    ruleset_dir = Path(ruleset_dir)
    try:
        repository = Repository.open(ruleset_dir.parent, create=False)
        review = review_state(repository, ruleset_dir.name, keyring)
        releases, _ = _releases_of(repository, ruleset_dir.name, keyring)
    except ProblemError:
        return "draft", None
    latest = releases[-1].version if releases else None
    if review.state != "draft":
        return review.state.replace("_", " "), latest
    committed = repository.read(f"{ruleset_dir.name}/{RULESET_FILE}")
    model = validate_ruleset_text(committed.decode("utf-8", "replace"), "<committed>").model if committed else None
    if model is not None and releases and releases[-1].has_content_of(model):
        return "released", latest
    return "draft", latest


def open_ruleset(ruleset_dir: Path, *, create: bool = True) -> tuple[Repository, str]:
    """The repository that keeps a ruleset folder's history, and the ruleset's id (its folder's name); with
    `create` False (reading the history), a folder without one is refused rather than given one."""
    ruleset_dir = Path(ruleset_dir)
    if not (ruleset_dir / RULESET_FILE).is_file():
        raise ProblemError([Problem("WB1021", f"There is no ruleset at {ruleset_dir} (no {RULESET_FILE}).")])
    linked = [p for p in (ruleset_dir, ruleset_dir / RULESET_FILE, ruleset_dir / VIGNETTES_DIR,
                          ruleset_dir / RELEASES_DIR) if p.is_symlink()]
    if linked:
        raise ProblemError([Problem("WB1022", f"{linked[0]} is a link, which could lead outside the rulesets folder: "
                                    "no review action is taken until it is replaced by a real folder or file.")])
    return Repository.open(ruleset_dir.parent, create=create), ruleset_dir.name
