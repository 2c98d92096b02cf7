"""A ruleset's history: its releases and audit log, each verified, and checked against each other.

A release file can be altered and its sha256 recomputed; the audit log still holds the hash it was
released with. An audit entry can be edited; the chain breaks. Only both together tell the whole story,
so history reports every release file that fails its hash, the first broken link of the log, and any
release the log does not vouch for (or a logged release whose file is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .audit import AUDIT_FILE, AuditCheck, verify_audit
from .problems import Problem, ProblemError
from .release import RELEASES_DIR, Release, ReviewState, read_review, same_person, scan_releases


@dataclass
class History:
    id: str
    releases: list[Release]
    audit: AuditCheck
    review: ReviewState
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was altered: every release verifies and the log vouches for each."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "review": self.review.to_dict(),
                "releases": [r.summary() for r in self.releases], "audit": self.audit.to_dict(),
                "problems": [p.to_dict() for p in self.problems]}


def history(ruleset_dir: Path) -> History:
    """Releases oldest first, the audit log, the review state, and every sign of tampering found."""
    ruleset_dir = Path(ruleset_dir)
    releases, problems = scan_releases(ruleset_dir)
    audit = verify_audit(ruleset_dir / AUDIT_FILE)
    problems += [audit.problem] if audit.problem else []
    try:
        review, _ = read_review(ruleset_dir)
    except ProblemError as exc:  # an unreadable review.json is reported, not fatal to reading history
        review = ReviewState()
        problems += exc.problems
    if audit.ok:
        problems += _cross_check(ruleset_dir, releases, audit)
    return History(ruleset_dir.name, releases, audit, review, problems)


def _cross_check(ruleset_dir: Path, releases: list[Release], audit: AuditCheck) -> list[Problem]:
    logged = {entry["version"]: entry for entry in audit.entries if entry["action"] == "release"}
    out = []
    for release in releases:
        entry = logged.get(release.version)
        file = str(release.path)
        if entry is None:
            out.append(Problem("WB721", f"Release {release.version} has no entry in the audit log: it was not made "
                               "through the release gate, or the log was replaced.", file=file, line=1, column=1))
        elif entry["sha256"] != release.sha256:
            out.append(Problem("WB721", f"Release {release.version} has sha256 {release.sha256[:12]}…, but the audit "
                               f"log recorded {entry['sha256'][:12]}… when it was released: the file was replaced.",
                               file=file, line=1, column=1))
        elif not same_person(entry["actor"], release.approver):
            out.append(Problem("WB721", f"Release {release.version} names {release.approver} as approver, but the "
                               f"audit log says {entry['actor']} released it.", file=file, line=1, column=1))
    present = {path.stem for path in (ruleset_dir / RELEASES_DIR).glob("*.json")}
    for version in logged:
        if version not in present:
            out.append(Problem("WB721", f"The audit log records release {version}, but its file is missing from "
                               f"{RELEASES_DIR}/: a published version was deleted.",
                               file=str(ruleset_dir / AUDIT_FILE)))
    return out
