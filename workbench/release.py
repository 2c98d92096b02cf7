"""Review and release: nothing reaches a patient without a passing replay and a second clinician.

The working copy `ruleset.yaml` is a draft. An author submits it (in_review), another clinician
approves it (approved) or rejects it (back to draft, with a reason), and release writes the immutable
`releases/<version>.json`. The review state is a plain file, `review.json`; every action goes to the
hash-chained audit log. Each step re-checks what it relies on, so the gate cannot be walked round:
the content must be unchanged since submission, valid, and pass every vignette at the moment of release.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .audit import AUDIT_FILE, Action, AuditBroken, append_entry, utc_now, verify_audit
from .canonical import ruleset_data, ruleset_sha256
from .engine import CompiledRuleset, RulesetError
from .model import Ruleset
from .problems import Problem, ProblemError
from .replay import ReplayReport, replay_ruleset
from .runtime import IntegrityError, read_release_document, verify_release
from .semver import version_key
from .store import SaveConflict, create_exclusive, disk_reason, locked, read_versioned, save_text
from .validate import validate_ruleset_file

RULESET_FILE = "ruleset.yaml"
REVIEW_FILE = "review.json"
RELEASES_DIR = "releases"

State = Literal["draft", "in_review", "approved"]


# --- releases -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    """One published version as stored in `releases/<version>.json`, its sha256 verified on loading."""

    id: str
    version: str
    sha256: str
    ruleset: dict[str, Any] = field(repr=False)
    release: dict[str, Any] = field(repr=False)
    model: Ruleset = field(repr=False)
    path: Path | None = None

    @property
    def author(self) -> str:
        return str(self.release.get("author"))

    @property
    def approver(self) -> str:
        return str(self.release.get("approver"))

    @property
    def released_at(self) -> str:
        return str(self.release.get("released_at"))

    def summary(self) -> dict[str, Any]:
        """The release without its ruleset: what a history table or a JSON report shows."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256, **self.release,
                "file": str(self.path) if self.path else None}

    def to_dict(self) -> dict[str, Any]:
        """The release document, exactly as stored."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256, "ruleset": self.ruleset,
                "release": self.release}

    def compiled(self) -> CompiledRuleset:
        return CompiledRuleset(self.model, str(self.path) if self.path else None)


def load_release(path: Path) -> Release:
    """Read a release file and verify it; raises IntegrityError (WB902) when its content no longer matches
    its sha256, RulesetError (WB901, WB903) when it is unreadable, invalid or stored under the wrong name."""
    path = Path(path)
    document, file = read_release_document(path)
    model = verify_release(document, file)
    misplaced = []
    if path.stem != model.version:
        misplaced.append(f"it holds version {model.version} but is named {path.name}")
    if path.parent.name == RELEASES_DIR and path.parent.parent.name != model.id:
        misplaced.append(f"it holds ruleset '{model.id}' but is stored under '{path.parent.parent.name}'")
    if misplaced:
        raise IntegrityError([_file_problem("WB903", "This release file was renamed or moved: " + "; ".join(misplaced)
                                            + ". A published version must stay where it was released.", file)])
    meta = document.get("release")
    missing = [key for key in ("author", "approver", "released_at", "reason", "replay")
               if not isinstance(meta, dict) or key not in meta]
    if missing:
        raise RulesetError([_file_problem("WB901", "The release does not say " + ", ".join(missing)
                                          + ": every release records who wrote and approved it, when, why, "
                                          "and its replay.", file)])
    assert isinstance(meta, dict)
    return Release(model.id, model.version, document["sha256"], document["ruleset"], meta, model, path)


def scan_releases(ruleset_dir: Path) -> tuple[list[Release], list[Problem]]:
    """Every release that verifies, oldest version first, and a problem for each file that does not."""
    releases: list[Release] = []
    problems: list[Problem] = []
    folder = Path(ruleset_dir) / RELEASES_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            releases.append(load_release(path))
        except ProblemError as exc:
            problems.extend(exc.problems)
    releases.sort(key=lambda r: version_key(r.version))
    return releases, problems


def list_releases(ruleset_dir: Path) -> list[Release]:
    """The ruleset's releases, oldest version first (semantic order); raises IntegrityError if any file was
    altered or RulesetError if any cannot be read, naming every bad file, so nothing altered is published."""
    releases, problems = scan_releases(ruleset_dir)
    if problems:
        tampered = any(p.code != "WB901" for p in problems)
        raise (IntegrityError if tampered else RulesetError)(problems)
    return releases


def _file_problem(code: str, message: str, file: str | None) -> Problem:
    return Problem(code, message, file=file, line=1, column=1)


# --- review state ---------------------------------------------------------------------------

@dataclass
class ReviewState:
    """What `review.json` holds: where the draft is in review, and the content that was submitted."""

    state: State = "draft"
    version: str | None = None
    sha256: str | None = None
    author: str | None = None
    submitted_at: str | None = None
    submit_reason: str | None = None
    reviewer: str | None = None
    reviewed_at: str | None = None
    reject_reason: str | None = None
    last_release: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ReviewState:
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or data.get("state") not in ("draft", "in_review", "approved"):
            raise ValueError("it is not a review state")
        return cls(**{key: value for key, value in data.items() if key in known})

    def describe(self) -> str:
        """One sentence for people: where the draft stands."""
        if self.state == "in_review":
            return f"{self.version} submitted by {self.author} at {self.submitted_at}, awaiting a second clinician"
        if self.state == "approved":
            return f"{self.version} by {self.author}, approved by {self.reviewer} at {self.reviewed_at}"
        if self.reject_reason:
            return f"draft — {self.version} was rejected by {self.reviewer}: {self.reject_reason}"
        return "draft" + (f" — last release {self.last_release}" if self.last_release else " — never released")


def read_review(ruleset_dir: Path) -> tuple[ReviewState, str | None]:
    """The review state and its file version (for a save that refuses to overwrite a newer state)."""
    path = Path(ruleset_dir) / REVIEW_FILE
    text, version = read_versioned(path)
    if text is None:
        return ReviewState(), None
    try:
        return ReviewState.from_dict(json.loads(text)), version
    except ValueError as exc:
        raise ProblemError([_file_problem("WB710", f"The review state cannot be read ({exc}); no review action is "
                                          "possible until review.json is restored.", str(path))]) from None


def _save_review(ruleset_dir: Path, state: ReviewState, expected: str | None) -> None:
    text = json.dumps(state.to_dict(), indent=2, ensure_ascii=False) + "\n"
    save_text(Path(ruleset_dir) / REVIEW_FILE, text, expected)


# --- the checks -----------------------------------------------------------------------------

@dataclass
class Draft:
    """The working copy as it is now: its model and hash (when it parses) and its replay."""

    model: Ruleset | None
    sha256: str | None
    replay: ReplayReport

    @property
    def summary(self) -> dict[str, int]:
        return {"total": len(self.replay.results), "passed": self.replay.passed, "failed": self.replay.failed}


def read_draft(ruleset_dir: Path) -> Draft:
    file = Path(ruleset_dir) / RULESET_FILE
    checked = validate_ruleset_file(file)
    model = checked.model
    report = replay_ruleset(file) if checked.ok else ReplayReport(None, problems=checked.problems)
    return Draft(model, ruleset_sha256(model) if model else None, report)


def content_problems(ruleset_dir: Path, draft: Draft, releases: list[Release]) -> list[Problem]:
    """What makes the draft unreleasable whoever approves it: errors, failing or missing vignettes, its
    version, and the state of past releases."""
    ruleset_dir = Path(ruleset_dir)
    out = [Problem("WB701", f"{p.code}: {p.message}", file=p.file, line=p.line, column=p.column, path=p.path)
           for p in draft.replay.problems if p.is_error]
    if draft.model is None and not out:
        out.append(_file_problem("WB701", "The ruleset cannot be read.", str(ruleset_dir / RULESET_FILE)))
    for result in draft.replay.results:
        if not result.passed:
            where = f" ({result.file}:{result.line})" if result.file else ""
            out.append(Problem("WB702", f"Vignette '{result.id}'{where} fails: " + "; ".join(result.differences),
                               file=result.file, line=result.line))
    if draft.replay.ruleset is not None and not draft.replay.results:
        out.append(Problem("WB703", "There are no vignettes, so nothing shows the tree gives the dispositions a "
                           "clinician expects: add vignettes under vignettes/."))
    if draft.model is not None:
        version = draft.model.version
        released = {r.version for r in releases}
        if version in released:
            out.append(Problem("WB706", f"Version {version} has already been released and can never be replaced: "
                               "raise the version for this change."))
        if releases and version_key(version) <= version_key(releases[-1].version):
            out.append(Problem("WB705", f"Version {version} is not higher than the last release "
                               f"{releases[-1].version}; `workbench diff` suggests the next version."))
        if draft.model.id != ruleset_dir.name:
            out.append(Problem("WB903", f"The ruleset id is '{draft.model.id}' but its folder is '{ruleset_dir.name}'; "
                               "releases are stored and served by id, so the two must match."))
    return out


def _name_problem(name: str | None, role: str) -> Problem | None:
    if not clean_name(name):
        return Problem("WB711", f"Give the {role}'s name: every review action records who did it.")
    return None


def clean_name(name: str | None) -> str:
    return " ".join((name or "").split())


def same_person(a: str | None, b: str | None) -> bool:
    """Names compared as people read them: case and spacing do not make a second clinician."""
    return bool(a and b) and clean_name(a).casefold() == clean_name(b).casefold()


def _audit_problem(ruleset_dir: Path) -> list[Problem]:
    check = verify_audit(Path(ruleset_dir) / AUDIT_FILE)
    return [check.problem] if check.problem else []


@dataclass
class Gate:
    """Every reason the draft cannot be released now (none: it may be), and the draft they are about."""

    problems: list[Problem]
    draft: Draft
    review: ReviewState
    releases: list[Release] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_release(ruleset_dir: Path, approver: str | None, reason: str | None = "-") -> Gate:
    """The release gate, without releasing: lists every reason, not just the first."""
    ruleset_dir = Path(ruleset_dir)
    review, _ = read_review(ruleset_dir)
    draft = read_draft(ruleset_dir)
    releases, release_problems = scan_releases(ruleset_dir)
    problems = [p for p in (_name_problem(approver, "approver"),) if p]
    if not (reason or "").strip():
        problems.append(Problem("WB712", "Give the reason for this release (what changed and why)."))
    if review.state != "approved":
        why = {"draft": "it has not been submitted for review" if not review.reject_reason
               else f"it was rejected by {review.reviewer}: {review.reject_reason}",
               "in_review": f"it was submitted by {review.author} and still awaits a second clinician's approval"}
        problems.append(Problem("WB707", f"Not approved: {why[review.state]}."))
    if review.state != "draft" and draft.sha256 != review.sha256:
        problems.append(Problem("WB708", f"The draft has changed since {review.author} submitted version "
                                f"{review.version}: what was reviewed is not what would be released. Submit it again."))
    if review.author and same_person(approver, review.author):
        problems.append(Problem("WB704", f"{clean_name(approver)} wrote this version, so cannot also approve its "
                                "release: a second clinician must."))
    elif review.state == "approved" and clean_name(approver) and not same_person(approver, review.reviewer):
        problems.append(Problem("WB709", f"{review.reviewer} approved this version, not {clean_name(approver)}: "
                                "the release is made by the clinician who approved it."))
    problems += content_problems(ruleset_dir, draft, releases) + release_problems + _audit_problem(ruleset_dir)
    return Gate(problems, draft, review, releases)


def readiness(ruleset_dir: Path) -> Gate:
    """The gate as it stands before anyone acts: every reason except a missing approver's name or reason."""
    review, _ = read_review(ruleset_dir)
    gate = check_release(ruleset_dir, review.reviewer, "-")
    gate.problems = [p for p in gate.problems if p.code != "WB711"]
    return gate


# --- the actions ----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What an action did, or every reason it was refused."""

    action: str
    problems: list[Problem]
    review: ReviewState
    release: Release | None = None
    replay: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "review": self.review.to_dict(), "replay": self.replay,
                "release": self.release.summary() if self.release else None}


@contextmanager
def _action_lock(ruleset_dir: Path) -> Iterator[None]:
    """One review action at a time per ruleset: read state, check, write release, log, save state.

    Refused (ProblemError) when the folder is gone, its releases/ leads outside it, or the disk refuses the lock,
    rather than recreating a deleted folder or writing a release somewhere else."""
    ruleset_dir = Path(ruleset_dir)
    if not ruleset_dir.is_dir():
        raise ProblemError([Problem("WB1021", f"The ruleset folder {ruleset_dir} is gone: it was deleted or moved. "
                                    "Nothing was done.")])
    releases = ruleset_dir / RELEASES_DIR
    if releases.is_symlink() or not releases.resolve().is_relative_to(ruleset_dir.resolve()):
        raise ProblemError([Problem("WB1022", f"{releases} is a link leading outside the ruleset's folder; releases "
                                    "are only written inside it. Nothing was done.")])
    try:
        lock = locked(ruleset_dir / "review-actions")
        lock.__enter__()
    except OSError as exc:
        raise ProblemError([Problem("WB1020", f"No review action can be taken in {ruleset_dir}: {disk_reason(exc)}. "
                                    "Nothing was done.")]) from None
    try:
        yield
    finally:
        lock.__exit__()


def submit(ruleset_dir: Path, author: str, reason: str = "") -> Outcome:
    """The author asks for review of the draft as it is now; refused when it could never be released."""
    ruleset_dir = Path(ruleset_dir)
    with _action_lock(ruleset_dir):
        review, version = read_review(ruleset_dir)
        draft = read_draft(ruleset_dir)
        releases, release_problems = scan_releases(ruleset_dir)
        problems = [p for p in (_name_problem(author, "author"),) if p]
        if review.state != "draft" and review.sha256 == draft.sha256:
            problems.append(Problem("WB710", f"This content is already {review.state.replace('_', ' ')}: "
                                    f"{review.describe()}."))
        problems += content_problems(ruleset_dir, draft, releases) + release_problems + _audit_problem(ruleset_dir)
        if problems or draft.model is None:
            return Outcome("submit", problems, review, replay=draft.summary)
        new = ReviewState("in_review", draft.model.version, draft.sha256, clean_name(author), utc_now(),
                          reason.strip() or None, last_release=review.last_release)
        return _record(ruleset_dir, "submit", new.author, new, version, reason, draft.summary)


def approve(ruleset_dir: Path, reviewer: str, reason: str = "") -> Outcome:
    """A second clinician signs off the submitted content, which must be unchanged and still pass."""
    ruleset_dir = Path(ruleset_dir)
    with _action_lock(ruleset_dir):
        review, version = read_review(ruleset_dir)
        draft = read_draft(ruleset_dir)
        releases, release_problems = scan_releases(ruleset_dir)
        problems = _review_problems("approve", review, draft, reviewer)
        problems += content_problems(ruleset_dir, draft, releases) + release_problems + _audit_problem(ruleset_dir)
        if problems:
            return Outcome("approve", problems, review, replay=draft.summary)
        new = ReviewState(**(review.to_dict() | {"state": "approved", "reviewer": clean_name(reviewer),
                                                 "reviewed_at": utc_now(), "reject_reason": None}))
        return _record(ruleset_dir, "approve", new.reviewer, new, version, reason, draft.summary)


def reject(ruleset_dir: Path, reviewer: str, reason: str) -> Outcome:
    """Send the submission back to draft, saying why, so the author knows what to change."""
    ruleset_dir = Path(ruleset_dir)
    with _action_lock(ruleset_dir):
        review, version = read_review(ruleset_dir)
        draft = read_draft(ruleset_dir)
        problems = [p for p in _review_problems("reject", review, draft, reviewer) if p.code != "WB708"]
        if not (reason or "").strip():
            problems.append(Problem("WB712", "Give the reason for rejecting, so the author knows what to change."))
        problems += _audit_problem(ruleset_dir)
        if problems:
            return Outcome("reject", problems, review, replay=draft.summary)
        new = ReviewState(**(review.to_dict() | {"state": "draft", "reviewer": clean_name(reviewer),
                                                 "reviewed_at": utc_now(), "reject_reason": reason.strip()}))
        return _record(ruleset_dir, "reject", new.reviewer, new, version, reason, draft.summary)


def _review_problems(action: str, review: ReviewState, draft: Draft, reviewer: str | None) -> list[Problem]:
    problems = [p for p in (_name_problem(reviewer, "reviewer"),) if p]
    allowed = ("in_review",) if action == "approve" else ("in_review", "approved")
    if review.state not in allowed:
        problems.append(Problem("WB710", f"There is nothing to {action}: the ruleset is {review.describe()}."))
        return problems
    if same_person(reviewer, review.author):
        problems.append(Problem("WB704", f"{clean_name(reviewer)} submitted this version, so cannot review it: "
                                "a second clinician must."))
    if draft.sha256 != review.sha256:
        problems.append(Problem("WB708", f"The draft has changed since {review.author} submitted version "
                                f"{review.version}: the author must submit it again before it is reviewed."))
    return problems


def release(ruleset_dir: Path, approver: str, reason: str) -> Outcome:
    """Pass the gate, then write the immutable release file, log it, and return the draft to draft state."""
    ruleset_dir = Path(ruleset_dir)
    with _action_lock(ruleset_dir):
        gate = check_release(ruleset_dir, approver, reason)
        review, version = read_review(ruleset_dir)
        draft = gate.draft
        if not gate.ok or draft.model is None or draft.sha256 is None:
            return Outcome("release", gate.problems, review, replay=draft.summary)
        model = draft.model
        meta: dict[str, Any] = {"author": review.author, "approver": clean_name(approver), "released_at": utc_now(),
                                "reason": reason.strip(), "replay": draft.summary}
        document = {"id": model.id, "version": model.version, "sha256": draft.sha256,
                    "ruleset": ruleset_data(model), "release": meta}
        path = ruleset_dir / RELEASES_DIR / f"{model.version}.json"
        try:
            create_exclusive(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        except FileExistsError:
            return Outcome("release", [Problem("WB706", f"Version {model.version} has already been released and can "
                                               "never be replaced.", file=str(path))], review, replay=draft.summary)
        except OSError as exc:
            return Outcome("release", [Problem("WB1020", f"Release {model.version} could not be written: "
                                               f"{disk_reason(exc)}. Nothing was released.", file=str(path))],
                           review, replay=draft.summary)
        done = _record(ruleset_dir, "release", clean_name(approver), ReviewState(last_release=model.version), version,
                       reason, draft.summary, sha256=draft.sha256, of_version=model.version, undo=path)
        if not done.ok:
            return done
        done.release = load_release(path)
        return done


def _record(ruleset_dir: Path, action: Action, actor: str | None, new: ReviewState, expected: str | None,
            reason: str, replay: dict[str, int], *, sha256: str | None = None,
            of_version: str | None = None, undo: Path | None = None) -> Outcome:
    """Log the action, then save the new state; either failing leaves a problem, never a silent half-step.

    `undo` is the release file just written: when the log cannot take the entry, it is removed again, so no
    release exists that the log does not vouch for."""
    try:
        append_entry(Path(ruleset_dir) / AUDIT_FILE, actor=actor or "", action=action,
                     version=of_version or new.version or "", sha256=sha256 or new.sha256 or "",
                     reason=(reason or "").strip())
    except (AuditBroken, OSError) as exc:
        if undo is not None:
            undo.unlink(missing_ok=True)
        problem = exc.problem if isinstance(exc, AuditBroken) else Problem(
            "WB1020", f"The audit log could not be written: {disk_reason(exc)}. Nothing was recorded or changed.",
            file=str(Path(ruleset_dir) / AUDIT_FILE))
        return Outcome(action, [problem], new, replay=replay)
    try:
        _save_review(ruleset_dir, new, expected)
    except SaveConflict:
        return Outcome(action, [Problem("WB710", "Someone else changed the review state at the same time; "
                                        "reload and try again.")], new, replay=replay)
    except OSError as exc:
        return Outcome(action, [Problem("WB1020", f"The {action} is in the audit log, but the review state could not "
                                        f"be saved: {disk_reason(exc)}. Free the disk and reload.",
                                        file=str(Path(ruleset_dir) / REVIEW_FILE))], new, replay=replay)
    return Outcome(action, [], new, replay=replay)
